"""Policy simulation: many draws of an uncertain scenario under several rules, as tidy tables.

Draw ``k`` perturbs demand and supply (:func:`allocator.uncertainty.draw`, seeded by
``[seed, k]``); every rule is solved on it; one row per (draw, rule) records its status and every
metric of ``summary.json`` (nested ones flattened as ``max_group_gap:<attribute>``), and the
single-solve group table is kept per draw for the group intervals (:mod:`allocator.sim_summary`).

Draws are cut into **shards** of ``shard_size`` consecutive draws, the unit of work of every
engine. A shard indexes the scenario once and reuses, for each rule, one loaded HiGHS model per
stage across its draws (:class:`~allocator.backends.highs.ReusingHighs`: only changed bounds,
right-hand sides and coefficients are pushed, and primal simplex starts from the held basis;
each shard's first draw starts from bases solved once on the nominal scenario; maxmin draws
usually take their level from the last draw's duals, :mod:`allocator.rules.level_certificate`). Leximin needs
the strictly complementary duals of the interior point method and is solved cold. Because
shards are the same on every engine (:mod:`allocator.sim_engines`) and solved in the same order
inside, the same seed gives the same table whichever engine runs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from allocator.backends import SolverOptions, fallback_for, get_backend
from allocator.backends.highs import HighsBackend, ReusingHighs
from allocator.compiler import CompiledModel, feasible_set, resolve_constraints, resolve_rule
from allocator.errors import AllocatorError, Interrupted, ScenarioError, UsageError
from allocator.measures import MeasureSet
from allocator.metrics import clean_flows, compute_metrics, group_table
from allocator.problem import Problem
from allocator.rules.stages import StageInfeasible, StageRunner, StageTimeLimit
from allocator.scenario.checks import check_references
from allocator.scenario.model import Scenario
from allocator.uncertainty import DemandNoise, Uncertainty, draw, pair_intervals

#: rules whose stages read interior-point duals (saturation tests): no warm-started simplex
COLD_RULES = frozenset({"leximin"})


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
        from allocator.sim_store import scenario_fingerprint

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
    if not rules:
        raise UsageError("name at least one rule")
    if isinstance(uncertainty, dict):
        uncertainty = Uncertainty.model_validate(uncertainty)
    uncertainty = uncertainty if uncertainty is not None else scenario.uncertainty
    if cv is not None:
        if not (0 <= cv <= 10):
            raise UsageError(f"--cv must be between 0 and 10, got {cv}")
        base = uncertainty or Uncertainty()
        noise = base.demand.model_copy(update={"cv": cv}) if base.demand else DemandNoise(cv=cv)
        uncertainty = base.model_copy(update={"demand": noise})
    resolved = tuple(resolve_rule(r, scenario) for r in rules)
    labels = [rule_label(r) for r in resolved]
    if len(set(labels)) < len(labels):
        raise UsageError(f"a rule is listed twice: {', '.join(sorted({x for x in labels if labels.count(x) > 1}))}")
    constraints = resolve_constraints(None, scenario)
    for rule in resolved:
        issues = check_references(scenario, rule, constraints, file="<argument>")
        if issues:
            raise ScenarioError(issues)
    get_backend(solver)  # an unknown name fails here, not in a worker
    return SimulationPlan(scenario, resolved, constraints, uncertainty, int(draws), int(seed), int(shard_size), solver,
                          reuse)


def rule_label(rule) -> str:
    """The rule's label, as in :func:`allocator.compare`: ``maxmin``, ``alpha(alpha=2.0)``."""
    return rule.label()


def flat_metrics(metrics: dict, resources: Sequence[str]) -> dict:
    """``summary.json`` metrics as one flat row: ``max_group_gap:region``, ``utilization:food`` (several resources)."""
    row = {}
    for key, value in metrics.items():
        if key == "by_resource":
            if len(resources) > 1:
                for resource, values in value.items():
                    row.update({f"{name}:{resource}": v for name, v in values.items() if name in ("utilization", "min_fill_rate")})
        elif isinstance(value, dict):
            row.update({f"{key}:{attribute}": v for attribute, v in value.items()})
        else:
            row[key] = value
    return row


def run_shard(plan: SimulationPlan, shard: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Solve every rule on every draw of ``shard``: ``(metrics rows, group rows)``."""
    problem = Problem.from_scenario(plan.scenario)
    backends = draw_backends(plan)
    rows, numbers, labels = [], [], None
    # every shard starts from the same memory (a copy: a rule replaces what it keeps as it goes)
    cache = {("memory", label): dict(kept) for label, kept in (plan.memory or {}).items()}
    intervals = pair_intervals(problem, with_mask=True)
    for index in plan.shard_draws(shard):
        demand, supply = draw(problem, plan.uncertainty, plan.seed, index, intervals=intervals)
        for label, status, metrics, groups in solve_draw(plan, problem, demand, supply, backends, cache):
            rows.append({"draw": index, "rule": label, "status": status, **metrics})
            if groups is not None:
                allocated, group_demand, table = groups
                if labels is None:
                    labels = table()  # the same groups in every draw: their names are built once
                numbers.append((index, label, allocated, group_demand))
    if labels is None:  # set with the first group numbers
        group_frame = pd.DataFrame(columns=["draw", "rule"])
    else:
        count = len(labels)
        if any(len(n[2]) != count for n in numbers):  # demand stays positive in every draw, so groups cannot change
            raise AllocatorError("internal error: the groups changed between draws")
        group_frame = pd.concat([labels] * len(numbers), ignore_index=True)
        group_frame.insert(0, "rule", np.repeat([n[1] for n in numbers], count))
        group_frame.insert(0, "draw", np.repeat([n[0] for n in numbers], count))
        group_frame["allocated"] = np.concatenate([n[2] for n in numbers])
        group_frame["demand"] = np.concatenate([n[3] for n in numbers])
        group_frame["fill_rate"] = group_frame["allocated"] / group_frame["demand"]
    return pd.DataFrame(rows), group_frame


def solve_draw(plan: SimulationPlan, problem: Problem, demand, supply, backends: dict,
               cache: dict | None = None) -> list[tuple]:
    """Every rule of ``plan`` on ``problem`` with ``demand`` (per pair) and ``supply`` (per site):
    ``(rule label, status, flat metrics, group numbers or None)`` per rule (see :func:`_group_numbers`).

    ``cache`` (one dict per shard) keeps what does not change between draws: the measures' matrices
    (:meth:`~allocator.measures.MeasureSet.renewed`) and, where it can, the feasible set (:func:`_feasible`).
    """
    drawn = replace(problem, pair_demand=demand, supply=supply)
    if cache is None:
        measures = MeasureSet(drawn)
    else:  # the measures' matrices are the same in every draw: only the denominators are computed again
        measures = cache["measures"].renewed(drawn) if "measures" in cache else MeasureSet(drawn)
        cache.setdefault("measures", measures)
    feasible = _feasible(plan, drawn, measures, cache)
    out = []
    for rule in plan.rules:
        label = rule_label(rule)
        model = CompiledModel(plan.scenario, drawn, measures, rule, plan.constraints, feasible)
        backend = backends[label]
        # a reused model that fails is solved again cold; a cold HiGHS solve that fails, on PuLP/CBC
        fallback = HighsBackend() if isinstance(backend, ReusingHighs) else fallback_for(backend)
        # what a rule carries from draw to draw is reuse too: not with reuse=False
        memory = cache.setdefault(("memory", label), {}) if cache is not None and plan.reuse else None
        runner = StageRunner(backend, SolverOptions(), fallback, memory)
        try:
            outcome = rule.run(model, runner)
        except (StageInfeasible, StageTimeLimit) as exc:
            out.append((label, "infeasible" if isinstance(exc, StageInfeasible) else "time_limit", {}, None))
            continue
        flows = clean_flows(drawn, outcome.flows * drawn.scale)
        out.append((label, "optimal", flat_metrics(compute_metrics(drawn, measures, flows), drawn.resource_ids),
                    _group_numbers(drawn, measures, flows)))
    return out


def _feasible(plan: SimulationPlan, drawn: Problem, measures: MeasureSet, cache: dict | None):
    """The draw's feasible set. Without constraints, exclusive sets or a network its matrix is the
    same in every draw (pair sums and site sums of flows): the first draw's LP is kept and only the
    bounds of its demand and supply rows are renewed, which is what :func:`feasible_set` would build."""
    if cache is None or plan.constraints or drawn.exclusive or drawn.network is not None:
        return feasible_set(drawn, measures, plan.constraints)
    if "feasible" not in cache:
        cell = drawn.flow_site * len(drawn.resource_ids) + drawn.pair_resource[drawn.flow_pair]
        cache["feasible"], cache["supply_cells"] = feasible_set(drawn, measures, ()), np.unique(cell)
        return cache["feasible"]
    first = cache["feasible"]
    upper = first.row_upper.copy()
    upper[first.rows("demand")] = measures.pair.lp_denominator
    upper[first.rows("supply")] = drawn.supply.ravel()[cache["supply_cells"]] / drawn.scale
    upper.flags.writeable = False
    return replace(first, row_upper=upper)


def _group_numbers(problem: Problem, measures: MeasureSet, flows) -> tuple:
    """The numbers of :func:`~allocator.metrics.group_table` (allocated, demand, in its row order) and
    a function that builds its ``attribute, group, resource, units`` columns."""
    allocated, demand = [], []
    for attribute in problem.groups:
        measure = measures.group(attribute, servable_only=False)
        allocated.append(measure.matrix @ flows)
        demand.append(measure.denominator)
    if not allocated:
        return None
    return (np.concatenate(allocated), np.concatenate(demand),
            lambda: group_table(problem, measures, flows)[["attribute", "group", "resource", "units"]])


def draw_backends(plan: SimulationPlan) -> dict:
    """One backend per rule: a model-reusing HiGHS, or a cold one where the rule needs it."""
    backends = {}
    for rule in plan.rules:
        if plan.solver != "highs":
            backends[rule_label(rule)] = get_backend(plan.solver)
        else:
            cold = rule.key in COLD_RULES or not plan.reuse
            label = rule_label(rule)
            backends[label] = HighsBackend() if cold else ReusingHighs((plan.bases or {}).get(label))
    return backends


def warm_bases(plan: SimulationPlan) -> SimulationPlan:
    """``plan`` with starting bases: every warm rule solved once on the nominal scenario.

    Each shard's first draw then starts from these bases instead of from scratch (a cold dual
    simplex costs ten draws), and with what the rules remembered of the nominal scenario
    (maxmin: the duals that prove its level). Computed in the calling process, so every engine
    and every resumed run starts its shards from the same state.
    """
    if plan.solver != "highs" or not plan.reuse:
        return plan
    problem = Problem.from_scenario(plan.scenario)
    backends, cache = draw_backends(plan), {}
    solve_draw(plan, problem, problem.pair_demand, problem.supply, backends, cache)
    # a rule that remembered something solves its later draws another way (maxmin: one value LP at
    # the level its duals prove): solved once more, so that LP's basis is ready too
    remembering = tuple(rule for rule in plan.rules if cache.get(("memory", rule_label(rule))))
    if remembering:
        solve_draw(replace(plan, rules=remembering), problem, problem.pair_demand, problem.supply, backends, cache)
    bases = {label: backend.export_bases() for label, backend in backends.items() if isinstance(backend, ReusingHighs)}
    memory = {rule_label(rule): cache[("memory", rule_label(rule))] for rule in remembering}
    return replace(plan, bases=bases, memory=memory or None)


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
    """

    metrics: pd.DataFrame
    groups: pd.DataFrame
    plan: SimulationPlan
    resumed_draws: int = 0

    def metric_summary(self) -> pd.DataFrame:
        from allocator.sim_summary import metric_summary

        return metric_summary(self.metrics)

    def group_intervals(self, **kwargs) -> pd.DataFrame:
        from allocator.sim_summary import group_intervals

        return group_intervals(self.groups, seed=self.plan.seed, **kwargs)


def run_simulation(scenario: Scenario, rules: Sequence = ("maxmin",), draws: int = 1000, seed: int = 1,
                   engine: str = "serial", *, uncertainty=None, cv: float | None = None, workers: int | None = None,
                   scheduler: str | None = None, out=None, resume: bool = False, force: bool = False,
                   shard_size: int = 25, solver: str = "highs", reuse: bool = True,
                   progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Solve ``rules`` on ``draws`` perturbed copies of ``scenario``; see :func:`simulate`.

    With ``out`` the shards stream into that folder as they finish (:mod:`allocator.sim_store`)
    and the summaries are written at the end (:func:`allocator.sim_output.save_simulation`).
    """
    plan = plan_simulation(scenario, rules, draws, seed, uncertainty=uncertainty, cv=cv, shard_size=shard_size,
                           solver=solver, reuse=reuse)
    store = None
    if out is not None:
        from allocator.sim_store import ShardStore

        store = ShardStore(out, plan.describe(), resume=resume, force=force)
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
    from allocator.sim_engines import execute

    try:
        plan = execute(plan, todo, sink, engine=engine, workers=workers, scheduler=scheduler, prepare=warm_bases)
    except KeyboardInterrupt:
        raise SimulationInterrupted(count[0], plan.draws, out) from None
    if store is not None:
        metrics, groups = store.load()
    else:
        parts = [collected[k] for k in sorted(collected)]
        metrics = pd.concat([p[0] for p in parts], ignore_index=True)
        groups = pd.concat([p[1] for p in parts], ignore_index=True)
    order = {rule_label(r): k for k, r in enumerate(plan.rules)}
    metrics = (metrics.assign(_rule=metrics["rule"].map(order)).sort_values(["draw", "_rule"], kind="stable")
               .drop(columns="_rule").reset_index(drop=True))
    simulation = Simulation(metrics, groups, plan, resumed)
    if out is not None:
        from allocator.sim_output import save_simulation

        save_simulation(simulation, out)
    return simulation


def simulate(scenario: Scenario, rules: Sequence = ("maxmin",), draws: int = 1000, seed: int = 1,
             engine: str = "serial", **options) -> pd.DataFrame:
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
        ``uncertainty`` (an :class:`~allocator.uncertainty.Uncertainty` or mapping, replacing the
        scenario's), ``cv`` (demand noise), ``workers``, ``scheduler`` (a Dask scheduler address),
        ``out`` (stream shards to this folder), ``resume``, ``force``, ``shard_size``, ``solver``,
        ``progress`` (called with draws done and draws in all): see :func:`run_simulation`.

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
