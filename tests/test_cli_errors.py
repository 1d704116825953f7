"""Every bad-input case through the CLI: exit 2, the file and row/field named, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocator.cli.app import app

runner = CliRunner()

HEAD = "name: t\nresources: [{id: food}]\n"
SITES = "sites: [{id: s1, supply: {food: 10}}, {id: s2, supply: {food: 5}}]\n"


def scenario(tmp_path: Path, text: str, **tables: str) -> Path:
    for name, content in tables.items():
        (tmp_path / f"{name}.csv").write_text(content, encoding="utf-8")
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


CASES = {
    "missing units file": (HEAD + "supply: {food: 5}\nunits: nowhere.csv\n", {}, "nowhere.csv", "file not found"),
    "yaml syntax": ("name: [t\n", {}, "scenario.yaml", "line 2"),
    "unknown key": (HEAD + "supply: {food: 5}\nunits: units.csv\ncolour: red\n", {"units": "id,demand\na,1\n"},
                    "colour", "unknown key"),
    "missing id column": (HEAD + "supply: {food: 5}\nunits: units.csv\n", {"units": "name,demand\na,1\n"},
                          "units.csv", "required column missing: id"),
    "missing demand column": (HEAD + "supply: {food: 5}\nunits: units.csv\n", {"units": "id,need\na,1\n"},
                              "units.csv", "required column missing: demand"),
    "duplicate unit id": (HEAD + "supply: {food: 5}\nunits: units.csv\n", {"units": "id,demand\na,1\nb,2\na,3\n"},
                          "row 4, column id", "duplicate unit id 'a'"),
    "duplicate site id": (HEAD + "sites: [{id: s1, supply: {food: 1}}, {id: s1, supply: {food: 2}}]\n"
                          "units: [{id: a, demand: 1}]\n", {}, "sites[1]", "duplicate site id 's1'"),
    "negative demand": (HEAD + "supply: {food: 5}\nunits: units.csv\n", {"units": "id,demand\na,1\nb,-2\n"},
                        "row 3, column demand", "is negative"),
    "nan demand": (HEAD + "supply: {food: 5}\nunits: units.csv\n", {"units": "id,demand\na,NaN\n"},
                   "row 2, column demand", "not a finite number"),
    "infinite demand": (HEAD + "supply: {food: 5}\nunits: units.csv\n", {"units": "id,demand\na,inf\n"},
                        "row 2, column demand", "not a finite number"),
    "text demand": (HEAD + "supply: {food: 5}\nunits: units.csv\n", {"units": "id,demand\na,lots\n"},
                    "row 2, column demand", "is not a number"),
    "negative supply": (HEAD + "supply: {food: -5}\nunits: [{id: a, demand: 1}]\n", {}, "supply.food",
                        "at least 0"),
    "infinite supply": (HEAD + "supply: {food: .inf}\nunits: [{id: a, demand: 1}]\n", {}, "supply.food",
                        "finite number"),
    "demand for unknown resource": (HEAD + "supply: {food: 5}\nunits: units.csv\n",
                                    {"units": "id,demand:food,demand:water\na,1,2\n"}, "demand:water",
                                    "unknown resource 'water'"),
    "link to unknown unit": (HEAD + SITES + "units: [{id: a, demand: 1}]\nlinks: links.csv\n",
                             {"links": "unit,site\na,s1\nzz,s2\n"}, "row 3, column unit", "unknown unit 'zz'"),
    "link to unknown site": (HEAD + SITES + "units: [{id: a, demand: 1}]\nlinks: links.csv\n",
                             {"links": "unit,site\na,s9\n"}, "row 2, column site", "unknown site 's9'"),
    "group attribute not in table": (HEAD + "supply: {food: 5}\nunits: units.csv\ngroups: [race]\n",
                                     {"units": "id,demand\na,1\n"}, "units.csv", "'race' is not a column"),
    "unknown rule": (HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 1}]\nrule: fairest\n", {}, "rule.name",
                     "unknown rule 'fairest'"),
    "unknown constraint": (HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 1}]\nconstraints: [{type: cap}]\n",
                           {}, "constraints[0].type", "unknown constraint 'cap'"),
    "constraint attribute not a group": (HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 1}]\n"
                                         "constraints: [{type: group_gap, attribute: race, max_gap: 0.1}]\n", {},
                                         "constraints[0].attribute", "not a group attribute"),
    "both supply and sites": (HEAD + "supply: {food: 5}\n" + SITES + "units: [{id: a, demand: 1}]\n", {},
                              "supply/sites", "both"),
    "neither supply nor sites": (HEAD + "units: [{id: a, demand: 1}]\n", {}, "supply/sites", "neither"),
    "links without sites": (HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 1}]\nlinks: [{unit: a, site: s1}]\n",
                            {}, "links", "only allowed with 'sites'"),
    "empty file": ("", {}, "scenario.yaml", "is empty"),
    "rule name is a list": (HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 1}]\nrule: {name: [maxmin]}\n", {},
                            "rule.name", "unknown rule"),
    "constraint type is a list": (HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 1}]\n"
                                  "constraints: [{type: [floor]}]\n", {}, "constraints[0].type", "unknown constraint"),
    "trailing comma in csv rows": (HEAD + "supply: {food: 5}\nunits: units.csv\n", {"units": "id,demand\na,3,\nb,4,\n"},
                                   "row 2", "has 3 fields but the header has 2"),
    "duplicate header after trimming": (HEAD + "supply: {food: 5}\nunits: units.csv\n",
                                        {"units": "id,demand, demand\na,3,1\n"}, "header", "duplicated column"),
    "supply given as true": (HEAD + "supply: {food: true}\nunits: [{id: a, demand: 1}]\n", {}, "supply.food",
                             "yes/no value true"),
    "supply given as quoted text": (HEAD + "supply: {food: '10'}\nunits: [{id: a, demand: 1}]\n", {}, "supply.food",
                                    "the text '10'"),
    "unit id is a boolean": (HEAD + "supply: {food: 5}\nunits: [{id: true, demand: 1}]\n", {}, "units[0].id",
                             "text or a whole number"),
    "group label is a list": (HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 1, groups: {g: [1, 2]}}]\n"
                              "groups: [g]\n", {}, "units[0].groups.g", "text or a whole number"),
    "no resources": ("name: t\nresources: []\nsupply: {}\nunits: [{id: a, demand: 1}]\n", {}, "resources",
                     "no resources listed"),
    "reserved group name": (HEAD + "supply: {food: 5}\nunits: units.csv\ngroups: [demand]\n",
                            {"units": "id,demand\na,1\n"}, "groups", "reserved column name"),
    "unknown key in an inline link": (HEAD + SITES + "units: [{id: a, demand: 1}]\n"
                                      "links: [{unit: a, site: s1, cost: 3}]\n", {}, "links[0].cost", "unknown key"),
    "every unknown key of an inline unit": (HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 1, colour: r, size: 2}]\n",
                                            {}, "units[0].size", "unknown key"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_naming_file_and_place(tmp_path, case):
    text, tables, where, what = CASES[case]
    path = scenario(tmp_path, text, **tables)
    out = tmp_path / "out"
    result = runner.invoke(app, ["solve", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert where in result.output
    assert what in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_all_problems_are_reported_in_one_pass(tmp_path):
    text = HEAD + SITES + "units: units.csv\nlinks: links.csv\nrule: nope\ngroups: [region]\n"
    path = scenario(tmp_path, text, units="id,demand,region\na,-1,east\na,2,\n", links="unit,site\nb,s7\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    for fragment in ("is negative", "duplicate unit id", "group label is blank", "unknown unit 'b'",
                     "unknown site 's7'", "unknown rule 'nope'"):
        assert fragment in result.output


def test_unreachable_unit_is_a_warning_not_an_error(tmp_path):
    path = scenario(tmp_path, HEAD + SITES + "units: [{id: a, demand: 4}, {id: far, demand: 3}]\n"
                                             "links: [{unit: a, site: s1}]\n")
    result = runner.invoke(app, ["solve", str(path)])
    assert result.exit_code == 0
    assert "warning" in result.output and "far" in result.output


def test_solver_time_limit_exits_4(tmp_path):
    path = scenario(tmp_path, HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 4}, {id: b, demand: 3}]\n")
    result = runner.invoke(app, ["solve", str(path), "--rule", "{name: maxmin, method: lp}", "--time-limit", "1e-9"])
    assert result.exit_code == 4
    assert "time limit" in result.output and "before any feasible allocation" in result.output


@pytest.mark.parametrize("limit", ["0", "-1", "nan"])
def test_a_time_limit_that_is_not_positive_is_a_usage_error(tmp_path, limit):
    path = scenario(tmp_path, HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 4}]\n")
    result = runner.invoke(app, ["solve", str(path), "--time-limit", limit])
    assert result.exit_code == 2
    assert "positive number of seconds" in result.output


def test_unknown_pulp_solver_name_is_a_usage_error(tmp_path):
    path = scenario(tmp_path, HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 4}]\n")
    result = runner.invoke(app, ["solve", str(path), "--solver", "pulp:NOPE"])
    assert result.exit_code == 2
    assert "unknown PuLP solver 'NOPE'" in result.output


def test_missing_pulp_solver_exits_4_and_names_what_is_available(tmp_path):
    path = scenario(tmp_path, HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 4}]\n")
    result = runner.invoke(app, ["solve", str(path), "--solver", "pulp:GUROBI_CMD"])
    assert result.exit_code == 4
    assert "GUROBI_CMD is not available" in result.output and "PULP_CBC_CMD" in result.output


def test_indivisible_resource_gets_whole_units(tmp_path):
    path = scenario(tmp_path, "name: t\nresources: [{id: slot, divisible: false}]\nsupply: {slot: 5}\n"
                              "units: [{id: a, demand: 4}, {id: b, demand: 4}]\n")
    result = runner.invoke(app, ["solve", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert "not supported" not in result.output and "\"status\": \"optimal\"" in result.stdout


def test_key_value_options_keep_text_as_text(tmp_path):
    path = scenario(tmp_path, HEAD + "supply: {food: 5}\nunits: [{id: a, demand: 4, groups: {'no': x}}]\n"
                                     "groups: ['no']\n")
    result = runner.invoke(app, ["solve", str(path), "-c", "group_floor:attribute=no,share=0.5", "--json"])
    assert result.exit_code == 0, result.output
    assert '"attribute": "no"' in result.stdout
