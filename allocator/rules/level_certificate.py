"""An upper bound on a level LP's optimum from the row duals of a neighbouring one.

Simulation draws solve the max-min level LP (:func:`~allocator.rules.stages.level_lp`) again and
again with slightly different demand and supply. Its dual solution usually keeps its shape from
one draw to the next: the same sites and units form the bottleneck. Weak duality turns the last
draw's duals into a bound on this draw's level without solving it.

For ``max c^T z`` subject to ``L <= A z <= U`` and ``l <= z <= u``, and any multipliers ``y``,
with reduced costs ``r = c - A^T y``,

.. math::

    c^T z = r^T z + y^T A z
          \\le \\sum_j \\max(r_j l_j, r_j u_j) + \\sum_i \\max(y_i L_i, y_i U_i).

The level LP's only cost is ``t``, with coefficient ``-D_k`` in level row ``k``, so the duals are
first scaled by ``1 / (A^T y)_t`` to make ``t``'s reduced cost zero (dual feasibility of ``t``).
Multipliers of the wrong sign on an infinite side contribute nothing useful, so they are set to
zero first; columns without an upper bound take the one their rows imply (a row of non-negative
coefficients over non-negative columns with upper bound ``U_i`` gives ``z_j <= U_i / a_ij``).

The bound holds for *any* multipliers, so it never depends on how accurate, or even how relevant,
the old duals are: a stale set only gives a bound above the level, which the caller detects
because the allocation it asks for is then infeasible. When the old duals are optimal for the
new draw, the bound *is* the level (strong duality).

Examples
--------
One unit (demand 4) served by one site (supply 2): ``max t`` s.t. ``x <= 4``, ``x <= 2``,
``x - 4 t >= 0``. The dual that prices the site at 1/4 proves ``t <= 0.5``:

>>> import numpy as np
>>> from allocator.model.lp import LPBuilder
>>> from allocator.core.sparse import sparse as sp
>>> b = LPBuilder()
>>> flow = b.add_columns("flow", 1, lower=0.0, upper=np.inf)
>>> b.add_rows("demand", {"flow": sp.csr_array(np.ones((1, 1)))}, lower=0.0, upper=4.0)
>>> b.add_rows("supply", {"flow": sp.csr_array(np.ones((1, 1)))}, lower=0.0, upper=2.0)
>>> t = b.add_columns("t", 1, lower=0.0, upper=1.0)
>>> b.add_rows("level", {"flow": sp.csr_array(np.ones((1, 1))), "t": sp.csr_array(-4 * np.ones((1, 1)))},
...            lower=0.0, upper=np.inf)
>>> lp = b.build().with_objective({"t": 1.0})
>>> float(level_bound(lp, np.array([0.0, 0.25, -0.25])))
0.5
"""

from __future__ import annotations

import numpy as np

from allocator.model.lp import LPModel


def level_bound(lp: LPModel, row_dual: np.ndarray) -> float:
    """An upper bound on the optimum of the level LP ``lp`` (maximise ``t``) from multipliers ``row_dual``.

    ``row_dual`` holds one multiplier per row of ``lp``, in HiGHS's sign convention for a
    maximisation (``r = c - A^T y``), for example the row duals of the same LP solved with
    other numbers. Multipliers that do not price ``t`` (``(A^T y)_t <= 0``) prove only its own
    upper bound; a column with a positive reduced cost and no finite upper bound, own or implied,
    makes the bound ``inf``.
    """
    t = lp.cols("t").start
    y = np.asarray(row_dual, dtype=float).copy()
    y[(y > 0) & np.isposinf(lp.row_upper)] = 0.0
    y[(y < 0) & np.isneginf(lp.row_lower)] = 0.0
    priced = lp.matrix.T @ y
    slope = float(priced[t])
    if lp.cost[t] <= 0:
        return np.inf
    if not slope > 0:  # t is not priced: only its own bound holds it (the Lagrangian with no multipliers)
        return float(lp.col_upper[t])
    scale = lp.cost[t] / slope
    reduced = lp.cost - scale * priced
    reduced[t] = 0.0
    upper = _upper_bounds(lp, reduced > 0)
    with np.errstate(invalid="ignore"):  # 0 x inf where a multiplier or reduced cost is zero: not selected
        columns = (np.where(reduced > 0, reduced * upper, 0.0).sum()
                   + np.where(reduced < 0, reduced * lp.col_lower, 0.0).sum())
        rows = np.where(y > 0, y * lp.row_upper, 0.0).sum() + np.where(y < 0, y * lp.row_lower, 0.0).sum()
    bound = float(columns + scale * rows)
    if not np.isfinite(bound):
        return np.inf
    # within t's own bounds (a round-off bound below t's lower bound would otherwise be returned)
    return max(float(lp.col_lower[t]), min(bound, float(lp.col_upper[t])))


def _upper_bounds(lp: LPModel, wanted: np.ndarray) -> np.ndarray:
    """Column upper bounds, with implied ones for the ``wanted`` columns that have none."""
    upper = lp.col_upper.astype(float, copy=True)
    missing = wanted & np.isposinf(upper)
    if not missing.any():
        return upper
    matrix = lp.matrix
    lengths = np.diff(matrix.indptr)
    row_of = np.repeat(np.arange(lp.num_rows), lengths)
    # a row implies bounds when its coefficients and its columns' lower bounds are all non-negative
    unsafe = (matrix.data < 0) | (lp.col_lower[matrix.indices] < 0)
    bad_rows = np.zeros(lp.num_rows, dtype=bool)
    bad_rows[row_of[unsafe]] = True
    usable = (~bad_rows[row_of] & np.isfinite(lp.row_upper)[row_of] & (matrix.data > 0)
              & missing[matrix.indices])
    implied = np.full(lp.num_cols, np.inf)
    np.minimum.at(implied, matrix.indices[usable], lp.row_upper[row_of[usable]] / matrix.data[usable])
    upper[missing] = implied[missing]
    return upper
