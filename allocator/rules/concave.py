"""Concave welfare of fill rates, solved as LPs by tangent cuts with a proven error bound.

``nash`` and ``alpha`` maximise ``U(x) = sum_k u(F_k(x))`` over the reachable (unit, resource)
pairs ``k``, with ``F_k`` the fill rate and ``u`` concave and increasing. An LP cannot hold
``u``, but it can hold any number of its tangents: with one variable ``z_k`` per pair,

.. math::

    \\max_{x, z} \\sum_k z_k \\quad\\text{s.t.}\\quad
    z_k \\le u(p) + u'(p)\\,(F_k(x) - p) \\quad \\forall k, \\forall p \\in P_k

over the feasible set. Tangents lie above a concave function, so the LP optimum ``B`` is an
upper bound on the true optimum ``U*``, and the LP's own allocation ``x^`` scores
``U(x^) <= U*``. The gap ``B - U(x^)`` therefore bounds how far ``x^`` is from optimal, and
is reported. Each round adds, for every pair whose tangent value ``z_k`` exceeds ``u(F_k(x^))``
noticeably, the tangent at ``F_k(x^)`` (Kelley's cutting planes), and re-solves, until the
relative gap ``(B - U(x^)) / max(1, |U(x^)|)`` is below ``tolerance`` or ``max_rounds`` is reached.

The first round's points ``P_k`` are a geometric grid from ``MIN_POINT`` to 1; below the grid
the lowest tangent continues as a line, so a rate of 0 is never forced or forbidden by the
approximation itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from allocator._sparse import sparse as sp
from allocator.lp import LPBuilder, LPModel
from allocator.rules.base import RuleOutcome
from allocator.rules.stages import flows_of

#: the lowest tangent point of the first round, and the grid size
MIN_POINT = 1e-3
GRID_POINTS = 12
#: a pair gets a new tangent when its tangent value exceeds u(rate) by more than this share of the tolerance
CUT_SHARE = 0.1


@dataclass(frozen=True)
class Welfare:
    """A concave increasing ``u`` on fill rates, with its derivative and a name for reports."""

    name: str
    value: Callable[[np.ndarray], np.ndarray]
    slope: Callable[[np.ndarray], np.ndarray]
    linear: bool = False


def alpha_welfare(alpha: float) -> Welfare:
    """``u(f) = (f^(1-alpha) - 1) / (1 - alpha)``, and ``log f`` at ``alpha = 1``.

    The ``- 1`` only shifts ``U`` (so that ``u(1) = 0`` and the family is continuous in
    ``alpha``); it does not change the optimum.

    Examples
    --------
    >>> w = alpha_welfare(2.0)
    >>> float(w.value(np.array([0.5]))[0]), float(w.slope(np.array([0.5]))[0])
    (-1.0, 4.0)
    """
    if alpha == 0:
        return Welfare("sum of fill rates", lambda f: f - 1.0, lambda f: np.ones_like(f), linear=True)
    if alpha == 1:
        return Welfare("sum of log fill rates", _log, lambda f: 1.0 / np.maximum(f, 1e-300))

    def value(f):
        with np.errstate(divide="ignore", over="ignore"):
            return (np.power(np.maximum(f, 0.0), 1.0 - alpha) - 1.0) / (1.0 - alpha)

    def slope(f):
        with np.errstate(divide="ignore", over="ignore"):
            return np.power(np.maximum(f, 1e-300), -alpha)

    return Welfare(f"alpha-fair welfare (alpha={alpha:g}) of fill rates", value, slope)


def _log(f: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(f, 0.0))


def maximise(model, runner, welfare: Welfare, tolerance: float, max_rounds: int) -> RuleOutcome:
    """Run the cutting-plane rounds (see the module docstring) on a compiled model."""
    measure = model.measures.pair
    count = len(measure)
    if count == 0:  # nothing reachable: every allocation is 0
        lp = model.base.with_objective({})
        return RuleOutcome(flows_of(runner.run("welfare", lp), lp), {"welfare": welfare.name})
    lp = initial_lp(model, welfare)
    lowest = np.full(count, MIN_POINT)  # each pair's lowest tangent point so far
    for round_number in range(1, max_rounds + 1):
        solution = runner.run(f"welfare round {round_number}", lp)
        flows = flows_of(solution, lp)
        rates = np.clip(measure.lp_rates(flows), 0.0, 1.0)  # from the flows, not the rate columns' round-off
        achieved = welfare.value(rates)
        bound = float(solution.x[lp.cols("z")].sum())
        score = float(achieved.sum())
        gap = bound - score
        relative = gap / max(1.0, abs(score)) if np.isfinite(score) else np.inf
        if welfare.linear or relative <= tolerance or round_number == max_rounds:
            break
        excess = solution.x[lp.cols("z")] - achieved
        cut = np.flatnonzero(excess > CUT_SHARE * tolerance * max(1.0, abs(score)) / count)
        # the tangent at the rate reached; at a rate of 0 (log, alpha > 1: u(0) = -inf) one lower down
        new_points = np.where(rates[cut] > 0, rates[cut], lowest[cut] / 10)
        lowest[cut] = np.minimum(lowest[cut], new_points)
        lp = _add_tangents(lp, welfare, cut, new_points, round_number)
    return RuleOutcome(flows, {"welfare": welfare.name, "objective": score, "upper_bound": bound,
                               "gap": max(gap, 0.0), "relative_gap": max(relative, 0.0), "rounds": round_number})


def initial_lp(model, welfare: Welfare) -> LPModel:
    """The first round's LP: tangents on the geometric grid (one tangent for a linear ``u``)."""
    measure = model.measures.pair
    grid = np.geomspace(MIN_POINT, 1.0, 1 if welfare.linear else GRID_POINTS)
    return tangent_lp(model.base, measure, welfare, np.tile(grid, (len(measure), 1)))


def tangent_lp(base: LPModel, measure, welfare: Welfare, points: np.ndarray) -> LPModel:
    """``base`` plus a ``rate`` and a ``z`` per pair and the tangents at ``points`` (pairs x K); maximise ``sum z``.

    ``rate_k = F_k(x)`` is one row per pair, so each tangent row has two entries (``z_k`` and
    ``rate_k``) however many sites the pair can draw on.
    """
    count = len(measure)
    builder = LPBuilder(base)
    builder.add_columns("rate", count, lower=0.0, upper=1.0)
    builder.add_columns("z", count, lower=-np.inf, upper=np.inf)
    rates = sp.diags_array(1.0 / measure.lp_denominator) @ measure.matrix  # F = rates @ x
    builder.add_rows("rate", {"flow": rates, "rate": -sp.identity(count, format="csr")}, lower=0.0, upper=0.0)
    lp = builder.build().with_objective({"z": 1.0})
    return _add_tangents(lp, welfare, np.arange(count), points, 0)


def _add_tangents(lp: LPModel, welfare: Welfare, pairs: np.ndarray, points: np.ndarray, round_number: int) -> LPModel:
    """Rows ``z_k - u'(p) rate_k <= u(p) - u'(p) p`` for every pair in ``pairs`` and its point(s)."""
    points = np.asarray(points, dtype=float).reshape(len(pairs), -1)
    per_pair = points.shape[1]
    count = lp.col_blocks["z"].stop - lp.col_blocks["z"].start
    slopes = welfare.slope(points)
    intercepts = welfare.value(points) - slopes * points
    rows = np.arange(len(pairs) * per_pair)
    columns = np.tile(pairs, per_pair)  # block j holds every pair's tangent at its j-th point
    z_part = sp.csr_array((np.ones(len(rows)), (rows, columns)), shape=(len(rows), count))
    rate_part = sp.csr_array((-slopes.T.ravel(), (rows, columns)), shape=(len(rows), count))
    builder = LPBuilder(lp)
    builder.add_rows(f"tangent{round_number}", {"rate": rate_part, "z": z_part},
                     lower=-np.inf, upper=intercepts.T.ravel())
    return builder.build()
