"""Load a scenario file (YAML, JSON or TOML) or a dict into a validated :class:`Scenario`.

Every section is checked even when an earlier one failed, so a planner sees all problems
at once; the result is either a complete :class:`Scenario` or a :class:`ScenarioError`.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import TypeAdapter, ValidationError

from allocator.constraints import CONSTRAINTS
from allocator.errors import Issue, ScenarioError, Severity
from allocator.registry import issues_from_validation
from allocator.reserves import Reserves
from allocator.rules import RULES
from allocator.scenario.checks import check_spec_references
from allocator.uncertainty import Uncertainty, check_uncertainty
from allocator.scenario.sections import check_reserves, exclusive_sets, network_links_of, network_nodes
from allocator.scenario.files import TableFiles, document_issues, is_link_loop, sha256_of
from allocator.scenario.model import Identifier, LinkTable, Quantity, Resource, Scenario, Site
from allocator.scenario.tables import (
    csv_locate, frame_from_inline_units, frame_locate, inline_locate, links_from_frame, read_table,
    stripped_text, units_from_frame,
)

TOP_LEVEL_KEYS = ("name", "description", "resources", "supply", "sites", "units", "groups", "links", "exclusive",
                  "reserves", "network", "uncertainty", "rule", "constraints")
SUFFIXES = {".yaml": "YAML", ".yml": "YAML", ".json": "JSON", ".toml": "TOML"}
DEFAULT_RULE = "maxmin"

_ITEM_TYPES = {"resources": TypeAdapter(Resource), "sites": TypeAdapter(Site)}
_SECTION_TYPES = {
    "name": TypeAdapter(Identifier),
    "description": TypeAdapter(str),
    "resources": TypeAdapter(list[Resource]),
    "supply": TypeAdapter(dict[Identifier, Quantity]),
    "sites": TypeAdapter(list[Site]),
    "groups": TypeAdapter(list[Identifier]),
    "exclusive": TypeAdapter(list[Identifier] | list[list[Identifier]]),
    "reserves": TypeAdapter(Reserves),
    "uncertainty": TypeAdapter(Uncertainty),
}


def load_scenario(path: str | Path, *, allow_outside: bool = False, record_inputs: bool = True) -> Scenario:
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


class YAML_LOADER(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # noqa: N801 (used like PyYAML's loaders)
    """PyYAML's safe loader (libyaml's when built with it: ~10x faster), reading ``1e6`` as a number.

    YAML 1.1 wants a dot and a signed exponent (``1.0e+6``); YAML 1.2 and every spreadsheet
    accept ``1e6``, and a planner writing it means the number, not the text.
    """


YAML_LOADER.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_document(path: Path) -> tuple[dict | None, list[Issue]]:
    """Parse the scenario file into a mapping, or explain why it cannot be parsed."""
    label = str(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if is_link_loop(path):
        return None, [Issue(label, "(file)", "is a symbolic link loop", "a scenario file (.yaml, .json or .toml)")]
    if not path.exists():
        return None, [Issue(label, "(file)", "file not found", "a scenario file (.yaml, .json or .toml)")]
    if not path.is_file():
        return None, [Issue(label, "(file)", "is not a regular file", "a scenario file (.yaml, .json or .toml)")]
    if kind is None:
        return None, [Issue(label, "(file)", f"unsupported file type {path.suffix!r}", "a .yaml, .yml, .json or .toml file")]
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Issue(label, "(file)", f"is not valid UTF-8 text (byte {exc.start})", "a UTF-8 text file")]
    try:
        if kind == "YAML":
            document = yaml.load(text, Loader=YAML_LOADER)
        elif kind == "JSON":
            document = json.loads(text)
        else:
            document = tomllib.loads(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        return None, [Issue(label, where, f"YAML syntax error: {exc.problem}", "valid YAML")]
    except yaml.YAMLError as exc:
        return None, [Issue(label, "(file)", f"YAML error: {exc}", "valid YAML")]
    except json.JSONDecodeError as exc:
        return None, [Issue(label, f"line {exc.lineno}, column {exc.colno}", f"JSON syntax error: {exc.msg}", "valid JSON")]
    except tomllib.TOMLDecodeError as exc:
        return None, [Issue(label, "(file)", f"TOML syntax error: {exc}", "valid TOML")]
    except RecursionError:
        return None, [Issue(label, "(file)", "is nested too deeply to parse", "the scenario format (a few levels)")]
    if document is None:
        return None, [Issue(label, "(file)", "is empty", "a scenario with at least name, resources, supply or sites, units")]
    if not isinstance(document, dict):
        return None, [Issue(label, "(top level)", f"must be a mapping of keys, got {type(document).__name__}",
                            "keys such as name, resources, units")]
    too_large = document_issues(document, label)
    return (None, too_large) if too_large else (document, [])


def scenario_from_dict(document: dict[str, Any], *, base_dir: str | Path | None = None,
                       source: str = "<inline>", allow_outside: bool = False,
                       record_inputs: bool = True) -> Scenario:
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
    exclusive, found = exclusive_sets(sections.get("exclusive"), resources, source)
    issues += found
    issues += _reserved_groups(groups, source)
    issues += _duplicates(groups, source, "groups", "group attribute")

    units, unit_ids = None, None
    if document.get("units") is not None and resources:
        units, unit_ids, found = _load_units(document["units"], files, resources, groups, source)
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
    constraints: list[tuple[int, object]] = []
    raw_constraints = document.get("constraints") or []
    if not isinstance(raw_constraints, list):
        issues.append(Issue(source, "constraints", "must be a list", "a list of {type: ..., ...} mappings"))
        raw_constraints = []
    for k, spec in enumerate(raw_constraints):
        item, found = CONSTRAINTS.parse(spec, file=source, where=f"constraints[{k}]")
        issues += found
        if item is not None:
            constraints.append((k, item))
    refs = dict(groups=groups, resources=resources, file=source, columns=units.columns if units is not None else None)
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
    return Scenario(
        name=sections["name"], description=sections.get("description", ""),
        resources=tuple(sections["resources"]), supply=sections.get("supply"),
        sites=tuple(sections["sites"]) if "sites" in sections else None,
        units=units, groups=tuple(groups), links=links, rule=rule, constraints=tuple(c for _, c in constraints),
        source=source, warnings=warnings, inputs=tuple(files.inputs), exclusive=exclusive,
        reserves=sections.get("reserves"), network=network, uncertainty=sections.get("uncertainty"),
    )


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
        if isinstance(item, dict) and isinstance(item.get("id"), (str, int)) and not isinstance(item["id"], bool):
            ids.append(str(item["id"]).strip())
    return ids


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
    issues = []
    if "resources" not in sections:
        return issues
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
    """Frame, file label, row locator, header location and issues for a table given as a path or DataFrame."""
    if isinstance(spec, pd.DataFrame):
        frame = spec.astype(object).where(spec.notna(), "")  # in a DataFrame, NaN means a missing cell
        return frame, f"{source} ({key} DataFrame)", frame_locate, "columns", []
    if isinstance(spec, (str, Path)):
        path, issues = files.resolve(spec, key, source)
        if path is None:
            return None, source, None, key, issues
        frame, issues = read_table(path, str(path))
        if frame is not None:
            files.note(key, path)
        return frame, str(path), csv_locate, "header", issues
    return None, source, None, key, [Issue(source, key, f"must be a file name or a list, got {type(spec).__name__}",
                                           f"e.g. {key}: {key}.csv")]


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

