"""HiGHS (interior point) and PuLP/CBC (simplex) must reach the same optimal objective values.

Flows need not be unique, so only quantities that every optimum shares are compared:
total value (every rule ends with a value stage or has a unique allocation), the worst fill
rate, the proportional rate, and for leximin the whole sorted vector of fill rates.
"""

from __future__ import annotations

import numpy as np
import pytest

import allocator
from helpers import assert_feasible, build, reachable_fill_vector, shipped

RULES = ["utilitarian", "proportional", "maxmin", "leximin"]


def _network(**extra):
    return build(
        sites=[{"id": "s1", "supply": {"food": 8}}, {"id": "s2", "supply": {"food": 30}},
               {"id": "s3", "supply": {"food": 20}}],
        groups=["g"],
        units=[{"id": u, "demand": d, "value": v, "groups": {"g": grp}}
               for u, d, v, grp in [("a", 20, 1, "x"), ("b", 25, 3, "x"), ("c", 15, 2, "y"),
                                    ("d", 20, 1, "y"), ("e", 30, 1, "y")]],
        links=[{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s1"}, {"unit": "b", "site": "s2"},
               {"unit": "c", "site": "s2"}, {"unit": "c", "site": "s3"},
               {"unit": "d", "site": "s3"}, {"unit": "e", "site": "s3"}],
        **extra,
    )


def _two_resources():
    return build(
        resources=[{"id": "food"}, {"id": "water"}], groups=["g"],
        sites=[{"id": "n", "supply": {"food": 40, "water": 10}}, {"id": "s", "supply": {"food": 15, "water": 50}}],
        units=[{"id": "a", "demand": {"food": 30, "water": 10}, "value": {"food": 1, "water": 4}, "groups": {"g": "x"}},
               {"id": "b", "demand": {"food": 20, "water": 40}, "value": {"food": 2, "water": 1}, "groups": {"g": "x"}},
               {"id": "c", "demand": {"food": 25}, "value": {"food": 3}, "groups": {"g": "y"}},
               {"id": "d", "demand": {"water": 30}, "groups": {"g": "y"}}],
        links=[{"unit": "a", "site": "n"}, {"unit": "b", "site": "n"}, {"unit": "b", "site": "s"},
               {"unit": "c", "site": "s"}, {"unit": "d", "site": "s"}, {"unit": "d", "site": "n"}],
    )


CASES = {
    # (scenario factory, constraints) -- None = the scenario's own constraints
    "tutorial-own": (lambda: shipped("tutorial"), None),
    "tutorial-none": (lambda: shipped("tutorial"), []),
    "tutorial-gap": (lambda: shipped("tutorial"), [{"type": "group_gap", "attribute": "rurality", "max_gap": 0.02}]),
    "food-bank-own": (lambda: shipped("food-bank"), None),
    "food-bank-none": (lambda: shipped("food-bank"), []),
    "food-bank-ratio": (lambda: shipped("food-bank"),
                        [{"type": "group_ratio", "attribute": "region", "min_ratio": 0.95},
                         {"type": "group_floor", "attribute": "rurality", "share": 0.2}]),
    "clinic-own": (lambda: shipped("clinic-slots"), None),
    "clinic-none": (lambda: shipped("clinic-slots"), []),
    "clinic-gap": (lambda: shipped("clinic-slots"),
                   [{"type": "group_gap", "attribute": "district", "max_gap": 0.05, "resource": "dental"},
                    {"type": "floor", "share": 0.3}]),
    "network-none": (_network, []),
    "network-floor": (_network, [{"type": "floor", "share": 0.3}, {"type": "group_ratio", "attribute": "g",
                                                                   "min_ratio": 0.9}]),
    "two-resources-none": (_two_resources, []),
    "two-resources-gap": (_two_resources, [{"type": "group_gap", "attribute": "g", "max_gap": 0.1}]),
}


def _both(scenario, rule, constraints):
    # leximin's max-flow method would bypass both backends: force the LP method to compare them
    if rule == "leximin" or (isinstance(rule, dict) and rule.get("name") == "leximin"):
        rule = {"name": "leximin", "method": "lp", **({} if isinstance(rule, str) else rule)}
    return (allocator.solve(scenario, rule=rule, constraints=constraints, solver="highs"),
            allocator.solve(scenario, rule=rule, constraints=constraints, solver="pulp"))


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_highs_and_pulp_agree(case, rule):
    factory, constraints = CASES[case]
    scenario = factory()
    h, p = _both(scenario, rule, constraints)
    assert_feasible(scenario, h)
    assert_feasible(scenario, p)
    assert h.solver["name"] == "highs" and p.solver["name"] == "pulp"
    assert [s["stage"] for s in h.solver["stages"]][-1] == [s["stage"] for s in p.solver["stages"]][-1]
    hm, pm = h.metrics, p.metrics
    assert hm["total_value"] == pytest.approx(pm["total_value"], rel=1e-5)
    if rule != "utilitarian":
        # the worst fill rate is the objective of maxmin/leximin and fixed by proportional;
        # utilitarian optima may differ in it
        assert hm["min_fill_rate"] == pytest.approx(pm["min_fill_rate"], abs=1e-5)
    if rule in ("leximin", "proportional"):
        # the whole fill vector is unique for these rules
        np.testing.assert_allclose(reachable_fill_vector(scenario, h), reachable_fill_vector(scenario, p),
                                   atol=1e-5)
        merged = h.allocations.merge(p.allocations, on=["unit", "resource"], suffixes=("_h", "_p"))
        assert len(merged) == len(h.allocations)
        np.testing.assert_allclose(merged["fill_rate_h"], merged["fill_rate_p"], atol=1e-5)
        for r in hm["by_resource"]:
            assert hm["by_resource"][r]["min_fill_rate"] == pytest.approx(pm["by_resource"][r]["min_fill_rate"],
                                                                          abs=1e-5)
    if rule == "utilitarian":
        assert hm["total_allocated"] > 0


@pytest.mark.parametrize("rule", [{"name": "maxmin", "over": "region"}, {"name": "leximin", "over": "region"},
                                  {"name": "leximin", "over": "rurality"}])
def test_highs_and_pulp_agree_over_groups_food_bank(rule):
    scenario = shipped("food-bank")
    h, p = _both(scenario, rule, None)
    attribute = rule["over"]
    gh = h.groups[h.groups["attribute"] == attribute].set_index("group")["fill_rate"]
    gp = p.groups[p.groups["attribute"] == attribute].set_index("group")["fill_rate"]
    if rule["name"] == "leximin":
        np.testing.assert_allclose(gh.sort_index().to_numpy(), gp.sort_index().to_numpy(), atol=1e-5)
    assert gh.min() == pytest.approx(gp.min(), abs=1e-5)
    assert h.metrics["total_value"] == pytest.approx(p.metrics["total_value"], rel=1e-5)


def test_highs_and_pulp_agree_over_groups_clinic():
    scenario = shipped("clinic-slots")
    h, p = _both(scenario, {"name": "leximin", "over": "district"}, [])
    gh = h.groups[h.groups["attribute"] == "district"].sort_values(["group", "resource"])["fill_rate"].to_numpy()
    gp = p.groups[p.groups["attribute"] == "district"].sort_values(["group", "resource"])["fill_rate"].to_numpy()
    np.testing.assert_allclose(gh, gp, atol=1e-5)


@pytest.mark.parametrize("name", ["tutorial", "food-bank", "clinic-slots"])
def test_shipped_scenarios_solve_with_their_own_rule_and_constraints(name):
    scenario = shipped(name)
    r = allocator.solve(scenario)
    assert_feasible(scenario, r)
    assert r.status == allocator.Status.OPTIMAL
    assert r.rule["name"] == scenario.rule.key
    for c in scenario.constraints:
        p = c.params()
        if c.key == "floor":
            assert r.metrics["min_fill_rate"] >= p["share"] - 1e-6
        elif c.key == "group_gap":
            assert r.metrics["max_group_gap"][p["attribute"]] <= p["max_gap"] + 1e-6
        elif c.key == "group_ratio":
            assert r.metrics["min_group_ratio"][p["attribute"]] >= p["min_ratio"] - 1e-6


@pytest.mark.parametrize("name", ["tutorial", "food-bank", "clinic-slots"])
def test_shipped_scenario_totals_are_consistent(name):
    # Only relations that hold whatever the (synthetic) numbers in the files are.
    scenario = shipped(name)
    r = allocator.solve(scenario, rule="maxmin", constraints=[])
    for k, res in enumerate(scenario.resource_ids):
        supply = sum(s.supply.get(res, 0.0) for s in scenario.sites)
        demand = float(scenario.units.demand[:, k].sum())
        by = r.metrics["by_resource"][res]
        assert by["supply"] == pytest.approx(supply)
        assert by["demand"] == pytest.approx(demand)
        assert by["allocated"] <= min(supply, demand) * (1 + 1e-6)
        # nobody can be above total supply / total demand for everyone at once
        assert by["min_fill_rate"] <= supply / demand + 1e-6
    # maxmin's worst fill is at least what proportional (everyone equal) achieves
    p = allocator.solve(scenario, rule="proportional", constraints=[])
    assert r.metrics["min_fill_rate"] >= p.metrics["min_fill_rate"] - 1e-6


def test_unknown_solver_is_a_usage_error():
    with pytest.raises(allocator.UsageError, match="bogus"):
        allocator.solve(_network(), rule="maxmin", solver="bogus")


@pytest.mark.slow
def test_model_reusing_and_warm_highs_solve_whole_unit_models_to_the_cold_gap():
    # review: ReusingHighs/WarmHighs ran branch and bound at HiGHS's default 1e-4 gap
    import scipy.sparse as sp

    from allocator.backends.base import SolverOptions
    from allocator.backends.highs import HighsBackend, ReusingHighs, WarmHighs
    from allocator.model.lp import LPModel

    rng = np.random.default_rng(3)
    for _ in range(10):
        weights = rng.integers(1000, 100000, 60).astype(float)
        values = weights + rng.integers(-500, 500, 60)
        lp = LPModel(values, np.zeros(60), np.full(60, 3.0), sp.csr_array(np.vstack([weights, rng.integers(1000, 100000, 60)])),
                     np.full(2, -np.inf), np.array([weights.sum() * 0.37 + 0.5, 4e6]), integer=np.ones(60, bool))
        cold = HighsBackend().solve(lp, SolverOptions()).objective
        for backend in (ReusingHighs(), WarmHighs()):
            assert backend.solve(lp, SolverOptions()).objective == pytest.approx(cold, rel=1e-9)
