"""CLI commands for uncertainty: simulate (many draws, several rules) and bounds (ranges over intervals)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

import allocator
from allocator.cli import render
from allocator.cli.common import EXIT_SOLVER, CommandGroup, check_folder, load_checked, save_and_show
from allocator.cli.options import (
    ForceOpt,
    OutsideOpt,
    RuleOpt,
    ScenarioArg,
    SolverOpt,
    TimeLimitOpt,
    parse_rule,
    parse_rule_list,
)
from allocator.core.budget import check_time_limit
from allocator.core.status import Status

commands = CommandGroup()


@commands.command()
def simulate(
    scenario: ScenarioArg,
    rules: Annotated[str, typer.Option("--rules", help="comma-separated rules, e.g. maxmin,utilitarian,leximin")] =
        "maxmin,utilitarian",
    draws: Annotated[int, typer.Option("--draws", min=1, help="number of random draws")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="draw k uses numpy default_rng([seed, k])")] = 1,
    cv: Annotated[Optional[float], typer.Option("--cv", help="demand noise: coefficient of variation of the "
                                                             "lognormal factor (replaces the scenario's)")] = None,
    engine: Annotated[str, typer.Option("--engine", help="serial, processes or dask")] = "serial",
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="processes or local Dask workers "
                                                                            "(default: the machine's cores)")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="address of a running Dask scheduler, "
                                                                         "e.g. tcp://10.0.0.5:8786")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for shards and summaries")] = Path("simulation"),
    resume: Annotated[bool, typer.Option("--resume", help="continue the simulation in --out, skipping finished "
                                                          "draws")] = False,
    shard_size: Annotated[int, typer.Option("--shard-size", min=1, help="draws per shard (unit of work and of "
                                                                        "resumption)")] = 25,
    solver: SolverOpt = "highs",
    force: ForceOpt = False,
    time_limit: TimeLimitOpt = None,
    allow_outside: OutsideOpt = False,
) -> None:
    """Solve several rules on many random draws of uncertain demand and supply."""
    # lazy: start-up time of `allocator --help` and the other commands (`import allocator` defers it too)
    from allocator.simulation.api import simulate as run_simulation

    check_time_limit(time_limit, "--time-limit")
    loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
    render.warnings(loaded.warnings)
    with render.draws_progress(draws) as update:
        result = run_simulation(loaded, rules=parse_rule_list(rules), draws=draws, seed=seed, engine=engine, cv=cv,
                                workers=workers, scheduler=scheduler, out=out, resume=resume, force=force,
                                shard_size=shard_size, solver=solver, progress=update, time_limit=time_limit)
    render.simulation(result)
    if result.stopped is not None:
        render.stopped({**result.stopped, "note": f"{result.stopped['note']}: run again with --resume to continue"})
    render.written(out)
    if result.status != Status.COMPLETE:  # written, but cut short: as a time-limited solve
        raise typer.Exit(EXIT_SOLVER)


def show_bounds(found) -> None:
    """The bounds table, then the ``stopped:`` line when the time limit cut the samples short."""
    render.bounds(found.table)
    render.stopped(found.stopped)


@commands.command()
def bounds(
    scenario: ScenarioArg,
    rule: RuleOpt = None,
    samples: Annotated[int, typer.Option("--samples", min=0, help="uniform demand draws for the sampled bounds")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="seed of the sampled demand vectors")] = 0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write bounds.csv and summary.json here")] = None,
    solver: SolverOpt = "highs",
    force: ForceOpt = False,
    time_limit: TimeLimitOpt = None,
    allow_outside: OutsideOpt = False,
) -> None:
    """Worst and best min fill rate, group gaps and total value over the demand intervals."""
    # lazy: start-up time of `allocator --help` and the other commands (only this one needs it)
    from allocator.simulation.bounds import bounds as compute_bounds

    check_time_limit(time_limit, "--time-limit")
    check_folder(out, force, scenario)
    loaded = load_checked(scenario, allow_outside, out, force)
    with render.draws_progress(samples, "samples") as update:
        found = compute_bounds(loaded, rule=parse_rule(rule), samples=samples, seed=seed, solver=solver,
                               time_limit=time_limit, progress=update)
    save_and_show(found, out, force, show_bounds)
    if found.status != Status.COMPLETE:  # written, but cut short: as a time-limited solve
        raise typer.Exit(EXIT_SOLVER)
