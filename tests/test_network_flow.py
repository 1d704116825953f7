"""Flow networks: supply moves along capacitated, costed edges to the units' nodes."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator
from helpers import allocated, assert_feasible, build


def test_a_capacitated_two_tier_network_by_hand():
    # warehouse W (30 lb) ships to hub H1 (at most 10) and hub H2 (at most 25); a waits at H1, b at H2
    scenario = build(sites=[{"id": "W", "supply": {"food": 30}}],
                     units=[{"id": "a", "demand": 20, "data": {"node": "H1"}}, {"id": "b", "demand": 20, "data": {"node": "H2"}}],
                     network={"mode": "flow", "edges": [{"from": "W", "to": "H1", "capacity": 10},
                                                        {"from": "W", "to": "H2", "capacity": 25}]})
    assert allocated(allocator.solve(scenario, rule="maxmin")) == pytest.approx({"a": 10, "b": 20})
    assert allocated(allocator.solve(scenario, rule="utilitarian")) == pytest.approx({"a": 10, "b": 20})


def test_a_one_tier_network_gives_exactly_the_core_answer_on_the_same_links():
    rng = np.random.default_rng(3)
    sites = [{"id": f"s{j}", "supply": {"food": int(rng.integers(5, 30))}} for j in range(3)]
    units = [{"id": f"u{i}", "demand": int(rng.integers(5, 20)), "data": {"node": f"n{i}"}} for i in range(6)]
    links = [(f"u{i}", f"s{j}") for i in range(6) for j in range(3) if rng.random() < 0.5]
    with_links = build(sites=sites, units=units, links=[{"unit": u, "site": s} for u, s in links])
    as_network = build(sites=sites, units=units, network={"mode": "flow", "edges": [
        {"from": s, "to": f"n{u[1:]}"} for u, s in links]})
    for rule in ("leximin", "proportional"):  # unique amounts
        a, b = allocated(allocator.solve(with_links, rule=rule)), allocated(allocator.solve(as_network, rule=rule))
        assert b == pytest.approx(a, abs=1e-6), rule
    for rule in ("maxmin", "utilitarian"):  # unique level and value; amounts may tie
        a, b = allocator.solve(with_links, rule=rule), allocator.solve(as_network, rule=rule)
        assert b.metrics["total_value"] == pytest.approx(a.metrics["total_value"], abs=1e-6), rule
        assert b.metrics["min_fill_rate"] == pytest.approx(a.metrics["min_fill_rate"], abs=1e-6), rule


def test_the_most_delivered_is_networkx_maximum_flow():
    rng = np.random.default_rng(8)
    nodes = [f"v{i}" for i in range(12)]
    edges = [{"from": nodes[a], "to": nodes[b], "capacity": int(rng.integers(1, 15))}
             for a, b in rng.integers(0, 12, (30, 2)) if a != b]
    sites = [{"id": n, "supply": {"food": int(rng.integers(5, 25))}} for n in nodes[:3]]
    units = [{"id": f"u{i}", "demand": int(rng.integers(3, 12)), "data": {"node": nodes[int(rng.integers(3, 12))]}}
             for i in range(8)]
    scenario = build(sites=sites, units=units, network={"mode": "flow", "edges": edges})
    result = allocator.solve(scenario, rule="utilitarian")
    graph = nx.DiGraph()
    for e in edges:  # parallel edges add up
        old = graph[e["from"]][e["to"]]["capacity"] if graph.has_edge(e["from"], e["to"]) else 0
        graph.add_edge(e["from"], e["to"], capacity=old + e["capacity"])
    for s in sites:
        graph.add_edge("SOURCE", s["id"], capacity=s["supply"]["food"])
    for u in units:
        graph.add_edge(u["data"]["node"], f"unit:{u['id']}", capacity=u["demand"])
        graph.add_edge(f"unit:{u['id']}", "SINK", capacity=u["demand"])
    assert result.metrics["total_allocated"] == pytest.approx(nx.maximum_flow_value(graph, "SOURCE", "SINK"), abs=1e-6)


@pytest.mark.parametrize("budget, delivered", [(10, 5), (40, 20), (1000, 25)])
def test_a_transport_budget_binds_or_not(budget, delivered):
    # one road W -> T costing 2 per lb; 25 lb asked at T, 30 in stock: the budget buys budget / 2 lb
    scenario = build(sites=[{"id": "W", "supply": {"food": 30}}],
                     units=[{"id": "a", "demand": 25, "data": {"node": "T"}}],
                     network={"mode": "flow", "budget": budget, "edges": [{"from": "W", "to": "T", "cost": 2}]})
    result = allocator.solve(scenario, rule="utilitarian")
    assert result.metrics["total_allocated"] == pytest.approx(delivered, abs=1e-6)


def test_flow_networks_refuse_listed_links_and_keep_every_unit_feasible():
    with pytest.raises(allocator.ScenarioError, match="cannot be listed too"):
        build(sites=[{"id": "W", "supply": {"food": 3}}], units=[{"id": "a", "demand": 2, "data": {"node": "W"}}],
              links=[{"unit": "a", "site": "W"}], network={"mode": "flow", "edges": [{"from": "W", "to": "X"}]})
    scenario = build(sites=[{"id": "W", "supply": {"food": 3}}], units=[{"id": "a", "demand": 2, "data": {"node": "W"}}],
                     network={"mode": "flow", "edges": [{"from": "W", "to": "X"}]})
    assert_feasible(scenario, allocator.solve(scenario, rule="maxmin"))


def _hubs(capacity: float, stock: float = 40):
    return build(sites=[{"id": "W", "supply": {"food": stock}}],
                 units=[{"id": "a", "demand": 20, "data": {"node": "H1"}}, {"id": "b", "demand": 20, "data": {"node": "H2"}}],
                 network={"mode": "flow", "edges": [{"from": "W", "to": "H1", "capacity": capacity, "cost": 1},
                                                    {"from": "W", "to": "H2", "capacity": 25, "cost": 2}]})


def test_edge_flows_utilisation_and_the_price_of_a_bottleneck(tmp_path):
    # 40 lb in stock; W -> H1 carries at most 10 of a's 20: it is the bottleneck, worth 1 lb per unit of capacity
    result = allocator.solve(_hubs(10), rule="utilitarian")
    edges = result.edges.set_index("to")
    assert edges.loc["H1", "flow"] == pytest.approx(10) and edges.loc["H1", "utilisation"] == pytest.approx(1.0)
    assert edges.loc["H2", "flow"] == pytest.approx(20) and edges.loc["H2", "utilisation"] == pytest.approx(0.8)
    assert edges["transport_cost"].sum() == pytest.approx(10 * 1 + 20 * 2)
    wider = allocator.solve(_hubs(11), rule="utilitarian")
    gain = wider.metrics["total_value"] - result.metrics["total_value"]
    assert edges.loc["H1", "shadow_price"] == pytest.approx(gain, rel=1e-5) == pytest.approx(1.0, rel=1e-5)
    assert result.summary()["network"]["bottlenecks"] == [{"from": "W", "to": "H1", "shadow_price": pytest.approx(1.0)}]
    result.save(tmp_path / "out")
    assert (tmp_path / "out" / "edges.csv").read_text().splitlines()[0] == \
        "from,to,flow,capacity,utilisation,cost,transport_cost,shadow_price"


def test_value_minus_cost_ships_only_where_it_pays():
    # each lb is worth 1.5; the road to H1 costs 1 per lb, the road to H2 costs 2: only H1 is worth serving
    doc = dict(sites=[{"id": "W", "supply": {"food": 40}}],
               units=[{"id": "a", "demand": 20, "value": 1.5, "data": {"node": "H1"}},
                      {"id": "b", "demand": 20, "value": 1.5, "data": {"node": "H2"}}])
    edges = [{"from": "W", "to": "H1", "cost": 1}, {"from": "W", "to": "H2", "cost": 2}]
    net = allocator.solve(build(**doc, network={"mode": "flow", "objective": "value_minus_cost", "edges": edges}),
                          rule="utilitarian")
    assert allocated(net) == pytest.approx({"a": 20, "b": 0}, abs=1e-6)
    gross = allocator.solve(build(**doc, network={"mode": "flow", "edges": edges}), rule="utilitarian")
    assert allocated(gross) == pytest.approx({"a": 20, "b": 20}, abs=1e-6)


def test_disconnected_nodes_and_idle_sites_are_warned_about():
    scenario = build(sites=[{"id": "W", "supply": {"food": 5}}, {"id": "far", "supply": {"food": 5}}],
                     units=[{"id": "a", "demand": 2, "data": {"node": "H"}}, {"id": "b", "demand": 2, "data": {"node": "Q"}}],
                     network={"mode": "flow", "edges": [{"from": "W", "to": "H"}, {"from": "Q", "to": "far"}]})
    messages = [w.message for w in scenario.warnings]
    assert any("no supply can reach node(s) Q" in m for m in messages)
    assert any("site(s) far reach no unit" in m for m in messages)


def test_the_network_is_drawn_in_plot_and_report(tmp_path):
    from typer.testing import CliRunner

    from allocator.cli.app import app

    (tmp_path / "s.yaml").write_text(
        "name: net\nresources: [{id: food}]\nsites: [{id: W, supply: {food: 30}}]\n"
        "units: [{id: a, demand: 20, data: {node: H1}}, {id: b, demand: 20, data: {node: H2}}]\n"
        "network: {mode: flow, edges: [{from: W, to: H1, capacity: 10}, {from: W, to: H2, capacity: 25}]}\n")
    runner = CliRunner()
    result = runner.invoke(app, ["plot", str(tmp_path / "s.yaml"), "--rules", "utilitarian", "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "network.png").read_bytes().startswith(b"\x89PNG")
    result = runner.invoke(app, ["report", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert "<h2>The network</h2>" in (tmp_path / "r.html").read_text()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=30),
       st.sets(st.integers(0, 11), min_size=1, max_size=3))
def test_reachability_matches_networkx_descendants(count, pairs, starts):
    from allocator.scenario.sections import _reachable

    pairs = [(a % count, b % count) for a, b in pairs]
    starts = sorted({s % count for s in starts})
    graph = nx.DiGraph()
    graph.add_nodes_from(range(count))
    graph.add_edges_from(pairs)
    expected = set(starts).union(*(nx.descendants(graph, s) for s in starts))
    tails = np.array([a for a, _ in pairs], dtype=np.int64)
    heads = np.array([b for _, b in pairs], dtype=np.int64)
    seen = _reachable(tails, heads, np.array(starts, dtype=np.int64), count)
    assert set(np.flatnonzero(seen).tolist()) == expected
