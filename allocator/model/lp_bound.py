"""A proven upper bound on an LP's optimum from approximate duals, valid in floating point.

A solver's primal objective is optimal only to its tolerances (the interior point method
stops 1e-10 short, relative), so it is no bound. Weak duality gives one from *any* row duals
``y`` (Neumaier and Shcherbina 2004): for ``max c x`` over ``l <= A x <= u``, ``lc <= x <= uc``,

.. math::

    c x = y^T (A x) + d^T x, \\quad d = c - A^T y, \\qquad
    c x \\le \\sum_i \\max(y_i u_i, y_i l_i) + \\sum_j \\max(d_j\\, uc_j, d_j\\, lc_j)

for every feasible ``x``, with each product taken at the bound its sign selects. ``y`` is
first cleaned of signs that would meet an infinite bound (any ``y`` is allowed), columns get
the upper bounds their rows imply (:func:`implied_upper`), and the round-off of ``A^T y`` and
of the sums is added, so the bound holds for the LP as its floating-point numbers state it.
"""

from __future__ import annotations

import numpy as np

from allocator.model.lp import LPModel

EPS = np.finfo(float).eps
WIDE_EPS = float(np.finfo(np.longdouble).eps)  # 1.1e-19 on x86 (80-bit); eps where long double is double


def dual_bound(lp: LPModel, row_dual: np.ndarray, upper: np.ndarray | None = None) -> float:
    """An upper bound on the optimum of ``lp`` (a maximisation) from the row duals ``row_dual``.

    ``upper`` are column bounds some optimum meets though the LP does not state them (e.g. flows
    without cycles). Returns ``inf`` when a reduced cost meets an unbounded column (nothing proven).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> lp = LPModel(cost=np.ones(2), col_lower=np.zeros(2), col_upper=np.full(2, np.inf),
    ...              matrix=sp.csr_array(np.ones((1, 2))), row_lower=np.array([-np.inf]), row_upper=np.array([3.0]))
    >>> bound = dual_bound(lp, np.array([1.0]))  # max x1 + x2 s.t. x1 + x2 <= 3: exactly 3, rounded up
    >>> bound >= 3.0, round(bound, 9), round(dual_bound(lp, np.array([0.5])), 9)  # a poorer y: a poorer bound
    (True, 3.0, 4.5)
    """
    y = np.asarray(row_dual, dtype=float).copy()
    y[~np.isfinite(y) | ((y > 0) & ~np.isfinite(lp.row_upper)) | ((y < 0) & ~np.isfinite(lp.row_lower))] = 0.0
    row_bound = np.where(y > 0, lp.row_upper, np.where(y < 0, lp.row_lower, 0.0))
    row_terms = y * row_bound
    matrix = lp.matrix.tocsc()
    # in extended precision where the platform has it: its round-off times a column's reach (up to
    # 1e7 for a scaled rate) would otherwise be most of a welfare bound's gap
    wide = matrix.astype(np.longdouble)
    exact = lp.cost.astype(np.longdouble) - wide.T @ y.astype(np.longdouble)
    reduced = exact.astype(float)
    # |fl(d_j) - d_j| <= (k_j + 2) eps_wide (|c_j| + sum_i |a_ij y_i|) + eps |d_j|, k_j the column's entries
    reduced_error = ((np.diff(matrix.indptr) + 2) * WIDE_EPS * (np.abs(lp.cost) + abs(matrix).T @ np.abs(y))
                     + EPS * np.abs(reduced))
    upper = np.minimum(implied_upper(lp), np.inf if upper is None else upper)
    col_bound = np.where(reduced > 0, upper, np.where(reduced < 0, lp.col_lower, 0.0))
    with np.errstate(invalid="ignore"):
        col_terms = np.where(reduced != 0, reduced * col_bound, 0.0)
        reach = np.maximum(np.abs(lp.col_lower), np.abs(upper))  # the largest |x_j| of a feasible x
        slack = np.where(reduced_error > 0, reduced_error * reach, 0.0)
    terms = np.concatenate([row_terms, col_terms, slack])
    if not np.all(np.isfinite(terms)):
        return float("inf")
    total = float(np.sum(terms))
    total += (len(terms) + 2) * EPS * float(np.sum(np.abs(terms)))  # the summation's round-off
    return float(np.nextafter(total, np.inf))


def implied_upper(lp: LPModel) -> np.ndarray:
    """Per column, the smallest upper bound that one row and the other columns' bounds imply (rounded up).

    For ``a_ij > 0`` in a row ``sum_k a_ik x_k <= u_i``: ``x_j <= (u_i - min sum_{k != j} a_ik x_k) / a_ij``,
    the minimum taken over the other columns' bounds (one pass of bound propagation; ``inf`` where
    no row bounds a column).
    """
    matrix = lp.matrix.tocsr()
    rows = np.repeat(np.arange(lp.num_rows), np.diff(matrix.indptr))
    data, cols = matrix.data, matrix.indices
    with np.errstate(invalid="ignore"):
        least = np.where(data > 0, data * lp.col_lower[cols], data * lp.col_upper[cols])  # of each entry
    unbounded = ~np.isfinite(least)
    finite_least = np.where(unbounded, 0.0, least)
    row_sum = np.bincount(rows, finite_least, lp.num_rows)
    row_size = np.bincount(rows, np.abs(finite_least), lp.num_rows)
    row_unbounded = np.bincount(rows, unbounded, lp.num_rows)
    others_unbounded = row_unbounded[rows] - unbounded
    others = row_sum[rows] - finite_least
    room = lp.row_upper[rows] - others
    room += (np.diff(matrix.indptr)[rows] + 2) * EPS * (np.abs(lp.row_upper[rows]) + row_size[rows])
    usable = (data > 0) & (others_unbounded == 0) & np.isfinite(room)
    bound = np.where(usable, room / np.where(usable, data, 1.0), np.inf)
    bound = np.where(np.isfinite(bound), bound + 2 * EPS * np.abs(bound), bound)
    out = np.full(lp.num_cols, np.inf)
    np.minimum.at(out, cols, bound)
    return np.minimum(out, lp.col_upper)
