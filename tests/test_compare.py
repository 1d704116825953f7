"""Rule comparison: numbers equal single solves, the price of fairness and its bounds, CLI outputs."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from typer.testing import CliRunner

import allocator
from allocator.cli.app import app
from allocator.cli.tradeoffs import parse_rule_list
from allocator.core.inequality import atkinson, theil
from allocator.tradeoffs.comparison import compare, worst_price_of_fairness
from helpers import SCENARIOS, build

runner = CliRunner()
POOL = dict(units=[{"id": "a", "demand": 4, "value": 3, "groups": {"g": "x"}},
                   {"id": "b", "demand": 4, "value": 1, "groups": {"g": "y"}},
                   {"id": "c", "demand": 2, "value": 1, "groups": {"g": "y"}}],
            supply={"food": 6}, groups=["g"])


def test_every_number_equals_a_single_solve():
    scenario = build(**POOL)
    comparison = compare(scenario, rules=["utilitarian", "maxmin", "nash", {"name": "alpha", "alpha": 2}])
    for name, row in comparison.table.iterrows():
        rule = comparison.results[name].rule
        single = allocator.solve(scenario, rule={k: v for k, v in rule.items() if v is not None})
        for key in ("total_value", "min_fill_rate", "gini", "jain", "units_unserved"):
            assert row[key] == pytest.approx(single.metrics[key], abs=1e-6), (name, key)
        assert row["max_group_gap[g]"] == pytest.approx(single.metrics["max_group_gap"]["g"], abs=1e-6)
        rates = single.allocations["fill_rate"].to_numpy()
        assert row["atkinson_0.5"] == pytest.approx(atkinson(rates, 0.5), abs=1e-6)
        assert row["theil"] == pytest.approx(theil(rates), abs=1e-6)
    assert list(comparison.per_unit.columns) == list(comparison.table.index)
    assert comparison.per_unit.loc[("a", "food"), "maxmin"] == pytest.approx(0.6, abs=1e-6)


def test_price_of_fairness_by_hand():
    # utilitarian: a 4 (value 12) + 2 more to b or c (value 2) = 14; proportional: 0.6 each,
    # value 3*2.4 + 2.4 + 1.2 = 10.8, so the price is 1 - 10.8/14
    table = compare(build(**POOL), rules=["utilitarian", "proportional"]).table
    assert table.loc["utilitarian", "price_of_fairness"] == 0.0
    assert table.loc["proportional", "price_of_fairness"] == pytest.approx(1 - 10.8 / 14, abs=1e-6)
    assert table.loc["proportional", "share_unserved"] == 0.0


def test_utilitarian_is_solved_for_the_price_even_when_not_listed():
    table = compare(build(**POOL), rules=["proportional"]).table
    assert list(table.index) == ["proportional"]
    assert table.loc["proportional", "price_of_fairness"] == pytest.approx(1 - 10.8 / 14, abs=1e-6)


def test_worst_case_bounds_of_bertsimas_farias_trichakis():
    assert worst_price_of_fairness("nash", 1) == pytest.approx(0.0)
    assert worst_price_of_fairness("nash", 100) == pytest.approx(1 - 0.2 + 0.01)
    assert worst_price_of_fairness("maxmin", 1) == pytest.approx(0.0)
    assert worst_price_of_fairness("maxmin", 99) == pytest.approx(1 - 4 * 99 / 100**2)
    assert worst_price_of_fairness("leximin", 10) is None
    # the theorem needs fairness and efficiency in the same utilities: equal demands and values
    equal = build(units=[{"id": u, "demand": 5} for u in "abcd"], sites=[{"id": "s", "supply": {"food": 6}},
                  {"id": "t", "supply": {"food": 10}}], links=[{"unit": "a", "site": "s"}, {"unit": "b", "site": "t"},
                                                              {"unit": "c", "site": "t"}, {"unit": "d", "site": "t"}])
    table = compare(equal, rules=["maxmin", "nash"]).table
    for name in table.index:
        assert table.loc[name, "worst_price_applies"]
        assert table.loc[name, "price_of_fairness"] <= table.loc[name, "worst_price_of_fairness"] + 1e-9
    # with different values it does not apply, and is marked so (nash exceeds it here)
    table = compare(build(**POOL), rules=["nash"]).table
    assert not table.loc["nash", "worst_price_applies"]
    assert table.loc["nash", "price_of_fairness"] > table.loc["nash", "worst_price_of_fairness"]


def test_inequality_indices_by_hand():
    assert atkinson([1, 1, 1], 0.5) == pytest.approx(0.0)
    assert atkinson([0.5, 0.5, 1.0, 0.0], 1.0) == 1.0  # a zero makes the geometric mean 0
    assert atkinson([0.25, 1.0], 1.0) == pytest.approx(1 - 0.5 / 0.625)
    assert theil([1, 1]) == pytest.approx(0.0)
    assert theil([0, 1]) == pytest.approx(math.log(2))  # all to one of two
    assert atkinson([0, 0], 0.5) is None and theil([0, 0]) is None


def test_rule_lists_on_the_command_line():
    assert parse_rule_list("utilitarian,maxmin:over=region,alpha:alpha=2,tolerance=0.001,nash") == [
        {"name": "utilitarian"}, {"name": "maxmin", "over": "region"},
        {"name": "alpha", "alpha": 2.0, "tolerance": 0.001}, {"name": "nash"}]
    assert parse_rule_list("[{name: formula, weights: {poverty: 1}}, leximin]") == [
        {"name": "formula", "weights": {"poverty": 1}}, {"name": "leximin"}]


def test_cli_compare_writes_tables_and_json(tmp_path):
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", str(SCENARIOS / "tutorial" / "scenario.yaml"),
                                 "--rules", "utilitarian,maxmin,nash", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "price_of_fairness" in result.output and "nash" in result.output
    table = pd.read_csv(out / "comparison.csv")
    assert table["rule"].tolist() == ["utilitarian", "maxmin", "nash"]
    summary = json.loads((out / "summary.json").read_text())
    assert [r["rule"] for r in summary["rules"]] == ["utilitarian", "maxmin", "nash"]
    per_unit = pd.read_csv(out / "per_unit.csv")
    assert list(per_unit.columns) == ["unit", "resource", "utilitarian", "maxmin", "nash"]
    again = runner.invoke(app, ["compare", str(SCENARIOS / "tutorial" / "scenario.yaml"), "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.output


def test_cli_compare_reports_an_unknown_rule_clearly(tmp_path):
    result = runner.invoke(app, ["compare", str(SCENARIOS / "tutorial" / "scenario.yaml"), "--rules", "fairest"])
    assert result.exit_code == 2 and "unknown rule 'fairest'" in result.output
