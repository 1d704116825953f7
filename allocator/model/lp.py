"""The solver-neutral linear program: arrays plus one sparse matrix, built in bulk.

Every LP allocator solves has the form

.. math::

    \\max_x\\; c^\\top x \\quad\\text{s.t.}\\quad r^{lo} \\le A x \\le r^{hi},\\quad
    l \\le x \\le u

with ``A`` a CSR matrix. Columns and rows come in named *blocks* (``"flow"``, ``"t"``,
``"demand"``, ``"supply"``, ``"group_gap:race"``...), each a contiguous range, so that
rules, constraints, backends and reports can address them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from allocator.core.sparse import sparse as sp

if TYPE_CHECKING:
    from allocator.core.sparse import SparseMatrix

INF = np.inf


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=float)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class LPModel:
    """An immutable LP in maximisation form with named column and row blocks.

    Attributes
    ----------
    cost, col_lower, col_upper : ndarray
        Objective coefficients and column bounds (length ``num_cols``).
    matrix : scipy.sparse.csr_array
        Constraint matrix, ``num_rows x num_cols``.
    row_lower, row_upper : ndarray
        Ranged row bounds; ``-inf``/``inf`` for one-sided rows.
    col_blocks, row_blocks : Mapping[str, slice]
        Named contiguous ranges of columns and rows.
    integer : ndarray of bool or None
        Columns restricted to whole numbers (a mixed-integer program when any is).
    """

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    matrix: sp.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_blocks: Mapping[str, slice] = field(default_factory=dict)
    row_blocks: Mapping[str, slice] = field(default_factory=dict)
    #: True for columns that must take whole-number values (flows of indivisible resources); None: none do
    integer: np.ndarray | None = None

    @property
    def is_mip(self) -> bool:
        return self.integer is not None and bool(self.integer.any())

    @property
    def num_cols(self) -> int:
        return self.matrix.shape[1]

    @property
    def num_rows(self) -> int:
        return self.matrix.shape[0]

    def cols(self, block: str) -> slice:
        return self.col_blocks[block]

    def rows(self, block: str) -> slice:
        return self.row_blocks[block]

    def with_objective(self, costs: Mapping[str, np.ndarray | float]) -> LPModel:
        """Return a copy whose objective is ``costs`` per column block (other blocks get 0)."""
        cost = np.zeros(self.num_cols)
        for block, values in costs.items():
            cost[self.col_blocks[block]] = values
        return replace(self, cost=_frozen(cost))

    def with_row_bounds(
        self, block: str, index: np.ndarray | slice = slice(None), *, lower=None, upper=None
    ) -> LPModel:
        """Return a copy with new bounds on rows ``index`` of ``block`` (a cheap copy of the bounds only)."""
        rows = np.arange(self.num_rows)[self.row_blocks[block]][index]
        row_lower, row_upper = self.row_lower, self.row_upper
        if lower is not None:
            row_lower = self.row_lower.copy()
            row_lower[rows] = lower
        if upper is not None:
            row_upper = self.row_upper.copy()
            row_upper[rows] = upper
        return replace(self, row_lower=_frozen(row_lower), row_upper=_frozen(row_upper))

    def violation(self, x: np.ndarray) -> float:
        """The largest amount by which ``x`` breaks a row or column bound, relative to ``1 + |bound|``
        (``inf`` when ``x`` holds a NaN or an infinity)."""
        x = np.asarray(x, dtype=float)
        if not np.isfinite(x).all():
            return np.inf
        activity = self.matrix @ x

        def excess(over: np.ndarray, bound: np.ndarray) -> float:
            with np.errstate(invalid="ignore"):  # inf / inf at infinite bounds: not selected
                relative = np.where(np.isfinite(bound), over / (1 + np.abs(bound)), 0.0)
            return float(np.max(relative, initial=0.0))

        return max(excess(self.row_lower - activity, self.row_lower), excess(activity - self.row_upper, self.row_upper),
                   excess(self.col_lower - x, self.col_lower), excess(x - self.col_upper, self.col_upper))

    def column_names(self) -> list[str]:
        """Names ``<block>_<index>`` for every column, valid in LP and MPS files."""
        return _block_names(self.col_blocks, self.num_cols, "c")

    def row_names(self) -> list[str]:
        """Names ``<block>_<index>`` for every row, valid in LP and MPS files."""
        return _block_names(self.row_blocks, self.num_rows, "r")


def _block_names(blocks: Mapping[str, slice], total: int, fallback: str) -> list[str]:
    names = [f"{fallback}_{i}" for i in range(total)]
    for block, span in blocks.items():
        safe = "".join(ch if ch.isalnum() else "_" for ch in block)
        for offset, i in enumerate(range(*span.indices(total))):
            names[i] = f"{safe}_{offset}"
    return names


@dataclass
class _RowBlock:
    name: str
    parts: list[tuple[str, sp.csr_array]]
    lower: np.ndarray
    upper: np.ndarray


class LPBuilder:
    """Accumulates column and row blocks, then assembles one :class:`LPModel`.

    Rows are given as one sparse matrix per column block they touch, so nothing is
    built one entry at a time.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> b = LPBuilder()
    >>> x = b.add_columns("x", 2, lower=0.0, upper=np.inf)
    >>> b.add_rows("cap", {"x": sp.csr_array(np.ones((1, 2)))}, lower=-np.inf, upper=3.0)
    >>> b.build().num_rows
    1
    """

    def __init__(self, base: LPModel | None = None):
        self._base = base
        self._cols: list[tuple[str, int, np.ndarray, np.ndarray, np.ndarray]] = []
        self._rows: list[_RowBlock] = []
        self._col_blocks: dict[str, slice] = dict(base.col_blocks) if base else {}
        self._num_cols = base.num_cols if base else 0

    def add_columns(self, name: str, count: int, *, lower, upper, integer=False) -> slice:
        """Add ``count`` columns as block ``name`` (``integer``: whole numbers only) and return their range."""
        if name in self._col_blocks:
            raise ValueError(f"column block {name!r} exists already")
        span = slice(self._num_cols, self._num_cols + count)
        self._col_blocks[name] = span
        self._num_cols += count
        self._cols.append((name, count, np.broadcast_to(lower, count), np.broadcast_to(upper, count),
                           np.broadcast_to(np.asarray(integer, dtype=bool), count)))
        return span

    def add_rows(self, name: str, parts: Mapping[str, SparseMatrix], *, lower, upper) -> None:
        """Add a row block: ``lower <= sum(parts[b] @ x[b]) <= upper``.

        ``parts`` maps a column block name to the coefficient matrix on that block.
        """
        existing = {b.name for b in self._rows} | set(self._base.row_blocks if self._base else ())
        if name in existing:
            raise ValueError(f"row block {name!r} exists already")
        count = next(iter(parts.values())).shape[0]
        for block, mat in parts.items():
            width = self._col_blocks[block].stop - self._col_blocks[block].start
            if mat.shape != (count, width):
                raise ValueError(f"row block {name!r}: part {block!r} has shape {mat.shape}, expected {(count, width)}")
        self._rows.append(_RowBlock(name, [(b, sp.csr_array(m)) for b, m in parts.items()],
                                    np.broadcast_to(lower, count), np.broadcast_to(upper, count)))

    def tighten_lower(self, name: str, lower: np.ndarray) -> None:
        """Raise the lower bounds of row block ``name`` (added by this builder) to at least ``lower``."""
        block = next(b for b in self._rows if b.name == name)
        block.lower = np.maximum(block.lower, lower)

    def build(self) -> LPModel:
        base = self._base
        n = self._num_cols
        col_lower = [base.col_lower] if base else []
        col_upper = [base.col_upper] if base else []
        integer = []
        if base is not None:
            integer.append(base.integer if base.integer is not None else np.zeros(base.num_cols, dtype=bool))
        for _, _, lower, upper, whole in self._cols:
            col_lower.append(lower)
            col_upper.append(upper)
            integer.append(whole)
        matrices: list[sp.csr_array | tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        row_lower = [base.row_lower] if base else []
        row_upper = [base.row_upper] if base else []
        row_blocks = dict(base.row_blocks) if base else {}
        num_rows = base.num_rows if base else 0
        if base is not None:
            matrices.append(base.matrix)
        for block in self._rows:
            count = len(block.lower)
            matrices.append(_assemble(block.parts, self._col_blocks, count))
            row_lower.append(block.lower)
            row_upper.append(block.upper)
            row_blocks[block.name] = slice(num_rows, num_rows + count)
            num_rows += count
        matrix = _stack_rows(matrices, n)
        cost = np.zeros(n)
        if base is not None:
            cost[: base.num_cols] = base.cost
        return LPModel(
            cost=_frozen(cost),
            col_lower=_frozen(np.concatenate(col_lower) if col_lower else np.zeros(0)),
            col_upper=_frozen(np.concatenate(col_upper) if col_upper else np.zeros(0)),
            matrix=matrix,
            row_lower=_frozen(np.concatenate(row_lower) if row_lower else np.zeros(0)),
            row_upper=_frozen(np.concatenate(row_upper) if row_upper else np.zeros(0)),
            col_blocks=MappingProxyType(dict(self._col_blocks)),
            row_blocks=MappingProxyType(row_blocks),
            integer=_integer(np.concatenate(integer) if integer else np.zeros(0, dtype=bool)),
        )


def _integer(flags: np.ndarray) -> np.ndarray | None:
    if not flags.any():
        return None
    flags = np.array(flags, dtype=bool)
    flags.flags.writeable = False
    return flags


def _canonical(matrix: sp.csr_array) -> sp.csr_array:
    """``matrix`` as CSR with sorted, unique column indices in every row."""
    matrix = sp.csr_array(matrix)
    if not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()
    return matrix


def _assemble(parts: Sequence[tuple[str, sp.csr_array]], blocks: Mapping[str, slice], count: int):
    """Place each part's columns at its block's offset: ``(data, indices, indptr)`` of one row block.

    Parts are merged row by row in the order of their blocks' offsets, so every row's column
    indices come out sorted (each part is canonical, and blocks do not overlap).
    """
    placed = sorted(((blocks[b].start, _canonical(m)) for b, m in parts), key=lambda part: part[0])
    sizes = np.zeros(count, dtype=np.int64)
    for _, mat in placed:
        sizes += np.diff(mat.indptr)
    indptr = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    data = np.empty(indptr[-1])
    indices = np.empty(indptr[-1], dtype=np.int64)
    filled = indptr[:-1].copy()  # next free position of every row
    for offset, mat in placed:
        per_row = np.diff(mat.indptr)
        row = np.repeat(np.arange(count), per_row)
        target = filled[row] + (np.arange(mat.nnz) - mat.indptr[:-1][row])
        data[target] = mat.data
        indices[target] = mat.indices + offset
        filled += per_row
    return data, indices, indptr


def _stack_rows(blocks: Sequence, width: int) -> sp.csr_array:
    """One CSR matrix of ``width`` columns from row blocks given as CSR matrices or ``(data, indices, indptr)``.

    Built from the blocks' arrays directly: a base LP's matrix is not copied entry by entry into
    a wider one, as ``scipy.sparse.hstack``/``vstack`` would.
    """
    parts = [b if isinstance(b, tuple) else _canonical(b) for b in blocks]
    parts = [p if isinstance(p, tuple) else (p.data, p.indices, p.indptr) for p in parts]
    if not parts:
        return sp.csr_array((0, width))
    offsets = np.cumsum([0] + [p[2][-1] for p in parts[:-1]])
    indptr = np.concatenate([np.zeros(1, dtype=np.int64)] + [p[2][1:] + o for p, o in zip(parts, offsets)])
    nnz = int(indptr[-1])
    index_type = np.int32 if max(nnz, width) < np.iinfo(np.int32).max else np.int64
    return sp.csr_array((np.concatenate([p[0] for p in parts]).astype(float, copy=False),
                         np.concatenate([p[1] for p in parts]).astype(index_type, copy=False),
                         indptr.astype(index_type, copy=False)), shape=(len(indptr) - 1, width))
