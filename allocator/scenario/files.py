"""Guards on what a scenario file may point at and how large it may expand; reading its tables.

Scenario files travel between agencies, so the loader treats them as untrusted:

* a table path must stay inside the scenario's folder (after following symbolic links)
  unless the caller allows otherwise (``allow_outside=True``);
* a symbolic link loop is named as such, not reported as a missing file;
* a parsed document may hold at most ``MAX_DOCUMENT_VALUES`` values once YAML aliases are
  expanded (the "billion laughs" document is a few hundred bytes that expand to 10^9) and
  nest at most ``MAX_DEPTH`` levels deep;
* a table is a path, or ``{file: ..., sheet: ...}`` naming the sheet of a workbook, and its
  header must be row 1 (a title row above it is named as such, not read as the header).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.core.errors import Issue, Message, Parameter
from allocator.core.scalars import WrittenFloat, WrittenInt
from allocator.scenario.workbook import read_sheet

#: values a scenario document may expand to; large tables belong in CSV files
MAX_DOCUMENT_VALUES = 2_000_000
#: nesting levels a scenario document may use (the format itself needs fewer than ten)
MAX_DEPTH = 64
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
HEADER_SEARCH_ROWS = 20  # rows looked at for a header below a title


@dataclass(frozen=True)
class TableFiles:
    """Where a scenario's table paths are resolved, and whether they may leave that folder.

    Examples
    --------
    >>> files = TableFiles(Path("/data/city"), allow_outside=False)
    >>> files.resolve("../other/units.csv", "units", "scenario.yaml")[1][0].message.startswith("points outside")
    True
    """

    base: Path
    allow_outside: bool = False
    #: record a sha256 of every table read (for the audit trail in ``summary.json``)
    record: bool = True
    inputs: list[tuple[str, str, str]] = field(default_factory=list)  # (role, path, sha256), in reading order

    def note(self, role: str, path: Path) -> None:
        """Remember that the table ``path`` was read as ``role`` (with its sha256, if recording)."""
        if self.record:
            self.inputs.append((role, str(path.resolve()), sha256_of(path)))

    def resolve(self, spec: str | Path, key: str, source: str) -> tuple[Path | None, list[Issue]]:
        """The path of table ``spec`` (given under ``key``), or the issues that forbid reading it."""
        path = self.base / spec
        try:
            real = path.resolve(strict=False)
        except (RuntimeError, OSError):  # Python < 3.13 raises RuntimeError on a loop
            real = None
        if real is None or is_link_loop(path):
            return None, [Issue(str(path), "(file)", "is a symbolic link loop", "a CSV or Excel file")]
        if not self.allow_outside:
            folder = self.base.resolve()
            if real != folder and folder not in real.parents:
                return None, [Issue(source, key, f"points outside the scenario's folder: {spec} is {real}",
                                    Message(f"a table inside {folder}, or pass ", Parameter("allow_outside", True),
                                            " if the file is meant to be shared"))]
        return path, []


def table_reference(spec: Any, key: str, source: str) -> tuple[str | Path | None, str | None, list[Issue]]:
    """``(path, sheet, issues)`` of a table given as a path or as ``{file: ..., sheet: ...}``."""
    if isinstance(spec, (str, Path)):
        return spec, None, []
    if not isinstance(spec, dict):
        return None, None, [Issue(source, key, f"must be a file name or a list, got {type(spec).__name__}",
                                  f"e.g. {key}: {key}.csv, or {key}: {{file: data.xlsx, sheet: {key}}}")]
    issues = [Issue(source, f"{key}.{name}", "unknown key", "file, sheet") for name in sorted(set(spec) - {"file", "sheet"}, key=str)]
    path, sheet = spec.get("file"), spec.get("sheet")
    if isinstance(sheet, (WrittenInt, WrittenFloat)):  # a sheet named 2024: the text as written
        sheet = sheet.text
    if not isinstance(path, str) or not path.strip():
        issues.append(Issue(source, f"{key}.file", f"must be a file name, got {path!r}", "e.g. file: data.xlsx"))
    if sheet is not None and not isinstance(sheet, str):
        issues.append(Issue(source, f"{key}.sheet", f"must be a sheet name, got {sheet!r}", f"e.g. sheet: {key}"))
    return (None, None, issues) if issues else (path, sheet, [])


def is_link_loop(path: Path) -> bool:
    """True if ``path`` is a symbolic link that leads back to itself."""
    try:
        path.stat()
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def document_issues(document: Any, source: str) -> list[Issue]:
    """Refuse documents that expand beyond ``MAX_DOCUMENT_VALUES`` values or ``MAX_DEPTH`` levels.

    Walks the parsed document once, counting a value every time it is reached (so a YAML
    alias counts once per use, as it would when the document is used), and stops at the
    first limit crossed.
    """
    count = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_DOCUMENT_VALUES:
            return [Issue(source, "(file)", f"expands to more than {MAX_DOCUMENT_VALUES:,} values (YAML aliases "
                                            "repeating other aliases?)", "a scenario with its large tables in CSV files")]
        if depth > MAX_DEPTH:
            return [Issue(source, "(file)", f"is nested more than {MAX_DEPTH} levels deep",
                          "the scenario format (a few levels of mappings and lists)")]
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
            count += len(value)  # the keys
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return []


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, hex."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_table(path: Path, label: str, sheet: str | None = None,
               required: tuple[str, ...] = ()) -> tuple[pd.DataFrame | None, str, list[Issue]]:
    """Read a CSV or Excel file with every cell as text; the frame, its label and the issues.

    The header row is read raw (not through pandas' renaming of repeated names), stripped and
    checked for duplicates; a data row with more fields than the header is an error, not a
    silent shift of columns. ``sheet`` names an Excel sheet (see :mod:`allocator.scenario.workbook`;
    the label then names it too). When row 1 lacks the ``required`` columns and a row below has
    them all (a title above the header), that is the error.
    """
    if not path.exists():
        return None, label, [Issue(label, "(file)", "file not found", "a CSV or Excel file at this path")]
    if not path.is_file():
        return None, label, [Issue(label, "(file)", "is not a regular file", "a CSV or Excel file")]
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _excel_table(path, label, sheet, required)
    if sheet is not None:
        return None, label, [Issue(label, "(file)", f"a sheet ({sheet!r}) is named for a CSV file, which has none",
                                   "a sheet only for an Excel workbook (.xlsx)")]
    try:
        above = _blank_lines_above(path)  # pandas cannot read a CSV whose first line is blank
        # object, not str: pandas' string arrays are slower to factorise and to iterate
        raw = pd.read_csv(path, dtype=object, header=None, keep_default_na=False, encoding="utf-8-sig",
                          skip_blank_lines=False, na_filter=False, skiprows=above)  # short rows come back as ""
    except UnicodeDecodeError as exc:
        return None, label, [Issue(label, "(file)", f"is not valid UTF-8 text ({exc.reason} at byte {exc.start})",
                                   "a UTF-8 encoded CSV file")]
    except pd.errors.ParserError as exc:
        title = _title_above_header(_first_csv_rows(path), required, label)
        if title:
            return None, label, title
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            width, line, seen = found.groups()
            return None, label, [Issue(label, f"row {line}", f"has {seen} fields but the header has {width}",
                                       "as many fields as header columns (a trailing comma adds one)")]
        return None, label, [Issue(label, "(file)", f"cannot be read as a table: {str(exc).strip()}",
                                   "a CSV file with a header row")]
    except (pd.errors.EmptyDataError, ValueError, OSError) as exc:
        return None, label, [Issue(label, "(file)", f"cannot be read as a table: {str(exc).strip() or 'it is empty'}",
                                   "a CSV file with a header row")]
    return _framed(raw, label, required, above)


def _blank_lines_above(path: Path, most: int = 1000) -> int:
    """How many blank lines stand above a CSV file's first row (at most ``most`` are looked at)."""
    count = 0
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        for line in handle:
            # a line pandas counts too: ended by \n (a file with \r alone for line ends reads as one line there)
            if line.strip() or count >= most or not line.endswith("\n"):
                break
            count += 1
    return count


def _excel_table(path: Path, label: str, sheet: str | None,
                 required: tuple[str, ...]) -> tuple[pd.DataFrame | None, str, list[Issue]]:
    rows, label, issues = read_sheet(path, label, sheet)
    if rows is None or issues:
        return None, label, issues
    width = max(map(len, rows), default=0)
    # as pandas does: a whole number read as 12.0 is 12, so an id typed 7 is "7", not "7.0"
    grid = [[_excel_value(v) for v in row] + [""] * (width - len(row)) for row in rows]
    raw = pd.DataFrame(grid, dtype=object)
    if len(raw.columns):
        header = raw.iloc[0].map(lambda v: str(v).strip())
        unused = (header == "") & (raw.iloc[1:] == "").all(axis=0)  # formatted but empty columns past the table
        raw = raw.loc[:, ~unused.to_numpy()]
        raw.columns = pd.RangeIndex(raw.shape[1])
    return _framed(raw, label, required)


def _excel_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _framed(raw: pd.DataFrame, label: str, required: tuple[str, ...],
            above: int = 0) -> tuple[pd.DataFrame | None, str, list[Issue]]:
    """The first row that is not blank as the column names (checked), the rest as the data; rows keep
    the numbers a spreadsheet shows (``above`` blank rows were skipped before ``raw``)."""
    if len(raw.columns) and len(raw):
        head = raw.iloc[:HEADER_SEARCH_ROWS]  # blank rows above the header are few: look at the first ones only
        blank = _blank_cells(head.to_numpy().ravel()).reshape(head.shape).all(axis=1)
        leading = int(np.argmin(blank)) if not blank.all() else len(raw)
        if leading:
            raw, above = raw.iloc[leading:].reset_index(drop=True), above + leading
    if raw.empty:
        return None, label, [Issue(label, "(file)", "has no header row", "a header row naming the columns")]
    title = _title_above_header([[str(v) for v in raw.iloc[k]] for k in range(min(len(raw), HEADER_SEARCH_ROWS))],
                                required, label, above)
    if title:
        return None, label, title
    header = [str(name).strip() for name in raw.iloc[0]]
    seen, dupes = set(), []
    for name in header:
        if name in seen:
            dupes.append(name)
        seen.add(name)
    if dupes:
        return None, label, [Issue(label, "header", f"duplicated column name(s): {', '.join(sorted(set(dupes)))}",
                                   "each column name once")]
    frame = raw.iloc[1:]
    frame.columns = header
    frame.index = np.arange(above + 2, above + len(raw) + 1)  # the row numbers a spreadsheet shows
    return _without_empty_rows(frame), label, []


def _without_empty_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without rows whose every cell is blank (a blank line, ``,,,``); the others keep
    their row numbers, so an error below a blank line names the row the planner sees."""
    if not len(frame.columns) or not len(frame):
        return frame
    # only rows with a blank first cell can be empty: a 2-million-row table is compared once, in one column
    candidates = np.flatnonzero(_blank_cells(frame.iloc[:, 0].to_numpy()))
    if not len(candidates):
        return frame
    empty = frame.iloc[candidates].map(_is_blank).all(axis=1).to_numpy()
    return frame.drop(index=frame.index[candidates[empty]])


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _blank_cells(values: np.ndarray) -> np.ndarray:
    """:func:`_is_blank` of every cell, each distinct value tested once (a link table's unit column
    has ~10x fewer distinct values than rows)."""
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    blank = np.fromiter((_is_blank(v) for v in distinct), dtype=bool, count=len(distinct))
    return np.where(codes < 0, True, blank[np.maximum(codes, 0)]) if len(distinct) else codes < 0


def _first_csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        return [row for _, row in zip(range(HEADER_SEARCH_ROWS), csv.reader(handle)) if row]


def _title_above_header(rows: list[list[str]], required: tuple[str, ...], label: str,
                        above: int = 0) -> list[Issue]:
    """The error for a header below row 1 (a title row above it), or nothing.

    Only said when row 1 lacks a required column and a later row has them all: a table whose
    header simply misses a column gets the "required column missing" error instead.
    """
    names = [[cell.strip() for cell in row] for row in rows]
    if not required or not names or all(c in names[0] for c in required):
        return []
    for k, row in enumerate(names[1:], start=above + 2):
        if all(c in row for c in required):
            first = " ".join(cell for cell in names[0] if cell)
            return [Issue(label, f"row {above + 1}", f"the header was not found in row {above + 1} (it reads {first!r}); "
                                                    f"it seems to be in row {k} ({', '.join(cell for cell in row if cell)})",
                          "the column names in the first row: delete the rows above the header")]
    return []
