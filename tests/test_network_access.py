"""Access from a road network: links within a travel limit, by shortest paths (networkx)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import allocator
from helpers import build, linked_pairs

# a one-way chain A -> B -> C (10 each) and a two-way spur B <-> D (5); sites at A, C and D
EDGES = [{"from": "A", "to": "B", "travel": 10}, {"from": "B", "to": "C", "travel": 10},
         {"from": "B", "to": "D", "travel": 5}, {"from": "D", "to": "B", "travel": 5}]
SITES = [{"id": "A", "supply": {"food": 10}}, {"id": "C", "supply": {"food": 10}}, {"id": "D", "supply": {"food": 10}}]
UNITS = [{"id": "ua", "demand": 5, "data": {"node": "A"}}, {"id": "ub", "demand": 5, "data": {"node": "B"}},
         {"id": "ud", "demand": 5, "data": {"node": "D"}}]


@pytest.mark.parametrize("limit, expected", [
    (0, {("ua", "A"), ("ud", "D")}),                                           # only where they stand
    (5, {("ua", "A"), ("ud", "D"), ("ub", "D")}),                              # B -> D is 5
    (10, {("ua", "A"), ("ud", "D"), ("ub", "D"), ("ub", "C")}),               # B -> C is 10
    (15, {("ua", "A"), ("ud", "D"), ("ub", "D"), ("ub", "C"), ("ud", "C"), ("ua", "D")}),  # D->B->C, A->B->D
    (20, {("ua", "A"), ("ud", "D"), ("ub", "D"), ("ub", "C"), ("ud", "C"), ("ua", "D"), ("ua", "C")}),
])
def test_links_within_the_travel_limit_by_hand(limit, expected):
    scenario = build(units=UNITS, sites=SITES, network={"edges": EDGES, "max_travel": limit})
    assert linked_pairs(scenario) == expected  # nobody reaches A but ua: the chain is one-way


def test_network_links_agree_with_networkx_shortest_paths_on_a_random_graph():
    rng = np.random.default_rng(5)
    nodes = [f"n{i}" for i in range(30)]
    edges = [{"from": nodes[a], "to": nodes[b], "travel": int(rng.integers(1, 20))}
             for a, b in rng.integers(0, 30, (90, 2)) if a != b]
    sites = [{"id": n, "supply": {"food": 5}} for n in nodes[:6]]
    units = [{"id": f"u{i}", "demand": 1, "data": {"node": nodes[int(rng.integers(0, 30))]}} for i in range(40)]
    scenario = build(units=units, sites=sites, network={"edges": edges, "max_travel": 25})
    graph = nx.DiGraph()
    for e in edges:
        if not graph.has_edge(e["from"], e["to"]) or graph[e["from"]][e["to"]]["w"] > e["travel"]:
            graph.add_edge(e["from"], e["to"], w=e["travel"])
    expected = set()
    for unit in units:
        node = unit["data"]["node"]
        if node not in graph:
            continue
        reach = nx.single_source_dijkstra_path_length(graph, node, weight="w")
        expected |= {(unit["id"], s["id"]) for s in sites if reach.get(s["id"], np.inf) <= 25}
    assert linked_pairs(scenario) == expected


def test_network_links_add_to_listed_links_and_solve():
    scenario = build(units=UNITS, sites=SITES, network={"edges": EDGES, "max_travel": 0},
                     links=[{"unit": "ub", "site": "A"}, {"unit": "ua", "site": "A"}])
    assert linked_pairs(scenario) == {("ua", "A"), ("ud", "D"), ("ub", "A")}
    result = allocator.solve(scenario, rule="maxmin")
    assert result.allocations["fill_rate"].min() == pytest.approx(1.0)


def test_network_problems_are_named(tmp_path):
    units = UNITS + [{"id": "lost", "demand": 1, "data": {"node": "Z"}}]
    with pytest.raises(allocator.ScenarioError) as info:
        build(units=units, sites=SITES, network={"edges": EDGES + [{"from": "A", "to": "", "travel": -1}],
                                                 "max_travel": 10})
    assert "is not a travel time >= 0" in str(info.value) and "an edge needs both ends" in str(info.value)
    with pytest.raises(allocator.ScenarioError) as info:
        build(units=units, sites=SITES, network={"edges": EDGES, "max_travel": 10})
    assert "unit lost: its node 'Z' is not on the network" in str(info.value)
    with pytest.raises(allocator.ScenarioError) as info:
        build(units=[{"id": "u", "demand": 1}], sites=SITES, network={"edges": EDGES, "max_travel": 10})
    assert "a network needs a 'node' column" in str(info.value)
    (tmp_path / "edges.csv").write_text("from,to,travel\nA,B,10\nB,C,10\n")
    (tmp_path / "s.yaml").write_text("name: t\nresources: [{id: food}]\nsites: [{id: C, supply: {food: 9}}]\n"
                                     "units: [{id: u, demand: 3, data: {node: A}}]\n"
                                     "network: {edges: edges.csv, max_travel: 20}\n")
    scenario = allocator.load_scenario(tmp_path / "s.yaml")
    assert linked_pairs(scenario) == {("u", "C")}
    assert [role for role, _, _ in scenario.inputs] == ["scenario", "edges"]
