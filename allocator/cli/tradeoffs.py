"""CLI commands that weigh rules against each other: compare, frontier, report, plot, lottery."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

import allocator
from allocator.cli import render
from allocator.cli.common import EXIT_SOLVER, CommandGroup, check_folder, load_checked, save_and_show
from allocator.cli.options import (
    ConstraintOpt,
    ForceOpt,
    OutsideOpt,
    ScenarioArg,
    SolverOpt,
    TimeLimitOpt,
    given,
    parse_constraints,
    parse_rule,
    parse_rule_list,
)
from allocator.core.budget import FRONTIER_POINTS_WHY, MAX_FRONTIER_POINTS, check_time_limit, refuse_over
from allocator.core.status import Status
from allocator.io.atomic import atomic_file, check_output_file, check_output_folder
from allocator.tradeoffs.comparison import compare as compare_rules
from allocator.tradeoffs.frontiers import frontier as trace

commands = CommandGroup()


@commands.command()
def compare(
    scenario: ScenarioArg,
    rules: Annotated[str, typer.Option("--rules", help="comma-separated rules, e.g. utilitarian,maxmin,nash")] =
        "utilitarian,proportional,maxmin,leximin,nash",
    constraint: ConstraintOpt = None,
    solver: SolverOpt = "highs",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write comparison.csv, per_unit.csv and "
                                                                     "summary.json to this folder")] = None,
    force: ForceOpt = False,
    allow_outside: OutsideOpt = False,
) -> None:
    """Solve under several rules and compare their value, fairness and price of fairness."""
    check_folder(out, force, scenario)
    loaded = load_checked(scenario, allow_outside, out, force)
    specs = parse_rule_list(rules)
    with render.progress(len(specs), "solving") as step:
        comparison = compare_rules(loaded, rules=specs, constraints=parse_constraints(constraint), solver=solver, progress=step)
    save_and_show(comparison, out, force, render.comparison)


@commands.command()
def frontier(
    scenario: ScenarioArg,
    constraint: Annotated[str, typer.Option("--constraint", "-c", help="group_gap, floor, group_floor or group_ratio")],
    start: Annotated[float, typer.Option("--from", help="first parameter value (e.g. the loosest)")],
    stop: Annotated[float, typer.Option("--to", help="last parameter value")],
    points: Annotated[int, typer.Option("--points", min=2, help=f"number of points (at most "
                                                                 f"{MAX_FRONTIER_POINTS:,})")] = 21,
    attribute: Annotated[Optional[str], typer.Option("--attribute", "-a", help="group attribute")] = None,
    resource: Annotated[Optional[str], typer.Option("--resource", help="only this resource")] = None,
    solver: SolverOpt = "highs",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write frontier.csv and summary.json here")] = None,
    force: ForceOpt = False,
    allow_outside: OutsideOpt = False,
) -> None:
    """Trace the most total value each strength of an equity constraint allows."""
    refuse_over("--points", points, MAX_FRONTIER_POINTS, FRONTIER_POINTS_WHY)
    given(attribute, "--attribute", "a group attribute of the scenario")
    given(resource, "--resource", "a resource of the scenario (leave --resource out for every resource)")
    check_folder(out, force, scenario)
    loaded = load_checked(scenario, allow_outside, out, force)
    values = np.linspace(start, stop, points)
    with render.progress(points, "solving") as step:
        result = trace(loaded, constraint, values, attribute=attribute, resource=resource, solver=solver,
                       progress=step)
    save_and_show(result, out, force, render.frontier)


ReportRulesOpt = Annotated[Optional[str], typer.Option(
    "--rules", help="rules to compare beside the scenario's own (default utilitarian,proportional,maxmin,leximin,nash)")]


@commands.command()
def report(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="the HTML file to write, e.g. report.html")],
    rules: ReportRulesOpt = None,
    constraint: ConstraintOpt = None,
    solver: SolverOpt = "highs",
    force: ForceOpt = False,
    allow_outside: OutsideOpt = False,
) -> None:
    """Write one self-contained HTML report: the scenario, the rules compared, charts and findings."""
    # lazy: start-up time of `allocator --help` and the other commands (only report and plot need it)
    from allocator.report.html import render_html

    check_output_file(out, force=force, inputs=[scenario])
    built = _built_report(scenario, rules, constraint, solver, allow_outside)
    with atomic_file(out, force=force, inputs=built.scenario.input_paths) as staging:
        staging.write_text(render_html(built), encoding="utf-8")
    render.report_written(out, built)


def _built_report(scenario: Path, rules: str | None, constraint, solver: str, allow_outside: bool):
    """Load and solve what ``report`` and ``plot`` show, with a progress bar."""
    # lazy: start-up time of `allocator --help` and the other commands (only report and plot need it)
    from allocator.report.html import build_report

    loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
    specs = parse_rule_list(rules) if rules is not None else None  # --rules '' is refused, not the default
    with render.progress(1 + len(specs or ()) + 5 + 2 * len(loaded.groups), "report") as step:
        return build_report(loaded, specs, parse_constraints(constraint), solver, progress=step)


@commands.command()
def plot(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for the PNG charts")],
    rules: ReportRulesOpt = None,
    constraint: ConstraintOpt = None,
    solver: SolverOpt = "highs",
    force: ForceOpt = False,
    allow_outside: OutsideOpt = False,
) -> None:
    """Write the report's charts as PNG files (group fill rates, Lorenz curves, distribution, frontiers)."""
    # lazy: start-up time of `allocator --help` and the other commands (only report and plot need it)
    from allocator.report.html import save_charts

    check_output_folder(out, force=force, inputs=[scenario])
    built = _built_report(scenario, rules, constraint, solver, allow_outside)
    save_charts(built, out, force=force)
    render.infeasible_rules(built.comparison.infeasible)
    render.written(out)


@commands.command()
def lottery(
    scenario: ScenarioArg,
    rule: Annotated[str, typer.Option("--rule", "-r", help="the rule whose fractional answer gives the odds")] = "leximin",
    draws: Annotated[int, typer.Option("--draws", min=0, help="seeded whole-unit draws to write (at most 2,000,000 "
                                                               "rows of draws.csv: draws x the scenario's flows)")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="the same seed gives the same draws")] = 0,
    constraint: ConstraintOpt = None,
    solver: SolverOpt = "highs",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write the draws and the decomposition here")] = None,
    force: ForceOpt = False,
    time_limit: TimeLimitOpt = None,
    allow_outside: OutsideOpt = False,
) -> None:
    """A fair lottery over whole units: draws whose expectation is the rule's fractional allocation."""
    # lazy: start-up time of `allocator --help` and the other commands (only this one needs it)
    from allocator.tradeoffs.lottery import lottery as draw_lottery

    check_time_limit(time_limit, "--time-limit")
    check_folder(out, force, scenario)
    loaded = load_checked(scenario, allow_outside, out, force)
    with render.draws_progress(draws) as update:
        result = draw_lottery(loaded, rule=parse_rule(rule), draws=draws, seed=seed,
                              constraints=parse_constraints(constraint), solver=solver, time_limit=time_limit,
                              progress=update)
    save_and_show(result, out, force, render.lottery)
    if result.status != Status.COMPLETE:  # written, but cut short: as a time-limited solve
        raise typer.Exit(EXIT_SOLVER)
