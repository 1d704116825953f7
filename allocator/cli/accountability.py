"""CLI commands that account for an allocation: explain, diagnose, disparity, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

import allocator
from allocator.cli import render
from allocator.cli.common import EXIT_INFEASIBLE, EXIT_MISMATCH, CommandGroup, check_folder, load_checked, save_and_show
from allocator.cli.options import (
    ConstraintOpt,
    ForceOpt,
    OutsideOpt,
    RuleOpt,
    ScenarioArg,
    SolverOpt,
    parse_constraints,
    parse_rule,
)
from allocator.core.errors import UsageError
from allocator.solving.diagnose import diagnose as check_constraints

commands = CommandGroup()


@commands.command()
def explain(
    scenario: ScenarioArg,
    rule: RuleOpt = None,
    constraint: ConstraintOpt = None,
    unit: Annotated[Optional[str], typer.Option("--unit", "-u", help="show only this unit")] = None,
    solver: SolverOpt = "highs",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write units.csv, sites.csv, constraints.csv, "
                                                                     "summary.json here")] = None,
    force: ForceOpt = False,
    allow_outside: OutsideOpt = False,
) -> None:
    """Say why each unit got what it got, which constraints bind and at what price, what supply is worth."""
    check_folder(out, force, scenario)
    loaded = load_checked(scenario, allow_outside, out, force)
    result = allocator.solve(loaded, rule=parse_rule(rule), constraints=parse_constraints(constraint), solver=solver)
    explanation = result.explain()
    if unit is not None and unit not in set(explanation.units["unit"]):
        raise UsageError(f"no unit {unit!r} in the scenario")
    save_and_show(explanation, out, force, lambda shown: render.explanation(shown, unit))


@commands.command()
def diagnose(
    scenario: ScenarioArg,
    rule: RuleOpt = None,
    constraint: ConstraintOpt = None,
    solver: SolverOpt = "highs",
    allow_outside: OutsideOpt = False,
) -> None:
    """Say whether the constraints can hold (exit 3 if not, with a minimal conflict) and how strict each can be."""
    loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
    found = check_constraints(loaded, rule=parse_rule(rule), constraints=parse_constraints(constraint), solver=solver)
    render.diagnosis(found)
    if not found.feasible:
        raise typer.Exit(EXIT_INFEASIBLE)


@commands.command()
def disparity(
    scenario: ScenarioArg,
    attribute: Annotated[str, typer.Option("--attribute", "-a", help="the group attribute whose gap to decompose")],
    rule: RuleOpt = None,
    resource: Annotated[Optional[str], typer.Option("--resource", help="one resource (default: the largest gap)")] = None,
    location: Annotated[str, typer.Option("--location", help="counterfactual for where supply sits: pool or demand")]
        = "pool",
    solver: SolverOpt = "highs",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write disparity.csv and summary.json here")] = None,
    force: ForceOpt = False,
    allow_outside: OutsideOpt = False,
) -> None:
    """Decompose a group gap into access, where supply sits, the rule, and what remains (Shapley)."""
    # lazy: start-up time of `allocator --help` and the other commands (only this one needs it)
    from allocator.accountability.disparity import disparity as decompose

    check_folder(out, force, scenario)
    loaded = load_checked(scenario, allow_outside, out, force)
    result = decompose(loaded, attribute, rule=parse_rule(rule), resource=resource, location=location, solver=solver)
    save_and_show(result, out, force, render.disparity)


@commands.command()
def verify(
    folder: Annotated[Path, typer.Argument(help="an output folder of 'allocator solve --out'")],
    allow_outside: Annotated[bool, typer.Option(
        "--allow-outside", help="read recorded inputs outside the scenario's folder, and a scenario outside the "
                                "project (only for a result you trust)")] = False,
) -> None:
    """Re-solve from the inputs recorded in FOLDER/summary.json and check every kept file matches (exit 5 if not)."""
    # lazy: start-up time of `allocator --help` and the other commands (only this one needs it)
    from allocator.accountability.verify import verify as check

    outcome = check(folder, allow_outside=allow_outside)
    render.verification(outcome)
    if not outcome.ok:
        raise typer.Exit(EXIT_MISMATCH)
