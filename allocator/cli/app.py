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

from allocator.cli import render, streams
from allocator.core.spec_text import parse_spec
from allocator.core.status import Status
from allocator.io.atomic import check_output_file, check_output_folder
from allocator.core.errors import (
    AllocatorError, InfeasibleError, Interrupted, OutputExistsError, ScenarioError, SolverError, UsageError,
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


def given(value: str | None, option: str, expected: str) -> str | None:
    """``value`` unless it is empty: ``--rule ''`` (a shell variable that expanded to nothing) is refused,
    never read as "not given"."""
    if value is not None and not value.strip():
        raise UsageError(f"{option} {value!r} is empty; expected {expected}")
    return value


def _constraints(values: list[str] | None):
    if values is None:
        return None
    for value in values:
        given(value, "--constraint", "a constraint such as 'floor:share=0.2', or 'none' for no constraints")
    if values == ["none"]:
        return []
    return [parse_spec(v, "type") for v in values]


def _rule(text: str | None) -> dict | None:
    """The ``--rule`` option as a spec, or ``None`` for the scenario's own rule."""
    given(text, "--rule", "a rule such as 'maxmin' or 'maxmin:over=region' (leave --rule out for the scenario's rule)")
    return parse_spec(text, "name") if text is not None else None


def _check_folder(out: Path | None, force: bool, scenario: Path) -> None:
    """Refuse an existing output folder (unless ``--force``, and never one holding the scenario or
    anything allocator did not write) before any work is done."""
    if out is not None:
        check_output_folder(out, force=force, inputs=[scenario])


def _load(scenario: Path, allow_outside: bool, out: Path | None = None, force: bool = False):
    """The scenario, loaded; then, before any work, the output checked against every file it read
    (a table inside the output folder must not be replaced)."""
    import allocator

    loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
    if out is not None:
        check_output_folder(out, force=force, inputs=loaded.input_paths)
    return loaded


def _save_and_show(result, out: Path | None, force: bool, save, show, inputs=()) -> None:
    """Write ``result`` with ``save`` when there is an output folder (never over ``inputs``), show it,
    then name the folder."""
    if out is not None:
        save(result, out, force=force, inputs=inputs)
    show(result)
    if out is not None:
        render.written(out)


def _run(action) -> None:
    """Call ``action`` and turn allocator's typed errors into messages and exit codes.

    Exit codes: 2 bad input or usage, 3 infeasible, 4 solver failure, 6 a simulation worker process
    died (resumable), 7 allocator's own check failed (a defect: please report), 130 interrupted.
    A message naming a library parameter (``force=True``) names its option here (``--force``).
    """
    from allocator.core.errors import InternalError, WorkerLost  # (already loaded: allocator.core.errors)

    exit_worker_lost, exit_internal = 6, 7
    options = {"force": "--force", "resume": "--resume", "time_limit": "--time-limit", "solver": "--solver",
               "allow_outside": "--allow-outside", "cv": "--cv"}

    def option(parameter) -> str:
        """``force=True`` as ``--force``, ``solver="pulp"`` as ``--solver pulp``; a parameter without an
        option keeps the library's spelling."""
        flag = options.get(parameter.name)
        if flag is None:
            return str(parameter)
        return flag if parameter.value is None or parameter.value is True else f"{flag} {parameter.value}"

    try:
        action()
    except ScenarioError as exc:
        render.scenario_error(exc.respelled(option))
        raise typer.Exit(EXIT_INPUT) from None
    except (UsageError, OutputExistsError) as exc:
        render.failure("error", exc.spelled(option))
        raise typer.Exit(EXIT_INPUT) from None
    except InfeasibleError as exc:
        render.infeasible(exc.respelled(option))
        raise typer.Exit(EXIT_INFEASIBLE) from None
    except SolverError as exc:
        render.failure("solver failure", exc.spelled(option))
        raise typer.Exit(EXIT_SOLVER) from None
    except WorkerLost as exc:
        render.failure("worker lost", exc.spelled(option))
        raise typer.Exit(exit_worker_lost) from None
    except InternalError as exc:
        render.failure("internal error", exc.spelled(option))
        raise typer.Exit(exit_internal) from None
    except Interrupted as exc:
        render.failure("interrupted", exc.spelled(option))
        raise typer.Exit(130) from None
    except AllocatorError as exc:
        render.failure("error", exc.spelled(option))
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
    from allocator.results.result import save_excel

    def action():
        if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
            raise UsageError(f"--time-limit must be a positive number of seconds, got {time_limit}")
        excel = out is not None and out.suffix.lower() == ".xlsx"
        if out is not None:
            (check_output_file if excel else check_output_folder)(out, force=force, inputs=[scenario])
        loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
        if out is not None:  # again, against every table read: one may sit inside the output folder
            (check_output_file if excel else check_output_folder)(out, force=force, inputs=loaded.input_paths)
        result = allocator.solve(loaded, _rule(rule), _constraints(constraint),
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

    _run(action)


@app.command()
def validate(scenario: ScenarioArg, allow_outside: OutsideOpt = False) -> None:
    """Check a scenario without solving it (errors exit 2; warnings are printed)."""
    import allocator

    def action():
        loaded, warns = allocator.validate(scenario, allow_outside=allow_outside)
        render.validated(str(scenario), loaded, warns)

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
    stage: Annotated[Optional[str], typer.Option(
        help="a stage as 'solve' lists it (e.g. value): solve, then write that stage's LP; default: the first")] = None,
    force: ForceOpt = False,
    allow_outside: OutsideOpt = False,
) -> None:
    """Write a stage LP of a rule, in the scenario's units, as an LP or MPS file with a legend of its names."""
    import allocator
    from allocator.accountability.export import export_lp, legend_path

    def action():
        loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
        path = export_lp(loaded, output, _rule(rule), _constraints(constraint), stage=stage, force=force)
        render.written(path)
        render.written(legend_path(path))

    _run(action)


# the other commands register themselves on ``app`` when their modules are imported
from allocator.cli import accountability, simulation, tradeoffs  # noqa: E402,F401


def main() -> None:
    """Console entry point."""
    # Everything imported so far lives until exit: moving it out of the collector's sight saves
    # every later collection, and the one at exit, from walking it again (~0.1 s per command).
    gc.freeze()
    streams.settle_process_streams()  # a closed stdout, a reader gone, an ASCII terminal: never a failure
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except AllocatorError as exc:  # raised outside a command, e.g. the help text on a full disk
        render.failure("error", str(exc))
        sys.exit(EXIT_INPUT)
    except Exception as exc:  # a bug, not bad input: one line, the traceback only on request
        if os.environ.get("ALLOCATOR_DEBUG"):
            raise
        render.failure("internal error", f"{type(exc).__name__}: {exc} (set ALLOCATOR_DEBUG=1 for the traceback "
                                         "and please report it)")
        sys.exit(1)
