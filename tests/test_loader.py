"""Library-level bad input: every problem is a ScenarioError whose issues name the file and the row/field."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

import allocator
from helpers import SCENARIOS, SHIPPED, build

# --------------------------------------------------------------------------- helpers

def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(path_or_doc) -> list[allocator.Issue]:
    with pytest.raises(allocator.ScenarioError) as info:
        if isinstance(path_or_doc, dict):
            allocator.scenario_from_dict(path_or_doc)
        else:
            allocator.load_scenario(path_or_doc)
    assert info.value.issues, "a ScenarioError must list at least one issue"
    return info.value.issues


def find(issues, *, file=None, location=None, text=None) -> allocator.Issue:
    """The one issue matching all the given parts (location exact, text in message + expected)."""
    hits = [i for i in issues
            if (file is None or i.file == str(file))
            and (location is None or i.location == location)
            and (text is None or text.lower() in (i.message + " " + i.expected).lower())]
    assert hits, f"no issue with file={file} location={location} text={text!r} in:\n" + \
        "\n".join(str(i) for i in issues)
    return hits[0]


GOOD_YAML = """\
name: t
resources: [{id: food}]
sites:
  - {id: s1, supply: {food: 10}}
  - {id: s2, supply: {food: 30}}
units: units.csv
groups: [region]
links: links.csv
rule: leximin
constraints:
  - {type: floor, share: 0.1}
"""
GOOD_UNITS = "id,demand,value,region\na,20,1,north\nb,20,2,north\nc,20,1,south\n"
GOOD_LINKS = "unit,site\na,s1\nb,s1\nb,s2\nc,s2\n"


@pytest.fixture
def good(tmp_path) -> Path:
    write(tmp_path, "units.csv", GOOD_UNITS)
    write(tmp_path, "links.csv", GOOD_LINKS)
    return write(tmp_path, "scenario.yaml", GOOD_YAML)


def test_good_scenario_loads(good):
    s = allocator.load_scenario(good)
    assert list(s.units.ids) == ["a", "b", "c"]
    assert s.units.demand.ravel().tolist() == [20, 20, 20]
    assert s.units.value.ravel().tolist() == [1, 2, 1]
    assert s.rule.key == "leximin"
    assert s.source == str(good)
    r = allocator.solve(s)
    assert r.allocations["fill_rate"].tolist() == pytest.approx([0.5, 0.75, 0.75], rel=1e-5)


def test_table_paths_are_relative_to_the_scenario_file(good, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert len(allocator.load_scenario(good).units) == 3


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_validate(name):
    path = SCENARIOS / name / "scenario.yaml"
    s = allocator.load_scenario(path)
    assert len(s.units) > 0
    scenario, warnings = allocator.validate(path)
    assert scenario.name == s.name
    assert warnings == ()  # the shipped scenarios are clean: every unit reachable, no group left out


# --------------------------------------------------------------------------- the file itself

def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    issue = find(issues_of(path), file=path, location="(file)", text="not found")
    assert str(path) in str(issue)


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    path = write(tmp_path, "bad.yaml", "name: t\nresources: [{id: food}\nsupply: {food: 1}\n")
    issue = find(issues_of(path), file=path, text="YAML syntax error")
    assert issue.location.startswith("line 3, column ")


def test_json_syntax_error_names_line(tmp_path):
    path = write(tmp_path, "bad.json", '{"name": "t",\n "resources": [}\n')
    issue = find(issues_of(path), file=path, text="JSON syntax error")
    assert issue.location.startswith("line 2, column ")


def test_toml_syntax_error(tmp_path):
    path = write(tmp_path, "bad.toml", 'name = "t"\nresources = [\n')
    find(issues_of(path), file=path, text="TOML syntax error")


def test_unsupported_suffix_and_empty_file(tmp_path):
    find(issues_of(write(tmp_path, "s.txt", "name: t\n")), location="(file)", text="unsupported file type")
    find(issues_of(write(tmp_path, "empty.yaml", "")), location="(file)", text="empty")
    find(issues_of(write(tmp_path, "list.yaml", "- 1\n- 2\n")), location="(top level)", text="mapping")


def test_unknown_top_level_key(good):
    good.write_text(GOOD_YAML + "colour: blue\n")
    issue = find(issues_of(good), file=good, location="colour", text="unknown key")
    assert "constraints" in issue.expected  # lists the valid keys


@pytest.mark.parametrize("key", ["name", "resources", "units"])
def test_missing_required_key(good, key):
    doc = yaml.safe_load(good.read_text())
    del doc[key]
    good.write_text(yaml.safe_dump(doc))
    find(issues_of(good), file=good, location=key, text="required key is missing")


# --------------------------------------------------------------------------- units table

def test_missing_required_columns(good, tmp_path):
    units = write(tmp_path, "units.csv", "name,qty,region\na,1,north\n")
    issues = issues_of(good)
    find(issues, file=units, location="header", text="required column missing: id")
    find(issues, file=units, location="header", text="required column missing: demand")


def test_duplicate_unit_ids_name_the_row(good, tmp_path):
    units = write(tmp_path, "units.csv", GOOD_UNITS + "b,5,1,south\n")
    # header is row 1, so the 4th data line is spreadsheet row 5
    issue = find(issues_of(good), file=units, location="row 5, column id", text="duplicate unit id 'b'")
    assert "row 3" in issue.message  # where the first one is


def test_duplicate_unit_ids_inline():
    doc = {"name": "t", "resources": [{"id": "food"}], "supply": {"food": 1},
           "units": [{"id": "a", "demand": 1}, {"id": "b", "demand": 1}, {"id": "a", "demand": 2}]}
    find(issues_of(doc), file="<inline>", location="units[2].id", text="duplicate unit id 'a'")


def test_duplicate_site_ids(good):
    good.write_text(GOOD_YAML.replace("{id: s2,", "{id: s1,"))
    find(issues_of(good), file=good, location="sites[1]", text="duplicate site id 's1'")


@pytest.mark.parametrize("cell, text", [
    ("-3", "negative"),
    ("nan", "not a finite number"),
    ("NaN", "not a finite number"),
    ("inf", "not a finite number"),
    ("-inf", "not a finite number"),
    ("Infinity", "not a finite number"),
    ("lots", "not a number"),
])
@pytest.mark.parametrize("column", ["demand", "value"])
def test_bad_numbers_in_csv_name_row_and_column(good, tmp_path, cell, text, column):
    lines = GOOD_UNITS.splitlines()
    fields = lines[2].split(",")  # unit b, spreadsheet row 3
    fields[1 if column == "demand" else 2] = cell
    lines[2] = ",".join(fields)
    units = write(tmp_path, "units.csv", "\n".join(lines) + "\n")
    find(issues_of(good), file=units, location=f"row 3, column {column}", text=text)


@pytest.mark.parametrize("number, text", [
    (-3, "negative"),
    (-0.5, "negative"),
    (math.inf, "not a finite number"),
    (-math.inf, "not a finite number"),
    ("nan", "got the text 'nan'"),  # text where a number is expected is refused as text (issue #15)
    ("many", "got the text 'many'"),
    (math.nan, "not a finite number"),
])
@pytest.mark.parametrize("key", ["demand", "value"])
def test_bad_numbers_inline_name_the_unit(number, text, key):
    doc = {"name": "t", "resources": [{"id": "food"}], "supply": {"food": 1},
           "units": [{"id": "a", "demand": 1}, {"id": "b", "demand": 1}]}
    doc["units"][1][key] = number
    where = f"units[1].{key}" if isinstance(number, str) else f"units[1].{key}:food"
    find(issues_of(doc), file="<inline>", location=where, text=text)


@pytest.mark.parametrize("key", ["demand", "value"])
def test_yaml_nan_inline_is_reported(tmp_path, key):
    path = write(tmp_path, "s.yaml", "name: t\nresources: [{id: food}]\nsupply: {food: 10}\nunits:\n"
                                     "  - {id: a, demand: 5}\n  - {id: b, %s}\n"
                                     % ("demand: .nan" if key == "demand" else "demand: 5, value: .nan"))
    find(issues_of(path), file=path, location=f"units[1].{key}:food", text="not a finite number")


@pytest.mark.parametrize("value, text", [(-1, "at least 0"), (".nan", "finite"), (".inf", "finite")])
def test_bad_supply_numbers(tmp_path, value, text):
    pool = write(tmp_path, "pool.yaml", f"name: t\nresources: [{{id: food}}]\nsupply: {{food: {value}}}\n"
                                        "units: [{id: a, demand: 1}]\n")
    find(issues_of(pool), file=pool, location="supply.food", text=text)
    sites = write(tmp_path, "sites.yaml", f"name: t\nresources: [{{id: food}}]\n"
                                          f"sites: [{{id: s, supply: {{food: 1}}}}, {{id: t, supply: {{food: {value}}}}}]\n"
                                          "units: [{id: a, demand: 1}]\n")
    find(issues_of(sites), file=sites, location="sites[1].supply.food", text=text)


def test_demand_column_for_unknown_resource(good, tmp_path):
    units = write(tmp_path, "units.csv", "id,demand:food,demand:water,region\na,1,2,north\n")
    issue = find(issues_of(good), file=units, location="column demand:water", text="unknown resource 'water'")
    assert "food" in issue.expected


def test_supply_of_unknown_resource(tmp_path):
    path = write(tmp_path, "s.yaml", "name: t\nresources: [{id: food}]\nsupply: {food: 1, fuel: 2}\n"
                                     "units: [{id: a, demand: 1}]\n")
    find(issues_of(path), file=path, location="supply.fuel", text="unknown resource 'fuel'")


def test_plain_demand_column_is_ambiguous_with_two_resources(tmp_path):
    write(tmp_path, "units.csv", "id,demand\na,1\n")
    path = write(tmp_path, "s.yaml", "name: t\nresources: [{id: food}, {id: water}]\n"
                                     "supply: {food: 1, water: 1}\nunits: units.csv\n")
    find(issues_of(path), file=tmp_path / "units.csv", location="column demand", text="ambiguous")


# --------------------------------------------------------------------------- links, groups

def test_link_to_unknown_unit_and_site_csv(good, tmp_path):
    links = write(tmp_path, "links.csv", GOOD_LINKS + "zz,s1\nc,s9\n")
    issues = issues_of(good)
    # data lines 5 and 6 are spreadsheet rows 6 and 7
    find(issues, file=links, location="row 6, column unit", text="unknown unit 'zz'")
    find(issues, file=links, location="row 7, column site", text="unknown site 's9'")


def test_link_to_unknown_unit_and_site_inline():
    doc = {"name": "t", "resources": [{"id": "food"}], "sites": [{"id": "s1", "supply": {"food": 1}}],
           "units": [{"id": "a", "demand": 1}],
           "links": [{"unit": "a", "site": "s1"}, {"unit": "ghost", "site": "s1"}, {"unit": "a", "site": "s7"}]}
    issues = issues_of(doc)
    find(issues, location="links[1].unit", text="unknown unit 'ghost'")
    find(issues, location="links[2].site", text="unknown site 's7'")


def test_links_without_sites():
    doc = {"name": "t", "resources": [{"id": "food"}], "supply": {"food": 1},
           "units": [{"id": "a", "demand": 1}], "links": [{"unit": "a", "site": "s1"}]}
    find(issues_of(doc), location="links", text="only allowed with 'sites'")


def test_group_attribute_not_in_table(good):
    good.write_text(GOOD_YAML.replace("groups: [region]", "groups: [region, district]"))
    issue = find(issues_of(good), file=good.parent / "units.csv", location="header", text="'district'")
    assert "region" in issue.expected  # lists the columns there are


def test_blank_group_label_names_the_row(good, tmp_path):
    units = write(tmp_path, "units.csv", GOOD_UNITS + "d,5,1,\n")
    find(issues_of(good), file=units, location="row 5, column region", text="group label is blank")


def test_constraint_attribute_not_a_group(good):
    good.write_text(GOOD_YAML + "  - {type: group_gap, attribute: district, max_gap: 0.1}\n")
    find(issues_of(good), file=good, location="constraints[1].attribute", text="'district'")


def test_rule_over_unknown_attribute(good):
    good.write_text(GOOD_YAML.replace("rule: leximin", "rule: {name: leximin, over: district}"))
    find(issues_of(good), file=good, location="rule.over", text="'district'")


# --------------------------------------------------------------------------- rule, constraints, supply/sites

def test_unknown_rule(good):
    good.write_text(GOOD_YAML.replace("rule: leximin", "rule: fairest"))
    issue = find(issues_of(good), file=good, location="rule.name", text="unknown rule 'fairest'")
    assert "maxmin" in issue.expected


def test_unknown_rule_as_solve_argument_is_a_usage_error(good):
    with pytest.raises(allocator.UsageError, match="fairest"):
        allocator.solve(allocator.load_scenario(good), rule="fairest")


def test_unknown_constraint_type(good):
    good.write_text(GOOD_YAML + "  - {type: ceiling, share: 0.9}\n")
    issue = find(issues_of(good), file=good, location="constraints[1].type", text="unknown constraint 'ceiling'")
    assert "group_gap" in issue.expected


def test_constraint_parameter_out_of_range_and_unknown_key(good):
    good.write_text(GOOD_YAML + "  - {type: floor, share: 1.5}\n  - {type: floor, share: 0.1, colour: red}\n")
    issues = issues_of(good)
    find(issues, file=good, location="constraints[1].share", text="at most 1")
    find(issues, file=good, location="constraints[2].colour", text="unknown key")


def test_both_supply_and_sites(good):
    good.write_text(GOOD_YAML + "supply: {food: 5}\n")
    find(issues_of(good), file=good, location="supply/sites", text="both")


def test_neither_supply_nor_sites(tmp_path):
    path = write(tmp_path, "s.yaml", "name: t\nresources: [{id: food}]\nunits: [{id: a, demand: 1}]\n")
    find(issues_of(path), file=path, location="supply/sites", text="neither")


# --------------------------------------------------------------------------- all at once

def test_several_problems_in_one_file_are_all_reported(good, tmp_path):
    write(tmp_path, "units.csv", GOOD_UNITS + "a,-4,1,south\nd,7,x,\n")
    write(tmp_path, "links.csv", GOOD_LINKS + "a,s9\n")
    text = (GOOD_YAML.replace("rule: leximin", "rule: fairest")
            + "  - {type: group_gap, attribute: district, max_gap: 0.1}\n  - {type: ceiling, share: 0.9}\n"
            + "colour: blue\n")
    good.write_text(text)
    issues = issues_of(good)
    units, links = tmp_path / "units.csv", tmp_path / "links.csv"
    find(issues, file=good, location="colour", text="unknown key")
    find(issues, file=units, location="row 5, column id", text="duplicate unit id 'a'")
    find(issues, file=units, location="row 5, column demand", text="negative")
    find(issues, file=units, location="row 6, column value", text="not a number")
    find(issues, file=units, location="row 6, column region", text="blank")
    find(issues, file=links, location="row 6, column site", text="unknown site 's9'")
    find(issues, file=good, location="rule.name", text="fairest")
    find(issues, file=good, location="constraints[1].attribute", text="district")
    find(issues, file=good, location="constraints[2].type", text="ceiling")
    # the message lists every issue, one per line, with its file and location
    with pytest.raises(allocator.ScenarioError) as info:
        allocator.load_scenario(good)
    message = str(info.value)
    assert message.startswith(f"{len(info.value.issues)} problems in the scenario:")
    for issue in info.value.issues:
        assert str(issue) in message


def test_constraint_reference_issue_names_its_own_index_after_a_bad_constraint(tmp_path):
    path = write(tmp_path, "s.yaml", "name: t\nresources: [{id: food}]\nsupply: {food: 1}\n"
                                     "units: [{id: a, demand: 1}]\n"
                                     "constraints:\n  - {type: ceiling, share: 0.9}\n"
                                     "  - {type: group_gap, attribute: district, max_gap: 0.1}\n")
    issues = issues_of(path)
    find(issues, file=path, location="constraints[0].type", text="ceiling")
    find(issues, file=path, location="constraints[1].attribute", text="district")


def test_a_bad_site_supply_does_not_hide_link_problems(good, tmp_path):
    write(tmp_path, "links.csv", GOOD_LINKS + "zz,s1\n")
    good.write_text(GOOD_YAML.replace("{food: 30}", "{food: -30}"))
    issues = issues_of(good)
    find(issues, file=good, location="sites[1].supply.food", text="at least 0")
    find(issues, file=tmp_path / "links.csv", location="row 6, column unit", text="unknown unit 'zz'")


# --------------------------------------------------------------------------- JSON / TOML

DOC = {
    "name": "same",
    "description": "one structure, three formats",
    "resources": [{"id": "food", "unit": "lb", "divisible": True}, {"id": "water", "unit": "l"}],
    "sites": [{"id": "n", "supply": {"food": 40, "water": 10}}, {"id": "s", "supply": {"food": 15.5, "water": 50}}],
    "units": [
        {"id": "a", "demand": {"food": 30, "water": 10}, "value": {"food": 1, "water": 4}, "groups": {"region": "x"}},
        {"id": "b", "demand": {"food": 20, "water": 40}, "groups": {"region": "x"}},
        {"id": "c", "demand": {"food": 25}, "value": {"food": 3}, "groups": {"region": "y"}},
    ],
    "groups": ["region"],
    "links": [{"unit": "a", "site": "n"}, {"unit": "b", "site": "n"}, {"unit": "b", "site": "s"},
              {"unit": "c", "site": "s"}],
    "rule": {"name": "leximin", "over": "region"},
    "constraints": [{"type": "floor", "share": 0.1}, {"type": "group_gap", "attribute": "region", "max_gap": 0.2}],
}

TOML = """\
name = "same"
description = "one structure, three formats"
groups = ["region"]
rule = { name = "leximin", over = "region" }

[[resources]]
id = "food"
unit = "lb"
divisible = true

[[resources]]
id = "water"
unit = "l"

[[sites]]
id = "n"
supply = { food = 40, water = 10 }

[[sites]]
id = "s"
supply = { food = 15.5, water = 50 }

[[units]]
id = "a"
demand = { food = 30, water = 10 }
value = { food = 1, water = 4 }
groups = { region = "x" }

[[units]]
id = "b"
demand = { food = 20, water = 40 }
groups = { region = "x" }

[[units]]
id = "c"
demand = { food = 25 }
value = { food = 3 }
groups = { region = "y" }

[[links]]
unit = "a"
site = "n"

[[links]]
unit = "b"
site = "n"

[[links]]
unit = "b"
site = "s"

[[links]]
unit = "c"
site = "s"

[[constraints]]
type = "floor"
share = 0.1

[[constraints]]
type = "group_gap"
attribute = "region"
max_gap = 0.2
"""


def _same(a: allocator.Scenario, b: allocator.Scenario) -> None:
    assert a.name == b.name and a.description == b.description
    assert a.resources == b.resources
    assert a.sites == b.sites and a.supply == b.supply
    assert list(a.units.ids) == list(b.units.ids)
    np.testing.assert_array_equal(a.units.demand, b.units.demand)
    np.testing.assert_array_equal(a.units.value, b.units.value)
    assert {k: list(v) for k, v in a.units.groups.items()} == {k: list(v) for k, v in b.units.groups.items()}
    assert list(a.links.units) == list(b.links.units) and list(a.links.sites) == list(b.links.sites)
    assert a.groups == b.groups
    assert a.rule.params() == b.rule.params() and a.rule.key == b.rule.key
    assert [(c.key, c.params()) for c in a.constraints] == [(c.key, c.params()) for c in b.constraints]


def test_json_and_toml_load_to_the_same_scenario_as_yaml(tmp_path):
    y = allocator.load_scenario(write(tmp_path, "s.yaml", yaml.safe_dump(DOC, sort_keys=False)))
    j = allocator.load_scenario(write(tmp_path, "s.json", json.dumps(DOC, indent=2)))
    t = allocator.load_scenario(write(tmp_path, "s.toml", TOML))
    _same(y, j)
    _same(y, t)
    ry, rj, rt = (allocator.solve(s) for s in (y, j, t))
    for other in (rj, rt):
        assert other.allocations["fill_rate"].tolist() == pytest.approx(ry.allocations["fill_rate"].tolist(), abs=1e-6)
        assert other.metrics["total_value"] == pytest.approx(ry.metrics["total_value"], rel=1e-9)
    assert rj.rule == {"name": "leximin", "over": "region", "max_rounds": None, "method": "auto"}


def test_json_and_toml_errors_name_their_file(tmp_path):
    bad = dict(DOC, rule="fairest")
    j = write(tmp_path, "s.json", json.dumps(bad))
    find(issues_of(j), file=j, location="rule.name", text="fairest")
    t = write(tmp_path, "s.toml", TOML.replace('type = "floor"', 'type = "ceiling"'))
    find(issues_of(t), file=t, location="constraints[0].type", text="ceiling")


def test_units_as_dataframe_have_the_csv_columns():
    import pandas as pd

    frame = pd.DataFrame({"id": ["a", "b", "a"], "demand": [1.0, -2.0, 3.0], "region": ["x", "y", "z"]})
    issues = issues_of({"name": "t", "resources": [{"id": "food"}], "supply": {"food": 1}, "units": frame,
                        "groups": ["region"]})
    # DataFrame rows are named by position, counted from 0 as in pandas
    find(issues, file="<inline> (units DataFrame)", location="position 1, column demand", text="negative")
    find(issues, file="<inline> (units DataFrame)", location="position 2, column id", text="duplicate")
    ok = build(supply={"food": 10}, units=pd.DataFrame({"id": ["a", "b"], "demand": [4, 6]}))
    assert ok.units.demand.ravel().tolist() == [4, 6]
