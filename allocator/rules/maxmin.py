"""The max-min (egalitarian) rule."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import allocator.rules.bottleneck as bottleneck
from allocator.core.errors import UsageError
from allocator.core.tolerance import BINARY_ROUNDOFF, FLOAT_ROUNDOFF
from allocator.rules.base import RULE_ALGORITHMS, RuleAlgorithm, RuleMemory, RuleOutcome
from allocator.rules.level_certificate import level_bound
from allocator.rules.stages import (
    VALUE_STAGE_SKIPPED,
    equity_lp,
    flows_of,
    hold,
    level_of,
    pins_every_pair,
    saturated_rows,
    value_lp,
)
from allocator.scenario.rules import MaxMin

if TYPE_CHECKING:
    from allocator.rules.stages import StageRunner

#: a remembered level counts for a draw when an allocation reaches it to within this (relative)
REMEMBERED_LEVEL_GAP = 1e-9
#: below this many links ``method: auto`` keeps the two LP stages: they take a few hundredths of a
#: second there, less than importing igraph (about 0.4 s)
FLOW_MIN_LINKS = 50_000


@dataclass(eq=False)
class LevelMemory(RuleMemory):
    """What maxmin keeps from one draw to the next (see :meth:`MaxMinAlgorithm._at_remembered_level`).

    Attributes
    ----------
    duals : ndarray or None
        The row duals of the last level LP solved: they bound the next draw's level from above
        (:mod:`~allocator.rules.level_certificate`); ``None`` until a level LP gave duals.
    tries, misses : int
        How many draws tried the level those duals prove, and how many of those tries failed.
    """

    duals: np.ndarray | None = None
    tries: int = 0
    misses: int = 0

    def remembers(self) -> bool:
        return self.duals is not None or self.tries > 0


@RULE_ALGORITHMS.implements(MaxMin)
class MaxMinAlgorithm(RuleAlgorithm[MaxMin]):
    """How :class:`~allocator.scenario.rules.MaxMin` is computed (its math is in its docstring)."""

    def first_stage(self, model):
        return equity_lp(model, self.rule.over)

    def new_memory(self) -> LevelMemory:
        return LevelMemory()

    def run(self, model, runner):
        values = model.problem.pair_value
        if self.rule.method != "lp":
            if not bottleneck.applies(model, self.rule.over):
                if self.rule.method == "flow":
                    raise UsageError("method: flow needs one resource, no constraints and no over: "
                                     "(and the igraph package)")
            elif model.problem.pair_reachable.any() and (self.rule.method == "flow"
                                                         or model.problem.num_flows >= FLOW_MIN_LINKS):
                if np.ptp(values) == 0:
                    # equal values: leximin's allocation has the max-min level and delivers the most
                    # (Megiddo 1974), so it is a maxmin optimum, found by max-flow alone
                    found = bottleneck.solve_by_bottlenecks(model, runner)
                    if found is not None:
                        return RuleOutcome(found[0], {"level": found[1]["level"]})
                else:
                    return self._level_by_max_flow(model, runner)
        measure = model.measures.over(self.rule.over)
        everyone = np.arange(len(measure))
        lp = self.first_stage(model)
        memory = _level_memory(runner)
        if memory is not None:
            found = self._at_remembered_level(model, runner, memory, lp, measure)
            if found is not None:
                return found
        solution = runner.run("maxmin", lp)
        if memory is not None and solution.row_dual is not None:
            memory.duals = solution.row_dual
        level = level_of(solution, lp)
        if level is None:  # no rate to rank (nothing reachable): only the value stage is left
            final = value_lp(model.base, model.problem)
            return RuleOutcome(flows_of(runner.run("value", final), final), {"level": None})
        saturated = (saturated_rows(solution, lp, measure, everyone, level)
                     if solution.row_dual is not None else None)
        flows = flows_of(solution, lp)
        if saturated is not None and saturated.all() and pins_every_pair(measure, flows,
                                                                          np.full(len(measure), level)):
            runner.skip("value", VALUE_STAGE_SKIPPED)
            return RuleOutcome(flows, {"level": level})
        held = value_lp(hold(model.base, measure, everyone, np.full(len(measure), level), "maxmin",
                             saturated=saturated), model.problem)
        return RuleOutcome(flows_of(runner.run("value", held), held), {"level": level})

    def _at_remembered_level(self, model, runner, memory: LevelMemory, level_problem, measure) -> RuleOutcome | None:
        """Both stages as one value LP, at the level that the last solve's duals prove, or ``None``.

        For simulation draws (``memory``, the runner's): the duals of the last level LP solved bound this
        draw's level from above (:mod:`~allocator.rules.level_certificate`). The value LP then
        holds every rate at or above ``bound (1 - REMEMBERED_LEVEL_GAP)``; if it is feasible and
        its solution passes a check tighter than the solver's tolerance (1e-7), the bound is the
        level to ``REMEMBERED_LEVEL_GAP`` and that solution is the answer. The gap is 100 times
        below ``LEVEL_TOLERANCE``: the value stage can collect at most ``REMEMBERED_LEVEL_GAP x
        level x`` the held demand, so no rate is held from above (old duals cannot show which
        rates are still at the level, see docs/simulation.md). Between draws only this LP's
        bounds change, so the loaded HiGHS model is never refactorised. After three tries, not
        tried once more than a third have failed: a failed try costs a solve.
        """
        duals, tries, misses = memory.duals, memory.tries, memory.misses
        if (duals is None or len(duals) != level_problem.num_rows or not len(measure) or level_problem.is_mip
                or (tries >= 3 and 3 * misses > tries)):  # (a MIP's level is not the LP bound's)
            return None
        level = level_bound(level_problem, duals)
        outcome = self._at_proven_level(model, runner, measure, level) if np.isfinite(level) else None
        memory.tries, memory.misses = tries + 1, misses + (outcome is None)
        return outcome

    def _at_proven_level(self, model, runner, measure, level: float) -> RuleOutcome | None:
        floor = level * (1 - REMEMBERED_LEVEL_GAP)
        held = hold(model.base, measure, np.arange(len(measure)), np.full(len(measure), level), "maxmin",
                    below=REMEMBERED_LEVEL_GAP)
        if not _amounts_fixed(model.problem, measure, floor):
            held = value_lp(held, model.problem)
        base = model.base

        def reaches_the_floor(solution) -> bool:  # checked here, tighter than the solver's tolerance (1e-7)
            rates = measure.lp_rates(flows_of(solution, held))
            return (rates.min() >= floor * (1 - BINARY_ROUNDOFF)
                    and base.violation(solution.x[:base.num_cols]) <= FLOAT_ROUNDOFF)

        solution = runner.attempt("value", held, f"at the level {level:.9g} proven by the last solve's duals",
                                  accept=reaches_the_floor)
        return None if solution is None else RuleOutcome(flows_of(solution, held), {"level": level})

    def _level_by_max_flow(self, model, runner) -> RuleOutcome:
        """Stage 1 by parametric max-flow; stage 2 by LP unless every rate is held at the level."""
        problem, measure = model.problem, model.measures.pair
        start = time.perf_counter()
        level, tight, net = bottleneck.lowest_bottleneck(problem, np.flatnonzero(problem.pair_reachable))
        if tight.all():  # every amount is fixed at level x demand: the value stage has nothing to choose
            flows = net.flows_for(np.full(net.n, level))
            if flows is not None:
                runner.record("maxmin (max-flow)", level, time.perf_counter() - start, "every rate at the level")
                runner.skip("value", VALUE_STAGE_SKIPPED)
                return RuleOutcome(flows / problem.scale, {"level": level})
        runner.record("maxmin (max-flow)", level, time.perf_counter() - start,
                      f"{int(tight.sum())} of {len(tight)} rates held at the level")
        everyone = np.arange(len(measure))
        held = value_lp(hold(model.base, measure, everyone, np.full(len(measure), level), "maxmin",
                             saturated=tight), problem)
        return RuleOutcome(flows_of(runner.run("value", held), held), {"level": level})


def _level_memory(runner: StageRunner) -> LevelMemory | None:
    """The runner's memory, which for maxmin is a :class:`LevelMemory` (``None`` for a single solve)."""
    memory = runner.memory
    if memory is None or isinstance(memory, LevelMemory):
        return memory
    raise TypeError(f"maxmin keeps a LevelMemory (MaxMinAlgorithm.new_memory()), not a {type(memory).__name__}")


def _amounts_fixed(problem, measure, floor: float) -> bool:
    """Whether holding every pair at ``floor`` uses up all but a ``REMEMBERED_LEVEL_GAP`` share of each
    resource's supply. Then no allocation can add value beyond that share of the supply times the
    largest value, so any feasible point answers the value stage (it is solved without objective)."""
    if not measure.demand_rows or problem.network is not None:
        return False
    supply = problem.supply.sum(axis=0) / problem.scale
    held = np.bincount(measure.resource, weights=floor * measure.lp_denominator, minlength=len(supply))
    return bool(np.all(supply - held <= REMEMBERED_LEVEL_GAP * supply))
