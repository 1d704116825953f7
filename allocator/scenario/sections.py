"""The optional sections of a scenario: ``exclusive:`` sets, the ``reserves:`` system, the ``network:``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.core.errors import Issue, Severity
from allocator.scenario.checks import numbers_in
from allocator.scenario.reserves import Reserves


def exclusive_sets(spec, resources: list[str], source: str):
    """``exclusive: [a, b]`` (one set) or ``[[a, b], [c, d]]``: resources a unit may get only one unit of, in total."""
    if not spec:
        return (), []
    sets = [spec] if isinstance(spec[0], str) else spec
    issues = []
    for k, members in enumerate(sets):
        where = "exclusive" if sets is not spec else f"exclusive[{k}]"
        unknown = [r for r in members if r not in resources]
        if unknown:
            issues.append(Issue(source, where, f"unknown resource(s): {', '.join(map(repr, unknown))}",
                                f"resources declared in 'resources': {', '.join(resources)}"))
        if len(set(members)) < 2:
            issues.append(Issue(source, where, "an exclusive set needs at least two different resources",
                                "e.g. exclusive: [prevention, rapid_rehousing, shelter]"))
    taken = [r for members in sets for r in set(members)]
    repeated = sorted({r for r in taken if taken.count(r) > 1})
    if repeated:
        issues.append(Issue(source, "exclusive", f"resource(s) in more than one exclusive set: {', '.join(repeated)}",
                            "each resource in at most one set"))
    return tuple(tuple(dict.fromkeys(members)) for members in sets), issues


def check_reserves(reserves: Reserves, units, groups: list[str], resources: list[str], source: str):
    """A reserve system names a resource, group attributes and labels, and numeric score columns that exist."""
    issues = []
    resource = reserves.resource or (resources[0] if len(resources) == 1 else None)
    if resource is None or resource not in resources:
        issues.append(Issue(source, "reserves.resource", f"must name one of the resources ({', '.join(resources)})",
                            "resource: <id> (optional with one resource)"))
        return issues
    demand = units.demand[:, resources.index(resource)]
    if not np.all(np.isin(demand, (0.0, 1.0))):
        issues.append(Issue(source, "reserves", f"every unit must ask for 0 or 1 of {resource!r} in a reserve system",
                            "demand 1 (asks for one unit) or 0"))
    for k, category in enumerate(reserves.categories):
        where = f"reserves.categories[{k}]"
        if category.id == "open":
            issues.append(Issue(source, f"{where}.id", "'open' is the name of the category that takes the rest",
                                "another id"))
        if category.attribute not in groups:
            issues.append(Issue(source, f"{where}.attribute", f"{category.attribute!r} is not a group attribute",
                                f"one of the columns listed in 'groups': {', '.join(groups) or '(none)'}"))
        elif unknown := sorted(set(category.groups) - set(units.groups[category.attribute])):
            issues.append(Issue(source, f"{where}.groups", f"no unit has {category.attribute} = {', '.join(unknown)}"
                                " (a typo? the category can only serve the other labels)",
                                "labels that occur in the units table", severity=Severity.WARNING))
    try:
        reserves.processing_order()
    except ValueError as exc:
        issues.append(Issue(source, "reserves.order", str(exc), "every category id once, and open"))
    shares = sum(c.share for c in reserves.categories)
    if shares > 1 + 1e-12:
        issues.append(Issue(source, "reserves.categories", f"the shares add up to {shares:g}", "at most 1"))
    for where, priority in [("reserves.priority", reserves.priority)] + [
            (f"reserves.categories[{k}].priority", c.priority) for k, c in enumerate(reserves.categories) if c.priority]:
        if priority.score not in units.columns:
            issues.append(Issue(source, f"{where}.score", f"the units table has no column {priority.score!r}",
                                "a numeric column of the units table"))
        elif not np.all(np.isfinite(numbers_in(units.columns[priority.score]))):
            issues.append(Issue(source, f"{where}.score", f"column {priority.score!r} holds values that are not numbers",
                                "a number in every row"))
    return issues


def network_nodes(document: dict, files, source: str) -> tuple[dict, dict[str, float], list[Issue]]:
    """Flow networks' nodes table: its stock joins ``sites``; returns the document, throughputs and issues.

    A node with a positive ``supply:<resource>`` becomes a site (listing the same node's supply
    under ``sites`` too is an error); ``throughput`` limits are returned by node id.
    """
    from allocator.scenario.network import node_frame

    network = document.get("network")
    if not isinstance(network, dict) or network.get("nodes") is None:
        return document, {}, []
    if network.get("mode") != "flow":
        return document, {}, [Issue(source, "network.nodes", "a nodes table is only used by flow networks",
                                    "network: {mode: flow, ...}, or remove nodes")]
    frame, issues, label = _network_table(network["nodes"], "network.nodes", "nodes", files, source)
    if frame is None:
        return document, {}, issues
    resources = [str(r.get("id")) for r in document.get("resources") or [] if isinstance(r, dict)]
    nodes, issues = node_frame(frame, label, resources)
    if nodes is None:
        return document, {}, issues
    listed = {str(site.get("id")) for site in document.get("sites") or [] if isinstance(site, dict)}
    columns = [c for c in nodes.columns if c.startswith("supply:")]
    new_sites = []
    supplies = {c: nodes[c].to_numpy(dtype=float) for c in columns}  # node_frame's numbers
    for k in range(len(nodes)):
        stock = {c.split(":", 1)[1]: float(supplies[c][k]) for c in columns if supplies[c][k] > 0}
        if not stock:
            continue
        if nodes["id"].iat[k] in listed:
            issues.append(Issue(label, f"row {nodes.index[k]}", f"node {nodes['id'].iat[k]!r} has supply here and under 'sites'",
                                "its supply in one place"))
        new_sites.append({"id": nodes["id"].iat[k], "supply": stock})
    throughput = {}
    if "throughput" in nodes.columns:
        limited = np.isfinite(nodes["throughput"].to_numpy())
        throughput = dict(zip(nodes["id"][limited], nodes["throughput"][limited].astype(float)))
    if new_sites:
        document = {**document, "sites": [*(document.get("sites") or []), *new_sites]}
    return document, throughput, issues


def _network_table(spec, where: str, role: str, files, source: str):
    """A network table from a file (recorded as an input with ``role``) or an inline list: frame, issues, label."""
    from allocator.scenario.files import read_table, table_reference
    from allocator.scenario.tables import REQUIRED_COLUMNS

    if isinstance(spec, (str, dict)):
        name, sheet, issues = table_reference(spec, where, source)
        path, found = files.resolve(name, where, source) if name is not None else (None, [])
        if path is None:
            return None, issues + found, source
        frame, label, issues = read_table(path, str(path), sheet, REQUIRED_COLUMNS[role])
        if frame is not None:
            files.note(role, path)
        return frame, issues, label
    if not isinstance(spec, list) or not all(isinstance(row, dict) for row in spec):
        return None, [Issue(source, where, "must be a file name or a list of mappings",
                            "e.g. routes.csv, {file: data.xlsx, sheet: routes}, or [{from: a, to: b}]")], source
    frame = pd.DataFrame(spec, dtype=object).fillna("")
    frame.index = np.arange(2, len(frame) + 2)  # rows counted as in a file (issues say "row <index>")
    return frame, [], f"{source} ({where})"


def network_links_of(document, files, units, source: str, throughput: dict[str, float] | None = None):
    """The links the ``network:`` section implies (see :mod:`allocator.scenario.network`), and issues."""
    from pydantic import ValidationError

    from allocator.core.registry import issues_from_validation
    from allocator.scenario.model import LinkTable
    from allocator.scenario.network import NetworkSpec, edge_frame, links_within

    try:
        spec = NetworkSpec.model_validate(document["network"])
    except ValidationError as exc:
        return None, issues_from_validation(exc, file=source, where="network")
    if not isinstance(document.get("sites"), list):
        return None, [Issue(source, "network", "a network needs 'sites' (its nodes hold the supply)",
                            "sites whose ids are nodes of the network")]
    frame, issues, label = _network_table(spec.edges, "network.edges", "edges", files, source)
    if frame is None:
        return None, issues
    edges, issues = edge_frame(frame, label)
    if edges is None or units is None:
        return None, issues
    if "node" not in units.columns:
        return None, [Issue(source, "units", "a network needs a 'node' column in the units table",
                            "the network node each unit sits at")]
    site_ids = [str(site.get("id")) for site in document["sites"] if isinstance(site, dict)]
    if spec.mode == "flow":
        return _flow_network(spec, edges, units, site_ids, document, source, throughput or {})
    if spec.max_travel is None:
        return None, [Issue(source, "network.max_travel", "required in access mode", "e.g. max_travel: 30")]
    pairs, issues = links_within(edges, spec.max_travel, units.ids, units.columns["node"], site_ids, source)
    if any(i.severity is Severity.ERROR for i in issues):
        return None, issues
    unit_list = [u for u, _ in pairs]
    return LinkTable.from_ids(unit_list, [s for _, s in pairs]), issues


def _flow_network(spec, edges, units, site_ids, document, source, throughput: dict[str, float]):
    """Flow mode: every node a site (transit nodes hold nothing), each unit linked to its own node only."""
    from allocator.scenario.model import LinkTable
    from allocator.scenario.network import EdgeTable, negative_cycle

    if document.get("links") is not None:
        return None, [Issue(source, "links", "a flow network decides the routes: links cannot be listed too",
                            "remove 'links' (or use network mode: access)")]
    resources = [str(r.get("id")) for r in document.get("resources") or [] if isinstance(r, dict)]
    per_resource = [c for c in edges.columns if c.startswith("capacity:")]
    unknown = [c for c in per_resource if c.split(":", 1)[1] not in resources]
    if unknown:
        return None, [Issue(source, "network.edges", f"capacity for unknown resource(s): {', '.join(unknown)}",
                            f"capacity:<resource> for a resource among {', '.join(resources)}")]
    # factorize first: 50,000 units wait at a few hundred distinct nodes, each stripped once
    node_codes, distinct = pd.factorize(np.asarray(units.columns["node"], dtype=object), use_na_sentinel=False)
    distinct = pd.Series(distinct, dtype=object).astype(str).str.strip().to_numpy()
    ends = pd.unique(np.concatenate([edges["from"].to_numpy(dtype=object), edges["to"].to_numpy(dtype=object)]))
    all_nodes = list(dict.fromkeys([*site_ids, *ends, *distinct, *throughput]))
    index = {node: k for k, node in enumerate(all_nodes)}
    resource_capacity = None
    if per_resource:
        resource_capacity = np.full((len(edges), len(resources)), np.inf)
        for column in per_resource:
            resource_capacity[:, resources.index(column.split(":", 1)[1])] = edges[column].to_numpy(dtype=float)
    limits = None
    if throughput:
        limits = np.full(len(all_nodes), np.inf)
        limits[[index[node] for node in throughput]] = list(throughput.values())
    lookup = pd.Index(all_nodes)
    table = EdgeTable(lookup.get_indexer(edges["from"]).astype(np.int64), lookup.get_indexer(edges["to"]).astype(np.int64),
                      edges["capacity"].to_numpy(dtype=float), edges["cost"].to_numpy(dtype=float), spec.budget,
                      spec.objective == "value_minus_cost", resource_capacity, limits)
    usable = table.capacity > 0
    cycle = negative_cycle(table.tail[usable], table.head[usable], table.cost[usable], all_nodes)
    if cycle is not None:
        return None, [Issue(source, "network.edges", f"the cycle {' -> '.join(cycle)} has a negative total cost: "
                            "shipping around it would pay for itself without delivering anything",
                            "costs whose sum around every cycle is >= 0 (a negative cost is a rebate on one edge)")]
    waiting = np.unique(np.array([index[v] for v in distinct], dtype=np.int64))
    issues = _disconnected(table, all_nodes, site_ids, waiting, source)
    unit_codes, unit_labels = pd.factorize(np.asarray(units.ids, dtype=object))
    site_codes, site_labels = pd.factorize(distinct)  # two spellings may strip to one node
    links = LinkTable(unit_labels, unit_codes, site_labels, site_codes[node_codes])
    return (links, all_nodes[len(site_ids):], table), issues


def _disconnected(table, all_nodes: list[str], site_ids: list[str], waiting: np.ndarray, source: str) -> list[Issue]:
    """Warnings for nodes that no supply can reach and sites whose supply can reach no unit.

    Two breadth-first searches over the edges (numpy, no graph library: this runs on every load of
    a flow network): forward from every site, and backwards from ``waiting`` (the nodes where
    units wait, as indices into ``all_nodes``).
    """
    index = {node: k for k, node in enumerate(all_nodes)}
    stocked = np.array([index[s] for s in site_ids], dtype=np.int64)
    reached = _reachable(table.tail, table.head, stocked, len(all_nodes))
    reaching = _reachable(table.head, table.tail, waiting, len(all_nodes))  # backwards from the units
    issues = []
    cut_off = sorted(all_nodes[k] for k in waiting if not reached[k])
    if cut_off:
        issues.append(Issue(source, "network", f"no supply can reach node(s) {', '.join(cut_off[:10])}: units waiting "
                            "there get nothing", "edges from a site to every node where units wait",
                            severity=Severity.WARNING))
    idle = sorted(s for s in site_ids if not reaching[index[s]])
    if idle:
        issues.append(Issue(source, "network", f"site(s) {', '.join(idle[:10])} reach no unit: their supply is unused",
                            "edges from every site towards some units", severity=Severity.WARNING))
    return issues


def _reachable(tails: np.ndarray, heads: np.ndarray, starts: np.ndarray, count: int) -> np.ndarray:
    """Which of ``count`` nodes a path along the edges ``tails[k] -> heads[k]`` reaches from ``starts``.

    Each round expands the whole frontier at once through the edges sorted by tail, so the work
    is proportional to the edges looked at (each once), not to rounds x edges.

    >>> _reachable(np.array([0, 1, 3]), np.array([1, 2, 4]), np.array([0]), 5).tolist()
    [True, True, True, False, False]
    """
    order = np.argsort(tails, kind="stable")
    by_tail = heads[order]
    first = np.searchsorted(tails[order], np.arange(count + 1))
    seen = np.zeros(count, dtype=bool)
    seen[starts] = True
    frontier = np.unique(starts)
    while len(frontier):
        lengths = first[frontier + 1] - first[frontier]
        # positions first[f] .. first[f + 1] - 1 for every frontier node f, in one array
        offsets = np.repeat(first[frontier] - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        nxt = np.unique(by_tail[offsets])
        frontier = nxt[~seen[nxt]]
        seen[frontier] = True
    return seen
