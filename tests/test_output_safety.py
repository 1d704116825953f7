"""Nothing the user owns is ever lost: ``--force`` replaces only a folder allocator wrote, never one
holding an input of the run or a file allocator did not write, and never overwrites an input file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import allocator
from allocator.cli.app import app
from allocator.core.errors import OutputExistsError
from allocator.io.atomic import MANIFEST, atomic_folder, check_output_folder

ROOT = Path(__file__).resolve().parent.parent
FOOD_BANK = ROOT / "scenarios" / "food-bank"
TUTORIAL = ROOT / "scenarios" / "tutorial" / "scenario.yaml"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_force_never_deletes_the_scenario_kept_inside_the_output_folder(tmp_path):
    # The planner's mistake from the issue: an earlier result in results/, then the scenario and its
    # tables copied in beside it, then `solve results/s.yaml --out results --force`.
    results = tmp_path / "results"
    assert run("solve", FOOD_BANK / "scenario.yaml", "--out", results).exit_code == 0
    for name in ("units.csv", "links.csv"):
        shutil.copy(FOOD_BANK / name, results / name)
    shutil.copy(FOOD_BANK / "scenario.yaml", results / "s.yaml")
    before = contents(results)
    result = run("solve", results / "s.yaml", "--out", results, "--force")
    assert result.exit_code == 2, result.output
    assert "s.yaml" in result.output
    assert contents(results) == before


def test_an_earlier_result_without_a_manifest_with_the_scenario_inside_is_refused(tmp_path):
    # a result of a release before manifests: summary.json + tables; units.csv is also an output name
    # (explain writes one), so only the input check can tell it is the scenario's own table
    results = tmp_path / "results"
    results.mkdir()
    (results / "summary.json").write_text("{}")
    (results / "allocations.csv").write_text("unit\n")
    shutil.copy(FOOD_BANK / "units.csv", results / "units.csv")
    shutil.copy(FOOD_BANK / "links.csv", results / "links.csv")
    text = (FOOD_BANK / "scenario.yaml").read_text()
    (tmp_path / "s.yaml").write_text(text.replace("units.csv", "results/units.csv").replace("links.csv",
                                                                                           "results/links.csv"))
    before = contents(results)
    result = run("solve", tmp_path / "s.yaml", "--out", results, "--force")
    assert result.exit_code == 2, result.output
    assert contents(results) == before


def test_a_file_the_user_added_to_a_result_folder_is_never_deleted(tmp_path):
    out = tmp_path / "out"
    assert run("solve", TUTORIAL, "--out", out).exit_code == 0
    (out / "notes.txt").write_text("what we decided at the meeting")
    result = run("solve", TUTORIAL, "--out", out, "--force")
    assert result.exit_code == 2
    assert "notes.txt" in result.output
    assert (out / "notes.txt").read_text() == "what we decided at the meeting"


def test_force_replaces_a_folder_allocator_wrote_and_its_manifest_lists_every_file(tmp_path):
    out = tmp_path / "out"
    assert run("solve", TUTORIAL, "--rule", "utilitarian", "--out", out).exit_code == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["files"] == ["allocations.csv", "flows.csv", "groups.csv", "summary.json"]
    assert run("solve", TUTORIAL, "--out", out, "--force").exit_code == 0
    assert json.loads((out / "summary.json").read_text())["rule"]["name"] == "maxmin"


def test_an_earlier_result_without_a_manifest_is_still_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("summary.json", "allocations.csv", "groups.csv", "flows.csv"):
        (out / name).write_text("{}" if name.endswith(".json") else "unit\n")
    assert run("solve", TUTORIAL, "--out", out, "--force").exit_code == 0
    assert (out / MANIFEST).is_file()


@pytest.mark.parametrize("command", [["explain"], ["lottery", "--draws", "2"], ["compare"]])
def test_every_output_folder_follows_the_same_rule(tmp_path, command):
    out = tmp_path / "out"
    assert run(*command, TUTORIAL, "--out", out).exit_code == 0, command
    (out / "mine.csv").write_text("keep me")
    result = run(*command, TUTORIAL, "--out", out, "--force")
    assert result.exit_code == 2, result.output
    assert (out / "mine.csv").read_text() == "keep me"
    (out / "mine.csv").unlink()
    assert run(*command, TUTORIAL, "--out", out, "--force").exit_code == 0


@pytest.mark.pyarrow
def test_simulate_force_never_deletes_a_folder_allocator_did_not_write(tmp_path):
    # before: ShardStore removed any occupied folder with shutil.rmtree under --force
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    scenario = ROOT / "scenarios" / "food-bank-uncertain" / "scenario.yaml"
    result = run("simulate", scenario, "--draws", "2", "--out", out, "--force")
    assert result.exit_code == 2, result.output
    assert (out / "chapter1.tex").read_text() == "precious"


@pytest.mark.pyarrow
def test_simulate_force_replaces_an_earlier_simulation(tmp_path):
    out = tmp_path / "sim"
    scenario = ROOT / "scenarios" / "food-bank-uncertain" / "scenario.yaml"
    assert run("simulate", scenario, "--draws", "2", "--rules", "maxmin", "--out", out).exit_code == 0
    assert run("simulate", scenario, "--draws", "3", "--rules", "maxmin", "--out", out, "--force").exit_code == 0
    assert json.loads((out / "simulation.json").read_text())["draws"] == 3


def test_a_single_output_file_never_overwrites_an_input(tmp_path):
    folder = tmp_path / "bank"
    shutil.copytree(FOOD_BANK, folder)
    before = (folder / "units.csv").read_bytes()
    result = run("report", folder / "scenario.yaml", "--out", folder / "units.csv", "--force")
    assert result.exit_code == 2, result.output
    assert "input" in result.output
    assert (folder / "units.csv").read_bytes() == before


def test_the_library_refuses_the_same_folders(tmp_path):
    scenario = allocator.load_scenario(FOOD_BANK / "scenario.yaml")
    result = allocator.solve(scenario)
    with pytest.raises(OutputExistsError, match="input of this run"):
        result.save(FOOD_BANK, force=True)
    folder = tmp_path / "mixed"
    with atomic_folder(folder) as staging:
        (staging / "summary.json").write_text("{}")
    (folder / "user.xlsx").write_bytes(b"x")
    with pytest.raises(OutputExistsError, match="user.xlsx"):
        check_output_folder(folder, force=True)


def test_export_never_overwrites_an_input(tmp_path):
    # a scenario whose units table happens to be called model.lp.legend.csv: the legend must not replace it
    folder = tmp_path / "bank"
    shutil.copytree(FOOD_BANK, folder)
    (folder / "units.csv").rename(folder / "model.lp.legend.csv")
    text = (folder / "scenario.yaml").read_text().replace("units.csv", "model.lp.legend.csv")
    (folder / "scenario.yaml").write_text(text)
    before = (folder / "model.lp.legend.csv").read_bytes()
    result = run("export", folder / "scenario.yaml", "--output", folder / "model.lp", "--force")
    assert result.exit_code == 2, result.output
    assert (folder / "model.lp.legend.csv").read_bytes() == before


WRITERS = [["solve"], ["solve", "--rule", "utilitarian"], ["compare"], ["explain"], ["lottery", "--draws", "2"],
           ["frontier", "-c", "group_gap", "-a", "rurality", "--from", "0.3", "--to", "0.05", "--points", "2"],
           ["disparity", "-a", "rurality"], ["plot"]]


@pytest.mark.parametrize("command", WRITERS, ids=lambda c: " ".join(c[:1]))
def test_no_command_replaces_a_folder_holding_one_of_the_scenarios_tables(tmp_path, command):
    # the reviewer's case: the links table is flows.csv of an earlier result, so it is listed in that
    # folder's manifest; only the check against the loaded scenario's inputs protects it (before, every
    # command but solve replaced the folder and the links table was gone)
    prev = tmp_path / "prev"
    assert run("solve", FOOD_BANK / "scenario.yaml", "--out", prev).exit_code == 0
    pd_links = (FOOD_BANK / "links.csv").read_text()
    (prev / "flows.csv").write_text(pd_links)
    shutil.copy(FOOD_BANK / "units.csv", tmp_path / "units.csv")
    text = (FOOD_BANK / "scenario.yaml").read_text().replace("links: links.csv", "links: prev/flows.csv")
    (tmp_path / "s.yaml").write_text(text)
    before = contents(prev)
    result = run(*command[:1], tmp_path / "s.yaml", *command[1:], "--out", prev, "--force")
    assert result.exit_code == 2, result.output
    assert "input of this run" in result.output
    assert contents(prev) == before


def test_library_savers_refuse_a_folder_holding_an_input(tmp_path):

    # an allocator-written folder that holds the scenario the comparison was read from
    prev = tmp_path / "prev"
    with atomic_folder(prev) as staging:
        for source in TUTORIAL.parent.iterdir():
            shutil.copy(source, staging / source.name)
    comparison = allocator.compare(allocator.load_scenario(prev / TUTORIAL.name), rules=["maxmin"])
    before = contents(prev)
    with pytest.raises(OutputExistsError, match="input of this run"):
        comparison.save(prev, force=True)
    assert contents(prev) == before


def test_a_symbolic_link_to_a_result_is_refused_not_swapped_for_a_folder(tmp_path):
    # before: the rename put a real folder where the link was and left the link as .out.tmp-PID-* debris
    real = tmp_path / "real"
    assert run("solve", TUTORIAL, "--out", real).exit_code == 0
    (tmp_path / "out").symlink_to(real)
    result = run("solve", TUTORIAL, "--out", tmp_path / "out", "--force")
    assert result.exit_code == 2, result.output
    assert (tmp_path / "out").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "real"]


@pytest.mark.slow
def test_library_savers_know_the_inputs_of_their_result(tmp_path):
    # second review: saving a comparison with force=True replaced a folder holding the scenario's links table
    from allocator.tradeoffs.lottery import lottery

    prev = tmp_path / "prev"
    assert run("solve", FOOD_BANK / "scenario.yaml", "--out", prev).exit_code == 0
    (prev / "flows.csv").write_text((FOOD_BANK / "links.csv").read_text())
    shutil.copy(FOOD_BANK / "units.csv", tmp_path / "units.csv")
    (tmp_path / "s.yaml").write_text((FOOD_BANK / "scenario.yaml").read_text()
                                     .replace("links: links.csv", "links: prev/flows.csv"))
    scenario = allocator.load_scenario(tmp_path / "s.yaml")
    before = contents(prev)
    outcomes = [allocator.compare(scenario, rules=["maxmin"]), allocator.solve(scenario).explain(),
                allocator.frontier(scenario, "floor", [0.0]), lottery(scenario, rule="maxmin", draws=1),
                allocator.diagnose(scenario)]
    for outcome in outcomes:
        with pytest.raises(OutputExistsError, match="input of this run"):
            outcome.save(prev, force=True)
    assert contents(prev) == before
