"""Leximin by bottleneck decomposition (max-flow) agrees with the LP method and with hand answers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_leximin_approx import three_levels
from test_properties import SETTINGS, Reference, scenario_of, specs

import allocator
from conftest import assert_feasible, reachable_fill_vector

FLOW = {"name": "leximin", "method": "flow"}
LP = {"name": "leximin", "method": "lp"}


def test_hand_levels_by_max_flow():
    result = allocator.solve(three_levels(), FLOW)
    assert result.equity["levels"] == pytest.approx([0.4, 0.5, 0.75], abs=1e-12)
    fills = dict(zip(result.allocations["unit"], result.allocations["fill_rate"], strict=True))
    assert fills == pytest.approx({"a": 0.5, "b": 0.75, "c": 0.75, "d": 0.4}, abs=1e-12)
    stage = result.solver["stages"][0]
    assert stage["stage"] == "bottleneck decomposition" and "3 levels" in stage["note"]


def test_auto_uses_max_flow_where_it_applies_and_lp_elsewhere():
    plain = allocator.solve(three_levels(), "leximin")
    assert plain.solver["stages"][0]["stage"] == "bottleneck decomposition"
    constrained = allocator.solve(three_levels(), "leximin", constraints=[{"type": "floor", "share": 0.1}])
    assert constrained.solver["stages"][0]["stage"].startswith("leximin-")


def test_flow_method_where_it_does_not_apply_is_a_usage_error():
    with pytest.raises(allocator.UsageError):
        allocator.solve(three_levels(), FLOW, constraints=[{"type": "floor", "share": 0.1}])


def test_shipped_food_bank_agrees_with_the_lp_method():
    scenario = allocator.load_scenario("scenarios/food-bank/scenario.yaml")
    flow, lp = allocator.solve(scenario, FLOW, constraints=[]), allocator.solve(scenario, LP, constraints=[])
    assert_feasible(scenario, flow)
    np.testing.assert_allclose(flow.allocations["fill_rate"], lp.allocations["fill_rate"], atol=1e-6)
    assert flow.metrics["total_value"] == pytest.approx(lp.metrics["total_value"], rel=1e-7)


def one_resource(spec):
    """The spec restricted to its first resource (the decomposition's domain)."""
    keep = spec["resources"][0]
    spec = copy.deepcopy(spec)
    spec["resources"] = [keep]
    for unit in spec["units"]:
        unit["demand"] = {keep: unit["demand"][keep]}
        unit["value"] = {keep: unit["value"][keep]}
    spec["supply"] = {site: {keep: held[keep]} for site, held in spec["supply"].items()}
    return spec


@settings(max_examples=40, **SETTINGS)
@given(specs(), st.booleans())
def test_max_flow_and_lp_leximin_agree_on_random_networks(spec, scaled):
    spec = one_resource(spec)
    scenario = scenario_of(spec, scale=1e6 if scaled else 1.0)
    flow, lp = allocator.solve(scenario, FLOW), allocator.solve(scenario, LP)
    assert_feasible(scenario, flow)
    np.testing.assert_allclose(reachable_fill_vector(scenario, flow), reachable_fill_vector(scenario, lp), atol=1e-6)
    # and the sorted vector matches the slow one-LP-per-rate reference
    np.testing.assert_allclose(np.sort(reachable_fill_vector(scenario, flow)), Reference(spec).leximin(), atol=1e-6)
    assert flow.metrics["total_value"] == pytest.approx(lp.metrics["total_value"], rel=1e-6, abs=1e-6)


@settings(max_examples=60, **SETTINGS)
@given(specs(), st.booleans())
def test_maxmin_by_max_flow_matches_the_lp_stages(spec, equal_values):
    # equal values: the decomposition alone; differing values: level from max-flow, value stage by LP
    spec = one_resource(spec)
    if equal_values:
        for unit in spec["units"]:
            unit["value"] = {key: 1 for key in unit["value"]}
    scenario = scenario_of(spec)
    flow = allocator.solve(scenario, {"name": "maxmin", "method": "flow"})
    lp = allocator.solve(scenario, {"name": "maxmin", "method": "lp"})
    assert_feasible(scenario, flow)
    if lp.equity["level"] is not None:
        assert flow.equity["level"] == pytest.approx(lp.equity["level"], abs=1e-6)
    assert flow.metrics["total_value"] == pytest.approx(lp.metrics["total_value"], rel=1e-6, abs=1e-6)


def test_maxmin_with_unequal_values_keeps_the_lp_stages():
    result = allocator.solve(allocator.load_scenario("scenarios/clinic-slots/scenario.yaml"), "maxmin", constraints=[])
    assert result.solver["stages"][0]["stage"] == "maxmin"
    with pytest.raises(allocator.UsageError):
        allocator.solve(allocator.load_scenario("scenarios/clinic-slots/scenario.yaml"),
                        {"name": "maxmin", "method": "flow"}, constraints=[])


def test_benchmark_shaped_maxmin_is_solved_by_max_flow_alone():
    # everyone can reach the same level and that uses all supply: no LP at all
    result = allocator.solve(three_levels(), {"name": "maxmin", "method": "flow"}, constraints=[])
    stages = [s["stage"] for s in result.solver["stages"]]
    assert stages[0] in ("bottleneck decomposition", "maxmin (max-flow)")
    assert result.equity["level"] == pytest.approx(0.4, abs=1e-12)
