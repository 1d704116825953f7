"""The core CLI commands: solve, validate, rules, export."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer

import allocator
from allocator.cli import render
from allocator.cli.common import EXIT_SOLVER, CommandGroup
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
from allocator.constraints import CONSTRAINTS
from allocator.core.errors import UsageError
from allocator.core.status import Status
from allocator.io.atomic import check_output_file, check_output_folder
from allocator.results.result import save_excel
from allocator.rules import RULES

commands = CommandGroup()


@commands.command()
def solve(
    scenario: ScenarioArg,
    rule: RuleOpt = None,
    constraint: ConstraintOpt = None,
    solver: SolverOpt = "highs",
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="write the result tables to this folder, or to one workbook if it ends in .xlsx")] = None,
    force: ForceOpt = False,
    json: Annotated[bool, typer.Option("--json", help="print summary.json to stdout instead of tables")] = False,
    time_limit: Annotated[Optional[float], typer.Option(
        "--time-limit", help="seconds for the whole solve; when they run out, the best feasible allocation so "
                             "far is reported with status time_limit (exit 4)")] = None,
    allow_outside: OutsideOpt = False,
) -> None:
    """Solve a scenario and print (and optionally write) the allocation and its fairness metrics."""
    if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
        raise UsageError(f"--time-limit must be a positive number of seconds, got {time_limit}")
    excel = out is not None and out.suffix.lower() == ".xlsx"
    if out is not None:
        (check_output_file if excel else check_output_folder)(out, force=force, inputs=[scenario])
    loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
    if out is not None:  # again, against every table read: one may sit inside the output folder
        (check_output_file if excel else check_output_folder)(out, force=force, inputs=loaded.input_paths)
    result = allocator.solve(loaded, rule=parse_rule(rule), constraints=parse_constraints(constraint),
                             solver=solver, time_limit=time_limit)
    if excel:
        save_excel(result, out, force=force)
    elif out is not None:
        result.save(out, force=force)
    if json:
        render.raw(result.to_json())
        render.warnings(result.warnings)
    else:
        render.result(result)
        if out is not None:
            render.written(out)
    if result.status is not Status.OPTIMAL:  # e.g. time_limit: written, but not the rule's answer
        raise typer.Exit(EXIT_SOLVER)


@commands.command()
def validate(scenario: ScenarioArg, allow_outside: OutsideOpt = False) -> None:
    """Check a scenario without solving it (errors exit 2; warnings are printed)."""
    loaded, warns = allocator.validate(scenario, allow_outside=allow_outside)
    render.validated(str(scenario), loaded, warns)


@commands.command(guarded=False)  # not under _run, as before: it reads no file; a failure to print is main()'s to report
def rules() -> None:
    """List the rules and constraints, with their parameters."""
    render.catalogue(RULES, CONSTRAINTS)


@commands.command()
def export(
    scenario: ScenarioArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="model.lp or model.mps")],
    rule: RuleOpt = None,
    constraint: ConstraintOpt = None,
    stage: Annotated[Optional[str], typer.Option(
        help="a stage as 'solve' lists it (e.g. value): solve, then write that stage's LP; default: the first")] = None,
    force: ForceOpt = False,
    allow_outside: OutsideOpt = False,
) -> None:
    """Write a stage LP of a rule, in the scenario's units, as an LP or MPS file with a legend of its names."""
    # lazy: start-up time of `allocator --help` and the other commands (only this one needs the LP writer)
    from allocator.accountability.export import export as export_lp
    from allocator.accountability.export import legend_path

    loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
    path = export_lp(loaded, output, rule=parse_rule(rule), constraints=parse_constraints(constraint), stage=stage,
                     force=force)
    render.written(path)
    render.written(legend_path(path))
