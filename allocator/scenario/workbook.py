"""Excel tables read cell by cell (openpyxl), so nothing Excel shows differently is read silently.

pandas' Excel reader turns error cells (``#N/A``, ``#DIV/0!``...) into blanks and formulas that
were never computed (a workbook a script wrote and nobody opened in Excel) into blanks as well;
downstream a blank demand or value has a meaning, so both would be silent misreads. Here each is
an issue naming the sheet, the cell, its column and what it holds; so is a file that is not a
workbook at all, a workbook with several sheets and none named, and an unknown sheet.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from allocator.core.errors import Issue

MAX_CELL_ISSUES = 10
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and password-protected .xlsx share this container
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")  # a <f> element: the sheet holds at least one formula


def read_sheet(path: Path, label: str, sheet: str | None) -> tuple[list[list[Any]] | None, str, list[Issue]]:
    """The cells of one sheet as rows of values (``None`` for an empty cell), the label, and issues.

    The label names the sheet (``"units.xlsx (sheet units)"``) so every later issue says where it
    is. Rows run to the sheet's last used row; trailing empty rows are dropped.
    """
    problem = _not_a_workbook(path, label)
    if problem:
        return None, label, [problem]
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 (openpyxl raises KeyError, ValueError, zip errors... for broken parts)
        return None, label, [Issue(label, "(file)", f"cannot be read as an Excel workbook ({type(exc).__name__}: "
                                   f"{str(exc).strip() or 'no detail'})", "an .xlsx workbook saved by Excel or LibreOffice")]
    try:
        names = list(book.sheetnames)
        if sheet is None and len(names) != 1:
            return None, label, [Issue(label, "(file)", f"the workbook has {len(names)} sheets ({', '.join(names)}) "
                                       "and the scenario does not say which one holds the table",
                                       "{file: " + path.name + ", sheet: <one of them>}")]
        name = names[0] if sheet is None else sheet
        if name not in names:
            return None, label, [Issue(label, "(file)", f"has no sheet {name!r}", "one of the sheets: " + ", ".join(names))]
        label = f"{label} (sheet {name})"
        rows, kinds = [], []
        for row in _all_rows(book[name]):
            rows.append([cell.value for cell in row])
            kinds.append([getattr(cell, "data_type", "n") for cell in row])
    finally:
        book.close()
    while rows and all(v is None or (isinstance(v, str) and not v.strip()) for v in rows[-1]):
        rows.pop()
        kinds.pop()
    formulas = _formulas(path, name) if _has_formulas(path) else {}
    return rows, label, _cell_issues(rows, kinds, formulas, label)


def _not_a_workbook(path: Path, label: str) -> Issue | None:
    """Why ``path`` cannot be an .xlsx workbook, judged from its first bytes, or None."""
    if path.suffix.lower() == ".xls":
        return Issue(label, "(file)", "is an old-style Excel .xls workbook, which allocator does not read",
                     "an .xlsx workbook (in Excel: Save As, Excel Workbook) or a CSV file")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(_OLE2_MAGIC):
        if _ENCRYPTED in path.read_bytes():
            return Issue(label, "(file)", "is a password-protected (encrypted) workbook, which cannot be read",
                         "the workbook saved without a password, or the table as CSV")
        return Issue(label, "(file)", "is an old-style Excel .xls workbook named .xlsx",
                     "an .xlsx workbook (in Excel: Save As, Excel Workbook) or a CSV file")
    if not head.startswith(b"PK"):
        seen = "is empty" if not head else "is not an Excel workbook (it does not start like a zip archive; a text file renamed?)"
        return Issue(label, "(file)", seen, "an .xlsx workbook, or a CSV file named .csv")
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return Issue(label, "(file)", f"is a damaged or truncated zip archive ({exc})",
                     "a complete .xlsx workbook (copy it again, or save it again from Excel)")
    if broken is not None:
        return Issue(label, "(file)", f"is damaged: its part {broken} fails its checksum",
                     "a complete .xlsx workbook (copy it again, or save it again from Excel)")
    if "xl/workbook.xml" not in names:
        return Issue(label, "(file)", "is a zip archive but not an Excel workbook (no xl/workbook.xml)",
                     "an .xlsx workbook")
    return None


def _has_formulas(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return any(_FORMULA.search(archive.read(name)) for name in archive.namelist()
                   if name.startswith("xl/worksheets/") and name.endswith(".xml"))


def _all_rows(sheet):
    """Every row of a read-only sheet: the size a file declares (``<dimension>``) is often wrong, and
    openpyxl would stop there, silently dropping rows and columns (pandas resets it too)."""
    if hasattr(sheet, "reset_dimensions"):
        sheet.reset_dimensions()
    return sheet.iter_rows()


def _formulas(path: Path, sheet: str) -> dict[tuple[int, int], str]:
    """``(row, column) -> formula text`` (0-based) of every formula cell of ``sheet``."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=False)
    try:
        return {(i, j): str(cell.value) for i, row in enumerate(_all_rows(book[sheet]))
                for j, cell in enumerate(row) if getattr(cell, "data_type", None) == "f"}
    finally:
        book.close()


def _cell_issues(rows: list[list[Any]], kinds: list[list[str]], formulas: dict[tuple[int, int], str],
                 label: str) -> list[Issue]:
    """Error cells and formulas without a saved value, one issue per cell (then a count)."""
    header = [str(v).strip() if v is not None else "" for v in rows[0]] if rows else []
    found = []
    for i, (row, kind) in enumerate(zip(rows, kinds)):
        for j, (value, data_type) in enumerate(zip(row, kind)):
            formula = formulas.get((i, j))
            if data_type == "e":
                what = f"is the Excel error {value}" + (f" (formula {formula})" if formula else "")
                found.append((i, j, what, "a value: fix the formula or the cells it reads"))
            elif formula is not None and value is None:
                found.append((i, j, f"holds the formula {formula} with no saved value (the workbook was written "
                                    "by a program and never opened and saved in Excel)",
                              "values, or the workbook opened and saved in Excel or LibreOffice so its formulas are computed"))
    issues = [Issue(label, _cell_name(i, j, header), what, expected) for i, j, what, expected in found[:MAX_CELL_ISSUES]]
    if len(found) > MAX_CELL_ISSUES:
        issues.append(Issue(label, "(sheet)", f"... and {len(found) - MAX_CELL_ISSUES} more cells with errors "
                                              "or uncomputed formulas", "values in every cell"))
    return issues


def _cell_name(i: int, j: int, header: list[str]) -> str:
    from openpyxl.utils import get_column_letter

    column = header[j] if j < len(header) and header[j] else get_column_letter(j + 1)
    return f"cell {get_column_letter(j + 1)}{i + 1} (row {i + 1}, column {column})"
