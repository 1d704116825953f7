"""End-to-end tests of every CLI command and exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocator.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "scenarios" / "tutorial" / "scenario.yaml"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


POOL = """name: pool
resources: [{id: food}]
supply: {food: 60}
units: [{id: a, demand: 40, groups: {region: east}}, {id: b, demand: 60, groups: {region: west}}]
groups: [region]
"""


def test_solve_prints_summary_and_exits_0():
    result = run("solve", TUTORIAL)
    assert result.exit_code == 0, result.output
    assert "min_fill_rate" in result.output and "0.6000" in result.output


def test_solve_json_is_summary_json(tmp_path):
    result = run("solve", write(tmp_path, "s.yaml", POOL), "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["status"] == "optimal"
    assert summary["metrics"]["min_fill_rate"] == pytest.approx(0.6, abs=1e-6)
    for key in ("total_allocated", "total_value", "utilization", "min_fill_rate", "mean_fill_rate",
                "max_fill_rate", "gini", "jain", "units_unserved", "max_group_gap", "min_group_ratio"):
        assert key in summary["metrics"]
    assert set(summary["solver"]) >= {"name", "seconds"}


def test_solve_out_writes_all_tables(tmp_path):
    out = tmp_path / "out"
    assert run("solve", TUTORIAL, "--out", out).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [".allocator-output.json", "allocations.csv", "flows.csv",
                                                     "groups.csv", "summary.json"]
    allocations = pd.read_csv(out / "allocations.csv")
    assert list(allocations.columns) == ["unit", "resource", "allocated", "demand", "fill_rate"]
    assert allocations["allocated"].sum() == pytest.approx(3000, rel=1e-6)
    groups = pd.read_csv(out / "groups.csv")
    assert list(groups.columns) == ["attribute", "group", "resource", "units", "allocated", "demand", "fill_rate"]
    flows = pd.read_csv(out / "flows.csv")
    assert list(flows.columns) == ["unit", "resource", "site", "quantity"]
    merged = flows.groupby("unit")["quantity"].sum()
    assert merged.to_dict() == pytest.approx(allocations.set_index("unit")["allocated"].to_dict(), rel=1e-6)


def test_pool_scenario_writes_no_flows(tmp_path):
    out = tmp_path / "out"
    assert run("solve", write(tmp_path, "s.yaml", POOL), "--out", out).exit_code == 0
    assert not (out / "flows.csv").exists()


def test_existing_output_is_kept_without_force_and_replaced_with_it(tmp_path):
    out = tmp_path / "out"
    assert run("solve", TUTORIAL, "--rule", "utilitarian", "--out", out).exit_code == 0
    earlier = (out / "summary.json").read_text()
    result = run("solve", TUTORIAL, "--out", out)
    assert result.exit_code == 2
    assert "--force" in result.output
    assert (out / "summary.json").read_text() == earlier
    assert run("solve", TUTORIAL, "--out", out, "--force").exit_code == 0
    assert '"maxmin"' in (out / "summary.json").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging or retired folders left


def test_force_never_replaces_a_folder_that_is_not_an_allocator_result(tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.txt").write_text("precious")
    result = run("solve", TUTORIAL, "--out", out, "--force")
    assert result.exit_code == 2
    assert "thesis.txt, which allocator did not write" in result.output
    assert (out / "thesis.txt").read_text() == "precious"


def test_force_refuses_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "summary.json").write_text("{}")
    result = run("solve", TUTORIAL, "--out", ".", "--force")
    assert result.exit_code == 2
    assert "working folder" in result.output
    assert (tmp_path / "summary.json").read_text() == "{}"


def test_unwritable_output_is_a_clean_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run("solve", TUTORIAL, "--out", blocker / "out")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"cannot write {blocker / 'out'}: {blocker} is not a folder" in result.output


def test_outputs_are_byte_identical_across_runs(tmp_path):
    for name in ("one", "two"):
        assert run("solve", TUTORIAL, "--rule", "leximin", "--out", tmp_path / name).exit_code == 0
    for table in ("allocations.csv", "groups.csv", "flows.csv"):
        assert (tmp_path / "one" / table).read_bytes() == (tmp_path / "two" / table).read_bytes()


def test_rule_and_constraint_options_override_the_scenario(tmp_path):
    path = write(tmp_path, "s.yaml", POOL)
    result = run("solve", path, "--rule", "utilitarian", "-c", "group_floor:attribute=region,share=0.5", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rule"]["name"] == "utilitarian"
    assert summary["constraints"] == [{"type": "group_floor", "attribute": "region", "share": 0.5, "resource": None,
                                       "measure": None}]
    assert summary["metrics"]["min_fill_rate"] >= 0.5 - 1e-6


def test_rule_option_accepts_yaml_mapping(tmp_path):
    result = run("solve", write(tmp_path, "s.yaml", POOL), "--rule", "{name: maxmin, over: region}", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rule"] == {"name": "maxmin", "over": "region", "method": "auto"}


def test_pulp_solver_option(tmp_path):
    result = run("solve", write(tmp_path, "s.yaml", POOL), "--solver", "pulp", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["solver"]["name"] == "pulp"
    assert summary["metrics"]["min_fill_rate"] == pytest.approx(0.6, abs=1e-6)


def test_infeasible_exits_3_and_names_the_constraint(tmp_path):
    path = write(tmp_path, "s.yaml", POOL + "constraints: [{type: floor, share: 0.9}]\n")
    out = tmp_path / "out"
    result = run("solve", path, "--out", out)
    assert result.exit_code == 3
    assert "floor(share=0.9)" in result.output
    assert "0.6" in result.output  # the largest share that can hold
    assert not out.exists()


def test_invalid_scenario_exits_2_lists_all_problems_and_writes_nothing(tmp_path):
    path = write(tmp_path, "s.yaml", "name: x\nresources: [{id: food}]\nunits: [{id: a, demand: -1}]\n"
                                     "rule: fair\nextra: 1\n")
    out = tmp_path / "out"
    result = run("solve", path, "--out", out)
    assert result.exit_code == 2
    for fragment in ("extra", "unknown key", "neither 'supply' nor 'sites'", "units[0].demand", "negative",
                     "unknown rule 'fair'"):
        assert fragment in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_unknown_solver_is_a_usage_error(tmp_path):
    result = run("solve", write(tmp_path, "s.yaml", POOL), "--solver", "gurobi-direct")
    assert result.exit_code == 2
    assert "unknown solver" in result.output


def test_bad_constraint_option_is_a_usage_error(tmp_path):
    result = run("solve", write(tmp_path, "s.yaml", POOL), "-c", "floor:share")
    assert result.exit_code == 2
    assert "key=value" in result.output


@pytest.mark.parametrize("case, fragment", [
    ("missing", "file not found"),
    ("syntax", "YAML syntax error"),
])
def test_unreadable_scenarios_exit_2(tmp_path, case, fragment):
    path = tmp_path / "s.yaml"
    if case == "syntax":
        path.write_text("name: [unclosed\n")
    result = run("solve", path)
    assert result.exit_code == 2
    assert fragment in result.output and str(path) in result.output


def test_validate_ok_and_warns_about_unreachable_units(tmp_path):
    text = """name: v
resources: [{id: food}]
sites: [{id: s1, supply: {food: 5}}]
units: [{id: a, demand: 4}, {id: lonely, demand: 2}]
links: [{unit: a, site: s1}]
"""
    result = run("validate", write(tmp_path, "s.yaml", text))
    assert result.exit_code == 0
    assert "ok:" in result.output and "lonely" in result.output and "warning" in result.output


def test_validate_rejects_bad_scenario(tmp_path):
    result = run("validate", write(tmp_path, "s.yaml", "name: v\n"))
    assert result.exit_code == 2
    assert "resources: required key is missing" in result.output


def test_rules_lists_every_rule_and_constraint():
    result = run("rules")
    assert result.exit_code == 0
    for name in ("utilitarian", "proportional", "maxmin", "leximin", "floor", "group_floor", "group_gap",
                 "group_ratio"):
        assert name in result.output


@pytest.mark.parametrize("suffix, marker", [(".lp", "Maximize"), (".mps", "ROWS")])
def test_export_writes_first_stage_lp(tmp_path, suffix, marker):
    target = tmp_path / f"model{suffix}"
    result = run("export", TUTORIAL, "--rule", "maxmin", "--output", target)
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert marker in text and "level_pantry_a_food" in text
    assert (tmp_path / f"model{suffix}.legend.csv").is_file() and "legend.csv" in result.output
    again = run("export", TUTORIAL, "--output", target)
    assert again.exit_code == 2 and "--force" in again.output
    assert run("export", TUTORIAL, "--output", target, "--force").exit_code == 0


def test_export_rejects_unknown_format(tmp_path):
    result = run("export", TUTORIAL, "--output", tmp_path / "model.txt")
    assert result.exit_code == 2
    assert ".lp or .mps" in result.output


def test_module_entry_point_has_no_traceback_on_bad_input(tmp_path):
    path = write(tmp_path, "s.yaml", "name: x\nresources: [{id: food}]\nsupply: {food: nan}\nunits: []\n")
    proc = subprocess.run([sys.executable, "-m", "allocator", "solve", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "supply.food" in proc.stderr


def test_json_stdout_is_clean_of_solver_banners(tmp_path):
    path = write(tmp_path, "s.yaml", POOL)
    proc = subprocess.run([sys.executable, "-m", "allocator", "solve", str(path), "--json"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "optimal"
