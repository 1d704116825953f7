"""Disparity attribution: Shapley parts add up to the gap, hand-built cases, the CLI."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import SETTINGS
from typer.testing import CliRunner

import allocator
from allocator.accountability.disparity import disparity
from allocator.cli.app import app
from helpers import SCENARIOS, build

runner = CliRunner()


def test_sites_that_match_their_demand_leave_no_gap_to_explain():
    # each town's site holds half its demand: restricted access changes nothing
    scenario = build(units=[{"id": "a", "demand": 10, "groups": {"town": "north"}},
                            {"id": "b", "demand": 10, "groups": {"town": "south"}}],
                     sites=[{"id": "n", "supply": {"food": 5}}, {"id": "s", "supply": {"food": 5}}],
                     links=[{"unit": "a", "site": "n"}, {"unit": "b", "site": "s"}], groups=["town"])
    d = disparity(scenario, "town", rule="maxmin")
    assert d.gap == pytest.approx(0.0, abs=1e-7)  # sites match demand: no gap to explain
    assert sum(d.parts.values()) + d.remains == pytest.approx(d.gap, abs=1e-9)


def test_the_rule_alone_makes_the_gap():
    # one pool, values 3 and 1: utilitarian gives the valuable group everything, proportional nothing apart
    scenario = build(units=[{"id": "a", "demand": 10, "value": 3, "groups": {"g": "x"}},
                            {"id": "b", "demand": 10, "value": 1, "groups": {"g": "y"}}],
                     supply={"food": 10}, groups=["g"])
    d = disparity(scenario, "g", rule="utilitarian")
    assert d.gap == pytest.approx(1.0, abs=1e-6)
    assert d.parts == pytest.approx({"access": 0.0, "location": 0.0, "rule": 1.0}, abs=1e-6)
    assert d.remains == pytest.approx(0.0, abs=1e-6)
    assert "The allocation rule adds 100.0% (100% of the gap)." in d.summary


def test_demand_weighted_location_separates_location_from_access():
    # north's 10 units share one site with 2 lb, south's reach one with 8 lb, everyone asks 10.
    # moving the stock to where demand can reach it (5 and 5) closes the gap under maxmin, and so
    # does giving everyone every site: the parts are no longer forced to be equal
    scenario = build(units=[{"id": "a", "demand": 10, "groups": {"town": "north"}},
                            {"id": "b", "demand": 10, "groups": {"town": "south"}},
                            {"id": "c", "demand": 10, "groups": {"town": "south"}}],
                     sites=[{"id": "n", "supply": {"food": 2}}, {"id": "s", "supply": {"food": 13}}],
                     links=[{"unit": "a", "site": "n"}, {"unit": "b", "site": "s"}, {"unit": "c", "site": "s"},
                            {"unit": "b", "site": "n"}], groups=["town"])
    pooled = disparity(scenario, "town", rule="maxmin")
    moved = disparity(scenario, "town", rule="maxmin", location="demand")
    assert pooled.parts["access"] == pytest.approx(pooled.parts["location"], abs=1e-9)
    assert moved.gap == pytest.approx(pooled.gap, abs=1e-9)
    for d in (pooled, moved):
        assert sum(d.parts.values()) + d.remains == pytest.approx(d.gap, abs=1e-9)


@st.composite
def grouped(draw):
    n, m = draw(st.integers(2, 5)), draw(st.integers(1, 3))
    units = [{"id": f"u{i}", "demand": draw(st.integers(1, 20)), "groups": {"g": draw(st.sampled_from("xy"))}}
             for i in range(n)]
    sites = [{"id": f"s{j}", "supply": {"food": draw(st.integers(0, 30))}} for j in range(m)]
    links = [{"unit": f"u{i}", "site": f"s{j}"} for i in range(n) for j in range(m) if draw(st.booleans())]
    return {"units": units, "sites": sites, "links": links, "groups": ["g"]}


@settings(max_examples=20, **SETTINGS)
@given(grouped(), st.sampled_from(["maxmin", "leximin"]), st.sampled_from(["pool", "demand"]))
def test_the_parts_always_add_up_to_the_gap(doc, rule, location):
    scenario = build(**doc)
    d = disparity(scenario, "g", rule=rule, location=location)
    assert d.remains + sum(d.parts.values()) == pytest.approx(d.gap, abs=1e-9)
    assert d.gap == pytest.approx(allocator.solve(scenario, rule=rule).metrics["max_group_gap"]["g"], abs=1e-9)
    assert len(d.variants) == 8


def test_cli_disparity(tmp_path):
    out = tmp_path / "d"
    result = runner.invoke(app, ["disparity", str(SCENARIOS / "food-bank" / "scenario.yaml"), "--attribute", "region",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Under maxmin, the gap between region groups" in result.output
    summary = json.loads((out / "summary.json").read_text())
    # each of the 4 terms and the gap is rounded to 6 decimals (rates) in summary.json: off by <= 5 x 5e-7
    assert summary["remains"] + sum(summary["parts"].values()) == pytest.approx(summary["gap"], abs=2.5e-6)
    bad = runner.invoke(app, ["disparity", str(SCENARIOS / "food-bank" / "scenario.yaml"), "--attribute", "race"])
    assert bad.exit_code == 2 and "'race' is not a group attribute" in bad.output
