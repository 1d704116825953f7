"""Every rule on small scenarios whose answer is worked out by hand (arithmetic in the comments)."""

from __future__ import annotations

import pytest

import allocator
from helpers import allocated, assert_feasible, build, fills, group_fills

EQUITY_RULES = ["maxmin", "proportional", "leximin"]
ALL_RULES = ["utilitarian", "proportional", "maxmin", "leximin"]


# --------------------------------------------------------------------------- one pool

@pytest.mark.parametrize("rule", EQUITY_RULES)
@pytest.mark.parametrize("supply, demands", [
    # 60 for 40 + 60 = 100 -> every fill 60/100 = 0.6
    (60, [40, 60]),
    # 30 for 20 + 20 + 20 = 60 -> 0.5
    (30, [20, 20, 20]),
    # 7 for 1 + 2 + 4 + 7 = 14 -> 0.5
    (7, [1, 2, 4, 7]),
    # 500 for 100 + 300 = 400 -> more than enough: min(1, 500/400) = 1
    (500, [100, 300]),
    # exactly enough: 50 for 50 -> 1
    (50, [10, 40]),
])
def test_one_pool_every_fill_is_supply_over_demand(rule, supply, demands):
    units = [{"id": f"u{k}", "demand": d} for k, d in enumerate(demands)]
    scenario = build(supply={"food": supply}, units=units)
    result = allocator.solve(scenario, rule=rule)
    expected = min(1.0, supply / sum(demands))
    assert_feasible(scenario, result)
    for unit, fill in fills(result).items():
        assert fill == pytest.approx(expected, rel=1e-5), unit
    # everyone at the same level uses min(supply, demand) in total
    assert result.metrics["total_allocated"] == pytest.approx(min(supply, sum(demands)), rel=1e-5)
    assert result.metrics["min_fill_rate"] == pytest.approx(expected, rel=1e-5)
    assert result.metrics["gini"] == pytest.approx(0.0, abs=1e-5)


def test_docstring_example_one_pool_maxmin():
    # the example in solve()'s docstring: 60 for 40 + 60 -> [0.6, 0.6]
    s = build(supply={"food": 60}, units=[{"id": "a", "demand": 40}, {"id": "b", "demand": 60}])
    assert allocator.solve(s, rule="maxmin").allocations["fill_rate"].round(6).tolist() == [0.6, 0.6]


def test_one_pool_two_resources_are_rationed_separately():
    # food: 30 for 20 + 40 = 60 -> 0.5; water: 90 for 30 + 30 = 60 -> 1 (capped)
    s = build(resources=[{"id": "food"}, {"id": "water"}], supply={"food": 30, "water": 90},
              units=[{"id": "a", "demand": {"food": 20, "water": 30}},
                     {"id": "b", "demand": {"food": 40, "water": 30}}])
    for rule in EQUITY_RULES:
        r = allocator.solve(s, rule=rule)
        assert_feasible(s, r)
        if rule == "proportional":
            # proportional gives *every* pair the same rate: min(0.5, 1) = 0.5 for both resources
            assert r.allocations["fill_rate"].tolist() == pytest.approx([0.5] * 4, rel=1e-5)
            continue
        assert fills(r, "food") == pytest.approx({"a": 0.5, "b": 0.5}, rel=1e-5)
        assert fills(r, "water") == pytest.approx({"a": 1.0, "b": 1.0}, rel=1e-5)
        assert r.metrics["by_resource"]["food"]["allocated"] == pytest.approx(30, rel=1e-5)
        assert r.metrics["by_resource"]["water"]["allocated"] == pytest.approx(60, rel=1e-5)


# --------------------------------------------------------------------------- utilitarian

def test_utilitarian_serves_highest_value_first():
    # 50 units of food; values 3 > 2 > 1, demand 30 each.
    # a (value 3) gets its 30, b (value 2) the remaining 20, c (value 1) nothing.
    # total value = 3*30 + 2*20 + 1*0 = 130
    s = build(supply={"food": 50}, units=[
        {"id": "c", "demand": 30, "value": 1},
        {"id": "a", "demand": 30, "value": 3},
        {"id": "b", "demand": 30, "value": 2},
    ])
    r = allocator.solve(s, rule="utilitarian")
    assert_feasible(s, r)
    assert allocated(r) == pytest.approx({"a": 30, "b": 20, "c": 0}, abs=1e-4)
    assert r.metrics["total_value"] == pytest.approx(130, rel=1e-6)
    assert r.metrics["total_allocated"] == pytest.approx(50, rel=1e-6)
    assert r.metrics["units_unserved"] == 1
    assert r.metrics["min_fill_rate"] == pytest.approx(0.0, abs=1e-6)


def test_utilitarian_values_per_resource():
    # food 10: a values food at 5, b at 1 -> a gets 10 of its 10. water 10: b values water at 5 -> b gets 10.
    s = build(resources=[{"id": "food"}, {"id": "water"}], supply={"food": 10, "water": 10}, units=[
        {"id": "a", "demand": {"food": 10, "water": 10}, "value": {"food": 5, "water": 1}},
        {"id": "b", "demand": {"food": 10, "water": 10}, "value": {"food": 1, "water": 5}},
    ])
    r = allocator.solve(s, rule="utilitarian")
    assert allocated(r, "food") == pytest.approx({"a": 10, "b": 0}, abs=1e-5)
    assert allocated(r, "water") == pytest.approx({"a": 0, "b": 10}, abs=1e-5)
    assert r.metrics["total_value"] == pytest.approx(100, rel=1e-6)


def test_utilitarian_with_links_uses_every_site():
    # s1 = 10 only reachable by a (and b); s2 = 30 by b and c. Max total delivered = 40 = all supply
    # (a <= 20 from s1 alone, b + c <= 40 from s2), so utilitarian (values 1) delivers 40.
    s = build(sites=[{"id": "s1", "supply": {"food": 10}}, {"id": "s2", "supply": {"food": 30}}],
              units=[{"id": "a", "demand": 20}, {"id": "b", "demand": 20}, {"id": "c", "demand": 20}],
              links=[{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s1"},
                     {"unit": "b", "site": "s2"}, {"unit": "c", "site": "s2"}])
    r = allocator.solve(s, rule="utilitarian")
    assert_feasible(s, r)
    assert r.metrics["total_allocated"] == pytest.approx(40, rel=1e-6)
    assert r.metrics["utilization"] == pytest.approx(1.0, rel=1e-6)


# --------------------------------------------------------------------------- networks

def test_leximin_small_network(network):
    # sites s1 = 10, s2 = 30; a -> s1 only, b -> s1 and s2, c -> s2 only; demand 20 each.
    # round 1: a can get at most 10/20 = 0.5 (s1 is its only site); everyone at 0.5 is feasible
    #          (a 10 from s1, b 10 and c 10 from s2), so level 0.5, and a is saturated.
    # round 2: a needs all of s1, so b and c share s2 = 30: 15 each = 0.75.
    for solver in ("highs", "pulp"):
        r = allocator.solve(network, rule="leximin", solver=solver)
        assert_feasible(network, r)
        assert fills(r) == pytest.approx({"a": 0.5, "b": 0.75, "c": 0.75}, rel=1e-5)
        assert r.metrics["total_allocated"] == pytest.approx(40, rel=1e-6)
        # a takes s1 entirely; b and c are served from s2 only
        f = r.flows.groupby("site")["quantity"].sum()
        assert f["s1"] == pytest.approx(10, rel=1e-5)
        assert f["s2"] == pytest.approx(30, rel=1e-5)


def test_leximin_three_levels():
    # sites s1 = 8, s2 = 30, s3 = 20; demand 20 each
    #   a -> s1        b -> s1, s2        c -> s2, s3        d -> s3        e -> s3
    # round 1: a <= 8/20 = 0.4; all at 0.4 is feasible (a 8 from s1; d, e 8 each from s3;
    #          b 8 and c 8 from s2) -> level 0.4, only a is stuck there.
    # round 2: s1 is a's, so b lives on s2; d and e share s3 = 20 -> min(d, e) <= 10/20 = 0.5,
    #          and b, c, d, e >= 0.5 is feasible (d, e 10 each from s3, b and c 10 each from s2)
    #          -> level 0.5, d and e saturated (they use all of s3, c gets nothing from s3).
    # round 3: b and c share s2 = 30 -> 15 each = 0.75.
    # total = 8 + 20 + 30 = 58 = all supply.
    s = build(sites=[{"id": "s1", "supply": {"food": 8}}, {"id": "s2", "supply": {"food": 30}},
                     {"id": "s3", "supply": {"food": 20}}],
              units=[{"id": u, "demand": 20} for u in "abcde"],
              links=[{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s1"}, {"unit": "b", "site": "s2"},
                     {"unit": "c", "site": "s2"}, {"unit": "c", "site": "s3"},
                     {"unit": "d", "site": "s3"}, {"unit": "e", "site": "s3"}])
    for solver in ("highs", "pulp"):
        r = allocator.solve(s, rule={"name": "leximin", "method": "lp"}, solver=solver)
        assert_feasible(s, r)
        assert fills(r) == pytest.approx({"a": 0.4, "b": 0.75, "c": 0.75, "d": 0.5, "e": 0.5}, rel=1e-5)
        assert r.metrics["total_allocated"] == pytest.approx(58, rel=1e-6)
        # three distinct levels need at least three equity LPs (then a value LP, or a recorded skip)
        stages = [st["stage"] for st in r.solver["stages"]]
        assert sum(st.startswith("leximin") for st in stages) >= 3
        assert stages[-1] == "value"
    # the max-flow decomposition (the default here: one resource, no constraints) peels the same levels
    r = allocator.solve(s, rule="leximin")
    assert r.solver["stages"][0]["stage"] == "bottleneck decomposition"
    assert fills(r) == pytest.approx({"a": 0.4, "b": 0.75, "c": 0.75, "d": 0.5, "e": 0.5}, rel=1e-9)
    # maxmin only knows the first level
    m = allocator.solve(s, rule="maxmin")
    assert m.metrics["min_fill_rate"] == pytest.approx(0.4, rel=1e-5)


def test_maxmin_and_leximin_differ_when_values_pull_apart(network):
    # same network, but c is worth 2 per unit: maxmin holds everyone >= 0.5 then maximises value,
    # so c takes as much of s2 as it can: c = 20 (fill 1), b = 10 (0.5).
    # Value = 10 + 10 + 2*20 = 60.
    # leximin fixes b = c = 0.75 before the value stage (value 10 + 15 + 2*15 = 55).
    doc = {"sites": [{"id": "s1", "supply": {"food": 10}}, {"id": "s2", "supply": {"food": 30}}],
           "units": [{"id": "a", "demand": 20}, {"id": "b", "demand": 20}, {"id": "c", "demand": 20, "value": 2}],
           "links": [{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s1"},
                     {"unit": "b", "site": "s2"}, {"unit": "c", "site": "s2"}]}
    s = build(doc)
    m = allocator.solve(s, rule="maxmin")
    lx = allocator.solve(s, rule="leximin")
    assert fills(m) == pytest.approx({"a": 0.5, "b": 0.5, "c": 1.0}, rel=1e-5)
    assert fills(lx) == pytest.approx({"a": 0.5, "b": 0.75, "c": 0.75}, rel=1e-5)
    assert m.metrics["total_value"] == pytest.approx(60, rel=1e-5)
    assert lx.metrics["total_value"] == pytest.approx(55, rel=1e-5)
    # same worst-off level, but leximin's second-worst is better
    assert m.metrics["min_fill_rate"] == pytest.approx(lx.metrics["min_fill_rate"], rel=1e-5)


def test_proportional_with_links_leaves_supply_unused(network):
    # every unit at the same rate t: a <= 10/20 caps t at 0.5 -> a 10, b 10, c 10 = 30 of 40;
    # s2 keeps 10 it could have given to b or c (that is what "equal shares" costs).
    r = allocator.solve(network, rule="proportional")
    assert_feasible(network, r)
    assert fills(r) == pytest.approx({"a": 0.5, "b": 0.5, "c": 0.5}, rel=1e-5)
    assert r.metrics["total_allocated"] == pytest.approx(30, rel=1e-5)
    assert r.metrics["utilization"] == pytest.approx(0.75, rel=1e-5)


def test_fairness_metrics_of_the_leximin_network(network):
    # fills 0.5, 0.75, 0.75 (see test_leximin_small_network)
    # gini = sum_ij |f_i - f_j| / (2 n^2 mean) = (4 * 0.25) / (2 * 9 * 2/3) = 1/12
    # jain = (sum f)^2 / (n sum f^2) = 4 / (3 * (0.25 + 2 * 0.5625)) = 4 / 4.125 = 32/33
    m = allocator.solve(network, rule="leximin").metrics
    assert m["gini"] == pytest.approx(1 / 12, abs=1e-5)
    assert m["jain"] == pytest.approx(32 / 33, abs=1e-5)
    assert m["mean_fill_rate"] == pytest.approx(2 / 3, abs=1e-5)
    assert m["max_fill_rate"] == pytest.approx(0.75, abs=1e-5)
    assert m["units_unserved"] == 0


def test_maxmin_value_stage_does_not_waste_supply(network):
    # maxmin level 0.5 (a's cap); the value stage then hands out the rest: all 40 delivered,
    # b + c = 30 with both >= 10.
    # the LP stages, and the max-flow path (equal values here) must both deliver everything
    for rule, stages in [({"name": "maxmin", "method": "lp"}, ["maxmin", "value"]),
                         ({"name": "maxmin", "method": "flow"}, ["bottleneck decomposition"]),
                         ("maxmin", ["maxmin", "value"])]:  # small: auto keeps the LP stages
        r = allocator.solve(network, rule=rule)
        assert_feasible(network, r)
        f = fills(r)
        assert f["a"] == pytest.approx(0.5, rel=1e-5)
        assert min(f.values()) == pytest.approx(0.5, rel=1e-5)
        assert f["b"] >= 0.5 - 1e-6 and f["c"] >= 0.5 - 1e-6
        assert r.metrics["total_allocated"] == pytest.approx(40, rel=1e-6)
        assert r.metrics["utilization"] == pytest.approx(1.0, rel=1e-6)
        assert [st["stage"] for st in r.solver["stages"]] == stages


def test_tutorial_matches_its_hand_check():
    # scenarios/tutorial/scenario.yaml works this out in its comments: everyone at 60% is the
    # only maxmin allocation: a 600, b 480, c 720, d 360, e 540, f 300.
    from helpers import shipped

    s = shipped("tutorial")
    for rule in EQUITY_RULES:
        r = allocator.solve(s, rule=rule)
        assert_feasible(s, r)
        assert allocated(r) == pytest.approx({"pantry-a": 600, "pantry-b": 480, "pantry-c": 720, "pantry-d": 360,
                                              "pantry-e": 540, "pantry-f": 300}, rel=1e-5)
        assert group_fills(r, "rurality") == pytest.approx({"urban": 0.6, "rural": 0.6}, rel=1e-5)


# --------------------------------------------------------------------------- over: groups

def _regions():
    # pool of 50; north: a (demand 10, value 2), b (demand 30); south: c (demand 60).
    return build(supply={"food": 50}, groups=["region"], units=[
        {"id": "a", "demand": 10, "value": 2, "groups": {"region": "north"}},
        {"id": "b", "demand": 30, "groups": {"region": "north"}},
        {"id": "c", "demand": 60, "groups": {"region": "south"}},
    ])


def test_maxmin_over_region_equalises_groups_not_units():
    # group fill rates: north (a + b) / 40, south c / 60. Max-min of those: both at 50/100 = 0.5,
    # i.e. north 20, south 30. Value stage: a is worth 2, so a takes its full 10, b the other 10.
    # Pair fills: a 1.0, b 1/3, c 0.5; value 2*10 + 10 + 30 = 60.
    s = _regions()
    r = allocator.solve(s, rule={"name": "maxmin", "over": "region"})
    assert_feasible(s, r)
    assert r.rule == {"name": "maxmin", "over": "region", "method": "auto"}
    assert group_fills(r, "region") == pytest.approx({"north": 0.5, "south": 0.5}, rel=1e-5)
    assert allocated(r) == pytest.approx({"a": 10, "b": 10, "c": 30}, rel=1e-5)
    assert r.metrics["min_fill_rate"] == pytest.approx(1 / 3, rel=1e-5)
    assert r.metrics["total_value"] == pytest.approx(60, rel=1e-5)
    # over units instead: all at 0.5 -> a 5, b 15, c 30
    u = allocator.solve(s, rule="maxmin")
    assert allocated(u) == pytest.approx({"a": 5, "b": 15, "c": 30}, rel=1e-5)


def test_scenario_rule_with_over_is_used_by_default():
    doc = {"supply": {"food": 50}, "groups": ["region"], "rule": {"name": "maxmin", "over": "region"},
           "units": [{"id": "a", "demand": 10, "value": 2, "groups": {"region": "north"}},
                     {"id": "b", "demand": 30, "groups": {"region": "north"}},
                     {"id": "c", "demand": 60, "groups": {"region": "south"}}]}
    r = allocator.solve(build(doc))
    assert r.rule == {"name": "maxmin", "over": "region", "method": "auto"}
    assert allocated(r) == pytest.approx({"a": 10, "b": 10, "c": 30}, rel=1e-5)


def test_leximin_over_group():
    # s1 = 10 reaches only group G1 = {u1a, u1b} (demand 20 each): G1 <= 10/40 = 0.25.
    # s2 = 60 reaches G2 = {u2} (demand 20) and G3 = {u3} (demand 60).
    # round 1: level 0.25 (G1 saturated). round 2: G2, G3 share 60 of 80 -> 0.75 each:
    # u2 = 15, u3 = 45.
    s = build(
        sites=[{"id": "s1", "supply": {"food": 10}}, {"id": "s2", "supply": {"food": 60}}],
        groups=["g"],
        units=[{"id": "u1a", "demand": 20, "groups": {"g": "G1"}}, {"id": "u1b", "demand": 20, "groups": {"g": "G1"}},
               {"id": "u2", "demand": 20, "groups": {"g": "G2"}}, {"id": "u3", "demand": 60, "groups": {"g": "G3"}}],
        links=[{"unit": "u1a", "site": "s1"}, {"unit": "u1b", "site": "s1"},
               {"unit": "u2", "site": "s2"}, {"unit": "u3", "site": "s2"}],
    )
    for solver in ("highs", "pulp"):
        r = allocator.solve(s, rule={"name": "leximin", "over": "g"}, solver=solver)
        assert_feasible(s, r)
        assert group_fills(r, "g") == pytest.approx({"G1": 0.25, "G2": 0.75, "G3": 0.75}, rel=1e-5)
        a = allocated(r)
        assert a["u1a"] + a["u1b"] == pytest.approx(10, rel=1e-5)
        assert a["u2"] == pytest.approx(15, rel=1e-5)
        assert a["u3"] == pytest.approx(45, rel=1e-5)
    # maxmin over g only guarantees G2, G3 >= 0.25: the split of s2 is left to the value stage,
    # but the total is the same 70.
    m = allocator.solve(s, rule={"name": "maxmin", "over": "g"})
    assert min(group_fills(m, "g").values()) == pytest.approx(0.25, rel=1e-5)
    assert m.metrics["total_allocated"] == pytest.approx(70, rel=1e-5)


# --------------------------------------------------------------------------- unreachable units

@pytest.mark.parametrize("rule", ALL_RULES)
def test_unreachable_unit_gets_zero_and_a_warning_without_hurting_others(rule):
    # s1 = 10 serves a and b (demand 10 each) -> 0.5 each under every equity rule; c has no link.
    # s2 holds only water, so c's link to s2 does not reach any food.
    s = build(
        resources=[{"id": "food"}, {"id": "water"}],
        sites=[{"id": "s1", "supply": {"food": 10}}, {"id": "s2", "supply": {"water": 5}}],
        units=[{"id": "a", "demand": {"food": 10}}, {"id": "b", "demand": {"food": 10}},
               {"id": "c", "demand": {"food": 10}}],
        links=[{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s1"}, {"unit": "c", "site": "s2"}],
    )
    r = allocator.solve(s, rule=rule)
    assert_feasible(s, r)
    f = fills(r, "food")
    assert f["c"] == 0.0
    assert f["a"] + f["b"] == pytest.approx(1.0, rel=1e-5)  # all of s1 is handed out
    if rule != "utilitarian":
        assert f["a"] == pytest.approx(0.5, rel=1e-5)
        assert f["b"] == pytest.approx(0.5, rel=1e-5)
    # utilitarian may hand all of s1 to one of a, b (values tie), so only equity rules pin this to 1
    if rule != "utilitarian":
        assert r.metrics["units_unserved"] == 1
    assert r.metrics["units_unserved"] >= 1
    assert r.metrics["min_fill_rate"] == 0.0  # the metric does count c
    warnings = [w for w in r.warnings if "unit c" in w.location]
    assert len(warnings) == 1
    assert "food" in warnings[0].message
    assert str(warnings[0].severity) == "warning"


def test_unit_without_any_link_is_unreachable():
    s = build(sites=[{"id": "s1", "supply": {"food": 10}}],
              units=[{"id": "a", "demand": 10}, {"id": "lonely", "demand": 10}],
              links=[{"unit": "a", "site": "s1"}])
    r = allocator.solve(s, rule="maxmin")
    assert fills(r) == pytest.approx({"a": 1.0, "lonely": 0.0}, abs=1e-6)
    assert any("lonely" in w.location for w in r.warnings)


def test_zero_demand_unit_is_not_a_pair():
    # a unit with demand 0 has no row in allocations and does not drag the minimum down
    s = build(supply={"food": 10}, units=[{"id": "a", "demand": 20}, {"id": "z", "demand": 0}])
    r = allocator.solve(s, rule="maxmin")
    assert r.allocations["unit"].tolist() == ["a"]
    assert r.metrics["min_fill_rate"] == pytest.approx(0.5, rel=1e-5)
    assert r.metrics["units_unserved"] == 0


def test_result_save_writes_tables_and_refuses_to_overwrite(tmp_path, network):
    r = allocator.solve(network, rule="leximin")
    out = r.save(tmp_path / "out")
    names = sorted(p.name for p in out.iterdir())
    assert names == [".allocator-output.json", "allocations.csv", "flows.csv", "groups.csv", "summary.json"]
    import json
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rule"]["name"] == "leximin"
    assert summary["metrics"]["min_fill_rate"] == pytest.approx(0.5, rel=1e-5)
    with pytest.raises(allocator.OutputExistsError):
        r.save(tmp_path / "out")
    r.save(tmp_path / "out", force=True)
    assert (tmp_path / "out" / "allocations.csv").exists()


# --------------------------------------------------------------------------- held-level slack

def _many_plus_one_tiny(n=2000):
    # one pool, n units of demand 100 (value 1) and one unit "t" of demand 1 (value 2);
    # supply = half the demand -> the only max-min (and leximin) allocation is 0.5 for everyone:
    # anything above 0.5 for t would push some other unit below 0.5.
    units = [{"id": f"u{i}", "demand": 100} for i in range(n)] + [{"id": "t", "demand": 1, "value": 2}]
    return build(supply={"food": 0.5 * (100 * n + 1)}, units=units)


def test_proportional_is_exact_with_many_units():
    f = fills(allocator.solve(_many_plus_one_tiny(), rule="proportional"))
    assert f["t"] == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("rule", ["maxmin", "leximin"])
def test_held_level_slack_is_not_pooled_into_one_unit(rule):
    r = allocator.solve(_many_plus_one_tiny(), rule=rule)
    f = fills(r)
    # every fill, including t's, is 0.5 to solver accuracy
    assert f["t"] == pytest.approx(0.5, abs=1e-4)
    assert max(f.values()) == pytest.approx(0.5, abs=1e-4)


# --------------------------------------------------------------------------- nothing to deliver

@pytest.mark.parametrize("rule", ["utilitarian", "maxmin", "leximin"])
@pytest.mark.parametrize("case", ["zero-supply", "no-links"])
def test_nothing_deliverable_gives_zeros_not_a_solver_error(rule, case):
    if case == "zero-supply":
        s = build(supply={"food": 0}, units=[{"id": "a", "demand": 5}, {"id": "b", "demand": 3}])
    else:
        s = build(sites=[{"id": "s1", "supply": {"food": 10}}], links=[],
                  units=[{"id": "a", "demand": 5}, {"id": "b", "demand": 3}])
    r = allocator.solve(s, rule=rule)  # solver="highs", the default
    assert fills(r) == {"a": 0.0, "b": 0.0}
    assert r.metrics["units_unserved"] == 2


@pytest.mark.parametrize("rule", ALL_RULES)
def test_nothing_deliverable_gives_zeros_with_pulp(rule):
    # the same scenario through PuLP works: every unit gets 0 and is warned about
    s = build(supply={"food": 0}, units=[{"id": "a", "demand": 5}, {"id": "b", "demand": 3}])
    r = allocator.solve(s, rule=rule, solver="pulp")
    assert fills(r) == {"a": 0.0, "b": 0.0}
    assert r.metrics["units_unserved"] == 2
    assert r.metrics["total_allocated"] == 0
    assert len([w for w in r.warnings if w.location.startswith("unit ")]) == 2
