"""Flow networks: per-resource edge capacities, node throughput, a nodes table, negative costs and cycles."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import allocator
from allocator.core.errors import ScenarioError
from helpers import allocated, build

TWO = [{"id": "food"}, {"id": "water"}]


def assert_feasible(scenario, result, tol=1e-6):
    """Within demand; every edge within its limits; every limited node within its throughput; and
    for one resource, each node delivers and ships on no more than its stock plus what it receives."""
    alloc = result.allocations
    assert (alloc["allocated"] <= alloc["demand"] * (1 + tol) + 1e-9).all() and (alloc["allocated"] >= -1e-9).all()
    edges = result.edges
    assert (edges["flow"] <= edges["capacity"] * (1 + tol) + 1e-9).all()
    for column in [c for c in edges.columns if c.startswith("capacity:")]:
        assert (edges["flow:" + column.split(":")[1]] <= edges[column] * (1 + tol) + 1e-9).all()
    if result.nodes is not None:
        assert (result.nodes["handled"] <= result.nodes["throughput"] * (1 + tol) + 1e-9).all()
    if len(scenario.resource_ids) == 1:
        stock = {s.id: sum(s.supply.values()) for s in scenario.sites}
        out = edges.groupby("from")["flow"].sum()
        into = edges.groupby("to")["flow"].sum()
        delivered = result.flows.groupby("site")["quantity"].sum()
        for node in stock:
            balance = delivered.get(node, 0) + out.get(node, 0) - into.get(node, 0)
            assert balance <= stock[node] * (1 + tol) + 1e-6, node


def _two_resources(**edge):
    # W holds 30 food and 30 water; one road W -> H; a (at H) asks for 20 of each
    return build(resources=TWO, sites=[{"id": "W", "supply": {"food": 30, "water": 30}}],
                 units=[{"id": "a", "demand": {"food": 20, "water": 20}, "data": {"node": "H"}}],
                 network={"mode": "flow", "edges": [{"from": "W", "to": "H", **edge}]})


def test_a_per_resource_capacity_by_hand():
    # at most 10 food on the road and 25 in total: food 10, water 15
    result = allocator.solve(_two_resources(**{"capacity": 25, "capacity:food": 10}), rule="utilitarian")
    assert allocated(result, "food") == pytest.approx({"a": 10}) and allocated(result, "water") == pytest.approx({"a": 15})
    # maxmin: the food road caps both fill rates' minimum at 10/20; the value stage fills water to the total
    result = allocator.solve(_two_resources(**{"capacity": 25, "capacity:food": 10}), rule="maxmin")
    assert result.metrics["min_fill_rate"] == pytest.approx(0.5)
    assert allocated(result, "water") == pytest.approx({"a": 15})


def test_a_per_resource_bottleneck_is_priced_and_checked_by_a_re_solve(tmp_path):
    # no total limit; the food limit alone binds: one more lb of food capacity delivers one more lb
    result = allocator.solve(_two_resources(**{"capacity:food": 10}), rule="utilitarian")
    wider = allocator.solve(_two_resources(**{"capacity:food": 11}), rule="utilitarian")
    gain = wider.metrics["total_value"] - result.metrics["total_value"]
    row = result.edges.iloc[0]
    assert row["flow:food"] == pytest.approx(10) and row["utilisation:food"] == pytest.approx(1.0)
    assert row["shadow_price:food"] == pytest.approx(gain, rel=1e-5) == pytest.approx(1.0, rel=1e-5)
    assert result.summary()["network"]["bottlenecks"] == [
        {"from": "W", "to": "H", "resource": "food", "shadow_price": pytest.approx(1.0)}]
    result.save(tmp_path / "out")
    header = (tmp_path / "out" / "edges.csv").read_text().splitlines()[0]
    assert header.endswith("flow:food,capacity:food,utilisation:food,shadow_price:food")


def _hub(throughput=None, **extra):
    # W (40 lb) -> hub H -> X (a wants 20), H -> Y (b wants 20); the hub handles at most `throughput`
    nodes = [{"id": "H", "throughput": throughput}] if throughput is not None else None
    return build(sites=[{"id": "W", "supply": {"food": 40}}],
                 units=[{"id": "a", "demand": 20, "data": {"node": "X"}}, {"id": "b", "demand": 20, "data": {"node": "Y"}}],
                 network={"mode": "flow", "edges": [{"from": "W", "to": "H"}, {"from": "H", "to": "X"},
                                                    {"from": "H", "to": "Y"}],
                          **({"nodes": nodes} if nodes else {}), **extra})


def test_a_hub_throughput_by_hand_and_its_price():
    assert allocator.solve(_hub(), rule="utilitarian").metrics["total_allocated"] == pytest.approx(40)
    result = allocator.solve(_hub(15), rule="maxmin")
    assert allocated(result) == pytest.approx({"a": 7.5, "b": 7.5})
    result = allocator.solve(_hub(15), rule="utilitarian")
    assert result.metrics["total_allocated"] == pytest.approx(15)
    gain = allocator.solve(_hub(16), rule="utilitarian").metrics["total_value"] - result.metrics["total_value"]
    node = result.nodes.set_index("node").loc["H"]
    assert node["handled"] == pytest.approx(15) and node["utilisation"] == pytest.approx(1.0)
    assert node["shadow_price"] == pytest.approx(gain, rel=1e-5) == pytest.approx(1.0, rel=1e-5)
    assert result.summary()["network"]["node_bottlenecks"] == [{"node": "H", "shadow_price": pytest.approx(1.0)}]


def test_throughput_counts_what_a_node_delivers_to_its_own_units_too():
    # a waits at the warehouse itself, b one road away; the warehouse handles 30 in all
    scenario = build(sites=[{"id": "W", "supply": {"food": 40}}],
                     units=[{"id": "a", "demand": 20, "data": {"node": "W"}}, {"id": "b", "demand": 20, "data": {"node": "H"}}],
                     network={"mode": "flow", "edges": [{"from": "W", "to": "H"}], "nodes": [{"id": "W", "throughput": 30}]})
    result = allocator.solve(scenario, rule="maxmin")
    assert allocated(result) == pytest.approx({"a": 15, "b": 15})
    assert_feasible(scenario, result)


def test_stock_can_come_from_the_nodes_table(tmp_path):
    (tmp_path / "nodes.csv").write_text("id,throughput,supply:food\nW,,40\nH,15,\n")
    (tmp_path / "routes.csv").write_text("from,to\nW,H\nH,X\nH,Y\n")
    (tmp_path / "s.yaml").write_text(
        "name: t\nresources: [{id: food}]\n"
        "units: [{id: a, demand: 20, data: {node: X}}, {id: b, demand: 20, data: {node: Y}}]\n"
        "network: {mode: flow, edges: routes.csv, nodes: nodes.csv}\n")
    scenario = allocator.load_scenario(tmp_path / "s.yaml")
    assert allocated(allocator.solve(scenario, rule="maxmin")) == pytest.approx({"a": 7.5, "b": 7.5})
    assert {role for role, *_ in scenario.inputs} >= {"nodes", "edges"}


def test_bad_nodes_tables_are_reported_all_at_once(tmp_path):
    (tmp_path / "nodes.csv").write_text("id,throughput,supply:fuel,colour\nW,-5,1,red\nW,x,,\n")
    (tmp_path / "s.yaml").write_text(
        "name: t\nresources: [{id: food}]\nsites: [{id: W, supply: {food: 4}}]\n"
        "units: [{id: a, demand: 2, data: {node: W}}]\n"
        "network: {mode: flow, edges: [{from: W, to: H}], nodes: nodes.csv}\n")
    with pytest.raises(ScenarioError) as caught:
        allocator.load_scenario(tmp_path / "s.yaml")
    text = str(caught.value)
    for expected in ("unknown column 'supply:fuel'", "unknown column 'colour'", "row 2, column throughput",
                     "row 3, column throughput", "listed twice"):
        assert expected in text, (expected, text)
    assert "nodes.csv" in text


def test_supply_given_twice_and_nodes_outside_flow_mode_are_refused():
    doc = dict(sites=[{"id": "W", "supply": {"food": 4}}], units=[{"id": "a", "demand": 2, "data": {"node": "H"}}])
    with pytest.raises(ScenarioError, match="has supply here and under 'sites'"):
        build(**doc, network={"mode": "flow", "edges": [{"from": "W", "to": "H"}],
                              "nodes": [{"id": "W", "supply:food": 3}]})
    with pytest.raises(ScenarioError, match="only used by flow networks"):
        build(**doc, network={"edges": [{"from": "H", "to": "W"}], "max_travel": 1, "nodes": [{"id": "W"}]})


def test_a_negative_cost_is_a_rebate_and_a_negative_cycle_is_refused():
    doc = dict(sites=[{"id": "W", "supply": {"food": 40}}],
               units=[{"id": "a", "demand": 20, "value": 0.5, "data": {"node": "H"}}])
    # a lb is worth 0.5 and the road pays 1 per lb shipped: worth shipping under value minus cost
    rebate = build(**doc, network={"mode": "flow", "objective": "value_minus_cost",
                                   "edges": [{"from": "W", "to": "H", "cost": -1}]})
    result = allocator.solve(rebate, rule="utilitarian")
    assert allocated(result) == pytest.approx({"a": 20}) and result.summary()["network"]["transport_cost"] == -20
    with pytest.raises(ScenarioError, match=r"the cycle H -> Q -> H has a negative total cost"):
        build(**doc, network={"mode": "flow", "edges": [{"from": "W", "to": "H"}, {"from": "H", "to": "Q", "cost": -3},
                                                        {"from": "Q", "to": "H", "cost": 2}]})


@pytest.mark.parametrize("seed", range(6))
def test_throughput_and_per_resource_limits_match_networkx_maximum_flow(seed):
    # one resource: a node's throughput is an in -> out edge once the node is split, and a
    # per-resource capacity tightens the total one; networkx's max flow must equal the most delivered
    rng = np.random.default_rng(seed)
    nodes = [f"v{i}" for i in range(10)]
    edges = [{"from": nodes[a], "to": nodes[b], "capacity": int(rng.integers(2, 15)),
              "capacity:food": int(rng.integers(1, 15))} for a, b in rng.integers(0, 10, (25, 2)) if a != b]
    limits = [{"id": n, "throughput": int(rng.integers(3, 20))} for n in nodes if rng.random() < 0.5]
    sites = [{"id": n, "supply": {"food": int(rng.integers(5, 25))}} for n in nodes[:3]]
    units = [{"id": f"u{i}", "demand": int(rng.integers(3, 12)), "data": {"node": nodes[int(rng.integers(0, 10))]}}
             for i in range(8)]
    scenario = build(sites=sites, units=units, network={"mode": "flow", "edges": edges, "nodes": limits})
    result = allocator.solve(scenario, rule="utilitarian")
    assert_feasible(scenario, result)
    cap = {n["id"]: n["throughput"] for n in limits}
    graph = nx.DiGraph()

    def add(tail, head, capacity):
        old = graph[tail][head]["capacity"] if graph.has_edge(tail, head) else 0
        graph.add_edge(tail, head, capacity=old + capacity)

    for n in nodes:  # n:in receives, n:out sends and delivers; the split edge carries the throughput
        graph.add_edge(f"{n}:in", f"{n}:out", **({"capacity": cap[n]} if n in cap else {}))
    for e in edges:
        add(f"{e['from']}:out", f"{e['to']}:in", min(e["capacity"], e["capacity:food"]))
    for s in sites:
        add("SOURCE", f"{s['id']}:in", s["supply"]["food"])
    for u in units:
        add(f"{u['data']['node']}:out", f"unit:{u['id']}", u["demand"])
        add(f"unit:{u['id']}", "SINK", u["demand"])
    expected = nx.maximum_flow_value(graph, "SOURCE", "SINK")
    assert result.metrics["total_allocated"] == pytest.approx(expected, abs=1e-6)
    node_table = result.nodes.set_index("node")
    assert (node_table["handled"] <= node_table["throughput"] * (1 + 1e-6) + 1e-9).all()


@pytest.mark.parametrize("rule", ["maxmin", "utilitarian", "leximin"])
def test_highs_and_pulp_agree_on_a_network_with_every_limit(rule):
    scenario = build(resources=TWO, sites=[{"id": "W", "supply": {"food": 30, "water": 25}}],
                     units=[{"id": "a", "demand": {"food": 20, "water": 10}, "data": {"node": "X"}},
                            {"id": "b", "demand": {"food": 15, "water": 20}, "data": {"node": "Y"}}],
                     network={"mode": "flow", "budget": 90,
                              "edges": [{"from": "W", "to": "H", "capacity": 50, "cost": 1},
                                        {"from": "H", "to": "X", "capacity:water": 4, "cost": 1},
                                        {"from": "H", "to": "Y", "capacity:food": 9, "cost": 2}],
                              "nodes": [{"id": "H", "throughput": 40}]})
    highs, pulp = allocator.solve(scenario, rule=rule), allocator.solve(scenario, rule=rule, solver="pulp")
    assert_feasible(scenario, highs)
    assert pulp.metrics["total_value"] == pytest.approx(highs.metrics["total_value"], abs=1e-5)
    if rule != "utilitarian":  # utilitarian optima may spread the same total differently
        assert pulp.metrics["min_fill_rate"] == pytest.approx(highs.metrics["min_fill_rate"], abs=1e-5)
    if rule == "leximin":
        assert allocated(pulp, "food") == pytest.approx(allocated(highs, "food"), abs=1e-5)
