"""Solving the draws of one shard: every rule on every draw, with reused models.

A shard indexes the scenario once and reuses, for each rule, one loaded HiGHS model per stage
across its draws (:class:`~allocator.backends.highs.ReusingHighs`: only changed bounds,
right-hand sides and coefficients are pushed, and primal simplex starts from the held basis).
Each shard's first draw starts from bases solved once on the nominal scenario
(:func:`warm_bases`), and maxmin draws usually take their level from the last draw's duals
(:mod:`allocator.rules.level_certificate`). Leximin needs the strictly complementary duals of
the interior point method and is solved cold. A shard's result depends only on the plan and
the shard number, so every engine (:mod:`allocator.simulation.engines`) gives the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from allocator.backends import SolverOptions, fallback_for, get_backend
from allocator.backends.highs import HighsBackend, ReusingHighs
from allocator.core.errors import InternalError, StageInfeasible, StageTimeLimit
from allocator.core.status import Status
from allocator.model.compiler import CompiledModel, feasible_set
from allocator.model.lp import LPModel
from allocator.model.measures import MeasureSet
from allocator.model.problem import Problem
from allocator.results.analysis import metric_name
from allocator.results.metrics import clean_flows, compute_metrics, group_table
from allocator.rules.base import RuleMemory, algorithm
from allocator.rules.stages import StageRunner
from allocator.scenario.rules import Rule
from allocator.scenario.uncertainty import draw, pair_intervals
from allocator.solving.baselines import solve_baselines
from allocator.solving.boundary import run_rule

if TYPE_CHECKING:  # a type only: allocator.simulation.plan imports this module
    from allocator.simulation.plan import SimulationPlan

#: rules whose stages read interior-point duals (saturation tests): no warm-started simplex
COLD_RULES = frozenset({"leximin"})


@dataclass(eq=False)
class DrawCache:
    """What one shard keeps from draw to draw (:func:`solve_draw`): what does not change between draws,
    and what each rule remembers.

    Attributes
    ----------
    measures : MeasureSet or None
        The first draw's measures; later draws renew only their denominators
        (:meth:`~allocator.model.measures.MeasureSet.renewed`).
    feasible : LPModel or None
        The first draw's feasible set, kept where its matrix is the same in every draw (:func:`_feasible`).
    supply_cells : ndarray or None
        The (site, resource) cell of each ``supply`` row of ``feasible``: where a draw's supply goes.
    memory : dict
        Rule label -> what the rule remembers between draws (its :class:`~allocator.rules.base.RuleMemory`).
    """

    measures: MeasureSet | None = None
    feasible: LPModel | None = None
    supply_cells: np.ndarray | None = None
    memory: dict[str, RuleMemory] = field(default_factory=dict)

    def memory_of(self, label: str, rule: Rule) -> RuleMemory:
        """What rule ``rule`` (labelled ``label``) remembers, empty the first time."""
        if label not in self.memory:
            self.memory[label] = algorithm(rule).new_memory()
        return self.memory[label]

    def remembering(self, label: str) -> bool:
        """Whether the rule labelled ``label`` has kept something."""
        return label in self.memory and self.memory[label].remembers()


def rule_label(rule) -> str:
    """The rule's label, as in :func:`allocator.compare`: ``maxmin``, ``alpha(alpha=2.0)``."""
    return rule.label()


def flat_metrics(metrics: dict, resources: Sequence[str]) -> dict:
    """``summary.json`` metrics as one flat row: ``max_group_gap[region]``, ``utilization[food]`` (several
    resources), named by :func:`~allocator.results.analysis.metric_name`."""
    row = {}
    for key, value in metrics.items():
        if key == "by_resource":
            if len(resources) > 1:
                for resource, values in value.items():
                    row.update({metric_name(name, resource): v for name, v in values.items()
                                if name in ("utilization", "min_fill_rate")})
        elif isinstance(value, dict):
            row.update({metric_name(key, attribute): v for attribute, v in value.items()})
        else:
            row[key] = value
    return row


def run_shard(plan: SimulationPlan, shard: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Solve every rule on every draw of ``shard``: ``(metrics rows, group rows)``."""
    problem = Problem.from_scenario(plan.scenario)
    backends = draw_backends(plan)
    rows, numbers, labels = [], [], None
    # every shard starts from the same memory (a copy: a rule replaces what it keeps as it goes)
    cache = DrawCache(memory={label: kept.copy() for label, kept in (plan.memory or {}).items()})
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
            raise InternalError("allocator's own check failed: the groups changed between draws "
                                "(please report this with the scenario)")
        group_frame = pd.concat([labels] * len(numbers), ignore_index=True)
        group_frame.insert(0, "rule", np.repeat([n[1] for n in numbers], count))
        group_frame.insert(0, "draw", np.repeat([n[0] for n in numbers], count))
        group_frame["allocated"] = np.concatenate([n[2] for n in numbers])
        group_frame["demand"] = np.concatenate([n[3] for n in numbers])
        group_frame["fill_rate"] = group_frame["allocated"] / group_frame["demand"]
    return pd.DataFrame(rows), group_frame


def solve_draw(plan: SimulationPlan, problem: Problem, demand, supply, backends: dict,
               cache: DrawCache | None = None) -> list[tuple]:
    """Every rule of ``plan`` on ``problem`` with ``demand`` (per pair) and ``supply`` (per site):
    ``(rule label, status, flat metrics, group numbers or None)`` per rule (see :func:`_group_numbers`).

    ``cache`` (one per shard) keeps what does not change between draws: the measures' matrices
    (:meth:`~allocator.model.measures.MeasureSet.renewed`) and, where it can, the feasible set (:func:`_feasible`),
    and what each rule remembers (see :class:`DrawCache`).
    """
    drawn = replace(problem, pair_demand=demand, supply=supply)
    if cache is None:
        measures = MeasureSet(drawn)
    else:  # the measures' matrices are the same in every draw: only the denominators are computed again
        measures = cache.measures.renewed(drawn) if cache.measures is not None else MeasureSet(drawn)
        if cache.measures is None:
            cache.measures = measures
    # a baseline (no_harm) depends on the draw's demand and supply: solved again in each draw
    baselines = solve_baselines(drawn, measures, plan.constraints)
    feasible = _feasible(plan, drawn, measures, cache, baselines)
    out = []
    for rule in plan.rules:
        label = rule_label(rule)
        model = CompiledModel(plan.scenario, drawn, measures, rule, plan.constraints, feasible, baselines)
        backend = backends[label]
        # a reused model that fails is solved again cold; a cold HiGHS solve that fails, on PuLP/CBC
        fallback = HighsBackend() if isinstance(backend, ReusingHighs) else fallback_for(backend)
        # what a rule carries from draw to draw is reuse too: not with reuse=False
        memory = cache.memory_of(label, rule) if cache is not None and plan.reuse else None
        runner = StageRunner(backend, SolverOptions(), fallback, memory)
        try:  # at the constraints' boundary, the tolerance policy (allocator.solving.boundary)
            outcome = run_rule(model, runner, partial(StageRunner, backend, SolverOptions(), fallback, memory))[2]
        except (StageInfeasible, StageTimeLimit) as exc:
            status = Status.INFEASIBLE if isinstance(exc, StageInfeasible) else Status.TIME_LIMIT
            out.append((label, status.value, {}, None))
            continue
        flows = clean_flows(drawn, outcome.flows * drawn.scale)
        out.append((label, Status.OPTIMAL.value, flat_metrics(compute_metrics(drawn, measures, flows), drawn.resource_ids),
                    _group_numbers(drawn, measures, flows)))
    return out


def _feasible(plan: SimulationPlan, drawn: Problem, measures: MeasureSet, cache: DrawCache | None,
              baselines=None) -> LPModel:
    """The draw's feasible set. Without constraints, exclusive sets or a network its matrix is the
    same in every draw (pair sums and site sums of flows): the first draw's LP is kept and only the
    bounds of its demand and supply rows are renewed, which is what :func:`feasible_set` would build."""
    if cache is None or plan.constraints or drawn.exclusive or drawn.network is not None:
        return feasible_set(drawn, measures, plan.constraints, baselines)
    if cache.feasible is None or cache.supply_cells is None:
        cell = drawn.flow_site * len(drawn.resource_ids) + drawn.pair_resource[drawn.flow_pair]
        cache.feasible, cache.supply_cells = feasible_set(drawn, measures, ()), np.unique(cell)
        return cache.feasible
    first = cache.feasible
    upper = first.row_upper.copy()
    upper[first.rows("demand")] = measures.pair.lp_denominator
    upper[first.rows("supply")] = drawn.supply.ravel()[cache.supply_cells] / drawn.scale
    upper.flags.writeable = False
    return replace(first, row_upper=upper)


def _group_numbers(problem: Problem, measures: MeasureSet, flows) -> tuple:
    """The numbers of :func:`~allocator.results.metrics.group_table` (allocated, demand, in its row order) and
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
    backends, cache = draw_backends(plan), DrawCache()
    solve_draw(plan, problem, problem.pair_demand, problem.supply, backends, cache)
    # a rule that remembered something solves its later draws another way (maxmin: one value LP at
    # the level its duals prove): solved once more, so that LP's basis is ready too
    remembering = tuple(rule for rule in plan.rules if cache.remembering(rule_label(rule)))
    if remembering:
        solve_draw(replace(plan, rules=remembering), problem, problem.pair_demand, problem.supply, backends, cache)
    bases = {label: backend.export_bases() for label, backend in backends.items() if isinstance(backend, ReusingHighs)}
    memory = {rule_label(rule): cache.memory[rule_label(rule)] for rule in remembering}
    return replace(plan, bases=bases, memory=memory or None)
