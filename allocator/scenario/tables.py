"""Units and links tables: read from CSV/Excel or inline lists, checked column by column.

Every check is vectorised over the whole table and reports the offending rows (up to
``MAX_ROWS_REPORTED`` per kind of problem, then a count), so one pass finds everything.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from allocator.core.errors import Issue, Severity
from allocator.scenario.files import read_table  # noqa: F401 (its home before files.py; load.py imports it here)
from allocator.scenario.model import MAX_QUANTITY, LinkTable, UnitTable

MAX_ROWS_REPORTED = 10
RUN_SAMPLE = 10_000  # cells looked at to decide whether a column comes in runs of repeats

Locate = Callable[[int, str], str]
#: the columns that tell a table's header row (a title row above it is an error)
REQUIRED_COLUMNS = {"units": ("id",), "links": ("unit", "site"), "edges": ("from", "to"), "nodes": ("id",)}


def csv_locate(i: int, column: str) -> str:
    """Rows are numbered as a spreadsheet shows them: the header is row 1."""
    return f"row {i + 2}, column {column}"


def rows_locate(frame: pd.DataFrame) -> Locate:
    """Rows of a table read from a file, by the row numbers :func:`read_table` keeps in the index."""
    rows = frame.index.to_numpy()
    return lambda i, column: f"row {rows[i]}, column {column}"


def inline_locate(key: str) -> Locate:
    return lambda i, column: f"{key}[{i}].{column}" if column else f"{key}[{i}]"


def frame_locate(i: int, column: str) -> str:
    """DataFrames passed in code: rows by position, counted from 0."""
    return f"position {i}, column {column}"


def _rows_issue(label: str, locate: Locate, rows: np.ndarray, column: str, message: str,
                expected: str) -> list[Issue]:
    issues = [Issue(label, locate(int(i), column), message, expected) for i in rows[:MAX_ROWS_REPORTED]]
    if len(rows) > MAX_ROWS_REPORTED:
        issues.append(Issue(label, f"column {column}", f"... and {len(rows) - MAX_ROWS_REPORTED} more rows with "
                                                       f"the same problem", expected))
    return issues


def factorized_text(column: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cells as stripped text, factorised: ``(codes, labels)`` with ``labels[codes]`` the text.

    ``None`` is blank, anything else its ``str()``. Each distinct value is converted once, so a
    2-million-row links column costs one hash pass, not 2 million Python calls.
    """
    values = np.asarray(column, dtype=object)
    codes, uniques = _factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    missing = np.flatnonzero(codes < 0)
    if len(missing):
        extra_codes, extra = pd.factorize(np.array([_text(v) for v in values[missing]], dtype=object))
        codes[missing] = len(uniques) + extra_codes
        uniques = np.concatenate([uniques, np.asarray(extra, dtype=object)])
    text = np.array([v.strip() if type(v) is str else _text(v) for v in uniques], dtype=object)
    if len(missing) or not np.array_equal(text, uniques):
        merged, labels = pd.factorize(text)  # "a" and " a " are one id once stripped
        return merged[codes], np.asarray(labels, dtype=object)
    return codes, text


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` (nulls coded -1), hashing each run of repeated cells once.

    Link tables usually list a unit's links on consecutive rows; comparing neighbours is several
    times cheaper than hashing every cell.
    """
    head = values[:RUN_SAMPLE]
    if len(head) > 1 and np.count_nonzero(head[1:] != head[:-1]) < len(head) // 2:
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        codes, uniques = pd.factorize(values[starts])
        return np.repeat(codes, np.diff(np.append(starts, len(values)))), uniques
    # with the NA sentinel pandas skips a whole-column null scan; the rare nulls are re-coded by the caller
    return pd.factorize(values)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def stripped_text(column: pd.Series | np.ndarray) -> np.ndarray:
    """The cells as stripped text (see :func:`factorized_text`)."""
    codes, labels = factorized_text(column)
    return labels[codes] if len(codes) else np.zeros(0, dtype=object)


def _numbers(frame: pd.DataFrame, column: str, default: float, label: str, locate: Locate) -> tuple[np.ndarray, list[Issue]]:
    # None and "" are blank; a float NaN (YAML .nan, JSON NaN) is a value and is reported as not finite
    cells = np.asarray(frame[column], dtype=object)
    values = np.full(len(cells), np.nan)
    careful = np.arange(len(cells))
    if pd.api.types.infer_dtype(cells, skipna=False) == "string":
        # text cells (every CSV): parse all at once, look closer only at what does not parse
        values = pd.to_numeric(cells, errors="coerce").astype(float)
        careful = np.flatnonzero(np.isnan(values))
    text = pd.Series(stripped_text(cells[careful]), dtype=object)
    blank = np.zeros(len(cells), dtype=bool)
    blank[careful] = (text == "").to_numpy()
    values[careful] = pd.to_numeric(text.where(~blank[careful], "0"), errors="coerce").to_numpy(dtype=float)
    said_nan = np.zeros(len(cells), dtype=bool)
    said_nan[careful] = text.isin(["nan", "NaN", "NAN", "+nan", "-nan", "Nan"]).to_numpy()
    issues = []
    bad_text = np.flatnonzero(np.isnan(values) & ~blank & ~said_nan)
    issues += _rows_issue(label, locate, bad_text, column, "is not a number", "a non-negative number")
    nonfinite = np.flatnonzero(~np.isfinite(values) & ~blank)
    nonfinite = np.setdiff1d(nonfinite, bad_text)
    issues += _rows_issue(label, locate, nonfinite, column, "is not a finite number (NaN or infinity)",
                          "a finite non-negative number")
    negative = np.flatnonzero(values < 0)
    issues += _rows_issue(label, locate, negative, column, "is negative", "a non-negative number")
    huge = np.flatnonzero(np.isfinite(values) & (values > MAX_QUANTITY))
    issues += _rows_issue(label, locate, huge, column, f"is larger than {MAX_QUANTITY:g}",
                          f"at most {MAX_QUANTITY:g} (count in larger units: tonnes, not grams)")
    values = np.where(blank, default, values)
    return values, issues


def _quantity_columns(frame: pd.DataFrame, prefix: str, resources: list[str], label: str,
                      required: bool, header: str) -> tuple[dict[str, str], list[Issue]]:
    """Map each resource to its column: ``prefix`` (one resource) or ``prefix:<resource>``."""
    columns: dict[str, str] = {}
    issues = []
    for column in frame.columns:
        head, sep, resource = column.partition(":")
        if head != prefix:
            continue
        if not sep:
            if len(resources) == 1:
                columns.setdefault(resources[0], column)
            else:
                issues.append(Issue(label, f"column {column}", f"a plain '{prefix}' column is ambiguous with "
                                    f"{len(resources)} resources", f"columns {prefix}:<resource>, one of "
                                    + ", ".join(f"{prefix}:{r}" for r in resources)))
        elif resource not in resources:
            issues.append(Issue(label, f"column {column}", f"{prefix} for an unknown resource {resource!r}",
                                f"a resource declared in 'resources': {', '.join(resources)}"))
        elif resource in columns:
            issues.append(Issue(label, f"column {column}", f"{prefix} of {resource!r} is given twice "
                                f"({columns[resource]} and {column})", "one column per resource"))
        else:
            columns[resource] = column
    if required and not columns and not issues:
        wanted = prefix if len(resources) == 1 else ", ".join(f"{prefix}:{r}" for r in resources)
        issues.append(Issue(label, header, f"required column missing: {wanted}",
                            f"columns id, {wanted}"))
    return columns, issues


def units_from_frame(frame: pd.DataFrame, resources: list[str], groups: list[str], label: str,
                     locate: Locate, header: str = "header") -> tuple[UnitTable | None, list[Issue]]:
    """Check a units table and turn it into a :class:`UnitTable`.

    ``header`` is where problems with whole columns are reported (``"header"`` for files).
    """
    issues: list[Issue] = []
    if "id" not in frame.columns:
        issues.append(Issue(label, header, "required column missing: id", "a column 'id' with unique unit ids"))
    demand_cols, found = _quantity_columns(frame, "demand", resources, label, required=True, header=header)
    issues += found
    value_cols, found = _quantity_columns(frame, "value", resources, label, required=False, header=header)
    issues += found
    for attribute in groups:
        if attribute not in frame.columns:
            issues.append(Issue(label, header, f"group attribute {attribute!r} is not a column of the table",
                                f"a column named {attribute!r} (listed in 'groups'); columns are: "
                                + ", ".join(map(str, frame.columns))))
    n = len(frame)
    demand = np.zeros((n, len(resources)))
    value = np.ones((n, len(resources)))
    for k, r in enumerate(resources):
        if r in demand_cols:
            demand[:, k], found = _numbers(frame, demand_cols[r], 0.0, label, locate)
            issues += found
    issues += _blank_quantities(frame, demand_cols, value_cols, demand, resources, label, locate)
    for k, r in enumerate(resources):
        if r in value_cols:
            value[:, k], found = _numbers(frame, value_cols[r], 1.0, label, locate)
            issues += found
    ids = np.zeros(0, dtype=object)
    if "id" in frame.columns:
        id_codes, id_labels = factorized_text(frame["id"])
        ids = id_labels[id_codes] if n else np.zeros(0, dtype=object)
        issues += _rows_issue(label, locate, np.flatnonzero(ids == ""), "id", "unit id is blank", "a unit id")
        dup = np.zeros(n, dtype=bool)
        if len(id_labels) < n:  # some id repeats
            dup = pd.Series(id_codes).duplicated(keep="first").to_numpy() & (ids != "")
        first: dict[str, int] = {}
        if dup.any():
            for i, uid in enumerate(ids):
                first.setdefault(uid, i)
        for i in np.flatnonzero(dup)[:MAX_ROWS_REPORTED]:
            issues.append(Issue(label, locate(int(i), "id"), f"duplicate unit id {ids[i]!r} (first at "
                                f"{locate(first[ids[i]], 'id')})", "unique unit ids"))
    if n == 0:
        issues.append(Issue(label, "(table)", "has no units", "at least one unit"))
    group_values = {}
    for attribute in groups:
        if attribute in frame.columns:
            labels = stripped_text(frame[attribute])
            issues += _rows_issue(label, locate, np.flatnonzero(labels == ""), attribute,
                                  "group label is blank", f"a label for {attribute!r}")
            group_values[attribute] = labels
    if any(i.severity is Severity.ERROR for i in issues):
        return None, issues
    known = {"id", *demand_cols.values(), *value_cols.values(), *groups}
    columns = {c: stripped_text(frame[c]) for c in frame.columns if c not in known}
    return UnitTable(ids=ids, demand=demand, value=value, groups=group_values, columns=columns), issues


def _blank_quantities(frame: pd.DataFrame, demand_cols: dict[str, str], value_cols: dict[str, str],
                      demand: np.ndarray, resources: list[str], label: str, locate: Locate) -> list[Issue]:
    """Blank cells that would change the result unseen: a unit whose every demand cell is blank
    (it would ask for nothing and vanish from every table), and a blank value where the unit asks
    for that resource (1 would be a guess). A blank ``demand:<r>`` beside another demand is 0."""
    if not demand_cols or not len(frame):
        return []
    columns = [demand_cols[r] for r in resources if r in demand_cols]
    blank = np.column_stack([stripped_text(frame[c]) == "" for c in columns])
    shown = columns[0] if len(columns) == 1 else "demand"
    every = "" if len(columns) == 1 else f" in every demand column ({', '.join(columns)})"
    issues = _rows_issue(label, locate, np.flatnonzero(blank.all(axis=1)), shown,
                         f"is blank{every}: the unit would ask for nothing and vanish from the results",
                         "a number (0 if the unit asks for none)")
    for k, r in enumerate(resources):
        if r in value_cols:
            unclear = (stripped_text(frame[value_cols[r]]) == "") & (demand[:, k] > 0)
            issues += _rows_issue(label, locate, np.flatnonzero(unclear), value_cols[r],
                                  f"is blank, and the unit asks for {r}",
                                  "a number (blank only where the unit asks for none; leave the column out "
                                  "for value 1 everywhere)")
    return issues


def links_from_frame(frame: pd.DataFrame, unit_ids: np.ndarray | None, site_ids: set[str], label: str,
                     locate: Locate, header: str = "header") -> tuple[LinkTable | None, list[Issue]]:
    """Check a links table (columns ``unit``, ``site``) against the known unit and site ids."""
    missing = [c for c in ("unit", "site") if c not in frame.columns]
    if missing:
        return None, [Issue(label, header, f"required column(s) missing: {', '.join(missing)}",
                            "columns unit, site")]
    unit_codes, unit_labels = factorized_text(frame["unit"])
    site_codes, site_labels = factorized_text(frame["site"])
    issues = []
    unit_blank, site_blank = (unit_labels == "")[unit_codes], (site_labels == "")[site_codes]
    for column, blank in (("unit", unit_blank), ("site", site_blank)):
        issues += _rows_issue(label, locate, np.flatnonzero(blank), column, "is blank",
                              f"a {column} id (every link names both its unit and its site)")
    if unit_ids is not None:
        known = pd.Index(np.asarray(unit_ids, dtype=object))
        # a look-up in the ids' hash table; isin when repeated ids (already reported) rule that out
        found = known.get_indexer(unit_labels) >= 0 if known.is_unique else pd.Index(unit_labels).isin(known)
        unknown = np.flatnonzero(~found[unit_codes] & ~unit_blank)
        issues += [Issue(label, locate(int(i), "unit"), f"link to unknown unit {unit_labels[unit_codes[i]]!r}",
                         "an id from the units table") for i in unknown[:MAX_ROWS_REPORTED]]
        if len(unknown) > MAX_ROWS_REPORTED:
            issues.append(Issue(label, "column unit", f"... and {len(unknown) - MAX_ROWS_REPORTED} more unknown units"))
    unknown = np.flatnonzero(~pd.Index(site_labels).isin(site_ids)[site_codes] & ~site_blank)
    issues += [Issue(label, locate(int(i), "site"), f"link to unknown site {site_labels[site_codes[i]]!r}",
                     f"one of the sites: {', '.join(sorted(site_ids)[:20])}") for i in unknown[:MAX_ROWS_REPORTED]]
    if len(unknown) > MAX_ROWS_REPORTED:
        issues.append(Issue(label, "column site", f"... and {len(unknown) - MAX_ROWS_REPORTED} more unknown sites"))
    duplicated = _duplicated_pairs(unit_codes, site_codes, len(site_labels))
    if duplicated.any():
        issues.append(Issue(label, locate(int(np.flatnonzero(duplicated)[0]), "unit"),
                            f"{int(duplicated.sum())} duplicated link(s) ignored", severity=Severity.WARNING))
    if any(i.severity is Severity.ERROR for i in issues):
        return None, issues
    keep = ~duplicated
    return LinkTable(unit_labels, unit_codes[keep], site_labels, site_codes[keep]), issues


def _duplicated_pairs(first: np.ndarray, second: np.ndarray, num_second: int) -> np.ndarray:
    """True at every (first, second) code pair seen before, in row order."""
    keys = first.astype(np.int64) * max(num_second, 1) + second
    span = (int(keys.max()) + 1) if len(keys) else 0
    if span <= 64 * max(len(keys), 1):
        # one pass over a bitmap says whether anything repeats, ~10x faster than hashing
        seen = np.zeros(span, dtype=bool)
        seen[keys] = True
        if int(np.count_nonzero(seen)) == len(keys):
            return np.zeros(len(keys), dtype=bool)
    return pd.Series(keys).duplicated().to_numpy()


def unlisted_label_columns(table: UnitTable, groups: list[str], label: str, header: str) -> list[Issue]:
    """A warning when no group attribute is listed but the table has text columns (ward, region...):
    they are kept as data, and no report breaks the results down by them."""
    if groups:
        return []
    text = [c for c, cells in table.columns.items() if c != "node" and len(cells)
            and pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").isna().any()]
    if not text:
        return []
    return [Issue(label, header, f"no group attributes are listed, so the text column(s) {', '.join(text)} are kept "
                                 "as data only: no report or group constraint uses them",
                  "groups: [" + ", ".join(text) + "] in the scenario if they are groups", severity=Severity.WARNING)]
