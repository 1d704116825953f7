"""Check a scenario without solving it."""

from __future__ import annotations

from pathlib import Path

from allocator.errors import Issue
from allocator.problem import Problem
from allocator.scenario.load import load_scenario


def validate(path: str | Path) -> tuple[Issue, ...]:
    """Load and check the scenario at ``path``; return its warnings (unreachable units...).

    Raises
    ------
    ScenarioError
        Listing every problem, when the scenario is invalid.
    """
    scenario = load_scenario(path)
    return tuple(scenario.warnings) + Problem.from_scenario(scenario).warnings
