"""A corpus of hostile and broken scenarios: each gets a specific clear error and exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from allocator.cli.app import app
from allocator.scenario.files import MAX_DEPTH, MAX_DOCUMENT_VALUES

runner = CliRunner()
HEAD = "name: t\nresources: [{id: food}]\nsupply: {food: 5}\n"


def write(folder: Path, text: str | bytes, **tables: str | bytes) -> Path:
    for name, content in tables.items():
        target = folder / f"{name}.csv"
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    path = folder / "scenario.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def rejected(path: Path, *args: str) -> str:
    """Validate and solve ``path``: both exit 2 with no traceback and write nothing; the message."""
    out = path.parent / "out"
    for command in (["validate", str(path), *args], ["solve", str(path), "--out", str(out), *args]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output
    assert not out.exists()
    return result.output


BILLION_LAUGHS = "\n".join(
    ["name: t", "resources: [{id: food}]", "supply: {food: 5}", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
       for i in range(1, 10)]
    + ["units: *a9"]) + "\n"

CORPUS = {
    # name: (scenario text, tables, what the message must contain)
    "empty scenario file": ("", {}, ["scenario.yaml", "is empty"]),
    "scenario that is only a BOM": (b"\xef\xbb\xbf", {}, ["is empty"]),
    "scenario in latin-1": ("name: caf\xe9\n".encode("latin-1"), {}, ["not valid UTF-8"]),
    "empty units file": (HEAD + "units: units.csv\n", {"units": b""}, ["units.csv", "cannot be read as a table"]),
    "units header only": (HEAD + "units: units.csv\n", {"units": "id,demand\n"}, ["units.csv", "has no units"]),
    "units file in latin-1": (HEAD + "units: units.csv\n", {"units": "id,demand\ncaf\xe9,1\n".encode("latin-1")},
                              ["units.csv", "not valid UTF-8"]),
    "duplicated header": (HEAD + "units: units.csv\n", {"units": "id,demand,demand\na,1,2\n"},
                          ["units.csv", "duplicated column name(s): demand"]),
    "NaN demand": (HEAD + "units: units.csv\n", {"units": "id,demand\na,nan\n"},
                   ["row 2, column demand", "not a finite number"]),
    "infinite demand": (HEAD + "units: units.csv\n", {"units": "id,demand\na,-inf\n"},
                        ["row 2, column demand", "not a finite number"]),
    "negative demand": (HEAD + "units: units.csv\n", {"units": "id,demand\na,-0.5\n"}, ["row 2, column demand", "negative"]),
    "1e308 demand": (HEAD + "units: units.csv\n", {"units": "id,demand\na,1e308\n"},
                     ["row 2, column demand", "larger than 1e+15"]),
    "1e308 supply": ("name: t\nresources: [{id: food}]\nsupply: {food: 1.0e308}\nunits: [{id: a, demand: 1}]\n", {},
                     ["supply.food", "at most 1e+15"]),
    "NaN supply in YAML": ("name: t\nresources: [{id: food}]\nsupply: {food: .nan}\nunits: [{id: a, demand: 1}]\n", {},
                           ["supply.food", "finite number"]),
    "billion laughs": (BILLION_LAUGHS, {}, ["scenario.yaml", f"expands to more than {MAX_DOCUMENT_VALUES:,} values"]),
    "deeply nested YAML": (HEAD + "units: " + "[" * 5000 + "]" * 5000 + "\n", {}, ["scenario.yaml", "nesting depth"]),
    "moderately nested YAML": (HEAD + "units: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n", {},
                               ["scenario.yaml", f"nested more than {MAX_DEPTH} levels"]),
    # found by the fuzzer: a list where a number belongs used to raise TypeError
    "demand given as a list": ("name: t\nresources: [{id: food}]\nsupply: {food: 5}\nunits: [{id: a, demand: []}]\n",
                               {}, ["units[0].demand", "must be a number or a mapping"]),
    "demand of a resource given as a mapping": ("name: t\nresources: [{id: food}]\nsupply: {food: 5}\n"
                                                "units: [{id: a, demand: {food: {x: 1}}}]\n", {},
                                                ["units[0].demand.food", "must be a number"]),
    "units outside the folder": (HEAD + "units: ../elsewhere/units.csv\n", {}, ["units", "points outside the scenario's folder",
                                                                                "--allow-outside"]),
    "units by absolute path": (HEAD + "units: /etc/passwd\n", {}, ["units", "points outside the scenario's folder"]),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_input_is_refused_clearly(tmp_path, case):
    text, tables, fragments = CORPUS[case]
    output = rejected(write(tmp_path, text, **tables))
    for fragment in fragments:
        assert fragment in output, (case, output)


def test_deep_json_is_refused_too(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text('{"name": "t", "units": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "nested" in rejected(path)


def test_allow_outside_lets_a_shared_table_in(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "units.csv").write_text("id,demand\na,4\nb,6\n")
    folder = tmp_path / "scenario"
    folder.mkdir()
    path = write(folder, HEAD + "units: ../shared/units.csv\n")
    assert "points outside" in rejected(path)
    result = runner.invoke(app, ["solve", str(path), "--allow-outside", "--json"])
    assert result.exit_code == 0, result.output
    assert '"min_fill_rate": 0.5' in result.stdout


def test_a_symlink_that_leaves_the_folder_is_outside(tmp_path):
    (tmp_path / "secret.csv").write_text("id,demand\na,1\n")
    folder = tmp_path / "scenario"
    folder.mkdir()
    (folder / "units.csv").symlink_to(tmp_path / "secret.csv")
    assert "points outside" in rejected(write(folder, HEAD + "units: units.csv\n"))


def test_symlink_loops_are_named(tmp_path):
    (tmp_path / "units.csv").symlink_to(tmp_path / "loop.csv")
    (tmp_path / "loop.csv").symlink_to(tmp_path / "units.csv")
    assert "symbolic link loop" in rejected(write(tmp_path, HEAD + "units: units.csv\n"))
    (tmp_path / "s.yaml").symlink_to(tmp_path / "s.yaml")
    assert "symbolic link loop" in rejected(tmp_path / "s.yaml")


def test_a_units_path_that_is_a_folder(tmp_path):
    (tmp_path / "units.csv").mkdir()
    assert "is not a regular file" in rejected(write(tmp_path, HEAD + "units: units.csv\n"))


def test_awkward_ids_survive_the_round_trip(tmp_path):
    ids = ['a,b', 'say "hi"', "two\nlines", "Zoë–Ω", " padded "]
    frame = pd.DataFrame({"id": ids, "demand": [1, 2, 3, 4, 5]})
    frame.to_csv(tmp_path / "units.csv", index=False)
    path = write(tmp_path, "name: t\nresources: [{id: food}]\nsupply: {food: 30}\nunits: units.csv\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["solve", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "allocations.csv", keep_default_na=False)
    assert table["unit"].tolist() == [i.strip() for i in ids]  # ids are trimmed, otherwise kept exactly
    assert table["allocated"].tolist() == [1, 2, 3, 4, 5]


def test_formula_like_ids_do_not_become_formulas(tmp_path):
    ids = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "plain"]
    pd.DataFrame({"id": ids, "demand": [1] * 5, "region": ["=r", "r", "r", "r", "r"]}).to_csv(
        tmp_path / "units.csv", index=False)
    path = write(tmp_path, "name: t\nresources: [{id: food}]\nsupply: {food: 30}\nunits: units.csv\ngroups: [region]\n")
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(path), "--out", str(out)]).exit_code == 0
    units = pd.read_csv(out / "allocations.csv", keep_default_na=False)["unit"].tolist()
    assert units == ["'" + i for i in ids[:4]] + ["plain"]
    assert "'=r" in pd.read_csv(out / "groups.csv", keep_default_na=False)["group"].tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=6), st.integers(), st.none()), max_size=12))
def test_the_fast_formula_check_agrees_with_its_definition(values):
    from allocator.results.result import FORMULA_STARTS, _formula_like

    array = np.array(values + [None], dtype=object)[:-1]  # an object array even when empty
    expected = [isinstance(v, str) and v.startswith(FORMULA_STARTS) for v in values]
    assert _formula_like(array).tolist() == expected


MILLION_ROWS = """
import resource, sys
from typer.testing import CliRunner
from allocator.cli.app import app
result = CliRunner().invoke(app, ["validate", sys.argv[1]])
print(result.exit_code)
print(result.output[-2000:])
print("peak", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_a_million_bad_rows_are_summarised_within_bounded_memory(tmp_path):
    # every row is wrong: the report names ten rows and counts the rest, and memory stays modest
    rows = 1_000_000
    with open(tmp_path / "units.csv", "w") as handle:
        handle.write("id,demand\n")
        handle.writelines(f"u{i},-1\n" for i in range(rows))
    path = write(tmp_path, HEAD + "units: units.csv\n")
    done = subprocess.run([sys.executable, "-c", MILLION_ROWS, str(path)], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    exit_code, *rest = done.stdout.splitlines()
    assert exit_code == "2", done.stdout + done.stderr
    output = "\n".join(rest)
    assert "row 2, column demand: is negative" in output
    assert f"and {rows - 10} more rows with the same problem" in output
    peak_mib = int(output.rsplit("peak", 1)[1]) / 1024  # ru_maxrss is in KiB on Linux
    assert peak_mib < 1500, peak_mib  # generous: a run needs about 300 MiB
