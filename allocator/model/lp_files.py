"""LP and MPS text of an :class:`~allocator.model.lp.LPModel`, read the same by HiGHS, GLPK, CBC and CPLEX.

* Numbers are written as the shortest text that reads back as the same double (``repr``), so
  a file holds exactly the model's coefficients.
* LP (CPLEX format): ``Maximize``. MPS (free format, names longer than 8 characters):
  a **minimisation of the negated objective**, with a comment saying so, because GLPK 5 does
  not read an ``OBJSENSE`` section and every MPS reader minimises by default.
* A row with two finite, different bounds becomes two rows ``<name>_lo`` (``>=``) and
  ``<name>_hi`` (``<=``); a row with no finite bound is left out (it constrains nothing).
* Names are ASCII letters, digits and ``_``, at most :data:`MAX_NAME` characters, starting
  with a letter other than ``e``/``E`` (which LP readers may take for an exponent); see
  :func:`sanitise` and :func:`unique`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from allocator.model.lp import LPModel

#: LP readers accept names up to 255 characters; this leaves room for a ``_lo`` or ``_<n>`` suffix
MAX_NAME = 240
#: LP lines are wrapped before this length (CPLEX reads at most 560 characters a line)
LINE = 200


def sanitise(text: str, limit: int = MAX_NAME, *, leading: bool = True) -> str:
    """``text`` as a name LP and MPS files accept: accents dropped, other characters ``_``.

    With ``leading`` (a whole name, not a part after a prefix) it starts with a letter other than
    ``e``/``E`` (``n_`` is put in front otherwise).

    Examples
    --------
    >>> sanitise("Zürich Nord-2"), sanitise("2nd site"), sanitise("east")
    ('Zurich_Nord_2', 'n_2nd_site', 'n_east')
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^A-Za-z0-9_]", "_", ascii_text)[:limit] or "_"
    if leading and (not name[0].isalpha() or name[0] in "eE"):
        name = "n_" + name
    return name[:limit]


def unique(names: list[str]) -> list[str]:
    """``names`` with every repeat made distinct by ``_2``, ``_3``... (in order, so deterministic).

    A suffixed name never takes a name that occurs later in the list as given.

    Examples
    --------
    >>> unique(["a_b", "a_b", "a_b_2", "c"])
    ['a_b', 'a_b_3', 'a_b_2', 'c']
    """
    given, used, out = set(names), set(), []
    for name in names:
        candidate, k = name, 2
        while candidate in used or (candidate != name and candidate in given):
            candidate, k = f"{name}_{k}", k + 1
        used.add(candidate)
        out.append(candidate)
    return out


@dataclass(frozen=True, eq=False)
class Layout:
    """The rows as written: ``name``, the model row ``row`` it comes from, ``sense`` (``E``, ``G``, ``L``), ``rhs``."""

    columns: list[str]
    names: list[str]
    row: np.ndarray
    sense: np.ndarray
    rhs: np.ndarray


def layout(model: LPModel, column_names: list[str], row_names: list[str]) -> Layout:
    """Split ranged rows, drop free ones, and make every written name unique (columns and rows apart)."""
    lo, hi = model.row_lower, model.row_upper
    equal = np.isfinite(lo) & (lo == hi)
    has_lo, has_hi = np.isfinite(lo) & ~equal, np.isfinite(hi) & ~equal
    ranged = has_lo & has_hi
    names, rows, senses, rhs = [], [], [], []
    for i in np.flatnonzero(equal | has_lo | has_hi):
        if equal[i]:
            parts = [("", "E", lo[i])]
        else:
            parts = ([("_lo" if ranged[i] else "", "G", lo[i])] if has_lo[i] else []) + \
                    ([("_hi" if ranged[i] else "", "L", hi[i])] if has_hi[i] else [])
        for suffix, sense, bound in parts:
            names.append(row_names[i] + suffix)
            rows.append(i)
            senses.append(sense)
            rhs.append(bound)
    return Layout(unique(list(column_names)), unique(names), np.asarray(rows, dtype=np.int64),
                  np.asarray(senses, dtype="<U1"), np.asarray(rhs, dtype=float))


def number(value: float) -> str:
    """The shortest text that reads back as ``value`` (whole numbers without ``.0``)."""
    value = float(value) + 0.0  # no "-0"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _wrapped(first: str, terms: list[str]) -> list[str]:
    lines, line = [], first
    for term in terms:
        if len(line) + len(term) + 1 > LINE:
            lines.append(line)
            line = "   "
        line += " " + term
    lines.append(line)
    return lines


def _terms(coefficients, names) -> list[str]:
    return [f"{'-' if c < 0 else '+'} {number(abs(c))} {n}" for c, n in zip(coefficients, names)]


def lp_text(model: LPModel, plan: Layout, header: list[str]) -> str:
    """The model as a CPLEX LP file (maximisation), ``header`` lines as comments at its head."""
    cols = plan.columns
    used = np.zeros(model.num_cols, dtype=bool)
    used[model.matrix.indices] = True
    shown = np.flatnonzero((model.cost != 0) | ~used)  # a column in no row is declared in the objective
    lines = [f"\\ {text}" for text in header]
    objective = _terms(model.cost[shown], [cols[j] for j in shown]) or ["0"]
    lines += ["Maximize", *_wrapped(" obj:", objective), "Subject To"]
    matrix = model.matrix
    relation = {"E": "=", "G": ">=", "L": "<="}
    for name, i, sense, rhs in zip(plan.names, plan.row, plan.sense, plan.rhs):
        start, stop = matrix.indptr[i], matrix.indptr[i + 1]
        terms = _terms(matrix.data[start:stop], [cols[j] for j in matrix.indices[start:stop]])
        terms = terms or [f"0 {cols[0]}"]
        lines += _wrapped(f" {name}:", terms + [f"{relation[sense]} {number(rhs)}"])
    lines.append("Bounds")
    for j, (low, high) in enumerate(zip(model.col_lower, model.col_upper)):
        bound = _lp_bound(cols[j], low, high)
        if bound:
            lines.append(f" {bound}")
    if model.is_mip:
        assert model.integer is not None  # is_mip: some columns are integer
        lines += ["General", *_wrapped("", [cols[j] for j in np.flatnonzero(model.integer)])]
    lines.append("End")
    return "\n".join(lines) + "\n"


def _lp_bound(name: str, low: float, high: float) -> str:
    if low == 0 and math.isinf(high):
        return ""  # the default
    if low == high:
        return f"{name} = {number(low)}"
    if math.isinf(low) and math.isinf(high):
        return f"{name} free"
    left = "-inf" if math.isinf(low) else number(low)
    return f"{left} <= {name}" + ("" if math.isinf(high) else f" <= {number(high)}")


def mps_text(model: LPModel, plan: Layout, header: list[str]) -> str:
    """The model as a free MPS file: minimise the *negated* objective (see the module docstring)."""
    cols = plan.columns
    lines = [f"* {text}" for text in header]
    lines += ["NAME allocator", "ROWS", " N obj"]
    lines += [f" {sense} {name}" for sense, name in zip(plan.sense, plan.names)]
    lines.append("COLUMNS")
    written_of: list[list[str]] = [[] for _ in range(model.num_rows)]  # model row -> the rows written for it
    for k, i in enumerate(plan.row):
        written_of[i].append(plan.names[k])
    by_column = model.matrix.tocsc()
    by_column.sort_indices()
    integer = model.integer if model.is_mip and model.integer is not None else np.zeros(model.num_cols, dtype=bool)
    marked = False
    for j in range(model.num_cols):
        if integer[j] != marked:
            marked = bool(integer[j])
            lines.append(f" MARKER 'MARKER' '{'INTORG' if marked else 'INTEND'}'")
        start, stop = by_column.indptr[j], by_column.indptr[j + 1]
        entries = [(row, value) for i, value in zip(by_column.indices[start:stop], by_column.data[start:stop])
                   for row in written_of[i]]
        if model.cost[j] != 0 or not entries:
            lines.append(f" {cols[j]} obj {number(-model.cost[j])}")
        lines += [f" {cols[j]} {row} {number(value)}" for row, value in entries]
    if marked:
        lines.append(" MARKER 'MARKER' 'INTEND'")
    lines.append("RHS")
    lines += [f" RHS {name} {number(rhs)}" for name, rhs in zip(plan.names, plan.rhs) if rhs != 0]
    lines.append("BOUNDS")
    for j, (low, high) in enumerate(zip(model.col_lower, model.col_upper)):
        lines += [f" {kind} BND {cols[j]}" + (f" {number(value)}" if value is not None else "")
                  for kind, value in _mps_bounds(low, high, bool(integer[j]))]
    lines.append("ENDATA")
    return "\n".join(lines) + "\n"


def _mps_bounds(low: float, high: float, integer: bool) -> list[tuple[str, float | None]]:
    if low == high:
        return [("FX", low)]
    if math.isinf(low) and math.isinf(high):
        return [("FR", None)]
    out: list[tuple[str, float | None]] = []
    if math.isinf(low):
        out.append(("MI", None))
    elif low != 0:
        out.append(("LO", low))
    if not math.isinf(high):
        out.append(("UP", high))
    elif integer:
        out.append(("PL", None))  # some readers give a bare integer column an upper bound of 1
    return out
