"""The leximin rule: lexicographic max-min of the sorted fill rates."""

from __future__ import annotations

import numpy as np

import allocator.rules.bottleneck as bottleneck
from allocator.core.errors import SolverError, UsageError
from allocator.core.sparse import sparse as sp
from allocator.model.lp import LPBuilder, LPModel
from allocator.model.measures import FillMeasure
from allocator.rules.base import RULE_ALGORITHMS, RuleAlgorithm, RuleOutcome
from allocator.rules.stages import (
    LEVEL_TOLERANCE,
    VALUE_STAGE_SKIPPED,
    StageRunner,
    at_level,
    equity_lp,
    flows_of,
    hold,
    level_lp,
    level_of,
    pins_every_pair,
    saturated_rows,
    value_lp,
)
from allocator.scenario.rules import Leximin


@RULE_ALGORITHMS.implements(Leximin)
class LeximinAlgorithm(RuleAlgorithm[Leximin]):
    """How :class:`~allocator.scenario.rules.Leximin` is computed (its math is in its docstring)."""

    def first_stage(self, model):
        return equity_lp(model, self.rule.over)

    def run(self, model, runner):
        if self.rule.method != "lp":
            if self.rule.max_rounds is None and bottleneck.applies(model, self.rule.over):
                found = bottleneck.solve_by_bottlenecks(model, runner)
                if found is not None:
                    return RuleOutcome(*found)
                if self.rule.method == "flow":
                    raise SolverError("the max-flow decomposition did not realise its levels; use method: lp")
            elif self.rule.method == "flow":
                raise UsageError("method: flow needs one resource, no constraints, no over: and no max_rounds "
                                 "(and the igraph package)")
        measure = model.measures.over(self.rule.over)
        if model.base.is_mip:
            return _whole_units(model, measure, runner)
        levels = np.full(len(measure), np.nan)
        free = np.arange(len(measure))
        held = model.base
        round_ = 0
        approximation = None
        while len(free):
            round_ += 1
            lp = level_lp(held, measure, free)
            solution = runner.run(f"leximin-{round_}", lp)
            level = level_of(solution, lp)
            assert level is not None  # free rates: the level rows are there
            if level >= 1 - LEVEL_TOLERANCE:
                saturated = np.ones(len(free), dtype=bool)
            elif solution.row_dual is None:
                saturated = _probe(held, measure, free, level, runner, round_)
            else:
                saturated = saturated_rows(solution, lp, measure, free, level)
            levels[free[saturated]] = level
            fixed = free[saturated]
            held = hold(held, measure, fixed, np.full(len(fixed), level), f"leximin-{round_}",
                        saturated=np.ones(len(fixed), dtype=bool))
            free = free[~saturated]
            if len(free) and self.rule.max_rounds is not None and round_ == self.rule.max_rounds:
                # out of rounds: the rates still free are above this level in the exact leximin vector
                # (else they would be saturated) and held at >= it here, so both lie in [level, 1]
                approximation = {"exact_rates": int(len(measure) - len(free)), "rounds": round_,
                                 "max_profile_gap": 1.0 - level}
                levels[free] = level
                held = hold(held, measure, free, np.full(len(free), level), f"leximin-{round_}-rest")
                break
        flows = flows_of(solution, lp) if len(measure) else np.zeros(model.problem.num_flows)
        if approximation is None and len(measure) and pins_every_pair(measure, flows, levels):
            runner.skip("value", VALUE_STAGE_SKIPPED)
        else:
            final = value_lp(held, model.problem)
            flows = flows_of(runner.run("value", final), final)
        distinct = sorted({float(level) for level in levels})
        equity: dict[str, object] = {"level": distinct[0] if distinct else None, "levels": distinct}
        if approximation is not None:
            equity["approximation"] = approximation
        return RuleOutcome(flows, equity)


def _probe(held: LPModel, measure: FillMeasure, free: np.ndarray, level: float,
           runner: StageRunner, round_: int) -> np.ndarray:
    """Without duals: a rate is saturated if it cannot rise above ``level`` while the others stay at it."""
    floor = hold(held, measure, free, np.full(len(free), level), f"probe-{round_}")
    best = np.empty(len(free))
    for j, k in enumerate(free):
        rate = measure.subset(np.array([k])).toarray().ravel() / measure.lp_denominator[k]
        best[j] = runner.run(f"leximin-{round_}-probe-{j}", floor.with_objective({"flow": rate})).objective
    saturated = at_level(best, level)
    if not saturated.any():
        saturated[np.argmin(best)] = True
    return saturated


def _whole_units(model, measure: FillMeasure, runner: StageRunner) -> RuleOutcome:
    """Leximin over whole units: one mixed-integer program per rate, on cumulative ordered sums.

    With integer flows the level-by-level method fails: rates that can each rise alone may not
    rise together, and which ones stay low changes the later levels. Instead (Ogryczak and
    Sliwinski 2006) stage ``k`` maximises ``theta_k(F)``, the sum of the ``k`` smallest rates,
    holding ``theta_j >= theta_j*`` for ``j < k``; the lexicographic maximum of
    ``(theta_1, ..., theta_n)`` is the leximin vector. ``theta_k`` is linear with helper columns:
    ``theta_k = max_r  k r - sum_i d_i`` with ``d_i >= r - F_i``, ``d_i >= 0``. So ``n`` MIPs, the
    ``k``-th with ``k`` sets of helpers: exact, and practical for up to a few hundred rates.
    """
    count = len(measure)
    held = model.base
    rates = sp.diags_array(1.0 / measure.lp_denominator, format="csr") @ measure.matrix  # F = rates @ x
    thetas = []
    for k in range(1, count + 1):
        lp = _ordered_sum(held, rates, k, f"theta{k}")
        solution = runner.run(f"leximin-{k}", lp.with_objective({f"theta{k}:r": float(k), f"theta{k}:d": -1.0}))
        theta = float(solution.objective)
        thetas.append(theta)
        held = lp.with_row_bounds(f"theta{k}", lower=theta - 1e-9 * max(1.0, abs(theta)))
    final = value_lp(held, model.problem)
    flows = flows_of(runner.run("value", final), final)
    sorted_rates = np.diff(np.concatenate([[0.0], thetas]))
    distinct = sorted({round(float(v), 12) for v in sorted_rates})
    return RuleOutcome(flows, {"level": distinct[0] if distinct else None, "levels": distinct})


def _ordered_sum(base: LPModel, rates, k: int, name: str) -> LPModel:
    """``base`` plus helpers for ``theta_k`` and the row ``k r - sum d`` (block ``name``, bounds open)."""
    count = rates.shape[0]
    builder = LPBuilder(base)
    builder.add_columns(f"{name}:r", 1, lower=-np.inf, upper=np.inf)
    builder.add_columns(f"{name}:d", count, lower=0.0, upper=np.inf)
    # d_i - r + F_i >= 0
    builder.add_rows(f"{name}:below", {"flow": rates, f"{name}:r": sp.csr_array(-np.ones((count, 1))),
                                       f"{name}:d": sp.identity(count, format="csr")}, lower=0.0, upper=np.inf)
    builder.add_rows(name, {f"{name}:r": sp.csr_array([[float(k)]]), f"{name}:d": sp.csr_array(-np.ones((1, count)))},
                     lower=-np.inf, upper=np.inf)
    return builder.build()
