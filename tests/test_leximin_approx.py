"""Approximate leximin (max_rounds): exact prefix, bounded gap, and exact when rounds suffice."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from test_properties import SETTINGS, scenario_of, specs

import allocator
from helpers import reachable_fill_vector


def three_levels():
    # s1 = 10 serves only a (demand 20) -> a at 0.5; s2 = 30 serves b and c, s3 = 4 serves only d:
    # d at 4/10 = 0.4, then a 0.5, then b, c share 30 of 40 -> 0.75 (hand-worked levels 0.4 / 0.5 / 0.75)
    return allocator.scenario_from_dict({
        "name": "levels", "resources": [{"id": "food"}],
        "sites": [{"id": "s1", "supply": {"food": 10}}, {"id": "s2", "supply": {"food": 30}},
                  {"id": "s3", "supply": {"food": 4}}],
        "units": [{"id": "a", "demand": 20}, {"id": "b", "demand": 20}, {"id": "c", "demand": 20},
                  {"id": "d", "demand": 10}],
        "links": [{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s2"}, {"unit": "c", "site": "s2"},
                  {"unit": "d", "site": "s3"}],
    })


def test_exact_leximin_has_the_three_hand_levels():
    result = allocator.solve(three_levels(), rule="leximin")
    assert result.equity["levels"] == pytest.approx([0.4, 0.5, 0.75], abs=1e-6)
    assert "approximation" not in result.equity


def test_one_round_is_maxmin_with_a_reported_gap():
    result = allocator.solve(three_levels(), rule={"name": "leximin", "max_rounds": 1})
    approximation = result.equity["approximation"]
    assert approximation["rounds"] == 1 and approximation["exact_rates"] == 1  # d, saturated at 0.4
    assert approximation["max_profile_gap"] == pytest.approx(0.6, abs=1e-6)  # 1 - 0.4
    fills = dict(zip(result.allocations["unit"], result.allocations["fill_rate"], strict=True))
    assert fills["d"] == pytest.approx(0.4, abs=1e-6)
    assert min(fills.values()) == pytest.approx(0.4, abs=1e-6)


def test_two_rounds_fix_the_first_level_exactly():
    result = allocator.solve(three_levels(), rule={"name": "leximin", "max_rounds": 2})
    approximation = result.equity["approximation"]
    assert approximation["exact_rates"] == 2  # d at 0.4, a at 0.5
    assert approximation["max_profile_gap"] == pytest.approx(0.5, abs=1e-6)  # 1 - 0.5
    exact = np.sort(reachable_fill_vector(three_levels(), allocator.solve(three_levels(), rule="leximin")))
    approx = np.sort(reachable_fill_vector(three_levels(), result))
    assert approx[:2] == pytest.approx(exact[:2], abs=1e-6)  # the exact prefix
    assert np.max(np.abs(approx - exact)) <= approximation["max_profile_gap"] + 1e-6


def test_enough_rounds_is_exact_and_reports_no_approximation():
    result = allocator.solve(three_levels(), rule={"name": "leximin", "max_rounds": 3})
    assert "approximation" not in result.equity
    assert result.equity["levels"] == pytest.approx([0.4, 0.5, 0.75], abs=1e-6)


@settings(max_examples=30, **SETTINGS)
@given(specs())
def test_approximate_profile_is_within_its_reported_gap(spec):
    scenario = scenario_of(spec)
    exact = np.sort(reachable_fill_vector(scenario, allocator.solve(scenario, rule="leximin")))
    result = allocator.solve(scenario, rule={"name": "leximin", "max_rounds": 1})
    approx = np.sort(reachable_fill_vector(scenario, result))
    gap = result.equity.get("approximation", {}).get("max_profile_gap", 0.0)
    assert np.all(np.abs(approx - exact) <= gap + 1e-5)
    exact_rates = result.equity.get("approximation", {}).get("exact_rates", len(exact))
    assert approx[:exact_rates] == pytest.approx(exact[:exact_rates], abs=1e-5)
