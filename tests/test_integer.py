"""Whole units: mixed-integer solves checked by brute force over every integer allocation of tiny instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import SETTINGS

import allocator
from helpers import allocated, assert_feasible, build, reachable

SLOT = [{"id": "slot", "divisible": False}]


@st.composite
def tiny(draw):
    n, m = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    units = [{"id": f"u{i}", "demand": draw(st.integers(1, 3)), "value": draw(st.integers(1, 3)),
              "groups": {"g": draw(st.sampled_from("xy"))}} for i in range(n)]
    sites = [{"id": f"s{j}", "supply": {"slot": draw(st.integers(0, 4))}} for j in range(m)]
    links = [{"unit": f"u{i}", "site": f"s{j}"} for i in range(n) for j in range(m) if draw(st.booleans())]
    return {"resources": SLOT, "units": units, "sites": sites, "links": links, "groups": ["g"]}


def _every_allocation(doc):
    """Every integer flow vector within demand and supply: (amount per unit, flows)."""
    links = [(int(d["unit"][1:]), int(d["site"][1:])) for d in doc["links"]]
    demand = [u["demand"] for u in doc["units"]]
    supply = [s["supply"]["slot"] for s in doc["sites"]]
    ranges = [range(min(demand[u], supply[s]) + 1) for u, s in links]
    for flows in itertools.product(*ranges):
        amount = np.zeros(len(demand))
        used = np.zeros(len(supply))
        for (u, s), f in zip(links, flows):
            amount[u] += f
            used[s] += f
        if (amount <= demand).all() and (used <= supply).all():
            yield amount


def _brute(doc):
    demand = np.array([u["demand"] for u in doc["units"]], float)
    value = np.array([u["value"] for u in doc["units"]], float)
    linked = {int(d["unit"][1:]) for d in doc["links"]
              if doc["sites"][int(d["site"][1:])]["supply"]["slot"] > 0}
    mask = np.array([i in linked for i in range(len(demand))])
    best_value, best_min, best_value_at_min = 0.0, -1.0, 0.0
    for amount in _every_allocation(doc):
        total = float(value @ amount)
        best_value = max(best_value, total)
        low = float((amount / demand)[mask].min()) if mask.any() else 1.0
        if low > best_min + 1e-12:
            best_min, best_value_at_min = low, total
        elif abs(low - best_min) <= 1e-12:
            best_value_at_min = max(best_value_at_min, total)
    return best_value, best_min, best_value_at_min


@settings(max_examples=30, **SETTINGS)
@given(tiny())
def test_mixed_integer_optima_equal_brute_force(doc):
    scenario = build(**doc)
    best_value, best_min, best_value_at_min = _brute(doc)
    utilitarian = allocator.solve(scenario, rule="utilitarian")
    maxmin = allocator.solve(scenario, rule="maxmin")
    for result in (utilitarian, maxmin):
        assert_feasible(scenario, result)
        assert np.allclose(result.allocations["allocated"], np.round(result.allocations["allocated"]))
    assert utilitarian.metrics["total_value"] == pytest.approx(best_value, abs=1e-9)
    reach = reachable(scenario)
    rates = [f for u, r, f in zip(maxmin.allocations["unit"], maxmin.allocations["resource"],
                                  maxmin.allocations["fill_rate"]) if (u, r) in reach]
    assert min(rates, default=1.0) == pytest.approx(best_min if reach else 1.0, abs=1e-9)
    assert maxmin.metrics["total_value"] == pytest.approx(best_value_at_min, abs=1e-9)


def test_whole_units_by_hand():
    # 3 slots for demands 2, 2, 1: maxmin gives one each (rates 1/2, 1/2, 1), leximin the same
    scenario = build(resources=SLOT, units=[{"id": "a", "demand": 2}, {"id": "b", "demand": 2},
                                            {"id": "c", "demand": 1}], supply={"slot": 3})
    assert allocated(allocator.solve(scenario, rule="maxmin")) == {"a": 1, "b": 1, "c": 1}
    assert allocated(allocator.solve(scenario, rule="leximin")) == {"a": 1, "b": 1, "c": 1}
    # equal shares in whole units: only 0 or everything can be equal for demands 2, 2 and 1
    assert allocated(allocator.solve(scenario, rule="proportional")) == {"a": 0, "b": 0, "c": 0}


def test_group_constraints_hold_in_whole_units():
    scenario = build(resources=SLOT, groups=["g"], supply={"slot": 5},
                     units=[{"id": "a", "demand": 4, "value": 3, "groups": {"g": "x"}},
                            {"id": "b", "demand": 4, "groups": {"g": "y"}}])
    result = allocator.solve(scenario, rule="utilitarian", constraints=[{"type": "group_ratio", "attribute": "g",
                                                                     "min_ratio": 0.5}])
    # a takes as many as the ratio allows: b >= a / 2 with a + b <= 5 -> a 3, b 2 (a 4, b 1 breaks it)
    assert allocated(result) == {"a": 3, "b": 2}


def test_both_backends_solve_whole_units():
    scenario = build(resources=SLOT, units=[{"id": "a", "demand": 3, "value": 2}, {"id": "b", "demand": 3}],
                     sites=[{"id": "s", "supply": {"slot": 4}}])
    for solver in ("highs", "pulp"):
        assert allocated(allocator.solve(scenario, rule="utilitarian", solver=solver)) == {"a": 3, "b": 1}
        assert allocated(allocator.solve(scenario, rule="maxmin", solver=solver)) == {"a": 2, "b": 2}


def test_mixed_scenarios_keep_divisible_resources_fractional():
    scenario = build(resources=[{"id": "food"}, {"id": "slot", "divisible": False}],
                     units=[{"id": "a", "demand": {"food": 3, "slot": 1}}, {"id": "b", "demand": {"food": 3, "slot": 1}}],
                     supply={"food": 3, "slot": 1})
    table = allocator.solve(scenario, rule="leximin").allocations.set_index(["unit", "resource"])["allocated"]
    assert table[("a", "food")] == pytest.approx(1.5) and table[("b", "food")] == pytest.approx(1.5)
    assert sorted([table[("a", "slot")], table[("b", "slot")]]) == [0.0, 1.0]


@settings(max_examples=25, **SETTINGS)
@given(tiny())
def test_whole_unit_leximin_equals_brute_force(doc):
    scenario = build(**doc)
    demand = np.array([u["demand"] for u in doc["units"]], float)
    reach = reachable(scenario)
    mask = np.array([(u["id"], "slot") in reach for u in doc["units"]])
    best = max((tuple(np.sort((amount / demand)[mask])) for amount in _every_allocation(doc)), default=())
    result = allocator.solve(scenario, rule="leximin")
    assert_feasible(scenario, result)
    got = np.sort([f for u, r, f in zip(result.allocations["unit"], result.allocations["resource"],
                                        result.allocations["fill_rate"]) if (u, r) in reach])
    assert got == pytest.approx(np.array(best), abs=1e-9)
