"""Every constraint type, binding and slack, with hand-computed answers; infeasibility diagnosis."""

from __future__ import annotations

import re

import pytest

import allocator
from helpers import allocated, assert_feasible, build, fills, group_fills


def _two_units(**extra):
    # pool 50; a: demand 40, value 2; b: demand 40, value 1
    return build(supply={"food": 50}, units=[{"id": "a", "demand": 40, "value": 2},
                                             {"id": "b", "demand": 40, "value": 1}], **extra)


# --------------------------------------------------------------------------- floor

def test_utilitarian_without_floor_starves_the_low_value_unit():
    # a is worth more: a 40 (all it asks), b the remaining 10.
    r = allocator.solve(_two_units(), rule="utilitarian")
    assert allocated(r) == pytest.approx({"a": 40, "b": 10}, abs=1e-4)


def test_floor_binding_forces_utilitarian_to_give_the_floor():
    # floor 0.5: b >= 0.5 * 40 = 20, so a gets 50 - 20 = 30. Value 2*30 + 20 = 80.
    s = _two_units()
    r = allocator.solve(s, rule="utilitarian", constraints=[{"type": "floor", "share": 0.5}])
    assert_feasible(s, r)
    assert allocated(r) == pytest.approx({"a": 30, "b": 20}, abs=1e-4)
    assert r.metrics["total_value"] == pytest.approx(80, rel=1e-6)
    assert r.constraints == [{"type": "floor", "share": 0.5, "resource": None}]


def test_floor_slack_changes_nothing():
    # floor 0.2: b >= 8, and utilitarian already gives b 10.
    r = allocator.solve(_two_units(), rule="utilitarian", constraints=[{"type": "floor", "share": 0.2}])
    assert allocated(r) == pytest.approx({"a": 40, "b": 10}, abs=1e-4)
    assert r.metrics["total_value"] == pytest.approx(90, rel=1e-6)


def test_floor_from_the_scenario_is_used_by_default_and_can_be_overridden():
    s = _two_units(constraints=[{"type": "floor", "share": 0.5}])
    assert allocated(allocator.solve(s, rule="utilitarian")) == pytest.approx({"a": 30, "b": 20}, abs=1e-4)
    # constraints=[] drops the scenario's own
    assert allocated(allocator.solve(s, rule="utilitarian", constraints=[])) == pytest.approx({"a": 40, "b": 10}, abs=1e-4)


def test_floor_restricted_to_one_resource():
    # food 50 and water 50; a values both at 2, b at 1; demand 40 of each.
    # floor 0.5 on food only: food b >= 20 -> a 30, b 20; water unconstrained -> a 40, b 10.
    s = build(resources=[{"id": "food"}, {"id": "water"}], supply={"food": 50, "water": 50}, units=[
        {"id": "a", "demand": {"food": 40, "water": 40}, "value": {"food": 2, "water": 2}},
        {"id": "b", "demand": {"food": 40, "water": 40}, "value": {"food": 1, "water": 1}},
    ])
    r = allocator.solve(s, rule="utilitarian", constraints=[{"type": "floor", "share": 0.5, "resource": "food"}])
    assert_feasible(s, r)
    assert allocated(r, "food") == pytest.approx({"a": 30, "b": 20}, abs=1e-4)
    assert allocated(r, "water") == pytest.approx({"a": 40, "b": 10}, abs=1e-4)
    # unrestricted, the floor binds for both resources
    r = allocator.solve(s, rule="utilitarian", constraints=[{"type": "floor", "share": 0.5}])
    assert allocated(r, "water") == pytest.approx({"a": 30, "b": 20}, abs=1e-4)


def test_floor_binds_under_maxmin_over_a_group():
    # pool 50; north: a (demand 10, value 2), b (demand 30); south: c (demand 60).
    # maxmin over region: north 20, south 30 (both 0.5); the value stage would give a 10, b 10.
    # floor 0.4 needs b >= 12, so a + b = 20 -> a = 8; c = 30. Value 2*8 + 12 + 30 = 58.
    s = build(supply={"food": 50}, groups=["region"], units=[
        {"id": "a", "demand": 10, "value": 2, "groups": {"region": "north"}},
        {"id": "b", "demand": 30, "groups": {"region": "north"}},
        {"id": "c", "demand": 60, "groups": {"region": "south"}},
    ])
    r = allocator.solve(s, rule={"name": "maxmin", "over": "region"}, constraints=[{"type": "floor", "share": 0.4}])
    assert_feasible(s, r)
    assert allocated(r) == pytest.approx({"a": 8, "b": 12, "c": 30}, rel=1e-5)
    assert r.metrics["total_value"] == pytest.approx(58, rel=1e-5)


# --------------------------------------------------------------------------- group_floor

def _grouped(**extra):
    # pool 50; G1: a (demand 40, value 3); G2: b (demand 20, value 2), c (demand 20, value 1)
    return build(supply={"food": 50}, groups=["g"], units=[
        {"id": "a", "demand": 40, "value": 3, "groups": {"g": "G1"}},
        {"id": "b", "demand": 20, "value": 2, "groups": {"g": "G2"}},
        {"id": "c", "demand": 20, "value": 1, "groups": {"g": "G2"}},
    ], **extra)


def test_group_floor_binding():
    # utilitarian alone: a 40, b 10, c 0 (G2 fill 10/40 = 0.25).
    # group_floor 0.5: G2 >= 20 (b first: b = 20, c = 0) and G1 >= 20; a gets the other 30.
    # value = 3*30 + 2*20 = 130 (was 3*40 + 2*10 = 140).
    s = _grouped()
    free = allocator.solve(s, rule="utilitarian")
    assert allocated(free) == pytest.approx({"a": 40, "b": 10, "c": 0}, abs=1e-4)
    r = allocator.solve(s, rule="utilitarian", constraints=[{"type": "group_floor", "attribute": "g", "share": 0.5}])
    assert_feasible(s, r)
    assert allocated(r) == pytest.approx({"a": 30, "b": 20, "c": 0}, abs=1e-4)
    assert group_fills(r, "g") == pytest.approx({"G1": 0.75, "G2": 0.5}, rel=1e-5)
    assert r.metrics["total_value"] == pytest.approx(130, rel=1e-6)


def test_group_floor_slack():
    # share 0.2: G2 >= 8, and b already has 10.
    r = allocator.solve(_grouped(), rule="utilitarian", constraints=[{"type": "group_floor", "attribute": "g", "share": 0.2}])
    assert allocated(r) == pytest.approx({"a": 40, "b": 10, "c": 0}, abs=1e-4)


def test_group_floor_binds_under_leximin(network):
    # network: s1 = 10 (a, b), s2 = 30 (b, c), demand 20 each; leximin alone: a .5, b .75, c .75.
    # Groups X = {a, b}, Y = {c}; group_floor 0.65: X >= 26, Y >= 13.
    # round 1: a <= 0.5, reachable with the floor (a 10 from s1, b 16 + c 14 from s2) -> a = 0.5.
    # round 2: s1 is a's, so b >= 16 from s2 and b + c <= 30 -> c <= 14: level 14/20 = 0.7 (c).
    # round 3: b = 30 - 14 = 16 -> 0.8.   Groups: X = 26/40 = 0.65, Y = 0.7.
    doc = {"sites": [{"id": "s1", "supply": {"food": 10}}, {"id": "s2", "supply": {"food": 30}}],
           "groups": ["grp"],
           "units": [{"id": "a", "demand": 20, "groups": {"grp": "X"}}, {"id": "b", "demand": 20, "groups": {"grp": "X"}},
                     {"id": "c", "demand": 20, "groups": {"grp": "Y"}}],
           "links": [{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s1"},
                     {"unit": "b", "site": "s2"}, {"unit": "c", "site": "s2"}]}
    s = build(doc)
    for solver in ("highs", "pulp"):
        r = allocator.solve(s, rule="leximin", solver=solver,
                            constraints=[{"type": "group_floor", "attribute": "grp", "share": 0.65}])
        assert_feasible(s, r)
        assert fills(r) == pytest.approx({"a": 0.5, "b": 0.8, "c": 0.7}, rel=1e-5)
        assert group_fills(r, "grp") == pytest.approx({"X": 0.65, "Y": 0.7}, rel=1e-5)


def test_group_floor_restricted_to_one_resource():
    # two resources, same numbers for both; the group floor only binds food.
    s = build(resources=[{"id": "food"}, {"id": "water"}], supply={"food": 50, "water": 50}, groups=["g"], units=[
        {"id": "a", "demand": {"food": 40, "water": 40}, "value": {"food": 3, "water": 3}, "groups": {"g": "G1"}},
        {"id": "b", "demand": {"food": 20, "water": 20}, "value": {"food": 2, "water": 2}, "groups": {"g": "G2"}},
        {"id": "c", "demand": {"food": 20, "water": 20}, "value": {"food": 1, "water": 1}, "groups": {"g": "G2"}},
    ])
    r = allocator.solve(s, rule="utilitarian",
                        constraints=[{"type": "group_floor", "attribute": "g", "share": 0.5, "resource": "food"}])
    assert allocated(r, "food") == pytest.approx({"a": 30, "b": 20, "c": 0}, abs=1e-4)
    assert allocated(r, "water") == pytest.approx({"a": 40, "b": 10, "c": 0}, abs=1e-4)


# --------------------------------------------------------------------------- group_gap / group_ratio

def _gap_case():
    # pool 50; G1: a (demand 40, value 2); G2: b (demand 60, value 1).
    # utilitarian alone: a 40 (F1 = 1), b 10 (F2 = 1/6): gap 5/6, ratio 1/6. Value 90.
    return build(supply={"food": 50}, groups=["g"], units=[
        {"id": "a", "demand": 40, "value": 2, "groups": {"g": "G1"}},
        {"id": "b", "demand": 60, "value": 1, "groups": {"g": "G2"}},
    ])


def test_gap_case_baseline():
    r = allocator.solve(_gap_case(), rule="utilitarian")
    assert allocated(r) == pytest.approx({"a": 40, "b": 10}, abs=1e-4)
    assert r.metrics["max_group_gap"]["g"] == pytest.approx(5 / 6, rel=1e-5)
    assert r.metrics["min_group_ratio"]["g"] == pytest.approx(1 / 6, rel=1e-5)


def test_group_gap_binding_changes_utilitarian_answer():
    # maximise 2a + b = 80 F1 + 60 F2 with 40 F1 + 60 F2 <= 50 and |F1 - F2| <= 0.1.
    # a earns 2 per unit of supply, b 1, so push F1 as high as the gap allows: F1 = F2 + 0.1,
    # 40 (F2 + 0.1) + 60 F2 = 50 -> F2 = 0.46, F1 = 0.56 -> a = 22.4, b = 27.6, value 72.4.
    s = _gap_case()
    r = allocator.solve(s, rule="utilitarian", constraints=[{"type": "group_gap", "attribute": "g", "max_gap": 0.1}])
    assert_feasible(s, r)
    assert allocated(r) == pytest.approx({"a": 22.4, "b": 27.6}, rel=1e-5)
    assert group_fills(r, "g") == pytest.approx({"G1": 0.56, "G2": 0.46}, rel=1e-5)
    assert r.metrics["max_group_gap"]["g"] <= 0.1 + 1e-6
    assert r.metrics["max_group_gap"]["g"] == pytest.approx(0.1, rel=1e-4)
    assert r.metrics["total_value"] == pytest.approx(72.4, rel=1e-5)


def test_group_gap_slack():
    r = allocator.solve(_gap_case(), rule="utilitarian", constraints=[{"type": "group_gap", "attribute": "g", "max_gap": 0.9}])
    assert allocated(r) == pytest.approx({"a": 40, "b": 10}, abs=1e-4)


def test_group_gap_zero_forces_equal_group_rates():
    # max_gap 0: F1 = F2 = 50/100 = 0.5 (using all supply is optimal since values are positive)
    r = allocator.solve(_gap_case(), rule="utilitarian", constraints=[{"type": "group_gap", "attribute": "g", "max_gap": 0}])
    assert group_fills(r, "g") == pytest.approx({"G1": 0.5, "G2": 0.5}, rel=1e-5)


def test_group_ratio_binding_gives_min_over_max_at_least_ratio():
    # min_ratio 0.5: F2 >= 0.5 F1, and utilitarian wants F1 high: F2 = F1 / 2,
    # 40 F1 + 60 F1 / 2 = 70 F1 = 50 -> F1 = 5/7, F2 = 5/14; a = 200/7, b = 150/7, value 550/7.
    s = _gap_case()
    r = allocator.solve(s, rule="utilitarian", constraints=[{"type": "group_ratio", "attribute": "g", "min_ratio": 0.5}])
    assert_feasible(s, r)
    assert allocated(r) == pytest.approx({"a": 200 / 7, "b": 150 / 7}, rel=1e-5)
    g = group_fills(r, "g")
    assert min(g.values()) / max(g.values()) >= 0.5 - 1e-6
    assert r.metrics["min_group_ratio"]["g"] == pytest.approx(0.5, rel=1e-4)
    assert r.metrics["total_value"] == pytest.approx(550 / 7, rel=1e-5)


def test_group_ratio_four_fifths():
    # 0.8: 40 F1 + 60 * 0.8 F1 = 88 F1 = 50 -> F1 = 25/44, F2 = 20/44
    r = allocator.solve(_gap_case(), rule="utilitarian", constraints=[{"type": "group_ratio", "attribute": "g", "min_ratio": 0.8}])
    assert group_fills(r, "g") == pytest.approx({"G1": 25 / 44, "G2": 20 / 44}, rel=1e-5)


def test_group_ratio_slack():
    # 1/6 >= 0.1 already
    r = allocator.solve(_gap_case(), rule="utilitarian", constraints=[{"type": "group_ratio", "attribute": "g", "min_ratio": 0.1}])
    assert allocated(r) == pytest.approx({"a": 40, "b": 10}, abs=1e-4)


def test_group_gap_and_ratio_restricted_to_one_resource():
    # food as in _gap_case, water identical; constrain only water.
    s = build(resources=[{"id": "food"}, {"id": "water"}], supply={"food": 50, "water": 50}, groups=["g"], units=[
        {"id": "a", "demand": {"food": 40, "water": 40}, "value": {"food": 2, "water": 2}, "groups": {"g": "G1"}},
        {"id": "b", "demand": {"food": 60, "water": 60}, "value": {"food": 1, "water": 1}, "groups": {"g": "G2"}},
    ])
    r = allocator.solve(s, rule="utilitarian",
                        constraints=[{"type": "group_gap", "attribute": "g", "max_gap": 0.1, "resource": "water"}])
    assert allocated(r, "food") == pytest.approx({"a": 40, "b": 10}, abs=1e-4)
    assert allocated(r, "water") == pytest.approx({"a": 22.4, "b": 27.6}, rel=1e-5)
    # the reported metric is the worst resource: food still has gap 5/6
    assert r.metrics["max_group_gap"]["g"] == pytest.approx(5 / 6, rel=1e-5)
    r = allocator.solve(s, rule="utilitarian",
                        constraints=[{"type": "group_ratio", "attribute": "g", "min_ratio": 0.5, "resource": "food"}])
    assert allocated(r, "food") == pytest.approx({"a": 200 / 7, "b": 150 / 7}, rel=1e-5)
    assert allocated(r, "water") == pytest.approx({"a": 40, "b": 10}, abs=1e-4)


@pytest.mark.parametrize("pair", [
    [{"type": "group_floor", "attribute": "g", "share": 0.3}, {"type": "group_floor", "attribute": "g", "share": 0.5}],
    [{"type": "group_gap", "attribute": "g", "max_gap": 0.5}, {"type": "group_gap", "attribute": "g", "max_gap": 0.1}],
])
def test_two_constraints_of_the_same_kind_on_one_attribute_both_apply(pair):
    # The stricter one decides: same answers as the single binding constraint above.
    s = _grouped() if pair[0]["type"] == "group_floor" else _gap_case()
    r = allocator.solve(s, rule="utilitarian", constraints=pair)
    if pair[0]["type"] == "group_floor":
        assert allocated(r) == pytest.approx({"a": 30, "b": 20, "c": 0}, abs=1e-4)
    else:
        assert allocated(r) == pytest.approx({"a": 22.4, "b": 27.6}, rel=1e-5)


def test_constraints_combine_with_every_rule():
    # tutorial + group_gap 0 on rurality: all rules still feasible and the gap holds.
    from helpers import shipped

    s = shipped("tutorial")
    for rule in ["utilitarian", "proportional", "maxmin", "leximin"]:
        r = allocator.solve(s, rule=rule, constraints=[{"type": "floor", "share": 0.3},
                                                  {"type": "group_gap", "attribute": "rurality", "max_gap": 0.0}])
        assert_feasible(s, r)
        assert r.metrics["max_group_gap"]["rurality"] <= 1e-5
        assert r.metrics["min_fill_rate"] >= 0.3 - 1e-6


# --------------------------------------------------------------------------- infeasibility

def _largest(error: allocator.InfeasibleError) -> float:
    text = " ".join(error.explanation)
    match = re.search(r"can hold is at (?:most|least) ([0-9.]+)", text)
    assert match, text
    return float(match.group(1))


@pytest.mark.parametrize("solver", ["highs", "pulp"])
def test_infeasible_floor_is_named_with_largest_feasible_share_pool(solver):
    # pool 60 for 40 + 60: nobody can be above 0.6 for everyone -> floor 0.7 cannot hold; 0.6 can.
    s = build(supply={"food": 60}, units=[{"id": "a", "demand": 40}, {"id": "b", "demand": 60}])
    with pytest.raises(allocator.InfeasibleError) as info:
        allocator.solve(s, rule="maxmin", constraints=[{"type": "floor", "share": 0.7}], solver=solver)
    err = info.value
    assert err.conflicting == ["floor(share=0.7)"]
    assert _largest(err) == pytest.approx(0.6, abs=1e-3)
    assert "floor(share=0.7)" in str(err)


@pytest.mark.parametrize("rule", ["utilitarian", "proportional", "maxmin", "leximin"])
def test_infeasible_floor_reports_the_true_maxmin_level_on_a_network(network, rule):
    # the network's maxmin level is 0.5 (a's only site holds 10 of its 20); ask for 0.6.
    level = allocator.solve(network, rule="maxmin").metrics["min_fill_rate"]
    assert level == pytest.approx(0.5, rel=1e-5)
    with pytest.raises(allocator.InfeasibleError) as info:
        allocator.solve(network, rule=rule, constraints=[{"type": "floor", "share": 0.6}])
    assert info.value.conflicting == ["floor(share=0.6)"]
    assert _largest(info.value) == pytest.approx(level, abs=1e-3)
    assert _largest(info.value) <= level + 1e-6  # "at most" must itself be feasible


def test_infeasible_group_floor_largest_share():
    # pool 50, demand 40 + 20 + 20 = 80 in two groups: every group at share s needs 80 s <= 50
    # -> s <= 0.625.
    s = _grouped()
    with pytest.raises(allocator.InfeasibleError) as info:
        allocator.solve(s, rule="maxmin", constraints=[{"type": "group_floor", "attribute": "g", "share": 0.7}])
    assert info.value.conflicting == ["group_floor(attribute=g, share=0.7)"]
    assert _largest(info.value) == pytest.approx(0.625, abs=1e-3)


def test_infeasible_floor_alongside_an_innocent_constraint():
    # floor s needs 80 s <= 50 -> s <= 0.625; group_gap on g holds with everyone at the same rate,
    # so only the floor is named, and the largest share is still 0.625.
    s = _grouped()
    with pytest.raises(allocator.InfeasibleError) as info:
        allocator.solve(s, rule="utilitarian", constraints=[{"type": "group_gap", "attribute": "g", "max_gap": 0.2},
                                                      {"type": "floor", "share": 0.8}])
    assert info.value.conflicting == ["floor(share=0.8)"]
    assert _largest(info.value) == pytest.approx(0.625, abs=1e-3)
    assert "with the other constraints kept" in " ".join(info.value.explanation)


def test_infeasible_constraints_from_the_scenario_file_too():
    s = build(supply={"food": 60}, units=[{"id": "a", "demand": 40}, {"id": "b", "demand": 60}],
              constraints=[{"type": "floor", "share": 0.9}])
    with pytest.raises(allocator.InfeasibleError) as info:
        allocator.solve(s)
    assert info.value.conflicting == ["floor(share=0.9)"]


def _conflict_together():
    # a (g1 X, g2 P, demand 10) only reaches s1 = 2      -> F_a <= 0.2
    # b (g1 X, g2 Q, demand 100), c (g1 Y, g2 Q, demand 10) reach s2 = 100.
    # group_floor g1 0.5 alone: X: a + b >= 55 (b >= 53), Y: c >= 5 -> fits in s2.   feasible
    # group_gap g2 0.1 alone: all zero.                                             feasible
    # together: F_P = F_a <= 0.2 but F_Q = (b + c)/110 >= 58/110 = 0.527: gap >= 0.33 > 0.1.
    # floor 0.01 is innocent (a >= 0.1 etc. fits either way).
    return build(
        sites=[{"id": "s1", "supply": {"food": 2}}, {"id": "s2", "supply": {"food": 100}}],
        groups=["g1", "g2"],
        units=[{"id": "a", "demand": 10, "groups": {"g1": "X", "g2": "P"}},
               {"id": "b", "demand": 100, "groups": {"g1": "X", "g2": "Q"}},
               {"id": "c", "demand": 10, "groups": {"g1": "Y", "g2": "Q"}}],
        links=[{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s2"}, {"unit": "c", "site": "s2"}],
    )


@pytest.mark.parametrize("solver", ["highs", "pulp"])
def test_constraints_conflicting_only_together_are_both_named(solver):
    s = _conflict_together()
    floor = {"type": "floor", "share": 0.01}
    gfloor = {"type": "group_floor", "attribute": "g1", "share": 0.5}
    gap = {"type": "group_gap", "attribute": "g2", "max_gap": 0.1}
    # each alone holds
    for c in (floor, gfloor, gap):
        assert_feasible(s, allocator.solve(s, rule="maxmin", constraints=[c], solver=solver))
    with pytest.raises(allocator.InfeasibleError) as info:
        allocator.solve(s, rule="maxmin", constraints=[floor, gfloor, gap], solver=solver)
    err = info.value
    assert sorted(err.conflicting) == sorted(["group_floor(attribute=g1, share=0.5)",
                                              "group_gap(attribute=g2, max_gap=0.1)"])
    assert "together" in " ".join(err.explanation)
    for name in err.conflicting:
        assert name in str(err)


@pytest.mark.parametrize("solver", ["highs", "pulp"])
def test_proportional_clash_with_a_feasible_constraint_is_explained(solver):
    # one unit, food 10 of 10 and water 1 of 10: proportional gives every pair the same rate, so
    # t <= 0.1 (water). A food floor of 0.5 needs t >= 0.5 under proportional, though the floor
    # alone holds (maxmin gives food 1.0, water 0.1).
    s = build(resources=[{"id": "food"}, {"id": "water"}], supply={"food": 10, "water": 1},
              units=[{"id": "a", "demand": {"food": 10, "water": 10}}])
    floor = [{"type": "floor", "share": 0.5, "resource": "food"}]
    assert fills(allocator.solve(s, rule="maxmin", constraints=floor), "food") == pytest.approx({"a": 1.0})
    with pytest.raises(allocator.InfeasibleError) as info:
        allocator.solve(s, rule="proportional", constraints=floor, solver=solver)
    # the rule is named with the constraint, and the strictest share that equal rates allow is 0.1
    assert info.value.conflicting == ["proportional()", "floor(share=0.5, resource=food)"]
    assert "round-off" not in str(info.value)
    assert _largest(info.value) == pytest.approx(0.1, abs=1e-3)


def test_unknown_attribute_in_a_constraint_argument_is_a_scenario_error():
    with pytest.raises(allocator.ScenarioError) as info:
        allocator.solve(_grouped(), rule="maxmin", constraints=[{"type": "group_gap", "attribute": "nope", "max_gap": 0.1}])
    assert any("nope" in i.message for i in info.value.issues)


def test_unknown_constraint_type_as_argument_is_a_usage_error():
    with pytest.raises(allocator.UsageError, match="ceiling"):
        allocator.solve(_grouped(), rule="maxmin", constraints=[{"type": "ceiling", "share": 0.1}])


def test_share_out_of_range_is_rejected():
    with pytest.raises(allocator.UsageError, match="share"):
        allocator.solve(_grouped(), rule="maxmin", constraints=[{"type": "floor", "share": 1.5}])


# --------------------------------------------------------------------------- what the rows tell the explainer


def test_the_explainer_asks_each_constraint_s_rows_what_its_duals_mean():
    # the names of a constraint's row blocks live with its rows (allocator/constraints/): explain asks them
    import ast
    from pathlib import Path

    from allocator.accountability import explain
    from allocator.constraints.base import GroupCap, ParameterPrice, rows_of
    from allocator.model.compiler import constraint_blocks

    tree = ast.parse(Path(explain.__file__).read_text(encoding="utf-8"))
    texts = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    assert not [t for t in texts if t in ("group_gap", "group_floor", "group_ratio", "floor", "no_harm")
                or ":hi" in t or "below_hi" in t]
    scenario = build(supply={"food": 50}, groups=["g"],
                     units=[{"id": "a", "demand": 40, "value": 2, "groups": {"g": "x"}},
                            {"id": "b", "demand": 40, "value": 1, "groups": {"g": "y"}}])
    constraints = [{"type": "floor", "share": 0.5}, {"type": "group_gap", "attribute": "g", "max_gap": 0.1},
                   {"type": "group_floor", "attribute": "g", "share": 0.1},
                   {"type": "group_ratio", "attribute": "g", "min_ratio": 0.5}]
    result = allocator.solve(scenario, rule="utilitarian", constraints=constraints)
    model, (_, lp, solution) = result.trace.model, result.trace.last
    answers = {constraint.key: (rows_of(constraint).parameter_price(lp, solution.x, solution.row_dual, model.measures, block),
                                rows_of(constraint).binding_caps(lp, solution.row_dual, model.measures, block, 1e-9))
               for constraint, block in constraint_blocks(model.constraints)}
    assert {key: price.parameter for key, (price, _) in answers.items()} == {
        "floor": "share", "group_gap": "max_gap", "group_floor": "share", "group_ratio": "min_ratio"}
    assert all(isinstance(price, ParameterPrice) for price, _ in answers.values())
    # a (value 2) gets 27 of 40, b 23: the gap of 0.1 binds, caps group x, and each 0.01 more of it is
    # worth 0.2 (2 more to a, 2 less to b)
    assert answers["group_gap"][1] == [GroupCap("g", "x", "food")]
    assert answers["group_gap"][0].price * result.trace.model.problem.scale == pytest.approx(20.0)
    assert answers["floor"][1] == answers["group_floor"][1] == []
    explained = result.explain().constraints.set_index("constraint")["parameter"].to_dict()
    assert explained == {"floor(share=0.5)": "share", "group_gap(attribute=g, max_gap=0.1)": "max_gap",
                         "group_floor(attribute=g, share=0.1)": "share", "group_ratio(attribute=g, min_ratio=0.5)": "min_ratio"}
