"""One of several interventions: exclusive sets, benefit per group, and the shipped homelessness scenario."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import allocator
from helpers import ROOT, allocated, assert_feasible, build

INTERVENTIONS = [{"id": r, "divisible": False} for r in ("prevention", "rehousing", "shelter")]
EVERY = {"prevention": 1, "rehousing": 1, "shelter": 1}


def _household(uid, group, prevention, rehousing, shelter):
    return {"id": uid, "demand": dict(EVERY), "groups": {"race": group},
            "value": {"prevention": prevention, "rehousing": rehousing, "shelter": shelter}}


def test_each_household_gets_at_most_one_intervention_and_the_best_assignment_by_hand():
    # h1 gains most from prevention (5), h2 as much from either of two (4, 4): one slot each
    scenario = build(resources=INTERVENTIONS, exclusive=["prevention", "rehousing", "shelter"], groups=["race"],
                     units=[_household("h1", "x", 5, 3, 1), _household("h2", "y", 4, 4, 1)],
                     supply={"prevention": 1, "rehousing": 1, "shelter": 2})
    result = allocator.solve(scenario, rule="utilitarian")
    table = result.allocations.set_index(["unit", "resource"])["allocated"]
    assert table[("h1", "prevention")] == 1 and table[("h2", "rehousing")] == 1
    assert table.groupby(level="unit").sum().tolist() == [1, 1]  # never two, although shelter has room
    assert result.metrics["total_value"] == pytest.approx(9)


def test_exclusive_sets_are_validated():
    with pytest.raises(allocator.ScenarioError) as info:
        build(resources=INTERVENTIONS, exclusive=["prevention", "bus"], supply={"prevention": 1, "rehousing": 1,
                                                                               "shelter": 1},
              units=[_household("h1", "x", 1, 1, 1)])
    assert "unknown resource(s): 'bus'" in str(info.value)


def test_benefit_rates_and_a_benefit_gap_by_hand():
    # potential benefit: h1 5, h2 4 (each its best intervention). One slot of each: utilitarian gives
    # h1 prevention (5) and h2 rehousing (3): benefit rates 1.0 and 0.75, gap 0.25. A benefit gap of
    # 0.2 rules that out; of the whole-unit assignments only "h1 rehousing, h2 nothing" (0.2 and 0)
    # and "nobody" meet it, so the best value is 1: the gap levels down
    scenario = build(resources=INTERVENTIONS, exclusive=["prevention", "rehousing", "shelter"], groups=["race"],
                     units=[_household("h1", "x", 5, 1, 1), _household("h2", "y", 4, 3, 1)],
                     supply={"prevention": 1, "rehousing": 1, "shelter": 0})
    free = allocator.solve(scenario, rule="utilitarian")
    assert free.metrics["total_value"] == pytest.approx(8)
    assert free.metrics["max_benefit_gap"]["race"] == pytest.approx(0.25)
    gapped = allocator.solve(scenario, rule="utilitarian", constraints=[{"type": "group_gap", "attribute": "race",
                                                                     "max_gap": 0.2, "measure": "benefit"}])
    assert gapped.metrics["total_value"] == pytest.approx(1)
    assert gapped.metrics["max_benefit_gap"]["race"] <= 0.2 + 1e-9
    assert allocated(gapped, "rehousing") == {"h1": 1, "h2": 0}
    with pytest.raises(allocator.UsageError, match="covers every resource"):
        allocator.solve(scenario, rule="utilitarian", constraints=[{"type": "group_gap", "attribute": "race",
                                                               "max_gap": 0.4, "measure": "benefit",
                                                               "resource": "shelter"}])


def test_the_homelessness_scenario_is_reproducible_and_solves_within_its_constraints(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scenarios" / "homelessness" / "make_scenario.py"), str(tmp_path)],
                   check=True)
    for name in ("units.csv", "scenario.yaml"):
        assert (tmp_path / name).read_bytes() == (ROOT / "scenarios" / "homelessness" / name).read_bytes()
    scenario = allocator.load_scenario(ROOT / "scenarios" / "homelessness" / "scenario.yaml")
    assert len(scenario.units) == 2000 and len(scenario.resources) == 4
    result = allocator.solve(scenario)
    assert_feasible(scenario, result)
    per_household = result.allocations.groupby("unit")["allocated"].sum()
    assert per_household.max() <= 1 and np.allclose(result.allocations["allocated"] % 1, 0)
    assert result.metrics["max_benefit_gap"]["race"] <= 0.05 + 1e-9
    assert result.metrics["total_allocated"] == 1250  # every slot used: 450 + 250 + 150 + 400
