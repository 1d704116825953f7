"""Options the CLI commands share, and the parsing of their values into library specs.

Imports none of the command modules: they, and ``app``, import this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from allocator.core.errors import UsageError
from allocator.core.spec_text import parse_spec, parse_spec_list

ScenarioArg = Annotated[Path, typer.Argument(help="scenario file (.yaml, .json or .toml)", show_default=False)]
RuleOpt = Annotated[Optional[str], typer.Option(
    "--rule", "-r", help="rule name, 'maxmin:over=region', or '{name: leximin, over: region}'; "
                         "default: the scenario's rule")]
ConstraintOpt = Annotated[Optional[list[str]], typer.Option(
    "--constraint", "-c", help="replaces the scenario's constraints; repeatable: 'floor:share=0.2', "
                               "'group_gap:attribute=race,max_gap=0.05', 'none' for no constraints")]
SolverOpt = Annotated[str, typer.Option("--solver", "-s", help="highs, pulp, or pulp:<PuLP solver name>")]
ForceOpt = Annotated[bool, typer.Option("--force", help="replace an existing output")]
OutsideOpt = Annotated[bool, typer.Option("--allow-outside", help="let the scenario read tables outside its folder")]
#: ``--time-limit`` of the commands that repeat a unit of work (draws, shards, samples)
TimeLimitOpt = Annotated[Optional[float], typer.Option(
    "--time-limit", help="seconds for the whole run, checked after each draw or sample and before each shard starts; when they run out, "
                         "what is done is written, marked as stopped (exit 4)")]


def given(value: str | None, option: str, expected: str) -> str | None:
    """``value`` unless it is empty: ``--rule ''`` (a shell variable that expanded to nothing) is refused,
    never read as "not given"."""
    if value is not None and not value.strip():
        raise UsageError(f"{option} {value!r} is empty; expected {expected}")
    return value


def parse_constraints(values: list[str] | None):
    """The ``--constraint`` options as specs: ``None`` for the scenario's own, ``[]`` for ``none``."""
    if values is None:
        return None
    for value in values:
        given(value, "--constraint", "a constraint such as 'floor:share=0.2', or 'none' for no constraints")
    if values == ["none"]:
        return []
    return [parse_spec(v, "type") for v in values]


def parse_rule(text: str | None) -> dict | None:
    """The ``--rule`` option as a spec, or ``None`` for the scenario's own rule."""
    given(text, "--rule", "a rule such as 'maxmin' or 'maxmin:over=region' (leave --rule out for the scenario's rule)")
    return parse_spec(text, "name") if text is not None else None


def parse_rule_list(text: str) -> list:
    """The ``--rules`` option as specs (see :func:`allocator.core.registry.parse_spec_list`)."""
    specs = parse_spec_list(text, "name")
    if not specs:
        raise UsageError(f"--rules {text!r} names no rule; expected comma-separated rules such as 'maxmin,utilitarian'")
    return specs
