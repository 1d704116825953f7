"""Fairness bounds over demand intervals: exact ones by hand and by brute force, sampled ones by containment."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import allocator
from allocator.cli.app import app
from allocator.core.errors import UsageError
from allocator.simulation.bounds import bounds, group_rate_range
from helpers import ROOT, build


def _row(table, setting, metric):
    return table[(table["setting"] == setting) & (table["metric"] == metric)].iloc[0]


def test_one_pool_by_hand():
    # 60 lb; a asks 40 (30..50), b asks 20 (10..40). maxmin at nominal: both at 60/60 = 100%: a 40, b 20
    scenario = build(supply={"food": 60}, units=[{"id": "a", "demand": 40, "data": {"demand_low": 30, "demand_high": 50}},
                                                  {"id": "b", "demand": 20, "data": {"demand_low": 10, "demand_high": 40}}])
    table = bounds(scenario, rule="maxmin", samples=20).table
    fixed = _row(table, "fixed allocation", "min_fill_rate")
    assert (fixed["worst"], fixed["best"]) == pytest.approx((0.5, 1.0))  # b: 20 of 40; everyone covered at the lows
    value = _row(table, "fixed allocation", "total_value")
    assert (value["worst"], value["best"]) == pytest.approx((30 + 10, 60))
    resolved = _row(table, "re-solved", "min_fill_rate")
    assert resolved["method"] == "exact"
    assert (resolved["worst"], resolved["best"]) == pytest.approx((60 / 90, 1.0))  # one pool: min(1, S / sum d)


def test_re_solved_exact_bounds_are_the_solves_at_the_ends_and_contain_the_samples():
    scenario = allocator.load_scenario(ROOT / "scenarios" / "food-bank-uncertain" / "scenario.yaml")
    table = bounds(scenario, rule="maxmin", samples=15, seed=2).table
    exact = _row(table, "re-solved", "min_fill_rate")
    units = scenario.units.columns
    at_high = build({"name": "h", "resources": [{"id": "food"}], "sites": [s.model_dump() for s in scenario.sites],
                     "units": [{"id": i, "demand": float(h)} for i, h in zip(scenario.units.ids, units["demand_high"])],
                     "links": [{"unit": u, "site": s} for u, s in zip(scenario.links.units, scenario.links.sites)],
                     "constraints": [{"type": "floor", "share": 0.25}]})
    assert exact["worst"] == pytest.approx(allocator.solve(at_high, rule="maxmin").metrics["min_fill_rate"], abs=1e-6)
    for metric in ("total_value", "max_group_gap[region]"):
        row = _row(table, "re-solved", metric)
        assert row["method"].startswith("sampled")
        low, high = sorted((row["worst"], row["best"]))
        assert low - 1e-9 <= row["nominal"] <= high + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 20), st.floats(1, 10), st.floats(0, 10)), min_size=1, max_size=5))
def test_group_rate_range_is_the_brute_force_range(cells):
    allocated = np.array([a for a, _, _ in cells])
    low = np.array([lo for _, lo, _ in cells])
    high = low + np.array([w for _, _, w in cells])
    lowest, highest = group_rate_range(allocated, low, high)
    # the minimum sits at a vertex of the box; the maximum at d = clip(a, low, high), which the candidates include
    candidates = [np.array(d) for d in itertools.product(*[(lo, hi, float(np.clip(a, lo, hi)))
                                                           for a, lo, hi in zip(allocated, low, high)])]
    rates = [np.minimum(allocated, d).sum() / d.sum() for d in candidates]
    assert lowest == pytest.approx(min(rates), abs=1e-12) and highest == pytest.approx(max(rates), abs=1e-12)
    grid = low + (high - low) * np.random.default_rng(0).random((300, len(low)))
    inside = np.minimum(allocated, grid).sum(axis=1) / grid.sum(axis=1)
    assert (inside >= lowest - 1e-12).all() and (inside <= highest + 1e-12).all()


def test_fixed_allocation_group_gap_bounds_by_brute_force():
    rng = np.random.default_rng(4)
    units = [{"id": f"u{i}", "demand": float(d), "groups": {"g": "ab"[i % 2]},
              "data": {"demand_low": float(d * 0.7), "demand_high": float(d * 1.5)}}
             for i, d in enumerate(rng.integers(5, 20, 6))]
    scenario = build(supply={"food": 40}, units=units, groups=["g"])
    table = bounds(scenario, rule="utilitarian", samples=0).table
    result = allocator.solve(scenario, rule="utilitarian")
    a = result.allocations["allocated"].to_numpy()
    d0 = np.array([u["demand"] for u in units])
    lo, hi = 0.7 * d0, 1.5 * d0
    in_a = np.arange(6) % 2 == 0
    gaps = []
    for d in itertools.product(*[(low, high, float(np.clip(x, low, high))) for x, low, high in zip(a, lo, hi)]):
        d = np.array(d)
        used = np.minimum(a, d)
        gaps.append(abs(used[in_a].sum() / d[in_a].sum() - used[~in_a].sum() / d[~in_a].sum()))
    row = _row(table, "fixed allocation", "max_group_gap[g]")
    assert row["worst"] == pytest.approx(max(gaps), abs=1e-12)
    assert row["best"] <= min(gaps) + 1e-12  # the exact smallest gap; the candidates can only do worse


def test_bounds_need_intervals_and_say_so():
    scenario = build(supply={"food": 10}, units=[{"id": "a", "demand": 5}])
    with pytest.raises(UsageError, match="demand_low"):
        bounds(scenario)
    result = CliRunner().invoke(app, ["bounds", str(ROOT / "scenarios" / "tutorial" / "scenario.yaml")])
    assert result.exit_code == 2 and "demand intervals" in result.output


def test_the_cli_prints_and_writes_bounds(tmp_path):
    scenario = ROOT / "scenarios" / "food-bank-uncertain" / "scenario.yaml"
    result = CliRunner().invoke(app, ["bounds", str(scenario), "--rule", "leximin", "--samples", "5",
                                      "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "fixed" in result.output and "re-solved" in result.output and "exact" in result.output
    assert (tmp_path / "b" / "bounds.csv").read_text().startswith("setting,metric,nominal,worst,best,method")


def test_exact_is_claimed_only_where_the_monotone_argument_holds():
    # review counter-examples: whole units, value minus transport cost, and a rebate edge under a budget
    interval = {"demand_low": 1.5, "demand_high": 2}
    whole = build(resources=[{"id": "slot", "divisible": False}], supply={"slot": 2},
                  units=[{"id": "a", "demand": 2, "data": interval}])
    assert _row(bounds(whole, rule="maxmin", samples=3).table, "re-solved", "min_fill_rate")["method"].startswith("sampled")
    net = dict(sites=[{"id": "W", "supply": {"food": 1}}],
               units=[{"id": "A", "demand": 1, "value": 1, "data": {"node": "W", "demand_low": 0.5, "demand_high": 1}},
                      {"id": "B", "demand": 1, "value": 3, "data": {"node": "H", "demand_low": 1, "demand_high": 1}}])
    costly = build(**net, network={"mode": "flow", "objective": "value_minus_cost",
                                   "edges": [{"from": "W", "to": "H", "cost": 2.5}]})
    row = _row(bounds(costly, rule="utilitarian", samples=3).table, "re-solved", "total_value")
    assert row["method"].startswith("sampled") and row["worst"] <= row["best"]
    rebate = build(**net, network={"mode": "flow", "budget": 0, "edges": [{"from": "W", "to": "H", "cost": 10},
                                                                          {"from": "W", "to": "R", "cost": -10}]})
    assert _row(bounds(rebate, rule="maxmin", samples=3).table, "re-solved", "min_fill_rate")["method"].startswith("sampled")
