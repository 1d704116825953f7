"""The leximin rule: lexicographic max-min of the sorted fill rates."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from allocator.core.sparse import sparse as sp
from allocator.model.lp import LPBuilder, LPModel
from allocator.model.measures import FillMeasure
from allocator.core.errors import SolverError, UsageError
from allocator.rules.base import RULES, Rule, RuleOutcome
from allocator.rules import bottleneck
from allocator.rules.stages import (
    LEVEL_TOLERANCE, VALUE_STAGE_SKIPPED, at_level, StageRunner, equity_lp, flows_of, hold, level_lp,
    level_of, pins_every_pair, saturated_rows, value_lp,
)
from allocator.core.scalars import Count, Identifier


@RULES.register
class Leximin(Rule):
    """Lexicographically maximise the sorted vector of fill rates, then total value.

    Iterated max-min with saturation detection. Let ``free`` be all fill rates ``F_k``
    (pairs, or groups with ``over:``). Repeat until ``free`` is empty:

    .. math::

        t^{(j)} = \\max_{x,t}\\; t \\quad\\text{s.t.}\\quad F_k(x) \\ge t \\;\\; (k \\in free),\\quad
        F_k(x) \\ge \\ell_k \\;\\; (k \\notin free)

    then fix ``l_k = t^(j)`` for every ``k`` in ``free`` that is *saturated*: equal to ``t^(j)``
    in every optimal solution. By complementary slackness a row with a positive dual in any
    optimal dual solution is tight in every optimal primal one; the interior point method
    (without crossover) ends at a strictly complementary pair, so its positive duals mark the
    saturated rows, and one LP per distinct level is typical. Fixed rates are held from both
    sides (``l_k (1 -/+ 1e-7)``): they cannot rise in any optimum. A row is fixed only if its dual
    weight ``|y_k| D_k`` is positive *and* its fill rate equals the level (a double check
    against round-off); if no row passes, the one with the largest weight is fixed, so every
    round fixes at least one rate. Backends without duals fall back to one probe LP per free
    rate (``max F_k`` with the others held), which is exact but slow.

    Approximate leximin: with ``max_rounds: K`` at most ``K`` level LPs are solved (plus the value
    stage). If rates are still free after round ``K``, all of them are held at ``>= t_K``, the level
    of that round, and the result reports ``equity.approximation``: how many rates were fixed
    exactly (``exact_rates``: the lowest positions of the sorted profile, equal to the exact leximin
    vector's) and ``max_profile_gap = 1 - t_K``, a bound on how far any position of the sorted fill
    profile can be from the exact one (both profiles put the remaining rates in ``[t_K, 1]``).

    A last stage maximises total value with every level held; for pair rates it is skipped when
    the last level LP already holds every pair at its level (the amounts are then fixed). The
    leximin vector of fill rates is unique (the feasible set is convex); the flows need not be.
    """

    key: ClassVar[str] = "leximin"
    summary: ClassVar[str] = "lexicographically maximise the sorted fill rates (lowest first), then total value"

    over: Identifier | None = None
    max_rounds: Annotated[Count, Field(ge=1)] | None = None
    method: Literal["auto", "lp", "flow"] = "auto"

    def first_stage(self, model):
        return equity_lp(model, self.over)

    def run(self, model, runner):
        if self.method != "lp":
            if self.max_rounds is None and bottleneck.applies(model, self.over):
                found = bottleneck.solve_by_bottlenecks(model, runner)
                if found is not None:
                    return RuleOutcome(*found)
                if self.method == "flow":
                    raise SolverError("the max-flow decomposition did not realise its levels; use method: lp")
            elif self.method == "flow":
                raise UsageError("method: flow needs one resource, no constraints, no over: and no max_rounds "
                                 "(and the igraph package)")
        measure = model.measures.over(self.over)
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
            if len(free) and self.max_rounds is not None and round_ == self.max_rounds:
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
        equity = {"level": distinct[0] if distinct else None, "levels": distinct}
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
