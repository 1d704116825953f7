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

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from allocator.core.errors import StageInfeasible
from allocator.core.sparse import sparse as sp
from allocator.model.lp import LPBuilder, LPModel
from allocator.model.lp_bound import dual_bound
from allocator.rules.base import RuleOutcome
from allocator.rules.stages import flows_of

#: the lowest tangent point of the first round is ``MIN_POINT ** (1 / max(alpha, 1))`` times the
#: reference level (module docstring), so that its slope is at most 1000 times the slope there
MIN_POINT = 1e-3
GRID_POINTS = 12
#: a pair gets a new tangent when its tangent value exceeds u(rate) by more than this share of the tolerance
CUT_SHARE = 0.1
#: a tangent whose slope per scaled rate is below this is held as the row ``z <= 0`` (``u <= u(1) = 0``):
#: LP solvers drop coefficients near 1e-9 and a scaling of a row that holds 1 beside 1e-318 overflows
SLOPE_FLOOR = 1e-9
#: a reference level below this share of the level column's scale is solved again, rescaled
REFERENCE_FLOOR = 1e-3
#: below this the level is taken as 0 (some pair can get next to nothing): no reference
SMALLEST_REFERENCE = 1e-12
EPS = np.finfo(float).eps


@dataclass(frozen=True)
class Welfare:
    """A concave increasing welfare of fill rates, as the LP holds it, and how it maps to ``u``.

    ``value`` and ``slope`` are those of ``w = exp(log_scale) u`` as functions of the fill rate
    ``f``: ``u`` itself for ``alpha <= 1``, ``u`` scaled by a reference level ``m`` for
    ``alpha > 1`` (:func:`alpha_welfare`). The LP's rate column holds ``f / rate_scale``
    (``rate_scale = m``), so that its values, the ``z`` and the tangents' slopes are all near 1
    where the optimum is, however small ``m``: the solver's absolute tolerances (1e-7) then do not
    swallow the differences of welfare between tangents. The optimum is the same.
    """

    name: str
    value: Callable[[np.ndarray], np.ndarray]
    slope: Callable[[np.ndarray], np.ndarray]
    linear: bool = False
    log_scale: float = 0.0
    rate_scale: float = 1.0  # the LP's rate column is f / rate_scale
    lowest: float = MIN_POINT  # the first round's lowest tangent point
    #: above this rate a tangent's slope is below ``SLOPE_FLOOR`` (per scaled rate): no tangent is put there
    flat_above: float = 1.0

    def unscaled(self, total: float, *, outward: bool = False) -> float:
        """``sum u`` from ``total = sum w``; rounded up (so that a bound stays one) if ``outward``."""
        with np.errstate(over="ignore", under="ignore"):
            value = float(total * np.exp(-self.log_scale))
        if not outward or not np.isfinite(value):
            return value
        return float(value + 4 * EPS * (abs(self.log_scale) + 4) * abs(value))

    def norm(self, total: float) -> float:
        """``max(1, |sum u|)`` in the units of ``sum w`` (``total``): what a relative gap is relative to."""
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            return float(np.exp(max(self.log_scale, float(np.log(abs(total))) if total != 0 else -np.inf)))


def power_log(g: np.ndarray, alpha: float) -> np.ndarray:
    """``(g^(1-alpha) - 1) / (1 - alpha)``, and ``log g`` at ``alpha = 1``, without cancellation.

    It equals ``log g * expm1(t) / t`` with ``t = (1 - alpha) log g``: near ``alpha = 1`` or
    ``g = 1`` the direct form loses every digit (``g^(1e-12) - 1``), this one none, and it tends
    to ``log g`` continuously. At ``g = 0`` it is ``-1/(1-alpha)`` (``alpha < 1``) or ``-inf``.

    Examples
    --------
    >>> float(power_log(np.array([0.5]), 2.0)[0]), float(power_log(np.array([0.5]), 1 + 1e-12)[0])
    (-1.0, -0.6931471805601855)
    """
    g = np.asarray(g, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_g = np.log(np.maximum(g, 0.0))
        t = (1.0 - alpha) * log_g
        ratio = np.where(t == 0, 1.0, np.expm1(t) / np.where(t == 0, 1.0, t))
        out = log_g * ratio
    return np.where(g > 0, out, -np.inf if alpha >= 1 else -1.0 / (1.0 - alpha))


def alpha_welfare(alpha: float, reference: float = 1.0) -> Welfare:
    """``u(f) = (f^(1-alpha) - 1) / (1 - alpha)``, and ``log f`` at ``alpha = 1`` (:func:`power_log`).

    The ``- 1`` only shifts ``U`` (so that ``u(1) = 0`` and the family is continuous in
    ``alpha``); it does not change the optimum. For ``alpha > 1`` the LP holds ``w = m^(alpha-1) u``
    with ``m = reference`` (a level near the lowest optimal rate), of the scaled rate ``g = f/m``:

    .. math::

        w = g^{1-\\alpha}\\, \\frac{\\operatorname{expm1}((\\alpha - 1) \\log f)}{\\alpha - 1},
        \\qquad \\frac{dw}{dg} = g^{-\\alpha}

    which neither overflows nor cancels: value and slope are near 1 where the optimum is, where ``u'``
    itself would be ``m^-alpha`` (``1e24`` at ``alpha = 50``, ``m = 1/3``; ``1e350`` at ``m = 1e-7``).

    Examples
    --------
    >>> w = alpha_welfare(2.0)
    >>> float(w.value(np.array([0.5]))[0]), float(w.slope(np.array([0.5]))[0] * w.rate_scale)
    (-1.0, 4.0)
    """
    if alpha == 0:
        return Welfare("sum of fill rates", lambda f: f - 1.0, lambda f: np.ones_like(f), linear=True)
    name = "sum of log fill rates" if alpha == 1 else f"alpha-fair welfare (alpha={alpha:g}) of fill rates"
    if alpha <= 1:
        return Welfare(name, lambda f: power_log(f, alpha), _power_slope(alpha, 1.0), lowest=MIN_POINT)
    m = float(reference)

    def value(f):
        f = np.asarray(f, dtype=float)
        with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
            log_f = np.log(np.maximum(f, 0.0))
            return np.exp((1.0 - alpha) * (log_f - np.log(m))) * np.expm1((alpha - 1.0) * log_f) / (alpha - 1.0)

    return Welfare(name, value, _power_slope(alpha, m), log_scale=(alpha - 1.0) * float(np.log(m)),
                   rate_scale=m, lowest=m * MIN_POINT ** (1.0 / alpha),
                   flat_above=min(1.0, m * SLOPE_FLOOR ** (-1.0 / alpha)))


def _power_slope(alpha: float, m: float) -> Callable[[np.ndarray], np.ndarray]:
    """``dw/df = (f/m)^-alpha / m``: the slope per scaled rate ``g = f/m`` is ``g^-alpha``."""
    def slope(f):
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            return np.exp(-alpha * np.log(np.maximum(np.asarray(f, dtype=float) / m, 1e-300))) / m

    return slope


def reference_level(model, runner, alpha: float) -> float:
    """The max-min level of the pair rates, the reference ``m`` of :func:`alpha_welfare` for ``alpha > 1``.

    1 when ``alpha <= 1`` (no scaling needed) or when some pair can get nothing (``u = -inf``
    for it whatever the allocation). One LP, or a few when the level is below ``1e-3``: the LP's
    tolerances (about 1e-7 absolute) would read a level of 1e-7 as 0, so the level column is
    rescaled to the level found so far (or ``1e-4`` of the last scale when it read 0) and solved
    again, until the level is at least ``1e-3`` of its scale.
    """
    from allocator.rules.stages import level_lp, level_of

    measure = model.measures.pair
    if alpha <= 1 or not len(measure):
        return 1.0
    # only a scale is needed: whole units are relaxed (the LP level, not a max-min MIP)
    lp = replace(level_lp(model.base, measure, np.arange(len(measure))), integer=None)
    scale, stage = 1.0, "welfare reference level"
    while True:
        level = level_of(runner.run(stage, _scaled_level(lp, scale)), lp)
        level = None if level is None else level * scale
        if level is None or level >= REFERENCE_FLOOR * scale or scale <= SMALLEST_REFERENCE:
            break
        scale, stage = max(level, scale * REFERENCE_FLOOR / 10, SMALLEST_REFERENCE), "welfare reference level, rescaled"
    return level if level is not None and level > SMALLEST_REFERENCE else 1.0


def _scaled_level(lp: LPModel, scale: float) -> LPModel:
    """``lp`` with its level column ``t`` standing for ``t * scale`` (its upper bound ``1 / scale``)."""
    if scale == 1.0:
        return lp
    column = np.ones(lp.num_cols)
    t = lp.cols("t")
    column[t] = scale
    upper = lp.col_upper.copy()
    upper[t] = 1.0 / scale
    return replace(lp, matrix=sp.csr_array(lp.matrix @ sp.diags_array(column)), col_upper=upper)


def maximise(model, runner, welfare: Welfare, tolerance: float, max_rounds: int) -> RuleOutcome:
    """Run the cutting-plane rounds (see the module docstring) on a compiled model."""
    measure = model.measures.pair
    count = len(measure)
    if count == 0:  # nothing reachable: every allocation is 0
        lp = model.base.with_objective({})
        return RuleOutcome(flows_of(runner.run("welfare", lp), lp), {"welfare": welfare.name})
    lp = initial_lp(model, welfare)
    lowest = np.full(count, welfare.lowest)  # each pair's lowest tangent point so far
    failed = None
    for round_number in range(1, max_rounds + 1):
        try:
            solution = runner.run(f"welfare round {round_number}", lp)
        except StageInfeasible:
            if round_number == 1:
                raise
            # each round only adds tangents above u to a relaxation the last round solved: infeasible
            # is round-off, and the last round's allocation and bound still stand
            failed, round_number = round_number, round_number - 1
            break
        flows = flows_of(solution, lp)
        rates = np.clip(measure.lp_rates(flows), 0.0, 1.0)  # from the flows, not the rate columns' round-off
        achieved = welfare.value(rates)
        total = float(achieved.sum())
        bound = proven_bound(lp, solution, model, welfare.rate_scale)
        norm = welfare.norm(total) if np.isfinite(total) else np.inf
        relative = (bound - total) / norm if norm > 0 else np.inf
        if welfare.linear or relative <= tolerance or round_number == max_rounds:
            break
        excess = solution.x[lp.cols("z")] - achieved
        cut = np.flatnonzero(excess > CUT_SHARE * tolerance * min(norm, np.finfo(float).max) / count)
        if not len(cut):  # the tangents are tight: what is left of the gap is the LP solve's own accuracy
            break
        # the tangent at the rate reached; below the lowest point so far (a rate of 0, or the interior
        # point's 1e-19 for a starved pair, where a tangent is nearly vertical and cuts nothing) one
        # decade lower down, so the points reach a small optimum geometrically
        new_points = np.where(rates[cut] >= lowest[cut], rates[cut], lowest[cut] / 10)
        new_points = np.minimum(new_points, welfare.flat_above)  # a flat tangent would cut nothing
        lowest[cut] = np.minimum(lowest[cut], new_points)
        lp = _add_tangents(lp, welfare, cut, new_points, round_number)
    objective = welfare.unscaled(total)
    upper = max(welfare.unscaled(bound, outward=True), objective)  # U(x^) <= U* <= bound: max stays one
    gap = upper - objective if np.isfinite(upper - objective) else max(bound - total, 0.0)
    relative = gap / max(1.0, abs(objective)) if np.isfinite(objective) else max(relative, 0.0)
    equity: dict[str, Any] = {"welfare": welfare.name, "objective": objective, "upper_bound": upper,
              "gap": gap, "relative_gap": relative, "rounds": round_number}
    equity = {key: (value if not isinstance(value, float) or np.isfinite(value) else None)
              for key, value in equity.items()}  # no NaN or infinity reaches a user: unproven is None
    warnings = _gap_warnings(welfare, equity["relative_gap"], tolerance, round_number)
    if failed is not None:
        warnings += (f"{welfare.name}: round {failed} became infeasible through the solver's round-off; "
                     f"the allocation and its proven gap are round {round_number}'s",)
    return RuleOutcome(flows, equity, warnings)


def _gap_warnings(welfare: Welfare, relative: float | None, tolerance: float, rounds: int) -> tuple[str, ...]:
    """A sentence when the proven gap is above ``tolerance`` or nothing was proven."""
    if relative is not None and relative <= tolerance:
        return ()
    reached = ("no finite bound on the optimum was proven" if relative is None
               else f"the proven relative gap is {relative:.2g}, above the tolerance {tolerance:g}")
    return (f"{welfare.name}: after {rounds} round(s) {reached}: the allocation is feasible but not shown to be "
            "within the tolerance of the optimum (raise max_rounds, or use the highs solver)",)


def proven_bound(lp: LPModel, solution, model, rate_scale: float = 1.0) -> float:
    """An upper bound on the tangent LP's optimum (so on ``sum w``) that holds in floating point.

    From the row duals (:func:`allocator.model.lp_bound.dual_bound`); a solve without duals (whole
    units: branch and bound) gives the dual bound its solver proved, rounded up (the tangent LP's
    objective is ``sum z``: the same number); ``inf`` (nothing proven) if the solver gave none
    (CBC through PuLP). Scaled rate columns (``rate_scale`` not 1) carry no stated bound: they
    are bounded here at ``1 / rate_scale``, which the demand rows imply.
    """
    if solution.row_dual is not None:
        upper = _acyclic_edges(lp, model.problem)
        if rate_scale != 1.0:  # scaled rates: f <= 1 by the demand rows (the same feasible set, stated)
            col_upper = lp.col_upper.copy()
            col_upper[lp.cols("rate")] = (1.0 / rate_scale) * (1 + 4 * EPS)
            lp = replace(lp, col_upper=col_upper)  # so that the rows imply bounds on z from it too
        return dual_bound(lp, solution.row_dual, upper)
    if solution.bound is None:
        return np.inf
    return float(np.nextafter(solution.bound + 4 * EPS * abs(solution.bound), np.inf))


def _acyclic_edges(lp: LPModel, problem) -> np.ndarray | None:
    """Upper bounds on flow-mode edge columns that some optimum meets: a resource's total stock.

    Cancelling a cycle keeps every node's balance and delivery, so some optimum's flow has no cycle,
    and no edge of it carries more than was stocked. Edge costs enter the tangent LP only through a
    budget row; cancelling a cycle with a negative cost could break that one, so only then do
    negative costs leave the edges unbounded.
    """
    network = problem.network
    if network is None or "edge" not in lp.col_blocks or (
            "budget" in lp.row_blocks and (np.asarray(network.cost) < 0).any()):
        return None
    upper = np.full(lp.num_cols, np.inf)
    stock = problem.supply.sum(axis=0) / problem.scale  # per resource, in the LP's units
    block = lp.cols("edge")
    upper[block] = np.tile(stock, (block.stop - block.start) // len(stock)) * (1 + 4 * EPS)
    return upper


def initial_lp(model, welfare: Welfare) -> LPModel:
    """The first round's LP: tangents on the geometric grid (one tangent for a linear ``u``)."""
    measure = model.measures.pair
    grid = np.geomspace(welfare.lowest, 1.0, 1 if welfare.linear else GRID_POINTS)
    if welfare.flat_above < 1.0:  # the grid ends where the slopes become flat; z <= 0 above (u(1) = 0)
        grid = np.append(np.geomspace(welfare.lowest, welfare.flat_above, GRID_POINTS - 1), 1.0)
    return tangent_lp(model.base, measure, welfare, np.tile(grid, (len(measure), 1)))


def tangent_lp(base: LPModel, measure, welfare: Welfare, points: np.ndarray) -> LPModel:
    """``base`` plus a ``rate`` and a ``z`` per pair and the tangents at ``points`` (pairs x K); maximise ``sum z``.

    ``rate_k = F_k(x)`` is one row per pair, so each tangent row has two entries (``z_k`` and
    ``rate_k``) however many sites the pair can draw on.
    """
    count = len(measure)
    builder = LPBuilder(base)
    # no stated bound on a scaled rate (the demand rows imply f <= 1): the equilibration would take
    # 1/m as the column's unit, and with it the tangent rows' tolerance back down to m
    builder.add_columns("rate", count, lower=0.0, upper=1.0 if welfare.rate_scale == 1 else np.inf)
    builder.add_columns("z", count, lower=-np.inf, upper=np.inf)
    # F / rate_scale = rates @ x
    rates = sp.diags_array(1.0 / (measure.lp_denominator * welfare.rate_scale)) @ measure.matrix
    builder.add_rows("rate", {"flow": rates, "rate": -sp.identity(count, format="csr")}, lower=0.0, upper=0.0)
    lp = builder.build().with_objective({"z": 1.0})
    return _add_tangents(lp, welfare, np.arange(count), points, 0)


def _add_tangents(lp: LPModel, welfare: Welfare, pairs: np.ndarray, points: np.ndarray, round_number: int) -> LPModel:
    """Rows ``z_k - w'(p) rate_k <= w(p) - w'(p) p`` for every pair in ``pairs`` and its point(s).

    The rate column is ``f / rate_scale``, so its coefficient is ``w'(p) rate_scale``.

    Each intercept is raised by its round-off, so every row lies above ``w`` as its floating-point
    numbers state it; points where ``w`` or ``w'`` is not finite are left out. ``z_k`` gets a
    lower bound below every line at rate 0: it changes no optimum (``z_k`` rises to the lowest
    line at its rate) and lets :func:`~allocator.model.lp_bound.dual_bound` prove one.
    """
    points = np.asarray(points, dtype=float).reshape(len(pairs), -1)
    per_pair = points.shape[1]
    z_block = lp.col_blocks["z"]
    count = z_block.stop - z_block.start
    slopes = welfare.slope(points)
    values = welfare.value(points)
    with np.errstate(invalid="ignore", over="ignore"):
        intercepts = values - slopes * points
        intercepts += 16 * EPS * (np.abs(values) + np.abs(slopes * points)) + 1e-300
    flat = slopes * welfare.rate_scale < SLOPE_FLOOR  # held as z <= 0: every tangent is >= 0 at f = 1
    slopes, intercepts = np.where(flat, 0.0, slopes), np.where(flat, 1e-300, intercepts)
    kept = (np.isfinite(intercepts) & np.isfinite(slopes)).T.ravel()
    rows = np.arange(int(kept.sum()))
    columns = np.tile(pairs, per_pair)[kept]  # block j holds every pair's tangent at its j-th point
    z_part = sp.csr_array((np.ones(len(rows)), (rows, columns)), shape=(len(rows), count))
    rate_part = sp.csr_array((-(slopes * welfare.rate_scale).T.ravel()[kept], (rows, columns)), shape=(len(rows), count))
    rate_part.eliminate_zeros()
    builder = LPBuilder(lp)
    builder.add_rows(f"tangent{round_number}", {"rate": rate_part, "z": z_part},
                     lower=-np.inf, upper=intercepts.T.ravel()[kept])
    lp = builder.build()
    low = np.where(np.isfinite(intercepts), intercepts, np.inf).min(axis=1)
    some = np.isfinite(low)
    index = z_block.start + pairs[some]
    lower = lp.col_lower.copy()
    below = low[some] - np.maximum(1.0, np.abs(low[some]))  # under every line at rate 0 (lines rise)
    lower[index] = np.where(np.isfinite(lower[index]), np.minimum(lower[index], below), below)
    return replace(lp, col_lower=lower)
