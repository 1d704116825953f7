"""Load a scenario file (YAML, JSON or TOML) or a dict into a validated :class:`Scenario`.

Every section is checked even when an earlier one failed, so a planner sees all problems
at once; the result is either a complete :class:`Scenario` or a :class:`ScenarioError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from allocator.core.arguments import Document, Flag, PathLike, Text, checked, instance
from allocator.core.errors import Issue, ScenarioError, Severity
from allocator.core.registry import issues_from_validation
from allocator.core.scalars import written_text
from allocator.scenario.checks import check_spec_references
from allocator.scenario.constraints import CONSTRAINTS, Constraint
from allocator.scenario.documents import read_document
from allocator.scenario.files import TableFiles, sha256_of
from allocator.scenario.inline_units import frame_from_inline_units, inline_group_attributes, strict_inline_numbers
from allocator.scenario.model import TOP_LEVEL_KEYS, Identifier, LinkTable, Name, Quantity, Resource, Scenario, Site, register_loader
from allocator.scenario.reserves import Reserves
from allocator.scenario.rules import RULES
from allocator.scenario.sections import check_reserves, exclusive_sets, network_links_of, network_nodes
from allocator.scenario.tables import (
    frame_locate,
    inline_locate,
    links_from_frame,
    read_table,
    stripped_text,
    units_from_frame,
    unlisted_label_columns,
)
from allocator.scenario.uncertainty import Uncertainty, check_uncertainty

DEFAULT_RULE = "maxmin"

_ITEM_TYPES: dict[str, TypeAdapter[Resource] | TypeAdapter[Site]] = {"resources": TypeAdapter(Resource), "sites": TypeAdapter(Site)}
_SECTION_TYPES: dict[str, TypeAdapter[Any]] = {
    "name": TypeAdapter(Identifier),
    "description": TypeAdapter(Name),
    "resources": TypeAdapter(list[Resource]),
    "supply": TypeAdapter(dict[Identifier, Quantity]),
    "sites": TypeAdapter(list[Site]),
    "groups": TypeAdapter(list[Identifier]),
    "exclusive": TypeAdapter(list[Identifier] | list[list[Identifier]]),
    "reserves": TypeAdapter(Reserves),
    "uncertainty": TypeAdapter(Uncertainty),
}


@checked
def load_scenario(path: PathLike, *, allow_outside: Flag = False, record_inputs: Flag = True) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A ``.yaml``/``.yml``, ``.json`` or ``.toml`` file; table paths inside it are relative to it.
    allow_outside : bool
        Allow table paths that lead outside the scenario's folder (refused by default: a
        scenario file from elsewhere should not make allocator read arbitrary files).
    record_inputs : bool
        Keep the path and sha256 of every file read in ``Scenario.inputs`` (the audit trail of
        ``summary.json``); ``allocator validate`` skips the hashing.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Listing every problem found (file, row or field, what is wrong, what was expected).
    """
    path = Path(path)
    document, issues = read_document(path)
    if document is None:
        raise ScenarioError(issues)
    scenario = scenario_from_dict(document, base_dir=path.parent, source=str(path), allow_outside=allow_outside,
                                  record_inputs=record_inputs)
    if not record_inputs:
        return scenario
    own = ("scenario", str(path.resolve()), sha256_of(path))
    return scenario._derive(inputs=(own, *scenario.inputs))


def _loaded(value) -> Scenario:
    if isinstance(value, (str, os.PathLike)):
        return load_scenario(value)  # tables outside its folder refused: load it with allow_outside=True to allow them
    raise ValueError("not a scenario")


#: an argument that is a Scenario, or the path of a scenario file (loaded)
ScenarioLike = instance(Scenario, "a Scenario (allocator.load_scenario) or the path of a scenario file", _loaded)


@checked
def scenario_from_dict(document: Document, *, base_dir: PathLike | None = None,
                       source: Text = "<inline>", allow_outside: Flag = False,
                       record_inputs: Flag = True) -> Scenario:
    """Validate a scenario given as a mapping (the parsed file, or built in code).

    ``units`` and ``links`` may also be pandas DataFrames with the CSV columns. Table paths
    are relative to ``base_dir`` (default: the working folder) and must stay inside it unless
    ``allow_outside``. With ``record_inputs`` the tables read are listed with their sha256 in
    ``Scenario.inputs``.

    Examples
    --------
    >>> s = scenario_from_dict({"name": "demo", "resources": [{"id": "food"}], "supply": {"food": 10},
    ...                         "units": [{"id": "a", "demand": 8}, {"id": "b", "demand": 4}]})
    >>> len(s.units), s.rule.key
    (2, 'maxmin')
    """
    files = TableFiles(Path(base_dir) if base_dir is not None else Path.cwd(), allow_outside, record=record_inputs)
    document, throughput, issues = network_nodes(document, files, source)  # a nodes table's stock joins sites
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            issues.append(Issue(source, str(key), "unknown key", "one of: " + ", ".join(TOP_LEVEL_KEYS)))
    for key in ("name", "resources", "units"):
        if document.get(key) is None:
            issues.append(Issue(source, key, "required key is missing"))
    sections: dict[str, Any] = {}
    for key, adapter in _SECTION_TYPES.items():
        if document.get(key) is None:
            continue
        if key in _ITEM_TYPES and isinstance(document[key], list):
            # item by item, so one bad site does not hide the checks that need the others
            sections[key], found = _validate_items(document[key], key, source)
            issues += found
            continue
        try:
            sections[key] = adapter.validate_python(document[key])
        except ValidationError as exc:
            issues += issues_from_validation(exc, file=source, where=key)
    resources = _raw_ids(document, "resources")
    if document.get("resources") == []:
        issues.append(Issue(source, "resources", "no resources listed", "at least one {id: ...}"))
    issues += _duplicates(resources, source, "resources", "resource")
    issues += _check_supply(document, sections, resources, source)
    groups = list(sections.get("groups", []))
    groups += [a for a in inline_group_attributes(document.get("units")) if a not in groups]  # units' own groups:
    exclusive, found = exclusive_sets(sections.get("exclusive"), resources, source)
    issues += found
    issues += _reserved_groups(groups, source)
    issues += _duplicates(groups, source, "groups", "group attribute")

    units, unit_ids = None, None
    # a broken resources section must not hide the units' own problems: check them against the supply's resources
    unit_resources = resources if _section_valid(document, sections, "resources") else _supplied(document)
    if document.get("units") is not None and unit_resources:
        unit_spec, found = strict_inline_numbers(document["units"], source)
        issues += found
        units, unit_ids, found = _load_units(unit_spec, files, unit_resources, groups, source)
        issues += found
    links = None
    if document.get("links") is not None:
        if document.get("sites") is None:
            issues.append(Issue(source, "links", "links are only allowed with 'sites'",
                                "remove 'links', or hold supply at sites"))
        elif isinstance(document.get("sites"), list):
            site_ids = set(_raw_ids(document, "sites"))
            links, found = _load_links(document["links"], files, unit_ids, site_ids, source)
            issues += found
    network = None
    if document.get("network") is not None:
        network_links, found = network_links_of(document, files, units, source, throughput)
        issues += found
        if isinstance(network_links, tuple):  # flow mode: transit nodes become empty sites
            links, transit, network = network_links
            sections["sites"] = [*sections.get("sites", []), *(Site(id=node, supply={}) for node in transit)]
            network_links = None
        if network_links is not None:
            both = pd.DataFrame({"unit": np.concatenate([links.units, network_links.units]) if links is not None
                                 else network_links.units,
                                 "site": np.concatenate([links.sites, network_links.sites]) if links is not None
                                 else network_links.sites}).drop_duplicates()
            links = LinkTable.from_ids(both["unit"].to_numpy(), both["site"].to_numpy())

    rule, found = RULES.parse(document.get("rule", DEFAULT_RULE), file=source, where="rule")
    issues += found
    constraints: list[tuple[int, Constraint]] = []
    raw_constraints = document.get("constraints") or []
    if not isinstance(raw_constraints, list):
        issues.append(Issue(source, "constraints", "must be a list", "a list of {type: ..., ...} mappings"))
        raw_constraints = []
    for k, spec in enumerate(raw_constraints):
        item, found = CONSTRAINTS.parse(spec, file=source, where=f"constraints[{k}]")
        issues += found
        if item is not None:
            constraints.append((k, item))
    refs: dict[str, Any] = dict(groups=groups, resources=resources, file=source, columns=units.columns if units is not None else None)
    if rule is not None:
        issues += check_spec_references(rule, "rule", **refs)
    for k, item in constraints:
        issues += check_spec_references(item, f"constraints[{k}]", **refs)

    if sections.get("reserves") is not None and units is not None:
        issues += check_reserves(sections["reserves"], units, groups, resources, source)
    issues += check_uncertainty(sections.get("uncertainty"), units, groups, resources,
                                _raw_ids(document, "sites") if isinstance(document.get("sites"), list) else [], source)
    if any(i.severity is Severity.ERROR for i in issues):
        raise ScenarioError(issues)
    warnings = tuple(i for i in issues if i.severity is Severity.WARNING)
    warnings += _supply_warnings(sections, resources, source)
    assert units is not None and rule is not None  # else an error was found above
    return Scenario(
        name=sections["name"], description=sections.get("description", ""),
        resources=tuple(sections["resources"]), supply=sections.get("supply"),
        sites=tuple(sections["sites"]) if "sites" in sections else None,
        units=units, groups=tuple(groups), links=links, rule=rule, constraints=tuple(c for _, c in constraints),
        source=source, warnings=warnings, inputs=tuple(files.inputs), exclusive=exclusive,
        reserves=sections.get("reserves"), network=network, uncertainty=sections.get("uncertainty"),
    )


register_loader(scenario_from_dict)  # Scenario.replace reads its changed document back with it


def _validate_items(items: list, key: str, source: str) -> tuple[list, list[Issue]]:
    """Validate each item of a list section; keep the valid ones."""
    adapter = _ITEM_TYPES[key]
    valid, issues = [], []
    for k, item in enumerate(items):
        try:
            valid.append(adapter.validate_python(item))
        except ValidationError as exc:
            issues += issues_from_validation(exc, file=source, where=f"{key}[{k}]")
    return valid, issues


def _raw_ids(document: dict, key: str) -> list[str]:
    """The ids written in a list section, valid items or not."""
    items = document.get(key)
    if not isinstance(items, list):
        return []
    ids = []
    for item in items:
        try:
            text = written_text(item.get("id")).strip() if isinstance(item, dict) else ""
        except ValueError:  # reported by the section's own check
            continue
        if text:
            ids.append(text)
    return ids


def _section_valid(document: dict, sections: dict, key: str) -> bool:
    """The list section ``key`` passed validation with every item."""
    items = document.get(key)
    return isinstance(items, list) and len(sections.get(key) or []) == len(items)


def _supplied(document: dict) -> list[str]:
    """The resources named in ``supply`` or the sites' supply, in the order first written."""
    pools = [document.get("supply")] + [site.get("supply") for site in document.get("sites") or []
                                        if isinstance(site, dict)]
    return list(dict.fromkeys(str(r) for pool in pools if isinstance(pool, dict) for r in pool))


def _reserved_groups(groups: list[str], source: str) -> list[Issue]:
    """Group attributes cannot reuse the names of the units table's own columns."""
    reserved = [g for g in groups if g in ("id", "demand", "value") or g.startswith(("demand:", "value:"))]
    return [Issue(source, "groups", f"{g!r} is a reserved column name, not a group attribute",
                  "group columns other than id, demand, value, demand:<r>, value:<r>") for g in reserved]


def _duplicates(ids: list[str], source: str, where: str, what: str) -> list[Issue]:
    seen: dict[str, int] = {}
    issues = []
    for k, item in enumerate(ids):
        if item in seen:
            issues.append(Issue(source, f"{where}[{k}]", f"duplicate {what} id {item!r} (first at {where}[{seen[item]}])",
                                f"unique {what} ids"))
        seen.setdefault(item, k)
    return issues


def _check_supply(document: dict, sections: dict, resources: list[str], source: str) -> list[Issue]:
    has_supply, has_sites = document.get("supply") is not None, document.get("sites") is not None
    if has_supply == has_sites:
        message = "both 'supply' and 'sites' are given" if has_supply else "neither 'supply' nor 'sites' is given"
        return [Issue(source, "supply/sites", message,
                      "exactly one: 'supply' (one pool per resource) or 'sites' (supply held at sites)")]
    issues: list[Issue] = []
    if not _section_valid(document, sections, "resources"):
        return issues  # which supply is of an unknown resource cannot be told
    known = ", ".join(resources)
    for r in sections.get("supply", {}):
        if r not in resources:
            issues.append(Issue(source, f"supply.{r}", f"supply of an unknown resource {r!r}", f"one of: {known}"))
    sites = sections.get("sites", [])
    issues += _duplicates(_raw_ids(document, "sites"), source, "sites", "site")
    for k, site in enumerate(sites):
        for r in site.supply:
            if r not in resources:
                issues.append(Issue(source, f"sites[{k}].supply.{r}", f"supply of an unknown resource {r!r}",
                                    f"one of: {known}"))
    if has_sites and document.get("sites") == []:
        issues.append(Issue(source, "sites", "no sites listed", "at least one site"))
    return issues


def _supply_warnings(sections: dict, resources: list[str], source: str) -> tuple[Issue, ...]:
    pools = [sections.get("supply", {})] + [site.supply for site in sections.get("sites", [])]
    held = {r for pool in pools for r, q in pool.items() if q > 0}
    return tuple(Issue(source, "supply", f"no supply of {r!r} anywhere; every unit gets 0 of it",
                       severity=Severity.WARNING) for r in resources if r not in held)


def _table(spec: Any, files: TableFiles, key: str, source: str):
    """Frame, file label, row locator, header location and issues for a table given as a path,
    ``{file, sheet}`` or a DataFrame."""
    from allocator.scenario.files import table_reference
    from allocator.scenario.tables import REQUIRED_COLUMNS, rows_locate

    if isinstance(spec, pd.DataFrame):
        frame: pd.DataFrame | None = spec.astype(object).where(spec.notna(), "")  # in a DataFrame, NaN means a missing cell
        return frame, f"{source} ({key} DataFrame)", frame_locate, "columns", []
    name, sheet, issues = table_reference(spec, key, source)
    if name is None:
        return None, source, None, key, issues
    path, issues = files.resolve(name, key, source)
    if path is None:
        return None, source, None, key, issues
    frame, label, issues = read_table(path, str(path), sheet, REQUIRED_COLUMNS[key])
    if frame is not None:
        files.note(key, path)
    return frame, label, rows_locate(frame) if frame is not None else None, "header", issues


def _load_units(spec, files, resources, groups, source):
    """The unit table (or None) and the ids seen, so links can be checked even when the table has errors."""
    if isinstance(spec, list):
        frame, issues = frame_from_inline_units(spec, resources, source)
        label, locate, header = source, inline_locate("units"), "units"
    else:
        frame, label, locate, header, issues = _table(spec, files, "units", source)
    if frame is None:
        return None, None, issues
    table, found = units_from_frame(frame, resources, groups, label, locate, header)
    if table is not None:
        found += unlisted_label_columns(table, groups, label, header)
    ids = table.ids if table is not None else (stripped_text(frame["id"]) if "id" in frame.columns else None)
    return table, ids, issues + found


def _load_links(spec, files, unit_ids, site_ids, source):
    if isinstance(spec, list):
        issues = []
        for k, item in enumerate(spec):
            if not isinstance(item, dict):
                issues.append(Issue(source, f"links[{k}]", "a link must be a mapping", "{unit: ..., site: ...}"))
                continue
            for key in sorted(set(item) - {"unit", "site"}, key=str):
                issues.append(Issue(source, f"links[{k}].{key}", "unknown key", "unit, site"))
            for key in ("unit", "site"):
                if item.get(key) is None:
                    issues.append(Issue(source, f"links[{k}].{key}", "required key is missing"))
        if issues:
            return None, issues
        frame = pd.DataFrame({"unit": [str(i.get("unit", "")) for i in spec],
                              "site": [str(i.get("site", "")) for i in spec]})
        return links_from_frame(frame, unit_ids, site_ids, source, inline_locate("links"), "links")
    frame, label, locate, header, issues = _table(spec, files, "links", source)
    if frame is None:
        return None, issues
    table, found = links_from_frame(frame, unit_ids, site_ids, label, locate, header)
    return table, issues + found

