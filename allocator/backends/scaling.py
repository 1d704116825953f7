"""Equilibration: a reduction that makes badly scaled LPs safe for absolute solver tolerances.

A scenario may mix a unit asking for 0.001 lb with one asking for 10^9 lb. Solvers judge
feasibility with *absolute* tolerances (HiGHS: 1e-7), so in the raw LP the small unit's rows
can be "satisfied" while it gets nothing. Before a solve the model is rescaled:

1. **Columns** by their implied upper bound: a column that appears with a positive coefficient
   in a row ``sum_j a_ij x_j <= u_i`` whose entries and columns are all non-negative can never
   exceed ``u_i / a_ij``; the smallest such bound ``c_j`` becomes the column's unit, so
   ``y_j = x_j / c_j`` lies in ``[0, 1]``. For a flow this is (at most) its unit's demand, so
   ``y`` is a share of the demand, and fill-rate rows get coefficients near 1.
2. **Rows** by the largest absolute coefficient after step 1 (max-norm equilibration), so
   every row's tolerance is relative to the row's own magnitude.

The solver then works on ``A' = R A C``, ``c' = C c``, bounds divided accordingly, and the
solution is mapped back: ``x = C y``, ``row_dual = R y'`` (the objective is not rescaled).
The solver's own scaling still runs on top of this; it cannot do this job because it does
not know which bounds carry the model's magnitudes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from allocator.backends.base import Backend, LPSolution, SolverOptions
from allocator.core.sparse import sparse as sp
from allocator.model.lp import LPModel


@dataclass(frozen=True, eq=False)
class Equilibrated:
    """An LP rescaled for solving, with the column and row factors that map its solution back."""

    model: LPModel
    col_scale: np.ndarray
    row_scale: np.ndarray

    @classmethod
    def of(cls, model: LPModel) -> Equilibrated:
        """Rescale ``model`` (see the module docstring).

        Examples
        --------
        >>> import numpy as np, scipy.sparse as sp
        >>> lp = LPModel(cost=np.ones(2), col_lower=np.zeros(2), col_upper=np.full(2, np.inf),
        ...              matrix=sp.csr_array(np.eye(2)), row_lower=np.full(2, -np.inf),
        ...              row_upper=np.array([1e-3, 1e9]))
        >>> Equilibrated.of(lp).model.row_upper.tolist()
        [1.0, 1.0]
        """
        col_scale = _implied_upper_bounds(model)
        if model.integer is not None:
            col_scale[model.integer] = 1.0  # a whole number divided by a scale is no longer whole
        source = model.matrix  # the entries after step 1, read off the CSR arrays (no sparse product)
        row_max = _segment_reduce(np.maximum, np.abs(source.data * col_scale[source.indices]), source.indptr, empty=0.0)
        row_scale = 1.0 / np.where(row_max > 0, row_max, 1.0)
        return cls.with_scales(model, col_scale, row_scale)

    @classmethod
    def with_scales(cls, model: LPModel, col_scale: np.ndarray, row_scale: np.ndarray) -> Equilibrated:
        """Rescale ``model`` by given factors (any positive ones map the solution back exactly).

        Many solves of similar models keep the factors of the first, so that a model held by
        the solver changes only where the numbers of the problem changed.
        """
        # entry by entry on the CSR arrays: the same sparsity pattern as the model's, and no sparse products
        source = model.matrix
        rows = np.repeat(np.arange(source.shape[0]), np.diff(source.indptr))
        matrix = sp.csr_array((source.data * row_scale[rows] * col_scale[source.indices], source.indices.copy(),
                               source.indptr.copy()), shape=source.shape)
        return cls(
            model=replace(model, cost=model.cost * col_scale, col_lower=model.col_lower / col_scale,
                          col_upper=model.col_upper / col_scale, matrix=matrix,
                          row_lower=model.row_lower * row_scale, row_upper=model.row_upper * row_scale),
            col_scale=col_scale, row_scale=row_scale)

    def unscale(self, solution: LPSolution) -> LPSolution:
        """The solution of the original model from that of the rescaled one."""
        x = None if solution.x is None else solution.x * self.col_scale
        dual = None if solution.row_dual is None else solution.row_dual * self.row_scale
        return replace(solution, x=x, row_dual=dual)


def solve_equilibrated(backend: Backend, model: LPModel, options: SolverOptions) -> LPSolution:
    """Solve ``model`` on ``backend`` through :class:`Equilibrated`."""
    # a backend that reuses loaded models also keeps its scaling factors (ReusingHighs)
    equilibrate = getattr(backend, "equilibrate", Equilibrated.of)
    reduction = equilibrate(model)
    return reduction.unscale(backend.solve(reduction.model, options))


def _segment_reduce(ufunc, values: np.ndarray, indptr: np.ndarray, empty: float) -> np.ndarray:
    """``ufunc.reduce`` of each segment ``values[indptr[k]:indptr[k+1]]`` (``empty`` for empty ones)."""
    out = np.full(len(indptr) - 1, empty)
    filled = np.diff(indptr) > 0
    if len(values):
        out[filled] = ufunc.reduceat(values, indptr[:-1][filled])
    return out


def _implied_upper_bounds(model: LPModel) -> np.ndarray:
    """Per column, the smallest ``u_i / a_ij`` over rows that bound it (1 where no row does).

    A row bounds its columns when it has a finite positive upper bound, no negative
    coefficient, and only columns that cannot go below 0.
    """
    matrix = model.matrix
    rows = np.repeat(np.arange(model.num_rows), np.diff(matrix.indptr))
    upper = model.row_upper
    entry_ok = (matrix.data > 0) & (model.col_lower >= 0)[matrix.indices]
    row_ok = _segment_reduce(np.logical_and, entry_ok, matrix.indptr, empty=1.0).astype(bool)
    row_ok &= np.isfinite(upper) & (upper > 0)
    ratio = np.where(row_ok[rows], upper[rows] / np.where(entry_ok, matrix.data, 1.0), np.inf)
    by_col = sp.csr_array((ratio, matrix.indices, matrix.indptr), shape=matrix.shape).tocsc()
    by_col.sort_indices()
    bound = _segment_reduce(np.minimum, by_col.data, by_col.indptr, empty=np.inf)
    finite_col = np.isfinite(model.col_upper) & (model.col_upper > 0)
    bound = np.where(finite_col, np.minimum(bound, model.col_upper), bound)
    return np.where(np.isfinite(bound) & (bound > 0), bound, 1.0)
