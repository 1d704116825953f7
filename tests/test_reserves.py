"""Reserve systems: sequential and smart processing, soft and hard reserves, checked by hand."""

from __future__ import annotations

import pytest

import allocator
from conftest import allocated, build

DOSE = [{"id": "dose", "divisible": False}]


def _people(rows):
    return [{"id": pid, "demand": 1, "groups": {"job": job, "area": area}, "data": {"age": age}}
            for pid, job, area, age in rows]


SIX = _people([("p0", "essential", "rich", 30), ("p1", "other", "poor", 80), ("p2", "other", "rich", 70),
               ("p3", "essential", "poor", 40), ("p4", "other", "rich", 60), ("p5", "other", "poor", 20)])
TWO_RESERVES = [{"id": "essential", "share": 1 / 3, "attribute": "job", "groups": ["essential"]},
                {"id": "poor", "share": 1 / 3, "attribute": "area", "groups": ["poor"]}]


def _scenario(units, doses, categories, **reserves):
    return build(resources=DOSE, units=units, supply={"dose": doses}, groups=["job", "area"], rule="reserve",
                 reserves={"priority": {"score": "age"}, "categories": categories, **reserves})


def test_sequential_reserves_by_hand():
    # 3 doses: essential reserve (1) -> oldest essential worker p3 (40); poor reserve (1) -> oldest in a
    # poor area not yet served, p1 (80); open (1) -> oldest of the rest, p2 (70)
    result = allocator.solve(_scenario(SIX, 3, TWO_RESERVES))
    assert [u for u, a in allocated(result).items() if a == 1] == ["p1", "p2", "p3"]
    assert result.equity["categories"] == {"essential": {"places": 1, "served": 1},
                                           "poor": {"places": 1, "served": 1}, "open": {"places": 1, "served": 1}}


def test_processing_order_changes_who_is_served():
    # open first: the open dose goes to the oldest, p1 (80), who is also the poor reserve's best
    # claimant; the poor reserve then goes to p5 (20), and p2 (70) is not served
    result = allocator.solve(_scenario(SIX, 3, TWO_RESERVES, order=["open", "essential", "poor"]))
    assert [u for u, a in allocated(result).items() if a == 1] == ["p1", "p3", "p5"]


def test_unused_reserve_places_revert_to_open_unless_hard():
    # nobody is an essential worker: soft, its dose goes to the open category; hard, it is lost
    nobody = _people([("q0", "other", "rich", 50), ("q1", "other", "rich", 40), ("q2", "other", "rich", 30)])
    soft = allocator.solve(_scenario(nobody, 2, [{"id": "essential", "share": 0.5, "attribute": "job",
                                                  "groups": ["essential"]}]))
    assert allocated(soft) == {"q0": 1, "q1": 1, "q2": 0}
    assert any("no unit has job = essential" in w.message for w in soft.warnings)  # a typo is likelier
    hard = allocator.solve(_scenario(nobody, 2, [{"id": "essential", "share": 0.5, "attribute": "job",
                                                  "groups": ["essential"]}], unused="lost"))
    assert allocated(hard) == {"q0": 1, "q1": 0, "q2": 0}
    # open first takes the one essential worker; the hard essential reserve then finds nobody
    rows = [("e0", "essential", "rich", 90), ("o1", "other", "rich", 40)]
    hard = allocator.solve(_scenario(_people(rows), 2, [{"id": "essential", "share": 0.5, "attribute": "job",
                                                         "groups": ["essential"]}],
                                     order=["open", "essential"], unused="lost"))
    assert allocated(hard) == {"e0": 1, "o1": 0}


def test_smart_reserves_serve_the_most_where_sequential_wastes_a_place():
    # hard reserves, no open share: Y (any job) first, then X (essential only). Sequential gives Y's
    # place to the oldest, essential worker a (90); X then finds no essential worker left: b unserved.
    # Smart puts a in X and b in Y: both served.
    rows = [("a", "essential", "rich", 90), ("b", "other", "rich", 10)]
    categories = [{"id": "Y", "share": 0.5, "attribute": "job", "groups": ["essential", "other"]},
                  {"id": "X", "share": 0.5, "attribute": "job", "groups": ["essential"]}]
    sequential = allocator.solve(_scenario(_people(rows), 2, categories, unused="lost"))
    smart = allocator.solve(_scenario(_people(rows), 2, categories, unused="lost", method="smart"))
    assert allocated(sequential) == {"a": 1, "b": 0}
    assert allocated(smart) == {"a": 1, "b": 1}
    assert smart.equity["categories"]["X"]["served"] == 1 and smart.equity["categories"]["Y"]["served"] == 1


def test_smart_serves_at_least_as_many_as_sequential_on_the_vaccine_scenario():
    from conftest import ROOT

    scenario = allocator.load_scenario(ROOT / "scenarios" / "vaccines" / "scenario.yaml")
    sequential = allocator.solve(scenario)
    smart = allocator.solve(scenario.model_copy(update={"reserves": scenario.reserves.model_copy(
        update={"method": "smart"})}))
    assert smart.equity["served"] >= sequential.equity["served"]
    assert sequential.equity["served"] == smart.equity["served"] == int(sum(scenario.supply.values()))


def test_reserve_sections_are_validated():
    with pytest.raises(allocator.ScenarioError) as info:
        build(resources=DOSE, units=SIX, supply={"dose": 3}, groups=["job", "area"],
              reserves={"priority": {"score": "height"}, "order": ["poor"],
                        "categories": [{"id": "poor", "share": 0.8, "attribute": "area", "groups": ["poor"]},
                                       {"id": "open", "share": 0.3, "attribute": "race", "groups": ["x"]}]})
    text = str(info.value)
    for fragment in ("no column 'height'", "'open' is the name", "'race' is not a group attribute",
                     "the shares add up to 1.1", "order must list every category"):
        assert fragment in text, fragment


def test_the_vaccine_scenario_regenerates_byte_for_byte(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    subprocess.run([sys.executable, str(ROOT / "scenarios" / "vaccines" / "make_scenario.py"), str(tmp_path)], check=True)
    for name in ("units.csv", "scenario.yaml"):
        assert (tmp_path / name).read_bytes() == (ROOT / "scenarios" / "vaccines" / name).read_bytes()
