"""The library API as researchers use it (issue #15): a read-only Scenario with one validated way
to derive variants, rules and constraints accepted in every form at every entry point, and a
comparison that carries on past a rule that cannot meet the constraints."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import allocator
from allocator.cli.app import app
from allocator.constraints.floor import Floor
from allocator.core.errors import ScenarioError, UsageError
from allocator.report.html import build_report, render_html, save_charts
from allocator.rules.maxmin import MaxMin as Maxmin
from allocator.tradeoffs.comparison import compare

SCENARIOS = sorted(Path(__file__).resolve().parent.parent.glob("scenarios/*/scenario.yaml"))


def pool() -> allocator.Scenario:
    """Two units, 8 and 4 of demand, 10 in one pool; groups by region."""
    return allocator.scenario_from_dict({
        "name": "pool", "resources": [{"id": "food"}], "supply": {"food": 10}, "groups": ["region"],
        "units": [{"id": "a", "demand": 8, "groups": {"region": "north"}},
                  {"id": "b", "demand": 4, "groups": {"region": "south"}}]})


def sited() -> allocator.Scenario:
    return allocator.scenario_from_dict({
        "name": "sited", "resources": [{"id": "food"}],
        "sites": [{"id": "n", "supply": {"food": 2}}, {"id": "s", "supply": {"food": 8}}],
        "units": [{"id": "a", "demand": 10}, {"id": "b", "demand": 10}],
        "links": [{"unit": "a", "site": "n"}, {"unit": "b", "site": "s"}]})


# --- 1. the scenario is read-only; replace() derives a validated variant ---------------------------

def test_nothing_inside_a_scenario_can_be_changed_in_place():
    s, t = pool(), sited()
    with pytest.raises(TypeError):
        t.sites[0].supply["food"] = 2e5
    with pytest.raises(TypeError):
        s.supply["food"] = 2e5
    with pytest.raises(ValueError):
        s.units.demand[0, 0] = 1.0
    with pytest.raises(ValueError):
        s.units.groups["region"][0] = "south"
    with pytest.raises(ValueError):
        t.links.site_codes[0] = 1
    rule = allocator.RULES.one({"name": "formula", "weights": {"poverty": 1.0}})
    with pytest.raises(TypeError):
        rule.weights["poverty"] = -5.0
    # still 2 and 8 at the sites: maxmin gives a 2/10 and b 8/10
    assert allocator.solve(t, rule="maxmin").allocations["fill_rate"].round(6).tolist() == [0.2, 0.8]


def test_model_copy_validates_instead_of_solving_a_negative_supply():
    s = pool()
    with pytest.raises(ScenarioError, match="supply.food"):
        s.model_copy(update={"supply": {"food": -5}})
    with pytest.raises(ScenarioError):
        sited().sites[0].model_copy(update={"supply": {"food": -5}})


def test_replace_derives_a_variant_that_solves():
    s = pool()
    v = s.replace(supply={"food": 6})
    # maxmin: equal fill rates t with 8t + 4t = 6, so t = 0.5: a gets 4, b gets 2
    assert dict(v.supply) == {"food": 6.0}
    assert allocator.solve(v, rule="maxmin").allocations["allocated"].round(6).tolist() == [4.0, 2.0]
    assert dict(s.supply) == {"food": 10.0}  # the original is untouched
    ruled = s.replace(rule="utilitarian", constraints="floor:share=0.5")
    assert ruled.rule.key == "utilitarian" and ruled.constraints == (Floor(share=0.5),)
    assert ruled != s and s.replace() == s


def test_replace_reads_table_paths_beside_the_scenario_file():
    shipped = allocator.load_scenario(SCENARIOS[[p.parent.name for p in SCENARIOS].index("food-bank")])
    again = shipped.replace(units="units.csv", links="links.csv")
    assert again == shipped and again.inputs == ()


def test_replace_refuses_what_loading_refuses():
    s = pool()
    with pytest.raises(ScenarioError) as caught:
        s.replace(supply={"food": -1}, colour="red")
    assert [i.location for i in caught.value.issues] == ["colour"]
    with pytest.raises(ScenarioError) as caught:
        s.replace(supply={"food": -1}, rule="maxmin:over=nowhere", constraints=["floor:share=2"])
    # every problem at once: the supply, the rule's group attribute, the constraint's share
    assert [i.location for i in caught.value.issues] == ["constraints[0].share", "supply.food", "rule.over"]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.parent.name)
def test_every_shipped_scenario_round_trips_through_model_dump(path):
    scenario = allocator.load_scenario(path)
    again = allocator.scenario_from_dict(scenario.model_dump())
    assert again == scenario
    assert again.replace(description="changed") != scenario


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(demands=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=6),
       supply=st.floats(0, 1e6, allow_nan=False), with_sites=st.booleans(), rule=st.sampled_from(
           ["maxmin", "utilitarian", "leximin", "proportional"]), floor=st.one_of(st.none(), st.floats(0, 1)))
def test_built_scenarios_round_trip_through_model_dump(demands, supply, with_sites, rule, floor):
    units = [{"id": f"u{k}", "demand": d, "value": 1 + k, "groups": {"g": "x" if k % 2 else "y"}}
             for k, d in enumerate(demands)]
    document = {"name": "built", "resources": [{"id": "r", "unit": "kg"}], "units": units, "groups": ["g"],
                "rule": rule, "constraints": [] if floor is None else [{"type": "floor", "share": floor}]}
    if with_sites:
        document["sites"] = [{"id": "s1", "supply": {"r": supply}}, {"id": "s2", "supply": {"r": supply / 2}}]
        document["links"] = [{"unit": u["id"], "site": "s1" if k % 2 else "s2"} for k, u in enumerate(units)]
    else:
        document["supply"] = {"r": supply}
    scenario = allocator.scenario_from_dict(document)
    assert allocator.scenario_from_dict(scenario.model_dump()) == scenario


# --- 2. rules and constraints in every form, at every entry point ---------------------------------

def test_simulate_reads_a_single_rule_name_as_one_rule():
    table = allocator.simulate(pool(), rules="maxmin", draws=2, seed=1, cv=0.1).table
    assert table["rule"].unique().tolist() == ["maxmin"]


def test_solve_reads_one_constraint_mapping_as_one_constraint():
    result = allocator.solve(pool(), rule="maxmin", constraints={"type": "floor", "share": 0.2})
    assert result.constraints == [{"type": "floor", "share": 0.2, "resource": None}]


@pytest.mark.parametrize("rule", ["maxmin:over=region", "{name: maxmin, over: region}",
                                  {"name": "maxmin", "over": "region"}, Maxmin(over="region")])
@pytest.mark.parametrize("constraints", ["floor:share=0.2", ["floor:share=0.2"], Floor(share=0.2),
                                         [{"type": "floor", "share": 0.2}], ("floor:share=0.2",)])
def test_solve_and_compile_accept_every_form(rule, constraints):
    model = allocator.compile(pool(), rule=rule, constraints=constraints)
    assert model.rule == Maxmin(over="region") and model.constraints == (Floor(share=0.2),)
    assert allocator.solve(pool(), rule=rule, constraints=constraints).rule["over"] == "region"


def test_compare_accepts_bare_names_and_a_single_string():
    assert allocator.compare(pool(), rules=["maxmin", "utilitarian"]).table.index.tolist() == ["maxmin", "utilitarian"]
    assert allocator.compare(pool(), rules="maxmin").table.index.tolist() == ["maxmin"]
    assert allocator.compare(pool(), rules="utilitarian,maxmin:over=region").table.index.tolist() == [
        "utilitarian", "maxmin(over=region)"]
    with pytest.raises(UsageError, match="twice"):
        allocator.compare(pool(), rules=["maxmin", {"name": "maxmin"}])


def test_the_other_entry_points_accept_cli_strings(tmp_path):
    from allocator.accountability.disparity import disparity
    from allocator.accountability.export import export
    from allocator.simulation.bounds import bounds
    from allocator.solving.diagnose import diagnose
    from allocator.tradeoffs.lottery import lottery

    s = pool()
    whole = allocator.scenario_from_dict({"name": "slots", "resources": [{"id": "slot", "divisible": False}],
                                          "supply": {"slot": 1}, "units": [{"id": "a", "demand": 1},
                                                                           {"id": "b", "demand": 1}]})
    assert lottery(whole, rule="{name: maxmin}", draws=0, constraints="floor:share=0.1").rule == "maxmin"
    assert diagnose(s, rule="maxmin", constraints="floor:share=0.2").feasible
    assert disparity(s, "region", rule="maxmin:over=region").rule == "maxmin(over=region)"
    assert export(s, tmp_path / "m.lp", rule="utilitarian", constraints={"type": "floor", "share": 0.1}).exists()
    ranged = allocator.scenario_from_dict({"name": "pool", "resources": [{"id": "food"}], "supply": {"food": 10},
        "units": [{"id": "a", "demand": 10, "data": {"demand_low": 5, "demand_high": 20}}]})
    assert len(bounds(ranged, rule="maxmin:", samples=2).table)


def test_frontier_takes_the_constraint_as_a_spec_too():
    s = pool()
    by_kind = allocator.frontier(s, "group_gap", [0.5, 0.0], attribute="region").table
    for spec in ("group_gap:attribute=region", {"type": "group_gap", "attribute": "region", "max_gap": 0.1}):
        assert allocator.frontier(s, spec, [0.5, 0.0]).table.equals(by_kind)
    # gap 0: both regions at the same rate t, 12t <= 10, so all 10 delivered (value 10)
    assert by_kind["total_value"].round(6).tolist() == [10.0, 10.0]


def test_a_bad_rule_or_constraint_is_a_usage_error_naming_it():
    s = pool()
    with pytest.raises(UsageError, match="got 3"):
        allocator.solve(s, rule=3)
    with pytest.raises(UsageError, match="not a rule"):
        allocator.solve(s, rule=Floor(share=0.2))
    with pytest.raises(UsageError, match=r"constraints\[1\].*unknown constraint 'flor'"):
        allocator.solve(s, rule="maxmin", constraints=["floor:share=0.2", "flor:share=0.2"])


# --- 3. one infeasible comparison rule does not abort the comparison ---------------------------

def water_scenario(tmp_path: Path | None = None):
    """Food 10 and water 1 in a pool; a wants 10 of each, b 10 food; a floor of half the food.

    proportional gives every pair the same fill rate t: water caps t at 1/10, the floor needs
    t >= 1/2 on food, so it is infeasible. maxmin (the scenario's rule) gives each 5 food."""
    text = """name: water
resources: [{id: food}, {id: water}]
supply: {food: 10, water: 1}
groups: [town]
units:
  - {id: a, demand: {food: 10, water: 10}, groups: {town: north}}
  - {id: b, demand: {food: 10}, groups: {town: south}}
rule: maxmin
constraints: [{type: floor, share: 0.5, resource: food}]
"""
    if tmp_path is None:
        import yaml

        return allocator.scenario_from_dict(yaml.safe_load(text))
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_compare_marks_the_infeasible_rule_and_carries_on():
    comparison = compare(water_scenario())
    table = comparison.table
    assert table["status"].to_dict() == {"utilitarian": "optimal", "proportional": "infeasible",
                                         "maxmin": "optimal", "leximin": "optimal", "nash": "optimal"}
    assert "floor(share=0.5, resource=food)" in table.at["proportional", "reason"]
    assert math.isnan(table.at["proportional", "total_value"])
    # utilitarian: all 10 food and the 1 water delivered, value 11
    assert table.at["utilitarian", "total_value"] == pytest.approx(11.0)
    assert set(comparison.infeasible) == {"proportional"} and "proportional" not in comparison.results
    assert np.isnan(comparison.per_unit["proportional"]).all()


def test_report_and_charts_show_the_infeasible_rule(tmp_path):
    report = build_report(water_scenario())
    page = render_html(report)
    assert "proportional is infeasible" in page
    save_charts(report, tmp_path / "charts")
    summary = json.loads((tmp_path / "charts" / "summary.json").read_text())
    assert list(summary["infeasible"]) == ["proportional"]


@pytest.mark.parametrize("command", ["compare", "report", "plot"])
def test_cli_writes_despite_an_infeasible_comparison_rule(tmp_path, command):
    scenario = water_scenario(tmp_path)
    out = tmp_path / ("report.html" if command == "report" else "out")
    result = CliRunner().invoke(app, [command, str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "proportional" in result.output and out.exists()
    if command == "compare":
        table = (out / "comparison.csv").read_text()
        assert "infeasible" in table


def test_the_report_still_refuses_when_the_scenarios_own_rule_is_infeasible():
    scenario = water_scenario().replace(rule="proportional")
    with pytest.raises(allocator.InfeasibleError):
        build_report(scenario)


def test_a_bad_uncertainty_mapping_is_a_usage_error_not_a_traceback():
    with pytest.raises(UsageError, match=r"uncertainty\.demand\.cv"):
        allocator.simulate(pool(), rules="maxmin", draws=2, uncertainty={"demand": {"cv": -1}})


def test_a_flow_networks_edge_arrays_are_read_only():
    scenario = allocator.scenario_from_dict({
        "name": "flow", "resources": [{"id": "food"}], "sites": [{"id": "W", "supply": {"food": 30}}],
        "units": [{"id": "a", "demand": 20, "data": {"node": "H1"}}],
        "network": {"mode": "flow", "edges": [{"from": "W", "to": "H1", "capacity": 10}]}})
    with pytest.raises(ValueError):
        scenario.network.capacity[0] = 1e9
    # the edge still carries at most 10 of a's 20
    assert allocator.solve(scenario, rule="maxmin").allocations["allocated"].round(6).tolist() == [10.0]
    assert allocator.scenario_from_dict(scenario.model_dump()) == scenario


FLOW_NETWORKS = [
    # a warehouse, a hub without stock, two pantries; capacities total and per resource, costs, a budget,
    # throughput limits on the hub, value minus cost
    {"mode": "flow", "edges": [{"from": "W", "to": "H", "capacity": 25, "cost": 1.5},
                               {"from": "H", "to": "P1", "cost": 0.5, "capacity:water": 4},
                               {"from": "H", "to": "P2"}, {"from": "Q", "to": "P2", "capacity": 3}],
     "nodes": [{"id": "H", "throughput": 18}], "budget": 60, "objective": "value_minus_cost"},
    {"mode": "flow", "edges": [{"from": "W", "to": "P1"}, {"from": "Q", "to": "P2", "cost": 2}]},
]


@pytest.mark.parametrize("network", FLOW_NETWORKS)
def test_a_flow_network_scenario_round_trips_and_solves_the_same(network):
    # before: model_dump refused every flow-mode network ("cannot be turned back into a document yet")
    scenario = allocator.scenario_from_dict({
        "name": "flow", "resources": [{"id": "food"}, {"id": "water"}],
        "sites": [{"id": "W", "supply": {"food": 30, "water": 10}}, {"id": "Q", "supply": {"food": 5}}],
        "units": [{"id": "a", "demand": {"food": 20, "water": 6}, "data": {"node": "P1"}},
                  {"id": "b", "demand": {"food": 12}, "data": {"node": "P2"}}],
        "network": network})
    again = allocator.scenario_from_dict(scenario.model_dump())
    assert again == scenario
    first, second = allocator.solve(scenario, rule="leximin"), allocator.solve(again, rule="leximin")
    assert first.allocations.equals(second.allocations)
    variant = scenario.replace(supply=None, sites=[{"id": "W", "supply": {"food": 10, "water": 10}},
                                                    {"id": "Q", "supply": {"food": 5}}])
    assert allocator.solve(variant, rule="utilitarian").metrics["total_allocated"] <= 25 + 1e-9


def test_second_review_forms_read_alike_everywhere():
    # one flow mapping as a rules list, a comma-separated constraint list in replace, and replace(rule=None)
    # refused as loading refuses `rule: null` (before: a YAML error, "unknown key", and the old rule kept)
    from allocator.core.errors import ScenarioError
    from allocator.scenario.rules import RULES

    assert [r.key for r in RULES.many("{name: alpha, alpha: 2}")] == ["alpha"]
    scenario = allocator.load_scenario(Path(__file__).resolve().parent.parent / "scenarios" / "food-bank" / "scenario.yaml")
    variant = scenario.replace(constraints="floor:share=0.2,group_gap:attribute=region,max_gap=0.3")
    assert [c.key for c in variant.constraints] == ["floor", "group_gap"]
    with pytest.raises(ScenarioError):
        scenario.replace(rule=None)
    # a read-only array cannot be made writable again (it is a view of a read-only copy)
    with pytest.raises(ValueError):
        scenario.units.demand.setflags(write=True)


# --- 5. every public function checks its arguments at the boundary (issue #22) ----------------------

def _public_calls():
    """``name -> (function, valid keyword arguments)`` for every public function, on tiny inputs."""
    from functools import partial

    from allocator.accountability.disparity import disparity
    from allocator.accountability.explain import explain
    from allocator.accountability.verify import verify
    from allocator.results.result import save_excel
    from allocator.simulation.bounds import bounds
    from allocator.solving.diagnose import diagnose
    from allocator.tradeoffs.lottery import lottery

    s = allocator.scenario_from_dict({
        "name": "pool", "resources": [{"id": "food"}], "supply": {"food": 10}, "groups": ["region"],
        "units": [{"id": "a", "demand": 8, "groups": {"region": "north"}, "data": {"demand_low": 6}},
                  {"id": "b", "demand": 4, "groups": {"region": "south"}, "data": {"demand_low": 3}}]})
    result = allocator.solve(s, rule="maxmin")
    folder = Path(tempfile.mkdtemp())
    made = {
        "comparison": allocator.compare(s, rules=["maxmin"]), "explanation": explain(result),
        "frontier": allocator.frontier(s, "group_gap", [0.5], attribute="region"),
        "disparity": disparity(s, "region", rule="maxmin"), "lottery": lottery(s, rule="maxmin", draws=1),
        "bounds": bounds(s, rule="maxmin", samples=1), "diagnosis": diagnose(s, rule="maxmin"),
        "simulation": allocator.simulate(s, rules=["maxmin"], draws=1),
    }
    out = lambda name: folder / name  # noqa: E731
    result.save(out("solved"))
    made["verification"] = verify(out("solved"))
    saves = {f"{type(outcome).__name__}.save": (partial(type(outcome).save, outcome),
                                                 {"folder": out(key), "force": True})
             for key, outcome in made.items()}
    return {
        "solve": (allocator.solve, {"scenario": s, "rule": "maxmin", "constraints": [], "solver": "highs",
                                    "time_limit": 10.0}),
        "solve_compiled": (allocator.solve_compiled, {"model": allocator.compile(s), "solver": "highs",
                                                      "options": None, "fallback": True}),
        "compile": (allocator.compile, {"scenario": s, "rule": "maxmin", "constraints": []}),
        "compare": (allocator.compare, {"scenario": s, "rules": ["maxmin"], "constraints": [], "solver": "highs",
                                        "progress": None}),
        "frontier": (allocator.frontier, {"scenario": s, "constraint": "group_gap", "values": [0.5],
                                          "attribute": "region", "resource": None, "solver": "highs"}),
        "validate": (allocator.validate, {"path": SCENARIOS[-1], "allow_outside": False}),
        "load_scenario": (allocator.load_scenario, {"path": SCENARIOS[-1], "allow_outside": False,
                                                    "record_inputs": True}),
        "scenario_from_dict": (allocator.scenario_from_dict, {"document": s.model_dump(), "base_dir": None,
                                                              "source": "<inline>", "allow_outside": False}),
        "simulate": (allocator.simulate, {"scenario": s, "rules": ["maxmin"], "draws": 1, "seed": 1,
                                          "engine": "serial", "cv": 0.1}),
        "explain": (explain, {"result": result}),
        "diagnose": (diagnose, {"scenario": s, "rule": "maxmin", "constraints": [], "solver": "highs"}),
        "disparity": (disparity, {"scenario": s, "attribute": "region", "rule": "maxmin", "resource": None,
                                  "location": "pool", "solver": "highs"}),
        "lottery": (lottery, {"scenario": s, "rule": "maxmin", "draws": 1, "seed": 0, "solver": "highs"}),
        "bounds": (bounds, {"scenario": s, "rule": "maxmin", "samples": 1, "seed": 0, "solver": "highs"}),
        "verify": (verify, {"folder": out("solved"), "allow_outside": False}),
        "export": (allocator.export, {"scenario": s, "path": out("m.lp"), "rule": "maxmin", "stage": None,
                                      "force": True}),
        "save_excel": (save_excel, {"result": result, "path": out("r.xlsx"), "force": True}),
        "Result.save": (partial(type(result).save, result), {"folder": out("r"), "force": True}),
        **saves,
    }


_CALLS: dict = {}


def public_calls() -> dict:
    if not _CALLS:
        _CALLS.update(_public_calls())
    return _CALLS


PUBLIC = ["solve", "solve_compiled", "compile", "compare", "frontier", "validate", "load_scenario",
          "scenario_from_dict", "simulate", "explain", "diagnose", "disparity", "lottery", "bounds", "verify", "export",
          "save_excel", "Result.save", "Comparison.save", "Explanation.save", "Frontier.save", "Disparity.save",
          "Lottery.save", "Bounds.save", "Diagnosis.save", "Simulation.save", "Verification.save"]
WRONG = [None, 3, -1, True, [1], {}, {"x": 1}, "nowhere-42", math.nan, math.inf, b"x", object()]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(name=st.sampled_from(PUBLIC), data=st.data())
def test_every_public_function_refuses_a_wrong_argument_by_name(name, data):
    """None, numbers, lists, mappings, text, NaN... for any one argument: accepted as plainly meant, or
    an AllocatorError whose message names the argument (or, for a path, the file). Never AttributeError,
    TypeError or KeyError from deep inside."""
    function, valid = public_calls()[name]
    argument = data.draw(st.sampled_from(sorted(valid)), label="argument")
    value = data.draw(st.sampled_from(WRONG), label="value")
    here = os.getcwd()
    os.chdir(tempfile.mkdtemp())  # a text taken as a path writes nowhere that matters
    try:
        function(**{**valid, argument: value})
    except ScenarioError as exc:  # names the file (or argument) and the field
        assert argument in ("scenario", "path", "document", "folder", "base_dir") or argument in str(exc), str(exc)
    except allocator.AllocatorError as exc:
        assert argument in str(exc) or (isinstance(value, str) and value in str(exc)), str(exc)
    finally:
        os.chdir(here)


def test_a_wrong_argument_names_function_argument_value_and_what_was_expected():
    with pytest.raises(UsageError) as caught:
        allocator.solve(3)
    assert str(caught.value) == ("solve(): scenario is 3 (int); expected a Scenario (allocator.load_scenario) "
                                 "or the path of a scenario file")
    with pytest.raises(UsageError, match=r"simulate\(\): draws is '5' \(str\); expected a whole number of at least 1"):
        allocator.simulate(pool(), rules="maxmin", draws="5")
    with pytest.raises(UsageError, match=r"solve\(\): time_limit is nan \(float\); expected a number of seconds"):
        allocator.solve(pool(), time_limit=math.nan)
    with pytest.raises(UsageError, match=r"frontier\(\): values is 'x' \(str\); expected a list of finite numbers"):
        allocator.frontier(pool(), "group_gap", "x", attribute="region")
    with pytest.raises(UsageError, match=r"unexpected 'rules'"):
        allocator.solve(pool(), rules="maxmin")


def test_a_path_where_a_scenario_belongs_is_loaded_with_the_loaders_rules(tmp_path):
    tutorial = next(p for p in SCENARIOS if p.parent.name == "tutorial")
    by_path = allocator.solve(str(tutorial))
    assert by_path.allocations.equals(allocator.solve(allocator.load_scenario(tutorial)).allocations)
    assert allocator.compare(tutorial, rules=["maxmin"]).table.index.tolist() == ["maxmin"]
    # a table outside the scenario's folder is refused, as load_scenario refuses it by default
    (tmp_path / "inner").mkdir()
    (tmp_path / "units.csv").write_text("id,demand\na,1\n")
    (tmp_path / "inner" / "s.yaml").write_text("name: s\nresources: [{id: food}]\nsupply: {food: 1}\n"
                                                "units: ../units.csv\n")
    with pytest.raises(ScenarioError, match="outside the scenario's folder"):
        allocator.solve(tmp_path / "inner" / "s.yaml")


def test_plainly_meant_numbers_are_accepted():
    s = pool()
    assert len(allocator.simulate(s, rules="maxmin", draws=np.int64(2), seed=3.0, cv=0.1).table) == 2
    # an array of values is a list of values; 0.5 and 0 as numpy floats
    assert len(allocator.frontier(s, "group_gap", np.array([0.5, 0.0]), attribute="region").table) == 2
    assert allocator.solve(s, time_limit=5).status.value == "optimal"  # whole seconds are seconds
