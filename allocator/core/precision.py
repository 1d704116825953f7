"""Reported precision: one rounding policy for every kept file, keyed by each value's kind.

A value is rounded by what it is, never by what it sits beside:

* **rates** (fill rates, shares, gaps, ratios, gini, jain, utilization, probabilities...) to
  ``RATE_DECIMALS`` decimals, i.e. ``REPORT_PRECISION`` absolute;
* **quantities** (amounts, demand, supply, values, objectives, costs, shadow prices, seconds) to
  ``REPORT_PRECISION`` of their own magnitude (about 7 significant digits; never fewer than 0
  decimals, so whole amounts keep every digit);
* **counts** are whole numbers and stay so (a mean of counts over draws keeps its digits, as a
  quantity);
* **exact** values are echoed inputs (the rule and constraints as resolved, the audit record):
  ``allocator verify`` re-solves from them, so they are never rounded.

Wide tables get a kind per column, from its name (:data:`KINDS`), or from the table's own
``attrs["kinds"]`` where a name means different things in different tables. Long tables, with a
``metric`` column naming each row, get a kind per row from that name for every value column
whose own name declares no kind. A table whose columns are labels (rule names) takes the kind
named by its column axis (``columns.name``, e.g. ``fill_rate``). Names decorated with an attribute or resource
(``max_group_gap[region]``, ``max_group_gap:region``, ``shadow_price:food``,
``by_resource[food].supply``) take the kind of their base name. An undeclared name is rounded
as a quantity: that keeps every digit a rate would keep, so nothing is lost by omission.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: reported precision: absolute for rates, relative to each value's own magnitude for quantities.
#: The solver's own accuracy is about 1e-7 relative, so digits beyond this are round-off; dropping
#: them keeps outputs readable and byte-stable.
REPORT_PRECISION = 1e-6
RATE_DECIMALS = 6  # = -log10(REPORT_PRECISION)
#: np.round scales by 10**decimals: quantities needing more decimals (below ~1e-294) are kept as they are
MAX_DECIMALS = 300
#: 10**d is an exact double up to here, so np.round(x, d) is the double nearest a d-decimal number
EXACT_POWERS = 22

RATE, QUANTITY, COUNT, EXACT = "rate", "quantity", "count", "exact"
#: the column (of a long table) that names each row's metric, and so its kind
METRIC_COLUMN = "metric"
#: ``DataFrame.attrs`` key of a table's own ``{column: kind}``, for a name whose kind depends on the table
KINDS_ATTR = "kinds"

#: name -> kind, for every column of a kept table and every key of a kept document
KINDS: dict[str, str] = {
    **dict.fromkeys([
        # allocator.results.metrics.METRICS and their per-resource parts
        "utilization", "min_fill_rate", "mean_fill_rate", "max_fill_rate", "gini", "jain", "max_group_gap",
        "min_group_ratio", "max_benefit_gap",
        # tables, equity, comparison, frontier, disparity, lottery, simulation
        "fill_rate", "utilisation", "level", "levels", "share", "max_gap", "min_ratio", "max_profile_gap",
        "price_of_fairness", "worst_price_of_fairness", "atkinson_0.5", "atkinson_1", "theil",
        "share_unserved", "contribution", "remains", "parts", "probability",
        "fill_rate_ci_low", "fill_rate_ci_high", "fill_rate_p05", "fill_rate_p95",
    ], RATE),
    **dict.fromkeys([
        "total_allocated", "total_value", "supply", "demand", "allocated", "quantity", "expected", "flow",
        "capacity", "cost", "transport_cost", "shipped", "shadow_price", "handled", "throughput", "used",
        "unused", "marginal_value", "objective", "upper_bound", "seconds",
        # a concave rule's proven welfare gap (equity.gap, relative_gap: met at 1e-6) and disparity's
        # rate gap share the name: as a quantity, a small gap is never reported as 0
        "gap", "relative_gap",
    ], QUANTITY),
    **dict.fromkeys(["units", "units_unserved", "draws", "draw", "allocation", "rounds", "exact_rates", "seed"],
                    COUNT),
    **dict.fromkeys(["rule", "constraints", "constraint", "audit", "plan"], EXACT),
}


def kind_of(name: Any) -> str | None:
    """The declared kind of ``name`` (decorations stripped), or ``None``.

    Examples
    --------
    >>> kind_of("max_group_gap[region]"), kind_of("by_resource[food].supply"), kind_of("shadow_price:food")
    ('rate', 'quantity', 'quantity')
    >>> kind_of("atkinson_0.5"), kind_of("mean") is None
    ('rate', True)
    """
    name = str(name)
    if "]." in name:  # by_resource[food].supply: the part after the resource names the value
        name = name.rsplit("].", 1)[1]
    for mark in ("[", ":"):
        name = name.split(mark, 1)[0]
    return KINDS.get(name)


def round_rates(values: np.ndarray) -> np.ndarray:
    """``values`` to ``RATE_DECIMALS`` decimals (no ``-0.0``)."""
    return np.round(np.asarray(values, dtype=float), RATE_DECIMALS) + 0.0


def round_quantities(values: np.ndarray) -> np.ndarray:
    """Each of ``values`` to ``REPORT_PRECISION`` of its own magnitude (0 or more decimals; no ``-0.0``).

    Examples
    --------
    >>> round_quantities(np.array([2_000_000.4, 123456.7891, 3.14159265e-7, 0.454545454, 5.551115123125783e-17])).tolist()
    [2000000.0, 123456.8, 3.141593e-07, 0.4545455, 5.551115e-17]
    """
    x = np.asarray(values, dtype=float)
    out = x.copy()
    nonzero = np.isfinite(x) & (x != 0)
    decimals = np.full(x.shape, MAX_DECIMALS + 1)
    with np.errstate(divide="ignore"):
        decimals[nonzero] = np.maximum(0, np.ceil(-np.log10(np.abs(x[nonzero])) - math.log10(REPORT_PRECISION)))
    for d in np.unique(decimals[decimals <= MAX_DECIMALS]):  # one np.round per distinct magnitude
        chosen = decimals == d
        if d <= EXACT_POWERS:
            out[chosen] = np.round(x[chosen], int(d))
        else:  # 10**d is inexact: np.round would give 5.5511150000000004e-17; decimal text rounds correctly
            out[chosen] = [float(f"{v:.{int(d)}f}") for v in x[chosen]]
    return out + 0.0


def round_values(values: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """``values`` (floats) rounded each by its kind in ``kinds`` (``None``: a quantity)."""
    x = np.asarray(values, dtype=float)
    kinds = np.asarray(kinds, dtype=object)
    rates = kinds == RATE
    exact = kinds == EXACT
    out = round_quantities(x)
    out[rates] = round_rates(x[rates])
    out[exact] = x[exact]
    return out


def round_number(value: float, kind: str | None) -> float | None:
    """One float by its kind; ``None`` for NaN and infinities (JSON has neither)."""
    if not math.isfinite(value):
        return None
    rounded = float(round_values(np.array([value]), np.array([kind], dtype=object))[0])
    return int(rounded) if kind == COUNT and rounded.is_integer() else rounded


def round_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every float rounded by its kind (module docstring).

    Examples
    --------
    >>> long = pd.DataFrame({"metric": ["total_allocated", "min_fill_rate"], "value": [2_000_000.4, 0.4545454545]})
    >>> round_frame(long)["value"].tolist()
    [2000000.0, 0.454545]
    """
    out = frame.copy()
    row_kinds = None
    if METRIC_COLUMN in out.columns:
        row_kinds = np.array([kind_of(name) for name in out[METRIC_COLUMN]], dtype=object)
    table_kind = kind_of(out.columns.name) if out.columns.name is not None else None
    declared = frame.attrs.get(KINDS_ATTR, {})  # a table's own word on a shared name (disparity's rate gap)
    for column in out.columns:
        kind = declared.get(column) or kind_of(column) or table_kind
        kinds = row_kinds if kind is None and row_kinds is not None else np.full(len(out), kind, dtype=object)
        series = out[column]
        if pd.api.types.is_float_dtype(series):
            rounded = round_values(series.to_numpy(dtype=float), kinds)
            out[column] = pd.array(rounded, dtype="Int64") if kind == COUNT and _whole(rounded) else rounded
        elif series.dtype == object:  # mixed cells (a metric's value may be None): round the floats among them
            cells = series.to_numpy(dtype=object).copy()
            for i in np.flatnonzero([isinstance(v, (float, np.floating)) for v in cells]):
                cells[i] = round_number(float(cells[i]), kinds[i])
            out[column] = cells
    return out


def _whole(values: np.ndarray) -> bool:
    """Whether every value is a whole number or missing (so the column can be written as integers)."""
    return bool(np.all(np.isnan(values) | (np.isfinite(values) & (values == np.round(values)))))


def round_document(value: Any, kind: str | None = None) -> Any:
    """JSON-ready content with every float rounded by its kind; NaN and infinities become ``None``.

    A key with a declared kind gives it to everything below it (``max_group_gap: {region: ...}``,
    ``constraints: [...]``); under an undeclared key (``metrics``, ``by_resource``, ``food``) each
    key names its own kind, and a record with a ``metric`` gives that metric's kind to its values.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return round_number(float(value), kind)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        row_kind = kind_of(value[METRIC_COLUMN]) if isinstance(value.get(METRIC_COLUMN), str) else None
        return {k: round_document(v, kind if kind is not None else (kind_of(k) or row_kind)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [round_document(v, kind) for v in value]
    return value


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """``frame`` rounded by :func:`round_frame`, as JSON-ready records (NaN -> ``None``).

    Unlike ``DataFrame.to_json`` (10 decimals at most), every digit the rounding kept is kept.
    """
    rounded = round_frame(frame).astype(object)
    return round_document(rounded.where(rounded.notna(), None).to_dict(orient="records"), EXACT)
