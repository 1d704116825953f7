"""Policy simulation: many draws of an uncertain scenario under several rules, as tidy tables.

Draw ``k`` perturbs demand and supply (:func:`allocator.scenario.uncertainty.draw`, seeded by
``[seed, k]``); every rule is solved on it; one row per (draw, rule) records its status and every
metric of ``summary.json`` (nested ones flattened as ``max_group_gap[<attribute>]``), and the
single-solve group table is kept per draw for the group intervals (:mod:`allocator.simulation.summary`).

Draws are cut into **shards** of ``shard_size`` consecutive draws, the unit of work of every
engine, solved by :mod:`allocator.simulation.draws` (reused HiGHS models, starting bases, remembered
maxmin levels). Because shards are the same on every engine (:mod:`allocator.simulation.engines`) and
solved in the same order inside, the same seed gives the same table whichever engine runs it.

This module is the public entry (:func:`simulate`); the checked request
is a :class:`~allocator.simulation.plan.SimulationPlan` (:mod:`allocator.simulation.plan`, which
the engines import instead of this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from allocator.core.arguments import Count, Flag, PathLike, Text, Whole, checked
from allocator.core.budget import Budget
from allocator.core.errors import SimulationInterrupted
from allocator.core.status import Status
from allocator.io.atomic import atomic_folder
from allocator.results.analysis import Analysis
from allocator.scenario.load import ScenarioLike
from allocator.simulation.draws import rule_label, warm_bases
from allocator.simulation.engines import check_workers, execute
from allocator.simulation.output import save_simulation, simulation_summary
from allocator.simulation.plan import SimulationPlan, plan_simulation
from allocator.simulation.store import ShardStore
from allocator.simulation.summary import group_intervals, metric_summary


@dataclass(frozen=True, eq=False)
class Simulation(Analysis):
    """The outcome of :func:`simulate`.

    Attributes
    ----------
    metrics : DataFrame
        One row per (draw, rule): ``draw, rule, status`` and every metric (also ``table``).
    groups : DataFrame
        The single-solve group table of every (draw, rule), with ``draw`` and ``rule`` first.
    plan : SimulationPlan
    resumed_draws : int
        Draws found on disk and not solved again.
    status : Status
        ``COMPLETE``, or ``TIME_LIMIT`` when the time ran out first: the tables hold the finished
        shards only, and ``stopped`` says how many draws they hold.
    """

    metrics: pd.DataFrame
    groups: pd.DataFrame
    plan: SimulationPlan
    resumed_draws: int = 0
    status: Status = Status.COMPLETE
    stopped: dict | None = None

    @property
    def table(self) -> pd.DataFrame:
        """One row per (draw, rule): ``draw, rule, status`` and every metric (``metrics``)."""
        return self.metrics

    @property
    def input_paths(self) -> tuple[str, ...]:
        return self.plan.scenario.input_paths

    def to_dict(self) -> dict:
        """The plan, each rule's statuses and the metric summary (``summary.json``)."""
        return simulation_summary(self)

    @checked
    def save(self, folder: PathLike, *, force: Flag = False) -> Path:
        """Write the summaries (:func:`~allocator.simulation.output.save_simulation`) atomically into ``folder``.

        A run given ``out=`` has written its shards and summaries there already.
        """
        with atomic_folder(folder, force=force, inputs=self.input_paths) as staging:
            save_simulation(self, staging)
        return Path(folder)

    @property
    def draws_done(self) -> int:
        """Draws in the tables: all of the plan's unless the time ran out."""
        return self.plan.draws if self.stopped is None else self.stopped["done"]

    def metric_summary(self) -> pd.DataFrame:
        return metric_summary(self.metrics)

    def group_intervals(self, **kwargs) -> pd.DataFrame:
        return group_intervals(self.groups, seed=self.plan.seed, **kwargs)


@checked
def simulate(scenario: ScenarioLike, *, rules=None, draws: Count = 1000, seed: Whole = 1, engine: Text = "serial",
             uncertainty=None, cv: float | None = None, workers: int | None = None, scheduler: str | None = None,
             out=None, resume: bool = False, force: bool = False, shard_size: int = 25, solver: str = "highs",
             reuse: bool = True, progress: Callable[[int, int], None] | None = None,
             time_limit: float | None = None) -> Simulation:
    """Solve every rule on ``draws`` random perturbations of ``scenario``: one ``table`` row per draw x rule.

    Parameters
    ----------
    scenario : Scenario
        Its ``uncertainty:`` section and demand intervals describe the perturbations.
    rules : sequence, optional
        Rule names or specs, as for :func:`allocator.compare`; default: the scenario's rule.
    draws, seed : int
        Draw ``k`` is generated from ``numpy.random.default_rng([seed, k])``.
    engine : {"serial", "processes", "dask"}
        Where shards run; the table is the same on every engine.
    uncertainty : Uncertainty or mapping, optional
        Replaces the scenario's :class:`~allocator.scenario.uncertainty.Uncertainty`.
    cv : float, optional
        Demand noise (coefficient of variation), overriding the uncertainty's.
    workers, scheduler
        Worker processes; a Dask scheduler address (``engine="dask"``).
    out, resume, force
        Stream the shards into this folder as they finish (see Notes); continue a run found there;
        replace a folder allocator wrote.
    shard_size : int
        Consecutive draws per unit of work.
    solver : str
    reuse : bool
        Reuse HiGHS models, starting bases and remembered levels between draws.
    progress : callable, optional
        Called with draws done and draws in all.
    time_limit : float, optional
        Seconds for the whole run, checked before each shard is started (see Notes).

    ``draws`` times the rows each draw adds (one per rule, and its group rows) may not exceed
    :data:`allocator.core.budget.MAX_TABLE_ROWS`.

    Returns
    -------
    Simulation
        ``table``: ``draw, rule, status`` and every metric of ``summary.json`` (``max_group_gap[<attribute>]``...).

    Notes
    -----
    With ``out`` the shards stream into that folder as they finish (:mod:`allocator.simulation.store`)
    and the summaries are written at the end (:func:`allocator.simulation.output.save_simulation`).
    ``time_limit`` (seconds for the whole run) is checked before each shard but the first is
    started: when it has run out, shards not started are left out, a shard that has started
    finishes and is kept (no more run at once than there are workers), and the result holds the
    finished shards with ``status`` ``time_limit`` (resume it in ``out`` to continue).

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "pool", "resources": [{"id": "food"}], "supply": {"food": 10},
    ...     "units": [{"id": "a", "demand": 8}, {"id": "b", "demand": 4}]})
    >>> table = simulate(s, rules=["maxmin", "utilitarian"], draws=3, seed=7, cv=0.3).table
    >>> table[["draw", "rule"]].values.tolist()[:2], len(table)
    ([[0, 'maxmin'], [0, 'utilitarian']], 6)
    """
    budget = Budget(time_limit)
    rules = (scenario.rule,) if rules is None else rules
    plan = plan_simulation(scenario, rules, draws, seed, uncertainty=uncertainty, cv=cv, shard_size=shard_size,
                           solver=solver, reuse=reuse)
    check_workers(engine, workers, scheduler)
    store = None
    if out is not None:
        store = ShardStore(out, plan.describe(), resume=resume, force=force,
                           inputs=scenario.input_paths)
    finished = store.done() if store is not None else set()
    finished &= set(range(plan.num_shards))
    resumed = sum(len(plan.shard_draws(k)) for k in finished)
    collected: dict[int, tuple] = {}
    count = [resumed]

    def sink(shard: int, result: tuple) -> None:
        if store is not None:
            store.write(shard, *result)
        else:
            collected[shard] = result
        count[0] += len(plan.shard_draws(shard))
        if progress is not None:
            progress(count[0], plan.draws)

    if progress is not None:
        progress(count[0], plan.draws)
    todo = [k for k in range(plan.num_shards) if k not in finished]
    stopped = None
    try:
        plan = execute(plan, todo, sink, engine=engine, workers=workers, scheduler=scheduler, prepare=warm_bases,
                       stop=budget.expired)
    except KeyboardInterrupt:
        raise SimulationInterrupted(count[0], plan.draws, out) from None
    if count[0] < plan.draws:  # execute returns early only when the time ran out
        stopped = budget.stopped(count[0], plan.draws, "draws")
        if out is not None:
            stopped["note"] += f"; the finished shards are saved in {out}"
    if store is not None:
        metrics, groups = store.load()
    else:
        parts = [collected[k] for k in sorted(collected)]
        metrics = pd.concat([p[0] for p in parts], ignore_index=True)
        groups = pd.concat([p[1] for p in parts], ignore_index=True)
    order = {rule_label(r): k for k, r in enumerate(plan.rules)}
    metrics = (metrics.assign(_rule=metrics["rule"].map(order)).sort_values(["draw", "_rule"], kind="stable")
               .drop(columns="_rule").reset_index(drop=True))
    status = Status.COMPLETE if stopped is None else Status.TIME_LIMIT
    simulation = Simulation(metrics, groups, plan, resumed, status, stopped)
    if out is not None:
        save_simulation(simulation, out)
    return simulation
