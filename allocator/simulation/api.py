"""Policy simulation: many draws of an uncertain scenario under several rules, as tidy tables.

Draw ``k`` perturbs demand and supply (:func:`allocator.scenario.uncertainty.draw`, seeded by
``[seed, k]``); every rule is solved on it; one row per (draw, rule) records its status and every
metric of ``summary.json`` (nested ones flattened as ``max_group_gap:<attribute>``), and the
single-solve group table is kept per draw for the group intervals (:mod:`allocator.simulation.summary`).

Draws are cut into **shards** of ``shard_size`` consecutive draws, the unit of work of every
engine, solved by :mod:`allocator.simulation.draws` (reused HiGHS models, starting bases, remembered
maxmin levels). Because shards are the same on every engine (:mod:`allocator.simulation.engines`) and
solved in the same order inside, the same seed gives the same table whichever engine runs it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Sequence

import pandas as pd
from pydantic import ValidationError

from allocator.backends import get_backend
from allocator.core.arguments import Count, Text, Whole, checked
from allocator.core.budget import MAX_TABLE_ROWS, Budget, refuse_over
from allocator.core.errors import Interrupted, ScenarioError, UsageError
from allocator.core.registry import issues_from_validation
from allocator.model.compiler import resolve_constraints
from allocator.scenario.checks import check_references
from allocator.scenario.load import ScenarioLike
from allocator.scenario.model import Scenario
from allocator.scenario.rules import RULES
from allocator.scenario.uncertainty import DemandNoise, Uncertainty
from allocator.simulation.draws import rule_label, warm_bases


@dataclass(frozen=True, eq=False)
class SimulationPlan:
    """Everything a shard needs; picklable, shipped once to each worker (the processes engine sends
    the starting ``bases``, computed while its workers start, with every shard)."""

    scenario: Scenario
    rules: tuple
    constraints: tuple
    uncertainty: Uncertainty | None
    draws: int
    seed: int
    shard_size: int
    solver: str = "highs"
    reuse: bool = True  # HiGHS: keep loaded models between draws (False: every draw cold, for comparison)
    bases: dict | None = None  # rule label -> starting bases per LP shape (see warm_bases)
    memory: dict | None = None  # rule label -> what the rule remembered of the nominal scenario (see warm_bases)

    @property
    def num_shards(self) -> int:
        return math.ceil(self.draws / self.shard_size)

    def shard_draws(self, shard: int) -> range:
        return range(shard * self.shard_size, min((shard + 1) * self.shard_size, self.draws))

    def describe(self) -> dict:
        """The settings a resumed run must share (recorded in ``simulation.json``)."""
        from allocator.simulation.store import scenario_fingerprint

        return {"scenario": self.scenario.name, "fingerprint": scenario_fingerprint(self.scenario),
                "inputs": [digest for _, _, digest in self.scenario.inputs],
                "rules": [{"name": r.key, **r.params()} for r in self.rules],
                "constraints": [{"type": c.key, **c.params()} for c in self.constraints],
                "uncertainty": self.uncertainty.model_dump() if self.uncertainty is not None else None,
                "draws": self.draws, "seed": self.seed, "shard_size": self.shard_size, "solver": self.solver,
                "reuse": self.reuse}


def plan_simulation(scenario: Scenario, rules: Sequence = ("maxmin",), draws: int = 1000, seed: int = 1, *,
                    uncertainty: Uncertainty | dict | None = None, cv: float | None = None,
                    shard_size: int = 25, solver: str = "highs", reuse: bool = True) -> SimulationPlan:
    """Check the request and resolve rules, constraints and uncertainty (``cv`` overrides demand noise)."""
    if draws < 1:
        raise UsageError(f"draws must be at least 1, got {draws}")
    if seed < 0:
        raise UsageError(f"the seed must be a whole number >= 0, got {seed}")
    if shard_size < 1:
        raise UsageError(f"shard_size must be at least 1, got {shard_size}")
    resolved = RULES.many(rules, where="rules")
    if not resolved:
        raise UsageError("name at least one rule")
    if isinstance(uncertainty, Mapping):
        try:
            uncertainty = Uncertainty.model_validate(dict(uncertainty))
        except ValidationError as exc:
            raise UsageError("; ".join(str(i) for i in issues_from_validation(
                exc, file="<argument>", where="uncertainty"))) from None
    uncertainty = uncertainty if uncertainty is not None else scenario.uncertainty
    if cv is not None:
        if not (0 <= cv <= 10):
            raise UsageError(f"--cv must be between 0 and 10, got {cv}")
        base = uncertainty or Uncertainty()
        noise = base.demand.model_copy(update={"cv": cv}) if base.demand else DemandNoise(cv=cv)
        uncertainty = base.model_copy(update={"demand": noise})
    labels = [rule_label(r) for r in resolved]
    if len(set(labels)) < len(labels):
        raise UsageError(f"a rule is listed twice: {', '.join(sorted({x for x in labels if labels.count(x) > 1}))}")
    constraints = resolve_constraints(None, scenario)
    for rule in resolved:
        issues = check_references(scenario, rule, constraints, file="<argument>")
        if issues:
            raise ScenarioError(issues)
    get_backend(solver)  # an unknown name fails here, not in a worker
    _check_table_rows(scenario, int(draws), len(resolved))
    return SimulationPlan(scenario, resolved, constraints, uncertainty, int(draws), int(seed), int(shard_size), solver,
                          reuse)


def _check_table_rows(scenario: Scenario, draws: int, rules: int) -> None:
    """Refuse, before any work, more draws than the tables held in memory to summarise them allow."""
    from allocator.model.measures import MeasureSet
    from allocator.model.problem import Problem

    problem = Problem.from_scenario(scenario)
    measures = MeasureSet(problem)
    groups = sum(len(measures.group(a, servable_only=False).denominator) for a in problem.groups)
    per_draw = rules * (1 + groups)
    refuse_over("draws", draws, MAX_TABLE_ROWS // per_draw,
                f"each draw adds {per_draw:,} rows ({rules} rule(s), each one metrics row and {groups:,} group "
                f"row(s)) to the tables a simulation holds in memory to summarise, limited to {MAX_TABLE_ROWS:,} rows")


class SimulationInterrupted(Interrupted):
    """Stopped (Ctrl-C) before every draw was solved; finished shards are on disk for ``--resume``."""

    def __init__(self, done: int, total: int, folder):
        self.done, self.total = done, total
        where = f"; the finished draws are saved in {folder}: run again with --resume" if folder else ""
        super().__init__(f"interrupted after {done} of {total} draws{where}")


@dataclass(frozen=True, eq=False)
class Simulation:
    """The outcome of :func:`run_simulation`.

    Attributes
    ----------
    metrics : DataFrame
        One row per (draw, rule): ``draw, rule, status`` and every metric.
    groups : DataFrame
        The single-solve group table of every (draw, rule), with ``draw`` and ``rule`` first.
    plan : SimulationPlan
    resumed_draws : int
        Draws found on disk and not solved again.
    status : str
        ``complete``, or ``time_limit`` when the time ran out first: the tables hold the finished
        shards only, and ``stopped`` says how many draws they hold.
    """

    metrics: pd.DataFrame
    groups: pd.DataFrame
    plan: SimulationPlan
    resumed_draws: int = 0
    status: str = "complete"
    stopped: dict | None = None

    @property
    def draws_done(self) -> int:
        """Draws in the tables: all of the plan's unless the time ran out."""
        return self.plan.draws if self.stopped is None else self.stopped["done"]

    def metric_summary(self) -> pd.DataFrame:
        from allocator.simulation.summary import metric_summary

        return metric_summary(self.metrics)

    def group_intervals(self, **kwargs) -> pd.DataFrame:
        from allocator.simulation.summary import group_intervals

        return group_intervals(self.groups, seed=self.plan.seed, **kwargs)


@checked
def run_simulation(scenario: ScenarioLike, rules=("maxmin",), draws: Count = 1000, seed: Whole = 1,
                   engine: Text = "serial", *, uncertainty=None, cv: float | None = None, workers: int | None = None,
                   scheduler: str | None = None, out=None, resume: bool = False, force: bool = False,
                   shard_size: int = 25, solver: str = "highs", reuse: bool = True,
                   progress: Callable[[int, int], None] | None = None, time_limit: float | None = None) -> Simulation:
    """Solve ``rules`` on ``draws`` perturbed copies of ``scenario``; see :func:`simulate`.

    With ``out`` the shards stream into that folder as they finish (:mod:`allocator.simulation.store`)
    and the summaries are written at the end (:func:`allocator.simulation.output.save_simulation`).
    ``time_limit`` (seconds for the whole run) is checked before each shard but the first is
    started: when it has run out, shards not started are left out, a shard that has started
    finishes and is kept (no more run at once than there are workers), and the result holds the
    finished shards with ``status`` ``time_limit`` (resume it in ``out`` to continue).
    """
    budget = Budget(time_limit)
    plan = plan_simulation(scenario, rules, draws, seed, uncertainty=uncertainty, cv=cv, shard_size=shard_size,
                           solver=solver, reuse=reuse)
    from allocator.simulation.engines import check_workers, execute

    check_workers(engine, workers, scheduler)
    store = None
    if out is not None:
        from allocator.simulation.store import ShardStore

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
    simulation = Simulation(metrics, groups, plan, resumed, "complete" if stopped is None else "time_limit", stopped)
    if out is not None:
        from allocator.simulation.output import save_simulation

        save_simulation(simulation, out)
    return simulation


@checked
def simulate(scenario: ScenarioLike, rules=("maxmin",), draws: Count = 1000, seed: Whole = 1,
             engine: Text = "serial", **options) -> pd.DataFrame:
    """Solve every rule on ``draws`` random perturbations of ``scenario``: one row per draw x rule.

    Parameters
    ----------
    scenario : Scenario
        Its ``uncertainty:`` section and demand intervals describe the perturbations.
    rules : sequence
        Rule names or specs, as for :func:`allocator.compare`.
    draws, seed : int
        Draw ``k`` is generated from ``numpy.random.default_rng([seed, k])``.
    engine : {"serial", "processes", "dask"}
        Where shards run; the table is the same on every engine.
    **options
        ``uncertainty`` (an :class:`~allocator.scenario.uncertainty.Uncertainty` or mapping, replacing the
        scenario's), ``cv`` (demand noise), ``workers``, ``scheduler`` (a Dask scheduler address),
        ``out`` (stream shards to this folder), ``resume``, ``force``, ``shard_size``, ``solver``,
        ``progress`` (called with draws done and draws in all), ``time_limit`` (seconds, checked
        before each shard is started): see :func:`run_simulation`. ``draws`` times the rows each draw adds
        (one per rule, and its group rows) may not exceed :data:`allocator.core.budget.MAX_TABLE_ROWS`.

    Returns
    -------
    DataFrame
        ``draw, rule, status`` and every metric of ``summary.json`` (``max_group_gap:<attribute>``...).

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "pool", "resources": [{"id": "food"}], "supply": {"food": 10},
    ...     "units": [{"id": "a", "demand": 8}, {"id": "b", "demand": 4}]})
    >>> table = simulate(s, ["maxmin", "utilitarian"], draws=3, seed=7, cv=0.3)
    >>> table[["draw", "rule"]].values.tolist()[:2], len(table)
    ([[0, 'maxmin'], [0, 'utilitarian']], 6)
    """
    return run_simulation(scenario, rules, draws, seed, engine, **options).metrics
