"""Explanations: reasons on hand-built scenarios, shadow prices and marginal values checked by re-solving."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import allocator
from allocator.cli.app import app
from helpers import SCENARIOS, build

runner = CliRunner()
NETWORK = dict(units=[{"id": "a", "demand": 10, "groups": {"g": "x"}}, {"id": "b", "demand": 10, "groups": {"g": "y"}},
                      {"id": "c", "demand": 4, "groups": {"g": "y"}}, {"id": "far", "demand": 3, "groups": {"g": "x"}}],
               sites=[{"id": "s1", "supply": {"food": 6}}, {"id": "s2", "supply": {"food": 30}}],
               links=[{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s1"}, {"unit": "b", "site": "s2"},
                      {"unit": "c", "site": "s2"}], groups=["g"])
GAP = [{"type": "group_gap", "attribute": "g", "max_gap": 0.1}]


def _with_supply(s1: float, **extra):
    doc = {**NETWORK, "sites": [{"id": "s1", "supply": {"food": s1}}, {"id": "s2", "supply": {"food": 30}}]}
    return build(**doc, **extra)


def _reasons(explanation):
    return dict(zip(explanation.units["unit"], explanation.units["reason_code"]))


def test_reasons_without_constraints():
    # a can only use s1 (6 lb): used up. b gets all 10 from s2. far reaches no site.
    e = allocator.solve(build(**NETWORK), rule="utilitarian").explain()
    assert _reasons(e) == {"a": "sites_used_up", "b": "demand_met", "c": "demand_met", "far": "unreachable"}
    assert e.units.set_index("unit").loc["a", "sites"] == "s1"
    s2 = e.sites.set_index("site").loc["s2"]
    assert s2["unused"] == pytest.approx(16) and s2["unused_reason"] == "every unit that can reach it has its demand met"


def test_a_group_cap_is_named_and_the_stock_it_strands():
    # group x = a (+ far, unreachable): 6 of 13 at most. The gap caps group y at that + 0.1
    e = allocator.solve(build(**NETWORK), rule="utilitarian", constraints=GAP).explain()
    assert _reasons(e)["b"] == "group_capped" and _reasons(e)["c"] == "group_capped"
    assert "group g=y is capped by group_gap" in e.sites.set_index("site").loc["s2", "unused_reason"]
    assert e.constraints["binding"].tolist() == [True]


def test_marginal_value_of_supply_matches_a_re_solve():
    # one more lb at s1 raises group x, so the gap lets group y have 14/13 more: 1 + 14/13
    base = allocator.solve(_with_supply(6), rule="utilitarian", constraints=GAP)
    marginal = base.explain().sites.set_index("site").loc["s1", "marginal_value"]
    assert marginal == pytest.approx(1 + 14 / 13, rel=1e-5)
    bumped = allocator.solve(_with_supply(6.1), rule="utilitarian", constraints=GAP)
    gain = (bumped.metrics["total_value"] - base.metrics["total_value"]) / 0.1
    assert gain == pytest.approx(marginal, rel=1e-4)
    assert base.explain().sites.set_index("site").loc["s2", "marginal_value"] == 0.0  # s2 has stock left


def test_shadow_price_of_a_gap_matches_a_re_solve():
    base = allocator.solve(build(**NETWORK), rule="utilitarian", constraints=GAP)
    price = base.explain().constraints.iloc[0]["shadow_price"]
    looser = allocator.solve(build(**NETWORK), rule="utilitarian",
                             constraints=[{**GAP[0], "max_gap": 0.11}])
    assert price == pytest.approx((looser.metrics["total_value"] - base.metrics["total_value"]) / 0.01, rel=1e-4)
    assert price == pytest.approx(14, rel=1e-5)  # group y's demand: each point of gap is 0.14 lb


def test_shadow_price_of_a_floor_matches_a_re_solve():
    # values 3 and 1, 12 lb for 10 + 10: utilitarian gives b only its floor (5) and a the rest (7);
    # each point of floor moves 0.1 lb from a (value 3) to b (value 1): -0.2, so -20 per unit of share
    doc = dict(units=[{"id": "a", "demand": 10, "value": 3}, {"id": "b", "demand": 10}], supply={"food": 12})
    base = allocator.solve(build(**doc), rule="utilitarian", constraints=[{"type": "floor", "share": 0.5}])
    price = base.explain().constraints.iloc[0]["shadow_price"]
    stricter = allocator.solve(build(**doc), rule="utilitarian", constraints=[{"type": "floor", "share": 0.51}])
    assert price == pytest.approx((stricter.metrics["total_value"] - base.metrics["total_value"]) / 0.01, rel=1e-4)
    assert price == pytest.approx(-20, rel=1e-5)
    assert _reasons(base.explain()) == {"a": "sites_used_up", "b": "sites_used_up"}  # the pool is used up


def test_held_at_the_equity_level():
    e = allocator.solve(build(units=[{"id": "a", "demand": 4}, {"id": "b", "demand": 8}], supply={"food": 6}),
                        rule="maxmin").explain()
    assert _reasons(e) == {"a": "held_at_level", "b": "held_at_level"}
    assert "50.0%" in e.units["reason"].iloc[0]


def test_max_flow_results_are_explained_through_their_lp():
    scenario = build(units=[{"id": "a", "demand": 4}, {"id": "b", "demand": 8}],
                     sites=[{"id": "s", "supply": {"food": 6}}])
    e = allocator.solve(scenario, rule={"name": "maxmin", "method": "flow"}).explain()
    assert set(_reasons(e).values()) == {"held_at_level"}


def test_cli_explain(tmp_path):
    out = tmp_path / "e"
    path = str(SCENARIOS / "food-bank" / "scenario.yaml")
    result = runner.invoke(app, ["explain", path, "--unit", "county-001", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "county-001" in result.output and "county-002" not in result.output
    for name in ("units.csv", "sites.csv", "constraints.csv", "summary.json"):
        assert (out / name).is_file()
    assert json.loads((out / "summary.json").read_text())["sentences"][0].startswith("Shadow prices")
    missing = runner.invoke(app, ["explain", path, "--unit", "nowhere"])
    assert missing.exit_code == 2 and "no unit 'nowhere'" in missing.output


def _households(divisible: bool):
    resources = [{"id": r, "divisible": divisible} for r in ("prevention", "rehousing")]
    units = [{"id": "h1", "demand": {"prevention": 1, "rehousing": 1}, "value": {"prevention": 5, "rehousing": 1},
              "groups": {"race": "x"}},
             {"id": "h2", "demand": {"prevention": 1, "rehousing": 1}, "value": {"prevention": 4, "rehousing": 3},
              "groups": {"race": "y"}}]
    return build(resources=resources, units=units, exclusive=["prevention", "rehousing"], groups=["race"],
                 supply={"prevention": 1, "rehousing": 1})


BENEFIT_GAP = [{"type": "group_gap", "attribute": "race", "max_gap": 0.2, "measure": "benefit"}]


def test_a_benefit_cap_is_named_and_priced():
    base = allocator.solve(_households(True), rule="utilitarian", constraints=BENEFIT_GAP)
    e = base.explain()
    assert "group_capped" in set(e.units["reason_code"])
    assert "race=x" in " ".join(e.units.loc[e.units["reason_code"] == "group_capped", "reason"])
    price = e.constraints.iloc[0]["shadow_price"]
    looser = allocator.solve(_households(True), rule="utilitarian", constraints=[{**BENEFIT_GAP[0], "max_gap": 0.21}])
    assert price == pytest.approx((looser.metrics["total_value"] - base.metrics["total_value"]) / 0.01, rel=1e-4)


def test_whole_unit_results_are_explained_without_prices():
    # branch and bound gives no duals: every pair still gets a reason, no constraint is priced
    e = allocator.solve(_households(False), rule="utilitarian", constraints=BENEFIT_GAP).explain()
    assert set(e.units["reason_code"]) <= {"rule", "demand_met", "sites_used_up", "group_capped"}
    assert e.constraints["binding"].tolist() == [None]  # unknown, not "does not bind"
    assert any("No prices" in sentence for sentence in e.sentences)
    assert not any("does not bind" in sentence for sentence in e.sentences)


def test_benefit_floor_prices_match_a_re_solve():
    scenario = build(units=[{"id": "a", "demand": 4, "value": 3, "groups": {"g": "x"}},
                            {"id": "b", "demand": 6, "value": 2, "groups": {"g": "y"}}], supply={"food": 5}, groups=["g"])
    spec = {"type": "group_floor", "attribute": "g", "share": 0.3, "measure": "benefit"}
    base = allocator.solve(scenario, rule="utilitarian", constraints=[spec])
    price = base.explain().constraints.iloc[0]["shadow_price"]
    stricter = allocator.solve(scenario, rule="utilitarian", constraints=[{**spec, "share": 0.31}])
    assert price == pytest.approx((stricter.metrics["total_value"] - base.metrics["total_value"]) / 0.01, rel=1e-4)


def test_a_priority_objective_is_not_called_total_value():
    scenario = build(units=[{"id": "a", "demand": 4, "data": {"score": 3}}, {"id": "b", "demand": 6, "data": {"score": 1}}],
                     supply={"food": 5})
    e = allocator.solve(scenario, rule={"name": "priority", "score": "score"}).explain()
    assert "not total value" in e.objective
    assert not any("delivered food" in sentence for sentence in e.sentences)


def test_a_time_limited_result_is_not_explained():
    from test_solver_faults import DOCUMENT, Scripted

    from allocator.core.status import Status

    result = allocator.solve(build(**DOCUMENT), solver=Scripted({2: Status.TIME_LIMIT}))
    with pytest.raises(allocator.UsageError, match="only an optimal result"):
        result.explain()
