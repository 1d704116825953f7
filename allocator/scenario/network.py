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

from allocator.errors import Issue, Severity


class NetworkSpec(BaseModel):
    """The ``network:`` section (see the module docstring and docs/scenario-format.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    edges: str | list[dict[str, Any]]
    #: access: units reach sites within max_travel; flow: supply moves along the edges to the units' nodes
    mode: Literal["access", "flow"] = "access"
    max_travel: float | None = Field(None, ge=0, allow_inf_nan=False)
    #: flow mode: total transport cost (sum of cost x quantity over edges) may not exceed this
    budget: float | None = Field(None, ge=0, allow_inf_nan=False)
    #: flow mode: what value stages maximise: total value, or total value minus transport cost
    objective: Literal["value", "value_minus_cost"] = "value"


@dataclass(frozen=True, eq=False)
class EdgeTable:
    """Directed edges by node index: ``capacity`` (total over resources; inf if none) and ``cost`` per unit shipped."""

    tail: np.ndarray
    head: np.ndarray
    capacity: np.ndarray
    cost: np.ndarray
    budget: float | None = None
    net_of_cost: bool = False  # value stages maximise value minus transport cost


def edge_frame(frame: pd.DataFrame, label: str) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Check an edges table (columns ``from, to, travel``) and return it typed."""
    missing = [c for c in ("from", "to") if c not in frame.columns]
    if missing:
        return None, [Issue(label, "header", f"required column(s) missing: {', '.join(missing)}",
                            "columns from, to (and travel, capacity, cost as needed)")]
    raw = frame["travel"] if "travel" in frame.columns else pd.Series(["0"] * len(frame))
    travel = pd.to_numeric(pd.Series(raw, dtype=object).astype(str).str.strip(), errors="coerce")
    bad = np.flatnonzero(~(travel.to_numpy(dtype=float) >= 0))
    issues = [Issue(label, f"row {i + 2}, column travel", f"is not a travel time >= 0: {raw.iloc[i]!r}",
                    "a number >= 0") for i in bad[:10]]
    if len(bad) > 10:
        issues.append(Issue(label, "column travel", f"... and {len(bad) - 10} more rows with the same problem"))
    ends = frame[["from", "to"]].astype(str).apply(lambda c: c.str.strip())
    blank = np.flatnonzero((ends["from"] == "") | (ends["to"] == ""))
    issues += [Issue(label, f"row {i + 2}", "an edge needs both ends", "from and to node ids") for i in blank[:10]]
    optional = {}
    for column, default in (("capacity", np.inf), ("cost", 0.0)):
        if column not in frame.columns:
            optional[column] = np.full(len(frame), default)
            continue
        text = pd.Series(frame[column], dtype=object).astype(str).str.strip()
        values = pd.to_numeric(text.where(text != "", str(default)), errors="coerce").to_numpy(dtype=float)
        for i in np.flatnonzero(~(values >= 0))[:10]:
            issues.append(Issue(label, f"row {i + 2}, column {column}", f"is not a number >= 0: {frame[column].iloc[i]!r}",
                                f"a number >= 0 (blank: {'no limit' if column == 'capacity' else 0})"))
        optional[column] = values
    if issues:
        return None, issues
    return pd.DataFrame({"from": ends["from"], "to": ends["to"], "travel": travel.to_numpy(dtype=float),
                         **optional}), []


def links_within(edges: pd.DataFrame, max_travel: float, unit_ids: np.ndarray, unit_nodes: np.ndarray,
                 site_ids: list[str], source: str) -> tuple[list[tuple[str, str]], list[Issue]]:
    """``(unit, site)`` pairs within ``max_travel``, and issues (units off the network, sites off it)."""
    import networkx as nx

    graph = nx.DiGraph()
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
    pairs = []
    for site in site_ids:
        if site not in graph:
            issues.append(Issue(source, f"network: site {site}", "is not a node of the network, so no unit can "
                                "reach it through it", "a site id among the edges' nodes", severity=Severity.WARNING))
            continue
        reach = nx.single_source_dijkstra_path_length(reverse, site, cutoff=max_travel, weight="travel")
        for node in reach:
            pairs.extend((uid, site) for uid in by_node.get(node, ()))
    return pairs, issues
