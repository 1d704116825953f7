"""Reserve systems: sequential and smart processing, soft and hard reserves, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

import allocator
from helpers import allocated, build

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
    from helpers import ROOT

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

    from helpers import ROOT

    subprocess.run([sys.executable, str(ROOT / "scenarios" / "vaccines" / "make_scenario.py"), str(tmp_path)], check=True)
    for name in ("units.csv", "scenario.yaml"):
        assert (tmp_path / name).read_bytes() == (ROOT / "scenarios" / "vaccines" / name).read_bytes()


# --- the axioms of the reserve-design literature, on random instances ------------------------------
# (eligibility compliance, non-wastefulness, respect for priorities, maximum cardinality: the properties
# Aziz and Brandl 2021 and Sun 2025 state for reserve rules; smart must have all four)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_properties import SETTINGS  # noqa: E402

from allocator.scenario.reserves import OPEN, Category, Priority, Reserves, allocate, places, rank  # noqa: E402


@st.composite
def systems(draw):
    n = draw(st.integers(1, 7))
    supply = draw(st.integers(1, n + 1))
    count = draw(st.integers(1, 3))
    shares = [draw(st.sampled_from([0.2, 0.25, 1 / 3, 0.5])) for _ in range(count)]
    while sum(shares) > 1:
        shares.pop()
    labels = [draw(st.sampled_from("abc")) for _ in range(n)]
    categories = tuple(Category(id=f"c{k}", share=s, attribute="g",
                                groups=tuple(draw(st.lists(st.sampled_from("abc"), min_size=1, unique=True))))
                       for k, s in enumerate(shares))
    reserves = Reserves(categories=categories, priority=Priority(score="age"), unused=draw(st.sampled_from(["open", "lost"])),
                        method="smart", seed=draw(st.integers(0, 9)))
    ages = np.array([draw(st.integers(0, 3)) for _ in range(n)], dtype=float)
    return reserves, supply, np.array(labels, dtype=object), ages


def _inputs(reserves, labels, ages):
    lottery = np.random.default_rng(reserves.seed).permutation(len(labels))
    orders = {name: rank(ages, "descending", lottery) for name in [c.id for c in reserves.categories] + [OPEN]}
    eligible = {c.id: np.isin(labels, c.groups) for c in reserves.categories}
    eligible[OPEN] = np.ones(len(labels), dtype=bool)
    return orders, eligible


@settings(max_examples=60, **SETTINGS)
@given(systems())
def test_smart_reserves_meet_the_four_axioms(system):
    reserves, supply, labels, ages = system
    orders, eligible = _inputs(reserves, labels, ages)
    wanting = np.ones(len(labels), dtype=bool)
    placed = allocate(reserves, supply, eligible, orders, wanting).category
    capacity = places(reserves, supply)
    names = reserves.processing_order()
    used = {name: sum(c == name for c in placed) for name in names}
    # eligibility compliance, and no category over its places (soft reserves may pass places to open)
    for i, name in enumerate(placed):
        assert name is None or eligible[name][i]
    reserve_left = sum(capacity[n] - used[n] for n in names if n != OPEN)
    for name in names:
        if name != OPEN:
            assert used[name] <= capacity[name]
    assert used[OPEN] <= capacity[OPEN] + (reserve_left if reserves.unused == "open" else 0)
    # maximum cardinality: nobody else could be served by any assignment of people to places
    from allocator.scenario.reserves import _max_served
    best = _max_served(names, capacity, eligible, wanting, {})
    served = sum(c is not None for c in placed)
    assert served >= best
    # non-wastefulness: nobody unserved while a place they could take is left (soft reserves pass
    # unused reserve places to the open category, which everyone is eligible for)
    for i, name in enumerate(placed):
        if name is None and reserves.unused == "open":
            assert served == supply
        elif name is None:
            for other in names:
                assert not (eligible[other][i] and used[other] < capacity[other]), (i, other)
    # respect for priorities within each category (the reserve's own order)
    position = {name: {int(u): r for r, u in enumerate(orders[name])} for name in names}
    for i, name in enumerate(placed):
        if name is None or name == OPEN:
            continue
        for j, other in enumerate(placed):
            if other is None and eligible[name][j]:
                assert position[name][i] < position[name][j], (name, i, j)
