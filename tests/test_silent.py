"""Nothing silently does nothing (issue #22): a rule that cannot allocate says why, supply left
while units it can reach still need it is measured and explained, and no NaN reaches a user."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import allocator
from allocator.cli.app import app
from allocator.core.errors import ScenarioError, Severity
from helpers import build


def two_sites(**overrides):
    """a (race x) reaches only n (20 lb), b (race y) only s (80 lb); each asks for 50 lb."""
    return build(resources=[{"id": "food", "unit": "lb"}], groups=["race"],
                 sites=[{"id": "n", "supply": {"food": 20}}, {"id": "s", "supply": {"food": 80}}],
                 units=[{"id": "a", "demand": 50, "groups": {"race": "x"}, "data": {"pov": 0, "jobless": 3}},
                        {"id": "b", "demand": 50, "groups": {"race": "y"}, "data": {"pov": 0, "jobless": 0}}],
                 links=[{"unit": "a", "site": "n"}, {"unit": "b", "site": "s"}], **overrides)


# --- a formula with no index -------------------------------------------------------------------------

def test_a_formula_whose_index_is_zero_everywhere_is_refused_naming_its_columns():
    # before #22 this allocated 0 lb to everyone and said nothing
    with pytest.raises(ScenarioError) as caught:
        allocator.solve(two_sites(), rule={"name": "formula", "weights": {"pov": 1}})
    [issue] = caught.value.issues
    assert issue.location == "rule.weights"
    assert "index is 0 for every unit" in issue.message and "pov" in issue.message


def test_a_formula_column_that_is_zero_everywhere_is_a_warning_its_weight_counts_for_nothing(tmp_path):
    result = allocator.solve(two_sites(), rule={"name": "formula", "weights": {"pov": 0.6, "jobless": 0.4}})
    [warning] = [w for w in result.warnings if w.location == "rule.weights"]
    assert warning.severity is Severity.WARNING and "pov is 0 for every unit" in warning.message
    assert "from jobless alone" in warning.message
    # validate says it too, without solving
    (tmp_path / "s.yaml").write_text(
        "name: s\nresources: [{id: food}]\nsupply: {food: 10}\n"
        "units: [{id: a, demand: 5, data: {pov: 0, jobless: 1}}, {id: b, demand: 5, data: {pov: 0, jobless: 2}}]\n"
        "rule: {name: formula, weights: {pov: 0.6, jobless: 0.4}}\n")
    _, warnings = allocator.validate(tmp_path / "s.yaml")
    assert any(w.location == "rule.weights" for w in warnings)


# --- supply withheld, and why ------------------------------------------------------------------------

def test_a_group_gap_that_equalises_down_is_named_with_the_supply_it_holds_back():
    # a gets all 20 lb at n (rate 0.4); within 0.05, b gets at most 0.45 x 50 = 22.5 of s's 80 lb,
    # while b still needs 27.5: 27.5 lb (27.5% of the 100 lb) stays because of the gap
    result = allocator.solve(two_sites(), rule="maxmin", constraints="group_gap:attribute=race,max_gap=0.05")
    [record] = result.withheld
    assert record["cause"] == "constraints" and record["amount"] == pytest.approx(27.5, rel=1e-6)
    assert record["share"] == pytest.approx(0.275, rel=1e-6)
    assert "group_gap(attribute=race, max_gap=0.05) holds every group's fill rate within 0.05" in record["reason"]
    text = [str(w) for w in result.warnings]
    assert any(t.startswith("<inline>: supply.food: 27.5 lb of food (28% of its supply) stays at the sites") for t in text)
    assert result.summary()["withheld"][0]["cause"] == "constraints"


def test_proportional_holds_everyone_at_the_rate_of_the_least_served():
    # one rate for both: a can get 20/50 = 0.4, so b gets 20 of its 50 and 60 of s's 80 lb stay,
    # of which b could take 30 more: 30 lb withheld by the rule
    [record] = allocator.solve(two_sites(), rule="proportional").withheld
    assert (record["cause"], record["amount"]) == ("rule", pytest.approx(30.0, rel=1e-6))
    assert "one fill rate (40.0%)" in record["reason"]


def test_a_value_of_zero_and_an_index_of_zero_are_named():
    pool = build(supply={"food": 60}, units=[{"id": "a", "demand": 40, "value": 0, "data": {"pov": 0}},
                                             {"id": "b", "demand": 60, "value": 0, "data": {"pov": 1}}])
    [record] = allocator.solve(pool, rule="utilitarian").withheld  # every value 0: all 60 stay
    assert record["amount"] == pytest.approx(60.0) and "value of 0" in record["reason"]
    # the formula gives b (index 1) all it asks for, capped at... 60; a (index 0) nothing: nothing left
    assert allocator.solve(pool, rule={"name": "formula", "weights": {"pov": 1}}).withheld == ()
    smaller = pool.replace(units=[{"id": "a", "demand": 40, "data": {"pov": 0}},
                                  {"id": "b", "demand": 30, "data": {"pov": 1}}])
    # b is capped at its 30; the other 30 stay, and a still needs 40 of them
    [record] = allocator.solve(smaller, rule={"name": "formula", "weights": {"pov": 1}}).withheld
    assert record["amount"] == pytest.approx(30.0) and "1 unit(s) that still need it have an index of 0" in record["reason"]


def test_network_capacity_whole_units_and_lost_reserve_places_are_named():
    network = build(resources=[{"id": "food"}], sites=[{"id": "W", "supply": {"food": 30}}],
                    units=[{"id": "a", "demand": 20, "data": {"node": "H"}}],
                    network={"mode": "flow", "edges": [{"from": "W", "to": "H", "capacity": 12}]})
    [record] = allocator.solve(network, rule="maxmin").withheld  # 12 pass the road; a needs 8 more of the 18 left
    assert (record["cause"], record["amount"]) == ("network", pytest.approx(8.0, rel=1e-6))
    assert "edge capacities" in record["reason"]
    slots = build(resources=[{"id": "slot", "divisible": False}], supply={"slot": 3}, groups=["g"],
                  units=[{"id": "a", "demand": 2, "groups": {"g": "x"}}, {"id": "b", "demand": 2, "groups": {"g": "y"}}])
    # fractions 1.5 + 1.5 keep the gap 0 <= 0.3; whole (2, 1) would make it 0.5: (1, 1), one slot stays
    [record] = allocator.solve(slots, rule="maxmin", constraints="group_gap:attribute=g,max_gap=0.3").withheld
    assert (record["cause"], record["amount"]) == ("whole_units", pytest.approx(1.0, rel=1e-6))
    vaccines = build(resources=[{"id": "dose", "divisible": False}], supply={"dose": 4}, groups=["job"], rule="reserve",
                     units=[{"id": f"u{i}", "demand": 1, "groups": {"job": "nurse" if i == 0 else "other"},
                             "data": {"age": 50 + i}} for i in range(6)],
                     reserves={"priority": {"score": "age"}, "unused": "lost",
                               "categories": [{"id": "essential", "share": 0.5, "attribute": "job", "groups": ["nurse"]}]})
    # 2 essential places, one nurse: 1 place lost; open serves 2: 3 of 4 doses, 3 units still wait
    [record] = allocator.solve(vaccines).withheld
    assert record["amount"] == pytest.approx(1.0) and "essential fills 1 of 2 places" in record["reason"]


def test_nothing_is_said_when_nothing_is_withheld():
    result = allocator.solve(two_sites(), rule="maxmin")  # 20 to a, 50 to b: what stays at s has nobody to go to
    assert result.withheld == () and "withheld" not in result.summary()


def test_solve_shows_the_reason_on_the_terminal_and_in_summary_json(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "name: s\nresources: [{id: food, unit: lb}]\ngroups: [race]\n"
        "sites: [{id: n, supply: {food: 20}}, {id: s, supply: {food: 80}}]\n"
        "units: [{id: a, demand: 50, groups: {race: x}}, {id: b, demand: 50, groups: {race: y}}]\n"
        "links: [{unit: a, site: n}, {unit: b, site: s}]\n"
        "constraints: [{type: group_gap, attribute: race, max_gap: 0.05}]\n")
    run = CliRunner().invoke(app, ["solve", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    assert "27.5 lb of food (28% of its supply) stays at the sites" in run.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert any("because group_gap(attribute=race, max_gap=0.05)" in w for w in summary["warnings"])
    assert summary["withheld"][0]["amount"] == 27.5


# --- no NaN reaches a user ---------------------------------------------------------------------------

def test_zero_supply_zero_demand_and_zero_gaps_write_no_nan(tmp_path):
    """Nothing to give (food 0), nothing asked (milk): every table and document says a number or null."""
    from allocator.accountability.disparity import disparity
    from allocator.tradeoffs.comparison import compare

    scenario = build(resources=[{"id": "food"}, {"id": "milk"}], supply={"food": 0, "milk": 5}, groups=["g"],
                     units=[{"id": "a", "demand": {"food": 5, "milk": 0}, "groups": {"g": "x"}},
                            {"id": "b", "demand": {"food": 5, "milk": 0}, "groups": {"g": "y"}}])
    result = allocator.solve(scenario, rule="maxmin")
    result.save(tmp_path / "solve")
    compare(scenario, rules=["maxmin", "utilitarian", "nash"]).save(tmp_path / "compare")
    result.explain().save(tmp_path / "explain")
    disparity(scenario, "g", rule="maxmin").save(tmp_path / "disparity")
    for path in tmp_path.rglob("*.*"):
        text = path.read_text().lower()
        assert "nan" not in text.replace("nash", "") and "inf" not in text, path


def test_withheld_shares_read_as_a_planner_reads_them():
    # "(0% of its supply)" was printed for 2.3e-5 of the supply: something withheld is never 0%
    from allocator.solving.withheld import _share

    assert [_share(x) for x in (0.28, 0.1, 0.0123, 0.000123, 2.3e-7)] == ["28%", "10%", "1.2%", "0.012%", "<0.01%"]


def test_the_withheld_measurement_shares_the_solve_time_limit(monkeypatch):
    # its LPs got the caller's whole time_limit again, on top of what the rule had spent
    import allocator.solving.api as solving

    seen = []
    monkeypatch.setattr(solving, "withheld_supply", lambda model, flows, backend, options: seen.append(options) or [])
    scenario = allocator.load_scenario("scenarios/tutorial/scenario.yaml")
    allocator.solve(scenario, rule="proportional", time_limit=50.0)
    assert len(seen) == 1 and 0 < seen[0].time_limit < 50.0


def test_supply_far_below_demand_is_delivered_and_measured_not_cleaned_away():
    # alpha 1.5, supply 1, big asks 1e9, small asks 1: the optimum equalises the marginal welfare
    # f_big^-1.5 / 1e9 = f_small^-1.5 with f_big = x / 1e9, f_small = 1 - x, so 1 - x = x / 1000 and
    # big gets x = 1000/1001 (a fill rate of 1e-9): the supply, not round-off (it was reported as 0)
    result = allocator.solve(build(supply={"food": 1}, units=[{"id": "big", "demand": 1e9}, {"id": "small", "demand": 1}]),
                             rule="alpha:alpha=1.5")
    allocated = result.allocations.set_index("unit")["allocated"]
    assert allocated["big"] == pytest.approx(1000 / 1001, rel=1e-4)
    assert result.metrics["total_allocated"] == pytest.approx(1.0, rel=1e-6)


def test_withheld_supply_is_measured_when_demand_dwarfs_it():
    # each asks 5e10 of 100 lb: proportional's one rate (20 / 5e10 = 4e-10) lies below the rates'
    # resolution (docs/solving.md, "Below the resolution"), and whatever the rule leaves at the sites
    # while b could still take it must be named; the measurement was lost (nothing said) because in LP
    # units the supply (3e-10) lies below the solver's tolerance unless the LP is equilibrated
    scenario = build(resources=[{"id": "food", "unit": "lb"}], groups=["race"],
                     sites=[{"id": "n", "supply": {"food": 20}}, {"id": "s", "supply": {"food": 80}}],
                     units=[{"id": "a", "demand": 5e10, "groups": {"race": "x"}},
                            {"id": "b", "demand": 5e10, "groups": {"race": "y"}}],
                     links=[{"unit": "a", "site": "n"}, {"unit": "b", "site": "s"}])
    result = allocator.solve(scenario, rule="proportional")
    [record] = result.withheld
    assert record["cause"] == "rule"
    assert record["amount"] + result.metrics["total_allocated"] == pytest.approx(100.0, rel=1e-6)
