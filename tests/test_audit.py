"""The audit trail in summary.json, and 'allocator verify' re-solving from it."""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil

from typer.testing import CliRunner

from allocator.cli.app import app
from helpers import SCENARIOS

runner = CliRunner()


def _copy_food_bank(tmp_path):
    folder = tmp_path / "food-bank"
    shutil.copytree(SCENARIOS / "food-bank", folder)
    return folder / "scenario.yaml"


def test_summary_records_inputs_version_options_and_time(tmp_path):
    scenario = _copy_food_bank(tmp_path)
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(scenario), "--out", str(out), "--time-limit", "600"]).exit_code == 0
    audit = json.loads((out / "summary.json").read_text())["audit"]
    roles = {item["role"]: item for item in audit["inputs"]}
    assert set(roles) == {"scenario", "units", "links"}
    for item in audit["inputs"]:
        with open(out / item["path"], "rb") as handle:
            assert item["sha256"] == hashlib.sha256(handle.read()).hexdigest()
    assert roles["units"]["path"] == "../food-bank/units.csv"  # relative to the result folder
    assert audit["allocator_version"] == "0.1.0"
    assert audit["solver_options"] == {"time_limit": 600.0, "threads": None}
    assert datetime.datetime.fromisoformat(audit["created"]).tzinfo is not None
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rule"]["name"] == "maxmin" and summary["constraints"][0]["type"] == "floor"  # as resolved


def test_verify_passes_on_an_untouched_result(tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(_copy_food_bank(tmp_path)), "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 0, result.output
    assert "identical: allocations.csv" in result.output and "verified" in result.output


def test_verify_names_a_changed_input(tmp_path):
    scenario = _copy_food_bank(tmp_path)
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(scenario), "--out", str(out)]).exit_code == 0
    units = scenario.parent / "units.csv"
    units.write_text(units.read_text().replace("county-001,7300", "county-001,7400"))
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 5
    assert f"changed: units {units.resolve()}" in result.output and "NOT verified" in result.output


def test_verify_notices_an_edited_table(tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(_copy_food_bank(tmp_path)), "--out", str(out)]).exit_code == 0
    table = out / "allocations.csv"
    lines = table.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 3)[0] + ",1,1,1"
    table.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 5 and "different: allocations.csv" in result.output
    assert "unchanged: units" in result.output  # the inputs are fine: the recorded table was edited


def test_verify_of_a_folder_without_a_result_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 2 and "no allocator result" in result.output
