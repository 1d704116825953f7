"""'allocator verify' compares everything a solve kept, reads inputs recorded relative to the result
folder, reports deleted inputs, and never reads outside the scenario's folder for a tampered record."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocator.cli.app import app
from allocator.core.errors import UsageError
from helpers import SCENARIOS, build

runner = CliRunner()


def _solved(tmp_path, *extra):
    """tmp/project/food-bank/scenario.yaml solved into tmp/project/out; returns (scenario, out)."""
    scenario = tmp_path / "project" / "food-bank" / "scenario.yaml"
    shutil.copytree(SCENARIOS / "food-bank", scenario.parent)
    out = tmp_path / "project" / "out"
    solved = runner.invoke(app, ["solve", str(scenario), "--out", str(out), *extra])
    assert solved.exit_code == 0, solved.output
    return scenario, out


def _network(tmp_path):
    """A flow network read from routes.csv and nodes.csv, solved into tmp/net/out.

    W holds 40 lb; W -> H -> X (a wants 20) and H -> Y (b wants 20); the hub H handles at most 15,
    so maxmin gives a and b 7.5 each (test_network_limits.py works this out).
    """
    folder = tmp_path / "net"
    folder.mkdir()
    (folder / "nodes.csv").write_text("id,throughput,supply:food\nW,,40\nH,15,\n")
    (folder / "routes.csv").write_text("from,to\nW,H\nH,X\nH,Y\n")
    (folder / "s.yaml").write_text(
        "name: t\nresources: [{id: food}]\n"
        "units: [{id: a, demand: 20, data: {node: X}}, {id: b, demand: 20, data: {node: Y}}]\n"
        "network: {mode: flow, edges: routes.csv, nodes: nodes.csv}\n")
    solved = runner.invoke(app, ["solve", str(folder / "s.yaml"), "--rule", "maxmin", "--out", str(folder / "out")])
    assert solved.exit_code == 0, solved.output
    return folder / "out"


def _edit_summary(out, change):
    summary = json.loads((out / "summary.json").read_text())
    change(summary)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def test_input_paths_are_recorded_relative_to_the_result_folder(tmp_path):
    _, out = _solved(tmp_path)
    paths = {item["role"]: item["path"] for item in json.loads((out / "summary.json").read_text())["audit"]["inputs"]}
    assert paths == {"scenario": "../food-bank/scenario.yaml", "units": "../food-bank/units.csv",
                     "links": "../food-bank/links.csv"}


def test_a_moved_project_folder_verifies(tmp_path):
    _, out = _solved(tmp_path)
    moved = tmp_path / "elsewhere" / "copy-of-project"
    shutil.move(tmp_path / "project", moved)
    result = runner.invoke(app, ["verify", str(moved / "out")])
    assert result.exit_code == 0, result.output
    assert f"unchanged: units {(moved / 'food-bank' / 'units.csv').resolve()}" in result.output
    assert "identical: summary.json" in result.output and "verified" in result.output


def test_an_old_summary_with_absolute_paths_still_verifies(tmp_path):
    _, out = _solved(tmp_path)

    def absolute(summary):
        for item in summary["audit"]["inputs"]:
            item["path"] = str((out / item["path"]).resolve())

    _edit_summary(out, absolute)
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 0, result.output


def test_a_deleted_input_gives_exit_5_and_a_missing_line(tmp_path):
    scenario, out = _solved(tmp_path)
    (scenario.parent / "units.csv").unlink()
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 5, result.output
    assert f"missing: units {(scenario.parent / 'units.csv').resolve()}" in result.output
    assert "unchanged: links" in result.output and "NOT verified" in result.output


def test_a_deleted_scenario_gives_exit_5_and_a_missing_line(tmp_path):
    scenario, out = _solved(tmp_path)
    scenario.unlink()
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 5 and f"missing: scenario {scenario.resolve()}" in result.output


def test_a_changed_input_that_no_longer_loads_is_a_mismatch_not_a_scenario_error(tmp_path):
    scenario, out = _solved(tmp_path)
    units = scenario.parent / "units.csv"
    units.write_text(units.read_text().replace("county-001,7300", "county-001,lots"))
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 5, result.output
    assert "changed: units" in result.output and "not solved again" in result.output


def test_a_tampered_summary_pointing_outside_is_refused_unless_allowed(tmp_path):
    _, out = _solved(tmp_path)
    stolen = tmp_path / "secret" / "units.csv"
    stolen.parent.mkdir()
    shutil.copy(tmp_path / "project" / "food-bank" / "units.csv", stolen)  # same bytes: the hash would match

    def point_outside(summary):
        summary["audit"]["inputs"][1]["path"] = "../../secret/units.csv"

    _edit_summary(out, point_outside)
    refused = runner.invoke(app, ["verify", str(out)])
    assert refused.exit_code == 2, refused.output
    assert "points outside the scenario's folder" in refused.output and str(stolen.resolve()) in refused.output
    assert "audit.inputs[1].path" in refused.output
    # allowed, it is hashed (unchanged), but the scenario reads its own units.csv, which the record does not list
    allowed = runner.invoke(app, ["verify", str(out), "--allow-outside"])
    assert allowed.exit_code == 5, allowed.output
    own = (tmp_path / "project" / "food-bank" / "units.csv").resolve()
    assert f"not read: units {stolen.resolve()}" in allowed.output
    assert f"not recorded: units {own}" in allowed.output and "not solved again" in allowed.output


def test_a_scenario_recorded_outside_the_project_is_refused_unless_allowed(tmp_path, monkeypatch):
    _, out = _solved(tmp_path)
    other = tmp_path / "other" / "food-bank"
    shutil.copytree(tmp_path / "project" / "food-bank", other)

    def elsewhere(summary):
        for item in summary["audit"]["inputs"]:
            item["path"] = str(other / item["path"].rsplit("/", 1)[1])

    _edit_summary(out, elsewhere)
    monkeypatch.chdir(tmp_path / "project")  # the project: the working folder and the result's parent
    refused = runner.invoke(app, ["verify", str(out)])
    assert refused.exit_code == 2, refused.output
    assert "audit.inputs[0].path" in refused.output and "outside the project" in refused.output
    allowed = runner.invoke(app, ["verify", str(out), "--allow-outside"])
    assert allowed.exit_code == 0, allowed.output


def test_a_result_whose_tables_were_meant_to_be_outside_verifies_with_allow_outside(tmp_path):
    shared = tmp_path / "shared"
    shutil.copytree(SCENARIOS / "food-bank", shared)
    scenario = tmp_path / "city" / "scenario.yaml"
    scenario.parent.mkdir()
    scenario.write_text((shared / "scenario.yaml").read_text().replace("units.csv", "../shared/units.csv")
                        .replace("links.csv", "../shared/links.csv"))
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(scenario), "--out", str(out), "--allow-outside"]).exit_code == 0
    refused = runner.invoke(app, ["verify", str(out)])
    assert refused.exit_code == 2 and "points outside the scenario's folder" in refused.output
    allowed = runner.invoke(app, ["verify", str(out), "--allow-outside"])
    assert allowed.exit_code == 0, allowed.output


def test_a_network_result_verifies_edges_and_nodes_identical(tmp_path):
    out = _network(tmp_path)
    assert (out / "edges.csv").is_file() and (out / "nodes.csv").is_file()
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("allocations.csv", "groups.csv", "edges.csv", "nodes.csv", "summary.json"):
        assert f"identical: {name}" in result.output
    assert "unchanged: edges" in result.output and "unchanged: nodes" in result.output


def test_an_edited_edges_csv_gives_exit_5_naming_it(tmp_path):
    out = _network(tmp_path)
    edges = pd.read_csv(out / "edges.csv")
    edges.loc[0, "flow"] = 16  # W -> H carries 15 (7.5 + 7.5): 16 breaks the hub's limit
    edges.to_csv(out / "edges.csv", index=False, lineterminator="\n")
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 5 and "different: edges.csv" in result.output
    assert "identical: nodes.csv" in result.output


def test_an_edited_summary_metric_gives_exit_5_naming_it(tmp_path):
    _, out = _solved(tmp_path)

    def inflate(summary):
        summary["metrics"]["min_fill_rate"] = 0.99

    _edit_summary(out, inflate)
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 5, result.output
    assert "different: summary.json (metrics.min_fill_rate)" in result.output
    assert "identical: allocations.csv" in result.output


@pytest.mark.parametrize("field, value", [("status", "time_limit"), ("equity", {"level": 1.0}),
                                          ("constraints", [])])
def test_an_edited_summary_status_equity_or_constraint_is_a_mismatch(tmp_path, field, value):
    _, out = _solved(tmp_path)
    _edit_summary(out, lambda summary: summary.update({field: value}))
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 5 and "different: summary.json" in result.output


def test_timing_and_the_time_of_the_run_are_not_compared(tmp_path):
    _, out = _solved(tmp_path)

    def retime(summary):
        summary["audit"]["created"] = "2000-01-01T00:00:00+00:00"
        summary["solver"]["seconds"] = 1234.5
        for stage in summary["solver"]["stages"]:
            stage["seconds"] = 99.0

    _edit_summary(out, retime)
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("change", [
    lambda s: s["audit"]["inputs"][0].pop("path"),
    lambda s: s["audit"]["inputs"][0].update(path=7),
    lambda s: s["audit"].update(inputs="scenario.yaml"),
    lambda s: s.update(rule="maxmin"),
])
def test_a_malformed_audit_record_is_a_clear_usage_error(tmp_path, change):
    _, out = _solved(tmp_path)
    _edit_summary(out, change)
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 2, result.output
    assert "summary.json" in result.output and "Traceback" not in result.output


def test_the_library_refuses_outside_files_with_a_usage_error(tmp_path):
    from allocator.accountability.verify import verify

    _, out = _solved(tmp_path)
    _edit_summary(out, lambda s: s["audit"]["inputs"][2].update(path="/etc/hostname"))
    with pytest.raises(UsageError, match="points outside the scenario's folder"):
        verify(out)


# --- siblings: 'simulate --resume' re-reads the plan and shards it recorded ---------------------

def _simulated(tmp_path):
    import allocator
    from allocator.simulation.api import simulate

    scenario = build(units=[{"id": "a", "demand": 10}, {"id": "b", "demand": 30}], supply={"food": 20})
    simulate(scenario, rules=["maxmin"], draws=4, seed=1, cv=0.1, shard_size=2, out=tmp_path / "sim")
    return allocator, simulate, scenario


@pytest.mark.pyarrow
def test_resuming_from_an_unreadable_plan_is_a_usage_error_naming_it(tmp_path):
    _, simulate, scenario = _simulated(tmp_path)
    (tmp_path / "sim" / "simulation.json").write_text("{ not json")
    with pytest.raises(UsageError, match="simulation.json"):
        simulate(scenario, rules=["maxmin"], draws=4, seed=1, cv=0.1, shard_size=2, out=tmp_path / "sim",
                       resume=True)


@pytest.mark.pyarrow
def test_a_resumed_shard_missing_its_groups_file_is_solved_again(tmp_path):
    _, simulate, scenario = _simulated(tmp_path)
    (tmp_path / "sim" / "shards" / "groups-00001.parquet").unlink()
    resumed = simulate(scenario, rules=["maxmin"], draws=4, seed=1, cv=0.1, shard_size=2, out=tmp_path / "sim",
                             resume=True)
    assert resumed.resumed_draws == 2  # shard 0 only; shard 1 (draws 2 and 3) again
    assert sorted(resumed.metrics["draw"]) == [0, 1, 2, 3]


@pytest.mark.pyarrow
def test_a_shard_beyond_the_plan_is_not_read_on_resume(tmp_path):
    _, simulate, scenario = _simulated(tmp_path)
    shards = tmp_path / "sim" / "shards"
    shutil.copy(shards / "metrics-00000.parquet", shards / "metrics-00007.parquet")  # the plan has shards 0 and 1
    shutil.copy(shards / "groups-00000.parquet", shards / "groups-00007.parquet")
    resumed = simulate(scenario, rules=["maxmin"], draws=4, seed=1, cv=0.1, shard_size=2, out=tmp_path / "sim",
                             resume=True)
    assert sorted(resumed.metrics["draw"]) == [0, 1, 2, 3]  # 4 draws x 1 rule, not 6 rows with draws 0, 1 twice


@pytest.mark.pyarrow
def test_a_stray_file_named_like_a_shard_is_ignored_on_resume(tmp_path):
    _, simulate, scenario = _simulated(tmp_path)
    (tmp_path / "sim" / "shards" / "metrics-copy.parquet").write_bytes(b"")
    resumed = simulate(scenario, rules=["maxmin"], draws=4, seed=1, cv=0.1, shard_size=2, out=tmp_path / "sim",
                             resume=True)
    assert resumed.resumed_draws == 4 and sorted(resumed.metrics["draw"]) == [0, 1, 2, 3]


@pytest.mark.pyarrow
def test_a_damaged_shard_is_a_usage_error_naming_it(tmp_path):
    _, simulate, scenario = _simulated(tmp_path)
    (tmp_path / "sim" / "shards" / "metrics-00001.parquet").write_bytes(b"PAR1 not a parquet file")
    with pytest.raises(UsageError, match="metrics-00001.parquet cannot be read as a shard"):
        simulate(scenario, rules=["maxmin"], draws=4, seed=1, cv=0.1, shard_size=2, out=tmp_path / "sim",
                       resume=True)
