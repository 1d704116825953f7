"""Units written inline in the scenario file (``units: [{id, demand, value, groups, data}]``) as the
columns a units table would have, so both go through the same checks (:mod:`allocator.scenario.tables`).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from allocator.core.errors import Issue
from allocator.core.scalars import WrittenFloat, WrittenInt, no_text_or_bool


def _label(value: Any) -> str | None:
    """Text of an inline id or group label (whole numbers allowed), or None if it is neither."""
    if value is None:
        return ""
    if isinstance(value, WrittenFloat):  # an id written 1.50 in YAML is the text "1.50"
        return value.text
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)


def frame_from_inline_units(items: list[Any], resources: list[str], label: str) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Turn ``[{id, demand, value, groups}]`` into the same columns a CSV would have."""
    issues = []
    rows = []
    allowed = ("id", "demand", "value", "groups", "data")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            issues.append(Issue(label, f"units[{i}]", f"a unit must be a mapping, got {item!r}",
                                "{id: ..., demand: ..., groups: {...}}"))
            continue
        for key in sorted(set(item) - set(allowed), key=str):
            issues.append(Issue(label, f"units[{i}].{key}", "unknown key", "one of: " + ", ".join(allowed)))
        uid = _label(item.get("id"))
        if uid is None:
            issues.append(Issue(label, f"units[{i}].id", f"an id must be text or a whole number, got {item['id']!r}"))
            uid = ""
        row: dict[str, Any] = {"id": uid}
        for key in ("demand", "value"):
            given = item.get(key)
            if isinstance(given, dict):
                for r, q in given.items():
                    if isinstance(q, (list, dict)):
                        issues.append(Issue(label, f"units[{i}].{key}.{r}", f"must be a number, got {q!r}"))
                    else:
                        row[f"{key}:{r}"] = q
            elif isinstance(given, list):
                issues.append(Issue(label, f"units[{i}].{key}", f"must be a number or a mapping, got {given!r}",
                                    "e.g. 12, or {" + ", ".join(f"{r}: 12" for r in resources) + "}"))
            elif given is not None:
                if len(resources) == 1:
                    row[f"{key}:{resources[0]}"] = given
                else:
                    issues.append(Issue(label, f"units[{i}].{key}", f"a single number is ambiguous with "
                                        f"{len(resources)} resources", "{" + ", ".join(f"{r}: ..." for r in resources) + "}"))
        data = item.get("data") or {}
        if not isinstance(data, dict):
            issues.append(Issue(label, f"units[{i}].data", "must be a mapping column -> number",
                                "e.g. {poverty: 1200, score: 3}"))
            data = {}
        for column, value in data.items():
            if isinstance(value, (list, dict)) or str(column) in ("id", "demand", "value") or str(column).startswith(
                    ("demand:", "value:")):
                issues.append(Issue(label, f"units[{i}].data.{column}", "must be a number under a free column name"))
            else:
                row[str(column)] = "" if value is None else value
        groups = item.get("groups") or {}
        if not isinstance(groups, dict):
            issues.append(Issue(label, f"units[{i}].groups", "must be a mapping attribute -> label",
                                "e.g. {region: east}"))
            groups = {}
        for attribute, value in groups.items():
            text = _label(value)
            if text is None:
                issues.append(Issue(label, f"units[{i}].groups.{attribute}",
                                    f"a group label must be text or a whole number, got {value!r}"))
                text = "?"
            row[str(attribute)] = text
        rows.append(row)
    columns = list(dict.fromkeys(["id", *(key for row in rows for key in row)]))
    data = {c: [_inline_cell(row, c) for row in rows] for c in columns}
    return pd.DataFrame(data, dtype=object), issues


def _inline_cell(row: dict[str, Any], column: str) -> Any:
    """An inline unit's cell; a key left out of its ``demand``/``value`` mapping is 0/1, as written."""
    if column in row:
        return "" if row[column] is None else row[column]
    if column.startswith("value:"):
        return 1
    if column.startswith("demand:") and any(key.startswith("demand:") for key in row):
        return 0
    return ""


def inline_group_attributes(units: Any) -> list[str]:
    """The group attributes inline units define under ``groups:``, in order of first use.

    They need no top-level ``groups:`` list: writing ``groups: {ward: w1}`` on a unit says what
    ``ward`` is.
    """
    if not isinstance(units, list):
        return []
    found = (str(a) for item in units if isinstance(item, dict) and isinstance(item.get("groups"), dict)
             for a in item["groups"])
    return list(dict.fromkeys(found))


def strict_inline_numbers(spec: Any, source: str) -> tuple[Any, list[Issue]]:
    """Inline units' quantities and data must be numbers: ``demand: '10'`` or ``true`` is a mistake, not 10 or 1.

    Returns the units with each refused value replaced by 0 (the scenario fails anyway, and the
    table checks then do not report it a second time) and one issue per refused value.
    """
    if not isinstance(spec, list):
        return spec, []
    issues, fixed = [], list(spec)
    for k, item in enumerate(spec):
        if not isinstance(item, dict):
            continue
        replaced = dict(item)
        for key in ("demand", "value", "data"):
            given = item.get(key)
            cells = given if isinstance(given, dict) else ({None: given} if key != "data" else {})
            for name, cell in cells.items():
                number = cell
                if isinstance(cell, (str, bool)) and not (key == "data" and isinstance(cell, str)):
                    where = f"units[{k}].{key}" + (f".{name}" if name is not None else "")
                    try:
                        no_text_or_bool(cell)
                    except ValueError as exc:
                        issues.append(Issue(source, where, str(exc)))
                    number = 0
                elif isinstance(cell, (WrittenInt, WrittenFloat)) and not _DECIMAL.match(cell.text):
                    number = float(cell)  # 0x1F, .inf: the tables read numbers from their text
                if number is not cell:
                    replaced[key] = {**replaced[key], name: number} if isinstance(given, dict) else number
        if replaced != item or any(replaced[key] is not item.get(key) for key in replaced):
            fixed[k] = replaced
    return fixed, issues


_DECIMAL = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
