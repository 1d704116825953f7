"""Infeasibility in the planner's words, and 'allocator diagnose' with the strictest values that hold."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import allocator
from allocator.cli.app import app
from allocator.solving.diagnose import diagnose
from helpers import SCENARIOS, build, shipped

runner = CliRunner()
SHORT = dict(units=[{"id": "u17", "demand": 100}, {"id": "u23", "demand": 100}, {"id": "ok", "demand": 10}],
             sites=[{"id": "s4", "supply": {"food": 40}}, {"id": "big", "supply": {"food": 1000}}],
             links=[{"unit": "u17", "site": "s4"}, {"unit": "u23", "site": "s4"}, {"unit": "ok", "site": "big"}])


def test_an_impossible_floor_names_the_units_and_the_site_that_prove_it():
    with pytest.raises(allocator.InfeasibleError) as info:
        allocator.solve(build(**SHORT, constraints=[{"type": "floor", "share": 0.5}]))
    assert ("A 50% floor for every unit is impossible for food: units u17, u23 can reach only site s4, which holds "
            "40 for their 200 of demand (the floor asks for 100).") in info.value.explanation
    assert info.value.conflicting == ["floor(share=0.5)"]


def test_diagnose_finds_the_strictest_floor_and_ratio():
    found = diagnose(build(**SHORT, constraints=[{"type": "floor", "share": 0.5}]))
    assert not found.feasible and found.conflicting == ["floor(share=0.5)"]
    limits = found.limits.set_index("constraint")
    assert limits.loc["floor", "given"] == 0.5
    assert limits.loc["floor", "limit"] == pytest.approx(0.2, abs=1e-4)  # s4's 40 for 200 of demand


def test_on_a_feasible_scenario_the_floor_limit_is_the_maxmin_level():
    scenario = shipped("food-bank")
    found = diagnose(scenario)
    assert found.feasible and found.conflicting == []
    level = allocator.solve(scenario, rule="maxmin").equity["level"]
    assert found.limits.set_index("constraint").loc["floor", "limit"] == pytest.approx(level, abs=2e-4)
    ratios = found.limits[found.limits["parameter"] == "min_ratio"]
    assert set(ratios["constraint"]) == {"group_ratio(attribute=region)", "group_ratio(attribute=rurality)"}


def test_cli_diagnose_exit_codes(tmp_path):
    ok = runner.invoke(app, ["diagnose", str(SCENARIOS / "food-bank" / "scenario.yaml")])
    assert ok.exit_code == 0 and "feasible" in ok.output and "strictest" in ok.output
    bad = runner.invoke(app, ["diagnose", str(SCENARIOS / "food-bank" / "scenario.yaml"), "-c", "floor:share=0.9"])
    assert bad.exit_code == 3 and "infeasible" in bad.output and "floor(share=0.9)" in bad.output
