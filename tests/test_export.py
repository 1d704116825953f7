"""The planner's model: exported LP/MPS files and reported objectives in the scenario's own units.

allocator divides every quantity by a power of two near the median demand before it solves
(``Problem.scale``; the tutorial's is 1024, so its 1000 lb reads 0.9765625 inside the LP). Nothing
a planner reads may carry that unit: not an exported file, not a stage objective, not a price.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess

import highspy
import pytest

import allocator
from allocator.problem import Problem
from conftest import SCENARIOS, build, shipped

TUTORIAL = SCENARIOS / "tutorial" / "scenario.yaml"


def stage_objectives(result) -> dict[str, float]:
    return {s["stage"]: s["objective"] for s in result.summary()["solver"]["stages"]}


@pytest.fixture
def scale_of(monkeypatch):
    """Force ``Problem.scale`` to a given power of two (as a scenario in other units would get)."""
    def force(value: float) -> None:
        monkeypatch.setattr(Problem, "scale", property(lambda self: value))
    return force


# --- stage objectives in summary.json ------------------------------------------------------------

def test_value_stage_objective_is_total_value_in_the_scenarios_units():
    # tutorial, utilitarian: both depots empty into the six pantries, 1800 + 1200 = 3000 lb of value 1
    # (the LP counts in units of 1024 lb: it reads 3000 / 1024 = 2.9296875)
    result = allocator.solve(shipped("tutorial"), "utilitarian")
    assert stage_objectives(result)["value"] == pytest.approx(3000, rel=1e-9)
    assert result.metrics["total_value"] == pytest.approx(3000, rel=1e-9)


def test_maxmin_value_stage_objective_is_total_value():
    # S1 (100 lb) serves only a (asks 100, value 3), S2 (100 lb) only b (asks 400, value 1):
    # the level is b's 100 / 400 = 0.25; the value stage then fills a: 3 x 100 + 1 x 100 = 400
    # (scale 256: the LP reads 1.5625)
    scenario = build(sites=[{"id": "S1", "supply": {"food": 100}}, {"id": "S2", "supply": {"food": 100}}],
                     units=[{"id": "a", "demand": 100, "value": 3}, {"id": "b", "demand": 400, "value": 1}],
                     links=[{"unit": "a", "site": "S1"}, {"unit": "b", "site": "S2"}])
    result = allocator.solve(scenario, {"name": "maxmin", "method": "lp"})
    assert stage_objectives(result) == {"maxmin": pytest.approx(0.25, rel=1e-7),
                                        "value": pytest.approx(400, rel=1e-7)}


@pytest.mark.parametrize("rule", ["utilitarian", "maxmin", "leximin", "proportional", "nash"])
def test_reported_stage_objectives_do_not_depend_on_the_lps_unit(scale_of, rule):
    # the same scenario solved with the LP counting in units of 1, 1024 (its own) and 2**-6 lb:
    # every stage objective the summary reports is the same number
    reference = stage_objectives(allocator.solve(shipped("tutorial"), {"name": rule, **_lp_method(rule)},
                                                 constraints=[{"type": "floor", "share": 0.1}]))
    for unit in (1.0, 2.0 ** -6):
        scale_of(unit)
        other = stage_objectives(allocator.solve(shipped("tutorial"), {"name": rule, **_lp_method(rule)},
                                                 constraints=[{"type": "floor", "share": 0.1}]))
        assert other.keys() == reference.keys()
        for stage, value in reference.items():
            if value is None:
                assert other[stage] is None
            else:
                assert other[stage] == pytest.approx(value, rel=1e-6, abs=1e-9), (unit, stage)


def _lp_method(rule: str) -> dict:
    return {"method": "lp"} if rule in ("maxmin", "leximin") else {}


# --- prices of network limits --------------------------------------------------------------------

def _road(capacity: float, **nodes):
    # W holds 100 lb; one road W -> H of `capacity`; a waits at H and asks for 40 (scale: 32)
    return build(sites=[{"id": "W", "supply": {"food": 100}}],
                 units=[{"id": "a", "demand": 40, "data": {"node": "H"}}],
                 network={"mode": "flow", "edges": [{"from": "W", "to": "H", "capacity": capacity}], **nodes})


def test_edge_price_of_a_level_stage_is_per_lb_of_capacity():
    # proportional: t = 10 / 40 = 0.25; one more lb of road capacity raises t by 1/40 = 0.025
    # (the LP's dual is per 32 lb: 0.8)
    result = allocator.solve(_road(10), "proportional")
    wider = allocator.solve(_road(11), "proportional")
    assert result.equity["level"] == pytest.approx(0.25)
    gain = wider.equity["level"] - result.equity["level"]
    assert result.edges.iloc[0]["shadow_price"] == pytest.approx(gain, rel=1e-6) == pytest.approx(0.025)


def test_node_price_of_a_level_stage_is_per_lb_of_throughput():
    # W (40 lb) -> hub H (throughput 15) -> X (a, 20) and -> Y (b, 20); proportional: t = 15 / 40,
    # and one more lb through the hub raises t by 1/40 = 0.025 (scale 16: the LP's dual reads 0.4)
    scenario = build(sites=[{"id": "W", "supply": {"food": 40}}],
                     units=[{"id": "a", "demand": 20, "data": {"node": "X"}},
                            {"id": "b", "demand": 20, "data": {"node": "Y"}}],
                     network={"mode": "flow", "nodes": [{"id": "H", "throughput": 15}],
                              "edges": [{"from": "W", "to": "H"}, {"from": "H", "to": "X"}, {"from": "H", "to": "Y"}]})
    result = allocator.solve(scenario, "proportional")
    assert result.equity["level"] == pytest.approx(0.375)
    assert result.nodes.set_index("node").loc["H", "shadow_price"] == pytest.approx(0.025)


def test_edge_price_of_a_value_stage_is_unchanged():
    # utilitarian: one more lb of capacity delivers one more lb of value 1
    result = allocator.solve(_road(10), "utilitarian")
    assert result.edges.iloc[0]["shadow_price"] == pytest.approx(1.0)
