"""Cross-reference checks between a scenario's parts (shared by file loading and code)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np
import pandas as pd

from allocator.core.errors import Issue

if TYPE_CHECKING:
    from allocator.core.registry import Spec
    from allocator.scenario.model import Scenario


def check_spec_references(spec: Spec, where: str, *, groups: Iterable[str], resources: Iterable[str],
                          file: str, columns: Mapping[str, np.ndarray] | None = None) -> list[Issue]:
    """Every attribute a rule or constraint names is a group column; every resource exists; every
    units-table column it reads exists and holds numbers >= 0 (``columns``: the table's other columns,
    ``None`` when the table could not be read)."""
    groups, resources = list(groups), list(resources)
    issues = []
    for column in spec.columns():
        if columns is None:
            continue
        if column not in columns:
            issues.append(Issue(file, where, f"reads the units column {column!r}, which the units table does not have",
                                "a numeric column of the units table (other columns: "
                                + (", ".join(sorted(columns)) or "none") + ")"))
            continue
        values = numbers_in(columns[column])
        bad = np.flatnonzero(~(np.isfinite(values) & (values >= 0)))
        if len(bad):
            issues.append(Issue(file, where, f"units column {column!r} has {len(bad)} value(s) that are not numbers "
                                f">= 0 (the first in row {bad[0] + 1} of the table: {columns[column][bad[0]]!r})",
                                "a number >= 0 in every row (blank cells are not allowed here)"))
    for attribute in spec.attributes():
        if attribute not in groups:
            key = "over" if spec.params().get("over") == attribute else "attribute"
            issues.append(Issue(file, f"{where}.{key}", f"{attribute!r} is not a group attribute of this scenario",
                                f"one of the columns listed in 'groups': {', '.join(groups) or '(none listed)'}"))
    for resource in spec.resources():
        if resource not in resources:
            issues.append(Issue(file, f"{where}.resource", f"unknown resource {resource!r}",
                                f"one of: {', '.join(resources)}"))
    return issues


def numbers_in(text: np.ndarray) -> np.ndarray:
    """A units-table column read as numbers (NaN where a cell is not one, or is blank)."""
    return pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(dtype=float)


def check_references(scenario: Scenario, rule: Spec, constraints: Iterable[Spec], *, file: str) -> list[Issue]:
    """Check a rule and constraints against ``scenario`` (used when they are passed as arguments)."""
    kw: dict[str, Any] = dict(groups=scenario.groups, resources=scenario.resource_ids, file=file, columns=scenario.units.columns)
    issues = check_spec_references(rule, "rule", **kw)
    for k, constraint in enumerate(constraints):
        issues += check_spec_references(constraint, f"constraints[{k}]", **kw)
    return issues
