"""The ``allocator`` command line: one thin command per library call.

Exit codes: 0 solved; 2 invalid input or usage; 3 infeasible; 4 solver failure or time limit;
5 ``verify`` found changed inputs or different tables.
"""

from __future__ import annotations

import gc
import math
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml

from allocator.cli import render
from allocator.status import Status
from allocator.output import check_output_file, check_output_folder
from allocator.errors import (
    AllocatorError, InfeasibleError, OutputExistsError, ScenarioError, SolverError, UsageError,
)

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER, EXIT_MISMATCH = 0, 2, 3, 4, 5

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Fair allocation of scarce resources: scenario files in, fair allocations out.")

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


def parse_spec(text: str, name_field: str) -> dict:
    """``"maxmin"``, ``"maxmin:over=region"``, ``"floor:share=0.2"`` or a YAML flow mapping -> dict."""
    text = text.strip()
    if text.startswith("{"):
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UsageError(f"cannot read {text!r}: {exc}") from None
        if not isinstance(spec, dict):
            raise UsageError(f"{text!r} is not a mapping")
        return spec
    name, _, rest = text.partition(":")
    spec: dict = {name_field: name.strip()}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"in {text!r}: expected key=value, got {item!r}")
        spec[key.strip()] = _number_or_text(value.strip())
    return spec


def _number_or_text(value: str) -> float | str:
    """``share=0.2`` is a number; ``attribute=no`` stays the text 'no' (not YAML's false)."""
    try:
        return float(value)
    except ValueError:
        return value


def _constraints(values: list[str] | None):
    if values is None:
        return None
    if values == ["none"]:
        return []
    return [parse_spec(v, "type") for v in values]


def _run(action) -> None:
    """Call ``action`` and turn allocator's typed errors into messages and exit codes."""
    try:
        action()
    except ScenarioError as exc:
        render.scenario_error(exc)
        raise typer.Exit(EXIT_INPUT) from None
    except (UsageError, OutputExistsError) as exc:
        render.failure("error", str(exc))
        raise typer.Exit(EXIT_INPUT) from None
    except InfeasibleError as exc:
        render.infeasible(exc)
        raise typer.Exit(EXIT_INFEASIBLE) from None
    except SolverError as exc:
        render.failure("solver failure", str(exc))
        raise typer.Exit(EXIT_SOLVER) from None
    except AllocatorError as exc:
        render.failure("error", str(exc))
        raise typer.Exit(EXIT_INPUT) from None
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        render.failure("error", f"cannot read or write a file{where}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_INPUT) from None
    except KeyboardInterrupt:
        render.failure("interrupted", "nothing was written")
        raise typer.Exit(130) from None


@app.command()
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
    import allocator
    from allocator.result import save_excel

    def action():
        if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
            raise UsageError(f"--time-limit must be a positive number of seconds, got {time_limit}")
        excel = out is not None and out.suffix.lower() == ".xlsx"
        if out is not None:
            (check_output_file if excel else check_output_folder)(out, force=force)
        loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
        result = allocator.solve(loaded, parse_spec(rule, "name") if rule else None, _constraints(constraint),
                                 solver=solver, time_limit=time_limit)
        if excel:
            save_excel(result, out, force=force)
        elif out is not None:
            result.save(out, force=force)
        if json:
            sys.stdout.write(result.to_json())
            render.warnings(result.warnings)
        else:
            render.result(result)
            if out is not None:
                render.written(out)
        if result.status is not Status.OPTIMAL:  # e.g. time_limit: written, but not the rule's answer
            raise typer.Exit(EXIT_SOLVER)

    _run(action)


@app.command()
def validate(scenario: ScenarioArg, allow_outside: OutsideOpt = False) -> None:
    """Check a scenario without solving it (errors exit 2; warnings are printed)."""
    import allocator

    def action():
        loaded, warns = allocator.validate(scenario, allow_outside=allow_outside)
        render.validated(str(scenario), loaded, warns)

    _run(action)


def parse_rule_list(text: str) -> list:
    """``"utilitarian,maxmin:over=region,alpha:alpha=2,nash"`` or ``"[{name: alpha, alpha: 2}, nash]"`` -> specs.

    A comma starts a new rule unless what follows is another ``key=value`` of the previous one.
    """
    text = text.strip()
    if text.startswith("["):
        try:
            items = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UsageError(f"cannot read {text!r}: {exc}") from None
        return [item if isinstance(item, dict) else parse_spec(str(item), "name") for item in items or []]
    parts: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if parts and "=" in piece and ":" not in piece:
            parts[-1] += "," + piece
        elif piece:
            parts.append(piece)
    if not parts:
        raise UsageError("--rules needs at least one rule")
    return [parse_spec(part, "name") for part in parts]


@app.command()
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
    import allocator
    from allocator.comparison import compare_rules, save_comparison

    def action():
        if out is not None:
            check_output_folder(out, force=force)
        loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
        specs = parse_rule_list(rules)
        with render.progress(len(specs), "solving") as step:
            comparison = compare_rules(loaded, specs, _constraints(constraint), solver=solver, progress=step)
        if out is not None:
            save_comparison(comparison, out, force=force)
        render.comparison(comparison)
        if out is not None:
            render.written(out)

    _run(action)


@app.command()
def frontier(
    scenario: ScenarioArg,
    constraint: Annotated[str, typer.Option("--constraint", "-c", help="group_gap, floor, group_floor or group_ratio")],
    start: Annotated[float, typer.Option("--from", help="first parameter value (e.g. the loosest)")],
    stop: Annotated[float, typer.Option("--to", help="last parameter value")],
    points: Annotated[int, typer.Option("--points", min=2, max=1000, help="number of points")] = 21,
    attribute: Annotated[Optional[str], typer.Option("--attribute", "-a", help="group attribute")] = None,
    resource: Annotated[Optional[str], typer.Option("--resource", help="only this resource")] = None,
    solver: SolverOpt = "highs",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write frontier.csv and summary.json here")] = None,
    force: ForceOpt = False,
    allow_outside: OutsideOpt = False,
) -> None:
    """Trace the most total value each strength of an equity constraint allows."""
    import numpy as np

    import allocator
    from allocator.frontiers import frontier as trace, save_frontier

    def action():
        if out is not None:
            check_output_folder(out, force=force)
        loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
        values = np.linspace(start, stop, points)
        with render.progress(points, "solving") as step:
            result = trace(loaded, constraint, values, attribute=attribute, resource=resource, solver=solver,
                           progress=step)
        if out is not None:
            save_frontier(result, out, force=force)
        render.frontier(result)
        if out is not None:
            render.written(out)

    _run(action)


ReportRulesOpt = Annotated[Optional[str], typer.Option(
    "--rules", help="rules to compare beside the scenario's own (default utilitarian,proportional,maxmin,leximin,nash)")]


@app.command()
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
    from allocator.output import atomic_file
    from allocator.report import render_html

    def action():
        check_output_file(out, force=force)
        built = _built_report(scenario, rules, constraint, solver, allow_outside)
        with atomic_file(out, force=force) as staging:
            staging.write_text(render_html(built), encoding="utf-8")
        render.report_written(out, built)

    _run(action)


def _built_report(scenario: Path, rules: str | None, constraint, solver: str, allow_outside: bool):
    """Load and solve what ``report`` and ``plot`` show, with a progress bar."""
    import allocator
    from allocator.report import build_report

    loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
    specs = parse_rule_list(rules) if rules else None
    with render.progress(1 + len(specs or ()) + 5 + 2 * len(loaded.groups), "report") as step:
        return build_report(loaded, specs, _constraints(constraint), solver, progress=step)


@app.command()
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
    from allocator.report import save_charts

    def action():
        check_output_folder(out, force=force)
        save_charts(_built_report(scenario, rules, constraint, solver, allow_outside), out, force=force)
        render.written(out)

    _run(action)


@app.command()
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
    import allocator
    from allocator.explain import save_explanation

    def action():
        if out is not None:
            check_output_folder(out, force=force)
        loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
        result = allocator.solve(loaded, parse_spec(rule, "name") if rule else None, _constraints(constraint),
                                 solver=solver)
        explanation = result.explain()
        if unit is not None and unit not in set(explanation.units["unit"]):
            raise UsageError(f"no unit {unit!r} in the scenario")
        if out is not None:
            save_explanation(explanation, out, force=force)
        render.explanation(explanation, unit)
        if out is not None:
            render.written(out)

    _run(action)


@app.command()
def diagnose(
    scenario: ScenarioArg,
    rule: RuleOpt = None,
    constraint: ConstraintOpt = None,
    solver: SolverOpt = "highs",
    allow_outside: OutsideOpt = False,
) -> None:
    """Say whether the constraints can hold (exit 3 if not, with a minimal conflict) and how strict each can be."""
    import allocator
    from allocator.diagnose import diagnose as check

    def action():
        loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
        found = check(loaded, parse_spec(rule, "name") if rule else None, _constraints(constraint), solver=solver)
        render.diagnosis(found)
        if not found.feasible:
            raise typer.Exit(EXIT_INFEASIBLE)

    _run(action)


@app.command()
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
    import allocator
    from allocator.disparity import disparity as decompose, save_disparity

    def action():
        if out is not None:
            check_output_folder(out, force=force)
        loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
        result = decompose(loaded, attribute, parse_spec(rule, "name") if rule else None, resource=resource,
                           location=location, solver=solver)
        if out is not None:
            save_disparity(result, out, force=force)
        render.disparity(result)
        if out is not None:
            render.written(out)

    _run(action)


@app.command()
def verify(folder: Annotated[Path, typer.Argument(help="an output folder of 'allocator solve --out'")]) -> None:
    """Re-solve from the inputs recorded in FOLDER/summary.json and check the tables match byte for byte (exit 5 if not)."""
    from allocator.verify import verify as check

    def action():
        outcome = check(folder)
        render.verification(outcome)
        if not outcome.ok:
            raise typer.Exit(EXIT_MISMATCH)

    _run(action)


@app.command()
def rules() -> None:
    """List the rules and constraints, with their parameters."""
    from allocator.constraints import CONSTRAINTS
    from allocator.rules import RULES

    render.catalogue(RULES, CONSTRAINTS)


@app.command()
def export(
    scenario: ScenarioArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="model.lp or model.mps")],
    rule: RuleOpt = None,
    constraint: ConstraintOpt = None,
    force: ForceOpt = False,
    allow_outside: OutsideOpt = False,
) -> None:
    """Write the first-stage LP of a rule as an LP or MPS file."""
    import allocator
    from allocator.export import export_lp

    def action():
        loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
        render.written(export_lp(loaded, output, parse_spec(rule, "name") if rule else None,
                                 _constraints(constraint), force=force))

    _run(action)


def main() -> None:
    """Console entry point."""
    # Everything imported so far lives until exit: moving it out of the collector's sight saves
    # every later collection, and the one at exit, from walking it again (~0.1 s per command).
    gc.freeze()
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # a bug, not bad input: one line, the traceback only on request
        if os.environ.get("ALLOCATOR_DEBUG"):
            raise
        render.failure("internal error", f"{type(exc).__name__}: {exc} (set ALLOCATOR_DEBUG=1 for the traceback "
                                         "and please report it)")
        sys.exit(1)
