"""Lotteries over whole units: every draw feasible, exact expectation, convergent marginals, seeded draws."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import allocator
from allocator.cli.app import app
from allocator.tradeoffs.lottery import lottery
from helpers import build

runner = CliRunner()
NETWORK = dict(resources=[{"id": "slot", "divisible": False}],
               units=[{"id": "a", "demand": 2}, {"id": "b", "demand": 2}, {"id": "c", "demand": 1}, {"id": "d", "demand": 3}],
               sites=[{"id": "s1", "supply": {"slot": 3}}, {"id": "s2", "supply": {"slot": 2}}],
               links=[{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s1"}, {"unit": "b", "site": "s2"},
                      {"unit": "c", "site": "s2"}, {"unit": "d", "site": "s1"}, {"unit": "d", "site": "s2"}])
KEY = ["unit", "resource", "site"]


def _feasible(doc, allocation: pd.DataFrame) -> None:
    demand = {u["id"]: u["demand"] for u in doc["units"]}
    supply = {s["id"]: s["supply"]["slot"] for s in doc["sites"]}
    links = {(d["unit"], d["site"]) for d in doc["links"]}
    assert (allocation["quantity"] == allocation["quantity"].round()).all()
    for (unit, site) in zip(allocation["unit"], allocation["site"]):
        assert (unit, site) in links
    for unit, amount in allocation.groupby("unit")["quantity"].sum().items():
        assert amount <= demand[unit]
    for site, amount in allocation.groupby("site")["quantity"].sum().items():
        assert amount <= supply[site]


def test_every_draw_respects_stock_demand_and_links():
    result = lottery(build(**NETWORK), rule="leximin", draws=300, seed=3)
    for _, draw in result.draws.groupby("draw"):
        _feasible(NETWORK, draw)


def test_the_exact_decomposition_has_the_fractional_allocation_as_expectation():
    result = lottery(build(**NETWORK), rule="leximin", draws=0)
    d = result.decomposition
    odds = d.groupby("allocation")["probability"].first()
    assert odds.sum() == pytest.approx(1.0, abs=1e-12) and (odds > 0).all()
    expected = result.expected.set_index(KEY)["expected"]
    mean = d.assign(w=d["probability"] * d["quantity"]).groupby(KEY)["w"].sum().reindex(expected.index, fill_value=0)
    assert mean.to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-9)
    for _, allocation in d.groupby("allocation"):
        _feasible(NETWORK, allocation)


def test_empirical_marginals_converge_to_the_expectation():
    n = 4000
    result = lottery(build(**NETWORK), rule="leximin", draws=n, seed=11)
    expected = result.expected.set_index(KEY)["expected"]
    counts = result.draws.groupby(KEY)["quantity"].sum().reindex(expected.index, fill_value=0) / n
    # each flow's draw is floor or ceil of its expectation: variance at most 1/4, so 4 sigma is 2/sqrt(n)
    assert np.abs(counts.to_numpy() - expected.to_numpy()).max() <= 4 * 0.5 / np.sqrt(n)


def test_the_same_seed_gives_the_same_draws():
    scenario = build(**NETWORK)
    first = lottery(scenario, rule="maxmin", draws=50, seed=7).draws
    assert first.equals(lottery(scenario, rule="maxmin", draws=50, seed=7).draws)
    assert not first.equals(lottery(scenario, rule="maxmin", draws=50, seed=8).draws)


def test_the_fractional_answer_is_the_rule_solved_as_divisible():
    scenario = build(**NETWORK)
    expected = lottery(scenario, rule="leximin", draws=0).expected.groupby("unit")["expected"].sum()
    divisible = build(**{**NETWORK, "resources": [{"id": "slot"}]})
    rates = allocator.solve(divisible, rule="leximin").allocations.set_index("unit")["allocated"]
    assert expected.reindex(rates.index, fill_value=0).to_numpy() == pytest.approx(rates.to_numpy(), abs=1e-6)


def test_pooled_and_multi_resource_lotteries():
    scenario = build(resources=[{"id": "slot", "divisible": False}, {"id": "kit", "divisible": False}],
                     units=[{"id": "a", "demand": {"slot": 1, "kit": 2}}, {"id": "b", "demand": {"slot": 1, "kit": 1}}],
                     supply={"slot": 1, "kit": 2})
    result = lottery(scenario, rule="leximin", draws=200, seed=1)
    for _, draw in result.draws.groupby("draw"):
        totals = draw.groupby("resource")["quantity"].sum()
        assert totals.get("slot", 0) <= 1 and totals.get("kit", 0) <= 2


def test_fractional_demands_are_refused():
    scenario = build(units=[{"id": "a", "demand": 1.5}], supply={"food": 1})
    with pytest.raises(allocator.UsageError, match="whole-number demands"):
        lottery(scenario, rule="maxmin")


def test_cli_lottery(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nresources: [{id: slot, divisible: false}]\nsupply: {slot: 1}\n"
                    "units: [{id: a, demand: 1}, {id: b, demand: 1}]\n")
    out = tmp_path / "lot"
    result = runner.invoke(app, ["lottery", str(path), "--rule", "maxmin", "--draws", "10", "--seed", "2",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "exact decomposition: 2 whole-unit allocation(s)" in result.output
    assert len(pd.read_csv(out / "draws.csv")) == 10 and (out / "decomposition.csv").is_file()


def test_exclusive_sets_are_refused():
    scenario = build(resources=[{"id": "a", "divisible": False}, {"id": "b", "divisible": False}],
                     exclusive=["a", "b"], supply={"a": 1, "b": 1},
                     units=[{"id": "u1", "demand": {"a": 1, "b": 1}}, {"id": "u2", "demand": {"a": 1, "b": 1}}])
    with pytest.raises(allocator.UsageError, match="exclusive"):
        lottery(scenario, rule="maxmin")


SLOTS = [{"id": "slot", "divisible": False}]


@pytest.mark.parametrize("case, doc", [
    ("no supply", dict(resources=SLOTS, supply={"slot": 0}, units=[{"id": "a", "demand": 1}, {"id": "b", "demand": 1}])),
    ("no demand", dict(resources=SLOTS, supply={"slot": 5}, units=[{"id": "a", "demand": 0}, {"id": "b", "demand": 0}])),
])
def test_nothing_to_draw_is_said_plainly_and_counted(tmp_path, case, doc):
    result = lottery(build(**doc), rule="leximin", draws=3)
    # every draw is the empty allocation: 3 draws made (none has a row), one allocation of probability 1
    assert result.count == 3 and result.draws.empty and result.odds == (1.0,)
    assert any(note.startswith("nothing to draw") for note in result.notes), case
    path = tmp_path / "s.yaml"
    path.write_text(yaml_text(doc))
    out = tmp_path / "lot"
    for draws in ("3", "0"):
        cli = runner.invoke(app, ["lottery", str(path), "--draws", draws, "--out", str(out), "--force"])
        assert cli.exit_code == 0, cli.output
        assert "nan" not in cli.output.lower() and "nothing to draw" in cli.output
        assert f": {draws} draw(s)" in cli.output and "1 whole-unit allocation(s)" in cli.output
        for written in out.iterdir():
            assert "nan" not in written.read_text().lower(), written.name
        summary = json.loads((out / "summary.json").read_text())
        assert summary["draws"] == int(draws) and summary["allocations_in_decomposition"] == 1


def test_a_lottery_without_randomness_says_so():
    doc = dict(resources=SLOTS, supply={"slot": 5}, units=[{"id": "a", "demand": 1}, {"id": "b", "demand": 2}])
    result = lottery(build(**doc), rule="leximin", draws=4)
    # supply 5 covers demand 3: the allocation is whole, every draw is it (a 1, b 2), probability 1
    assert result.odds == (1.0,) and result.count == 4
    assert result.draws.groupby("draw")["quantity"].sum().tolist() == [3, 3, 3, 3]
    assert any(note.startswith("no randomness") for note in result.notes)


def yaml_text(doc: dict) -> str:
    return json.dumps({"name": "t", **doc})  # JSON is YAML


def test_too_many_outcomes_leave_the_decomposition_out_and_say_so(monkeypatch):
    # one slot, two claimants: two allocations of probability 1/2; with room for one only, none is listed
    import allocator.tradeoffs.lottery as module

    monkeypatch.setattr(module, "MAX_OUTCOMES", 1)
    scenario = allocator.scenario_from_dict({"name": "slot", "resources": [{"id": "slot", "divisible": False}],
                                             "supply": {"slot": 1},
                                             "units": [{"id": "a", "demand": 1}, {"id": "b", "demand": 1}]})
    drawn = module.lottery(scenario, rule="maxmin", draws=4)
    assert drawn.decomposition is None and drawn.odds is None and drawn.count == 4
    assert any("more than 1 distinct allocations" in note for note in drawn.notes)
    assert drawn.to_dict()["allocations_in_decomposition"] is None
