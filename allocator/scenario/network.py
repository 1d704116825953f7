"""Access from a road network: which sites each unit can reach within a travel limit (networkx).

The ``network:`` section gives directed edges ``from, to, travel`` (a CSV file or an inline
list) and ``max_travel``. Sites are nodes of the network (by id); each unit sits at the node named
in its ``node`` column. A unit can be served by a site when the shortest travel **from the unit's
node to the site** is at most ``max_travel`` (people travel to clinics and pantries; give edges
both ways for two-way roads). These links are added to any ``links:`` the scenario lists.

Shortest paths come from networkx (Dijkstra, from every site over the reversed graph, cut off at
``max_travel``), so the cost grows with the sites times the part of the network within reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from allocator.core.errors import Issue, Severity
from allocator.core.scalars import Number


class NetworkSpec(BaseModel):
    """The ``network:`` section (see the module docstring and docs/scenario-format.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    edges: str | dict[str, Any] | list[dict[str, Any]]  # a dict: {file, sheet}
    #: flow mode: a nodes table (columns id, throughput, supply:<resource>), CSV/Excel or inline
    nodes: str | dict[str, Any] | list[dict[str, Any]] | None = None
    #: access: units reach sites within max_travel; flow: supply moves along the edges to the units' nodes
    mode: Literal["access", "flow"] = "access"
    max_travel: Number | None = Field(None, ge=0, allow_inf_nan=False)
    #: flow mode: total transport cost (sum of cost x quantity over edges) may not exceed this
    budget: Number | None = Field(None, ge=0, allow_inf_nan=False)
    #: flow mode: what value stages maximise: total value, or total value minus transport cost
    objective: Literal["value", "value_minus_cost"] = "value"


@dataclass(frozen=True, eq=False)
class EdgeTable:
    """Directed edges by node index: ``capacity`` (total over resources; inf if none) and ``cost`` per unit shipped.

    ``resource_capacity`` (edges x resources, inf where none) limits each resource on an edge on
    its own; ``throughput`` (per node, inf where none) limits what a node sends on and delivers.
    """

    tail: np.ndarray
    head: np.ndarray
    capacity: np.ndarray
    cost: np.ndarray
    budget: float | None = None
    net_of_cost: bool = False  # value stages maximise value minus transport cost
    resource_capacity: np.ndarray | None = None
    throughput: np.ndarray | None = None

    def __post_init__(self) -> None:  # part of a read-only scenario: copies, made read-only
        for name in ("tail", "head", "capacity", "cost", "resource_capacity", "throughput"):
            if getattr(self, name) is not None:
                array = np.array(getattr(self, name), copy=True)
                array.flags.writeable = False
                object.__setattr__(self, name, array.view())  # a view: setflags(write=True) is refused

    def __eq__(self, other: object) -> bool:
        """Same edges, limits and options (a limit of "none" is the same whether absent or all infinite)."""
        if not isinstance(other, EdgeTable):
            return NotImplemented
        if (self.budget, self.net_of_cost) != (other.budget, other.net_of_cost):
            return False
        if not all(np.array_equal(getattr(self, n), getattr(other, n)) for n in ("tail", "head", "capacity", "cost")):
            return False
        return all(_limits_equal(getattr(self, n), getattr(other, n)) for n in ("resource_capacity", "throughput"))

    __hash__ = None  # type: ignore[assignment]

    def document(self, site_ids: list[str], resource_ids: list[str]) -> dict:
        """The ``network:`` section (flow mode, inline tables) that loads back into this table."""
        edges = []
        for k in range(len(self.tail)):
            edge = {"from": site_ids[self.tail[k]], "to": site_ids[self.head[k]], "cost": float(self.cost[k])}
            if np.isfinite(self.capacity[k]):
                edge["capacity"] = float(self.capacity[k])
            if self.resource_capacity is not None:
                edge.update({f"capacity:{r}": float(self.resource_capacity[k, j]) for j, r in enumerate(resource_ids)
                             if np.isfinite(self.resource_capacity[k, j])})
            edges.append(edge)
        section: dict = {"mode": "flow", "edges": edges,
                         "objective": "value_minus_cost" if self.net_of_cost else "value"}
        if self.budget is not None:
            section["budget"] = self.budget
        if self.throughput is not None and np.isfinite(self.throughput).any():
            section["nodes"] = [{"id": site_ids[v], "throughput": float(self.throughput[v])}
                                for v in np.flatnonzero(np.isfinite(self.throughput))]
        return section


def _limits_equal(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        rest = b if a is None else a
        return rest is None or bool(np.isinf(rest).all())
    return a.shape == b.shape and bool(np.array_equal(a, b))


def edge_frame(frame: pd.DataFrame, label: str) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Check an edges table (columns ``from, to, travel``) and return it typed."""
    missing = [c for c in ("from", "to") if c not in frame.columns]
    if missing:
        return None, [Issue(label, "header", f"required column(s) missing: {', '.join(missing)}",
                            "columns from, to (and travel, capacity, cost as needed)")]
    travel, bad = np.zeros(len(frame)), np.zeros(0, dtype=np.int64)
    if "travel" in frame.columns:
        raw = frame["travel"]
        travel = pd.to_numeric(pd.Series(raw, dtype=object).astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~(travel >= 0))
    issues = [Issue(label, f"row {raw.index[i]}, column travel", f"is not a travel time >= 0: {raw.iloc[i]!r}",
                    "a number >= 0") for i in bad[:10]]
    if len(bad) > 10:
        issues.append(Issue(label, "column travel", f"... and {len(bad) - 10} more rows with the same problem"))
    from allocator.scenario.tables import stripped_text

    ends = pd.DataFrame({"from": stripped_text(frame["from"]), "to": stripped_text(frame["to"])})
    blank = np.flatnonzero((ends["from"] == "") | (ends["to"] == ""))
    issues += [Issue(label, f"row {frame.index[i]}", "an edge needs both ends", "from and to node ids") for i in blank[:10]]
    optional = {}
    limits = ["capacity", *(c for c in frame.columns if str(c).startswith("capacity:"))]
    for column in [*limits, "cost"]:
        if column not in frame.columns:
            optional[column] = np.full(len(frame), np.inf if column == "capacity" else 0.0)
            continue
        values, found = _numbers(frame[column], label, column, np.inf if column != "cost" else 0.0,
                                 negative=column == "cost")
        optional[column], issues = values, issues + found
    if issues:
        return None, issues
    return pd.DataFrame({"from": ends["from"], "to": ends["to"], "travel": travel,
                         **optional}), []


def _numbers(raw: pd.Series, label: str, column: str, blank: float, negative: bool = False):
    """A numeric column: blank cells are ``blank``; others numbers (>= 0 unless ``negative``)."""
    text = pd.Series(raw, dtype=object).astype(str).str.strip()
    values = pd.to_numeric(text.where(text != "", str(blank)), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) if negative else ~(values >= 0)
    if blank == np.inf:
        bad &= ~((text == "").to_numpy())
    meaning = "no limit" if blank == np.inf else f"{blank:g}"
    issues = [Issue(label, f"row {raw.index[i]}, column {column}",
                    f"is not a {'finite number' if negative else 'number >= 0'}: {raw.iloc[i]!r}",
                    f"a {'number' if negative else 'number >= 0'} (blank: {meaning})")
              for i in np.flatnonzero(bad)[:10]]
    if bad.sum() > 10:
        issues.append(Issue(label, f"column {column}", f"... and {bad.sum() - 10} more rows with the same problem"))
    return values, issues


def node_frame(frame: pd.DataFrame, label: str, resources: list[str]) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Check a nodes table (columns ``id``, optional ``throughput`` and ``supply:<resource>``)."""
    if "id" not in frame.columns:
        return None, [Issue(label, "header", "required column missing: id",
                            "columns id, and throughput and/or supply:<resource>")]
    known = {"id", "throughput", *(f"supply:{r}" for r in resources)}
    issues = [Issue(label, "header", f"unknown column {c!r}",
                    f"id, throughput, or supply:<resource> for a resource among {', '.join(resources)}")
              for c in frame.columns if c not in known]
    ids = frame["id"].astype(str).str.strip()
    for i in np.flatnonzero((ids == "").to_numpy())[:10]:
        issues.append(Issue(label, f"row {ids.index[i]}, column id", "is blank", "a node id"))
    for i in np.flatnonzero(ids.duplicated().to_numpy())[:10]:
        issues.append(Issue(label, f"row {ids.index[i]}, column id", f"node {ids.iloc[i]!r} is listed twice", "each node once"))
    table = {"id": ids.to_numpy(dtype=object)}
    for column in [c for c in frame.columns if c in known and c != "id"]:
        table[column], found = _numbers(frame[column], label, column, np.inf if column == "throughput" else 0.0)
        issues += found
    return (None, issues) if issues else (pd.DataFrame(table, index=frame.index), [])


def negative_cycle(tails: np.ndarray, heads: np.ndarray, cost: np.ndarray, names: list[str]) -> list[str] | None:
    """The nodes of a directed cycle whose costs add up to less than zero, or None (networkx Bellman-Ford).

    >>> negative_cycle(np.array([0, 1, 1]), np.array([1, 0, 2]), np.array([2.0, -3.0, 1.0]), ["a", "b", "c"])
    ['a', 'b', 'a']
    """
    if not (cost < 0).any():
        return None
    import networkx as nx

    graph: nx.DiGraph[int] = nx.DiGraph()
    for tail, head, weight in zip(tails.tolist(), heads.tolist(), cost.tolist()):
        if not graph.has_edge(tail, head) or graph[tail][head]["weight"] > weight:  # the cheapest parallel edge
            graph.add_edge(tail, head, weight=weight)
    start = len(names)  # joined to every node, so one search finds a cycle anywhere
    graph.add_edges_from(((start, node) for node in list(graph.nodes)), weight=0.0)
    try:
        cycle = nx.find_negative_cycle(graph, start)
    except nx.NetworkXError:
        return None
    body = cycle[:-1]
    first = body.index(min(body))  # start at the first-listed node: the same message every run
    body = body[first:] + body[:first]
    return [names[k] for k in [*body, body[0]]]


def links_within(edges: pd.DataFrame, max_travel: float, unit_ids: np.ndarray, unit_nodes: np.ndarray,
                 site_ids: list[str], source: str) -> tuple[list[tuple[str, str]], list[Issue]]:
    """``(unit, site)`` pairs within ``max_travel``, and issues (units off the network, sites off it)."""
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    for start, end, travel in zip(edges["from"], edges["to"], edges["travel"]):
        # parallel edges: the shortest one counts
        if not graph.has_edge(start, end) or graph[start][end]["travel"] > travel:
            graph.add_edge(start, end, travel=float(travel))
    issues = []
    nodes = pd.Series(unit_nodes, dtype=object).astype(str).str.strip().to_numpy()
    off = np.flatnonzero(~np.isin(nodes, list(graph.nodes)))
    for i in off[:10]:
        issues.append(Issue(source, f"unit {unit_ids[i]}", f"its node {nodes[i]!r} is not on the network",
                            "a node id that appears in the edges (column node of the units table)"))
    if len(off) > 10:
        issues.append(Issue(source, "units", f"... and {len(off) - 10} more units off the network"))
    by_node: dict[str, list[str]] = {}
    for uid, node in zip(unit_ids, nodes):
        by_node.setdefault(node, []).append(str(uid))
    reverse = graph.reverse(copy=False)
    pairs: list[tuple[str, str]] = []
    for site in site_ids:
        if site not in graph:
            issues.append(Issue(source, f"network: site {site}", "is not a node of the network, so no unit can "
                                "reach it through it", "a site id among the edges' nodes", severity=Severity.WARNING))
            continue
        reach = nx.single_source_dijkstra_path_length(reverse, site, cutoff=max_travel, weight="travel")
        for node in reach:
            pairs.extend((uid, site) for uid in by_node.get(node, ()))
    return pairs, issues
