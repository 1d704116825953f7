"""One public vocabulary: every analysis is a verb of `allocator` with keyword-only options, the
scenario's rule by default, and an outcome with `.table`, `.to_dict()` and `.save(folder)`."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

import allocator
from allocator import Status, UsageError
from allocator.core.errors import OutputExistsError
from allocator.results.analysis import Analysis

# two towns, 10 of food: a (north, demand 8, low 6) and b (south, demand 4, low 3); the scenario's own
# rule is utilitarian, so rule=None must mean utilitarian wherever it is left out
DOCUMENT = {
    "name": "towns", "resources": [{"id": "food"}], "supply": {"food": 10}, "groups": ["region"],
    "rule": "utilitarian",
    "units": [{"id": "a", "demand": 8, "value": 2, "groups": {"region": "north"}, "data": {"demand_low": 6}},
              {"id": "b", "demand": 4, "groups": {"region": "south"}, "data": {"demand_low": 3}}],
}


@pytest.fixture(scope="module")
def scenario():
    return allocator.scenario_from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def outcomes(scenario, tmp_path_factory):
    folder = tmp_path_factory.mktemp("solved")
    result = allocator.solve(scenario)
    result.save(folder / "r")
    return {
        "compare": allocator.compare(scenario, rules=["maxmin", "utilitarian"]),
        "frontier": allocator.frontier(scenario, "group_gap", [0.5, 0.0], attribute="region"),
        "lottery": allocator.lottery(scenario, rule="maxmin", draws=2),
        "bounds": allocator.bounds(scenario, samples=2),
        "simulate": allocator.simulate(scenario, draws=2, cv=0.1),
        "diagnose": allocator.diagnose(scenario),
        "disparity": allocator.disparity(scenario, "region"),
        "explain": allocator.explain(result),
        "verify": allocator.verify(folder / "r"),
    }


ANALYSES = ["compare", "frontier", "lottery", "bounds", "simulate", "diagnose", "disparity", "explain", "verify"]


@pytest.mark.parametrize("verb", ANALYSES)
def test_every_analysis_has_a_table_plain_data_and_saves_atomically(verb, outcomes, tmp_path):
    outcome = outcomes[verb]
    assert isinstance(outcome, Analysis) and verb in allocator.__all__
    assert isinstance(outcome.table, pd.DataFrame) and len(outcome.table.columns) > 0
    json.dumps(outcome.to_dict())  # plain data: no numpy scalars, no DataFrames
    if verb == "simulate":
        pytest.importorskip("pyarrow", reason="the simulation keeps metrics.parquet")
    folder = outcome.save(tmp_path / verb)
    assert (folder / "summary.json").exists()
    assert json.loads((folder / "summary.json").read_text(encoding="utf-8")) is not None
    with pytest.raises(OutputExistsError):
        outcome.save(tmp_path / verb)  # never over an existing folder without force
    outcome.save(tmp_path / verb, force=True)


def test_solve_speaks_the_same_vocabulary(scenario):
    result = allocator.solve(scenario)
    assert result.table is result.allocations and result.to_dict() == result.summary()


@pytest.mark.parametrize(("call", "spelling"), [
    (lambda s: allocator.solve(s, "maxmin"), "write solve(scenario, rule='maxmin')"),
    (lambda s: allocator.compare(s, ["maxmin"]), "write compare(scenario, rules=['maxmin'])"),
    (lambda s: allocator.lottery(s, "maxmin"), "write lottery(scenario, rule='maxmin')"),
    (lambda s: allocator.bounds(s, "maxmin"), "write bounds(scenario, rule='maxmin')"),
    (lambda s: allocator.diagnose(s, "maxmin", []), "write diagnose(scenario, rule='maxmin', constraints=[])"),
    (lambda s: allocator.disparity(s, "region", "maxmin"), "write disparity(scenario, attribute, rule='maxmin')"),
    (lambda s: allocator.simulate(s, ["maxmin"], 5), "write simulate(scenario, rules=['maxmin'], draws=5)"),
    (lambda s: allocator.compile(s, "maxmin"), "write compile(scenario, rule='maxmin')"),
])
def test_options_are_keyword_only_and_the_refusal_shows_the_spelling(scenario, call, spelling):
    with pytest.raises(UsageError) as info:
        call(scenario)
    assert spelling in str(info.value) and "keyword-only" in str(info.value)


def test_rule_none_is_the_scenarios_rule_everywhere(scenario, outcomes):
    # utilitarian gives a (value 2) all its 8 and b the 2 left; maxmin would give both 10/12
    assert allocator.solve(scenario).rule["name"] == "utilitarian"
    assert allocator.lottery(scenario, draws=1).rule == "utilitarian"  # was leximin before
    assert outcomes["bounds"].rule == "utilitarian"
    assert set(outcomes["simulate"].table["rule"]) == {"utilitarian"}  # was maxmin before
    assert outcomes["disparity"].rule.startswith("utilitarian")


def test_one_metric_spelling_in_every_table(outcomes):
    assert "max_group_gap[region]" in outcomes["compare"].table.columns
    assert "max_group_gap[region]" in outcomes["frontier"].table.columns
    assert "max_group_gap[region]" in outcomes["simulate"].table.columns
    assert "max_group_gap[region]" in set(outcomes["bounds"].table["metric"])
    for verb in ("compare", "frontier", "simulate"):
        assert not [c for c in outcomes[verb].table.columns if ":" in str(c)], verb
    assert "price_of_fairness" in outcomes["frontier"].table and "price_of_fairness" in outcomes["compare"].table


def test_statuses_are_the_status_enum(outcomes):
    assert outcomes["lottery"].status is Status.COMPLETE
    assert outcomes["bounds"].status is Status.COMPLETE
    assert outcomes["simulate"].status is Status.COMPLETE
    assert set(outcomes["frontier"].table["status"]) <= set(Status)


@pytest.mark.parametrize(("old", "new"), [("compare_rules", "compare"), ("run_simulation", "simulate")])
def test_the_old_names_still_work_with_a_deprecation_warning(old, new):
    with pytest.warns(DeprecationWarning, match=f"allocator.{old} is now allocator.{new}"):
        function = getattr(allocator, old)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert function is getattr(allocator, new)


def test_a_verification_is_never_saved_over_the_record_it_verified(scenario, tmp_path):
    # review: its inputs were the scenario's only, so save(record, force=True) replaced the record
    record = tmp_path / "record"
    allocator.solve(scenario).save(record)
    before = sorted(p.name for p in record.iterdir())
    with pytest.raises(OutputExistsError):
        allocator.verify(record).save(record, force=True)
    assert sorted(p.name for p in record.iterdir()) == before
