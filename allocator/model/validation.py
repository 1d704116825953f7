"""Check a scenario without solving it."""

from __future__ import annotations

from allocator.core.arguments import Flag, PathLike, checked
from allocator.core.errors import Issue, ScenarioError, Severity
from allocator.model.problem import Problem
from allocator.scenario.load import load_scenario
from allocator.scenario.model import Scenario


@checked
def validate(path: PathLike, *, allow_outside: Flag = False) -> tuple[Scenario, tuple[Issue, ...]]:
    """Load and check the scenario at ``path`` without solving it.

    ``allow_outside`` is passed to :func:`~allocator.load_scenario`.

    Returns
    -------
    scenario : Scenario
    warnings : tuple of Issue
        Everything worth a look that does not stop a solve (unreachable units, groups no site
        can serve, duplicated links...).

    Raises
    ------
    ScenarioError
        Listing every problem, when the scenario is invalid.
    """
    scenario = load_scenario(path, allow_outside=allow_outside, record_inputs=False)  # no hashing: nothing is written
    problem = Problem.from_scenario(scenario)
    return scenario, tuple(scenario.warnings) + problem.warnings + tuple(rule_issues(scenario.rule, problem))


def rule_issues(rule, problem: Problem) -> list[Issue]:
    """What ``rule`` finds wrong with the data it reads (a formula whose index is 0 everywhere...).

    Raises :class:`ScenarioError` for the errors (the rule could allocate nothing meaningful);
    returns the warnings.
    """
    found = rule.data_issues(problem) if hasattr(rule, "data_issues") else []
    errors = [i for i in found if i.severity is Severity.ERROR]
    if errors:
        raise ScenarioError(errors)
    return found
