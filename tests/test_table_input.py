"""Table input that could be misread: blank cells, Excel error cells and uncomputed formulas, files that
are not workbooks, a title row above the header, several sheets, inline units' groups.

Each case is an error (exit 2, naming the file, the row or cell, the column, what is there and what was
expected) or is read exactly as meant; each goes through ``load_scenario`` and ``python -m allocator
validate``.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.styles import Font

import allocator

ROOT = Path(__file__).resolve().parents[1]
HEAD = "name: t\nresources: [{id: food}]\nsupply: {food: 10}\n"
TWO = "name: t\nresources: [{id: food}, {id: care}]\nsupply: {food: 10, care: 4}\n"
SITES = "name: t\nresources: [{id: food}]\nsites: [{id: s1, supply: {food: 10}}]\n"


def scenario(folder: Path, body: str, head: str = HEAD, **csvs: str) -> Path:
    for name, text in csvs.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    path = folder / "s.yaml"
    path.write_text(head + body, encoding="utf-8")
    return path


def issues_of(path: Path) -> list[allocator.Issue]:
    with pytest.raises(allocator.ScenarioError) as info:
        allocator.load_scenario(path)
    return info.value.issues


def find(issues, *, file=None, location=None, text=None) -> allocator.Issue:
    """The issue with exactly this file and location whose message or expectation holds ``text``."""
    hits = [i for i in issues if (file is None or i.file == str(file)) and (location is None or i.location == location)
            and (text is None or text.lower() in f"{i.message} {i.expected}".lower())]
    assert hits, f"no issue file={file} location={location} text={text!r} in:\n" + "\n".join(map(str, issues))
    return hits[0]


def cli_refuses(path: Path, *parts: str) -> str:
    """``python -m allocator validate`` exits 2 without a traceback and says every one of ``parts``."""
    run = subprocess.run([sys.executable, "-m", "allocator", "validate", str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 2, output
    assert "Traceback" not in output and "internal error" not in output, output
    for part in parts:
        assert part in output, (part, output)
    return output


def workbook(path: Path, **sheets: list[list]) -> Path:
    """An .xlsx with one sheet per keyword, rows as given (openpyxl saves no cached formula values)."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


# --------------------------------------------------------------------------- blank cells

def test_blank_demand_cell_is_an_error_not_a_vanished_unit(tmp_path):
    # before: b got demand 0 and was missing from every result table
    path = scenario(tmp_path, "units: units.csv\n", units="id,demand\na,5\nb,\nc,2\n")
    issue = find(issues_of(path), file=tmp_path / "units.csv", location="row 3, column demand", text="is blank")
    assert "vanish" in issue.message and "0 if the unit asks for none" in issue.expected
    cli_refuses(path, "units.csv: row 3, column demand: is blank")


def test_unit_with_every_demand_column_blank_is_an_error_one_blank_beside_another_is_zero(tmp_path):
    units = "id,demand:food,demand:care\na,5,\nb,,\nc,,1\n"
    path = scenario(tmp_path, "units: units.csv\n", head=TWO, units=units)
    find(issues_of(path), location="row 3, column demand", text="every demand column (demand:food, demand:care)")
    cli_refuses(path, "row 3, column demand")
    # documented: a blank demand:<r> beside another demand is 0 (a: no care, c: no food)
    (tmp_path / "units.csv").write_text("id,demand:food,demand:care\na,5,\nc,,1\n")
    assert allocator.load_scenario(path).units.demand.tolist() == [[5, 0], [0, 1]]


def test_blank_value_where_the_unit_asks_for_the_resource_is_an_error(tmp_path):
    units = "id,demand:food,demand:care,value:food,value:care\na,5,1,2,\nb,4,,,\n"
    path = scenario(tmp_path, "units: units.csv\n", head=TWO, units=units)
    issues = issues_of(path)
    # a asks for care (1) with value:care blank; b asks for food (4) with value:food blank
    find(issues, location="row 2, column value:care", text="is blank, and the unit asks for care")
    find(issues, location="row 3, column value:food", text="is blank, and the unit asks for food")
    assert not [i for i in issues if i.location == "row 3, column value:care"]  # b asks for no care: blank is fine
    cli_refuses(path, "row 2, column value:care", "row 3, column value:food")


def test_blank_ids_and_group_labels_stay_errors(tmp_path):
    # were errors before this change too; pinned because blank demand now has company
    path = scenario(tmp_path, "units: units.csv\ngroups: [region]\n", units="id,demand,region\n,5,east\nb,4,\n")
    issues = issues_of(path)
    find(issues, location="row 2, column id", text="blank")
    find(issues, location="row 3, column region", text="group label is blank")
    cli_refuses(path, "row 2, column id", "row 3, column region")


def test_inline_unit_without_demand_is_an_error_and_left_out_keys_mean_zero_and_one(tmp_path):
    path = scenario(tmp_path, "units:\n  - {id: a, demand: 5, value: 2}\n  - {id: b}\n")
    find(issues_of(path), location="units[1].demand:food", text="is blank")
    cli_refuses(path, "units[1].demand:food")
    # a key left out of a unit's demand/value mapping is 0/1, as the mapping says
    path = scenario(tmp_path, "units:\n  - {id: a, demand: {food: 5, care: 1}, value: {food: 2}}\n"
                              "  - {id: b, demand: {care: 2}}\n", head=TWO)
    units = allocator.load_scenario(path).units
    assert units.demand.tolist() == [[5, 1], [0, 2]]
    assert units.value.tolist() == [[2, 1], [1, 1]]


def test_blank_link_ends_are_named_as_blank(tmp_path):
    path = scenario(tmp_path, "units: units.csv\nlinks: links.csv\n", head=SITES,
                    units="id,demand\na,5\nb,4\n", links="unit,site\na,s1\n,s1\nb,\n")
    issues = issues_of(path)
    find(issues, file=tmp_path / "links.csv", location="row 3, column unit", text="is blank")
    find(issues, file=tmp_path / "links.csv", location="row 4, column site", text="is blank")
    assert not [i for i in issues if "unknown" in i.message]  # before: "link to unknown unit ''"
    cli_refuses(path, "links.csv: row 3, column unit: is blank", "row 4, column site: is blank")


# --------------------------------------------------------------------------- Excel cells

@pytest.mark.parametrize("error", ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"])
def test_excel_error_cell_is_an_error_naming_sheet_cell_and_column(tmp_path, error):
    book = Workbook()
    sheet = book.active
    sheet.title = "units"
    for row in (["id", "demand"], ["a", 5], ["b", None]):
        sheet.append(row)
    sheet["B3"].value = error
    sheet["B3"].data_type = "e"
    book.save(tmp_path / "units.xlsx")
    path = scenario(tmp_path, "units: units.xlsx\n")
    # before: pandas read the error cell as blank, so b got demand 0
    find(issues_of(path), file=f"{tmp_path / 'units.xlsx'} (sheet units)", location="cell B3 (row 3, column demand)",
         text=f"the Excel error {error}")
    cli_refuses(path, "units.xlsx (sheet units): cell B3 (row 3, column demand)", error)


def test_formula_with_no_saved_value_is_an_error_with_its_text(tmp_path):
    # openpyxl saves formulas without a cached value, as any script does; before they read as blank (0)
    workbook(tmp_path / "units.xlsx", units=[["id", "demand"], ["a", 5], ["b", "=B2*2"]])
    path = scenario(tmp_path, "units: units.xlsx\n")
    find(issues_of(path), location="cell B3 (row 3, column demand)", text="formula =B2*2 with no saved value")
    cli_refuses(path, "cell B3 (row 3, column demand)", "=B2*2")


def test_excel_numbers_and_trailing_formatted_rows_read_as_meant(tmp_path):
    book = Workbook()
    sheet = book.active
    for row in (["id", "demand", "region"], [7, 5.0, "east"], ["b", 2.5, "west"]):
        sheet.append(row)
    sheet.cell(row=9, column=1).font = Font(bold=True)  # an empty but formatted cell: rows 4-9 exist, blank
    book.save(tmp_path / "units.xlsx")
    units = allocator.load_scenario(scenario(tmp_path, "units: units.xlsx\ngroups: [region]\n")).units
    assert units.ids.tolist() == ["7", "b"]  # a whole number is its digits, as pandas read it
    assert units.demand.tolist() == [[5.0], [2.5]]


# --------------------------------------------------------------------------- files that are not workbooks

def _truncated_xlsx(path: Path) -> bytes:
    workbook(path, units=[["id", "demand"], ["a", 5]])
    data = path.read_bytes()
    return data[: len(data) // 2]


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
BROKEN = {
    "text renamed": (lambda p: b"id,demand\na,5\n", "is not an Excel workbook"),
    "truncated zip": (_truncated_xlsx, "damaged or truncated zip"),
    "xls in disguise": (lambda p: OLE2 + b"Workbook".ljust(512, b"\0"), "old-style Excel .xls workbook named .xlsx"),
    "encrypted": (lambda p: OLE2 + "EncryptedPackage".encode("utf-16-le").ljust(512, b"\0"), "password-protected"),
    "zip, not a workbook": (lambda p: _zip_without_workbook(), "not an Excel workbook (no xl/workbook.xml)"),
    "empty": (lambda p: b"", "is empty"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_file_that_is_not_a_workbook_exits_2_naming_it(tmp_path, case):
    make, text = BROKEN[case]
    target = tmp_path / "units.xlsx"
    target.write_bytes(make(tmp_path / "scratch.xlsx"))
    path = scenario(tmp_path, "units: units.xlsx\n")
    issue = find(issues_of(path), file=target, location="(file)", text=text)
    assert issue.expected  # what a workbook should be
    cli_refuses(path, f"{target}: (file)", text)  # before: exit 1, "internal error"


def test_xls_file_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "units.xls").write_bytes(OLE2)
    path = scenario(tmp_path, "units: units.xls\n")
    find(issues_of(path), location="(file)", text="Save As")
    cli_refuses(path, "units.xls: (file)", ".xlsx")


# --------------------------------------------------------------------------- title row above the header

def test_title_row_above_the_header_in_excel_is_named(tmp_path):
    workbook(tmp_path / "units.xlsx", units=[["County food allocation 2026"], [], ["id", "demand"], ["a", 5]])
    path = scenario(tmp_path, "units: units.xlsx\n")
    issue = find(issues_of(path), location="row 1", text="header was not found in row 1")
    assert "County food allocation 2026" in issue.message and "row 3 (id, demand)" in issue.message
    cli_refuses(path, "header was not found in row 1", "row 3")


def test_title_row_above_the_header_in_csv_is_named(tmp_path):
    # before: "row 2 has 2 fields but the header has 1"
    path = scenario(tmp_path, "units: units.csv\n", units="County food allocation 2026\nid,demand\na,5\n")
    find(issues_of(path), file=tmp_path / "units.csv", location="row 1", text="seems to be in row 2")
    cli_refuses(path, "header was not found in row 1")


def test_header_missing_a_column_is_still_that_error(tmp_path):
    path = scenario(tmp_path, "units: units.csv\n", units="name,demand\na,5\n")
    find(issues_of(path), location="header", text="required column missing: id")


# --------------------------------------------------------------------------- sheets

def test_workbook_with_several_sheets_and_none_named_is_refused(tmp_path):
    # before: the first sheet (notes) was read as the units table
    workbook(tmp_path / "data.xlsx", notes=[["id", "demand"], ["x", 1]], units=[["id", "demand"], ["a", 5]])
    path = scenario(tmp_path, "units: data.xlsx\n")
    find(issues_of(path), location="(file)", text="2 sheets (notes, units)")
    cli_refuses(path, "2 sheets (notes, units)", "sheet:")


def test_units_and_links_from_two_sheets_of_one_workbook(tmp_path):
    workbook(tmp_path / "data.xlsx", units=[["id", "demand"], ["a", 5], ["b", 4]],
             links=[["unit", "site"], ["a", "s1"]], notes=[["anything"]])
    path = scenario(tmp_path, "units: {file: data.xlsx, sheet: units}\nlinks: {file: data.xlsx, sheet: links}\n",
                    head=SITES)
    loaded = allocator.load_scenario(path)
    assert loaded.units.ids.tolist() == ["a", "b"]
    assert list(zip(loaded.links.units, loaded.links.sites)) == [("a", "s1")]
    assert [role for role, _, _ in loaded.inputs] == ["scenario", "units", "links"]


def test_unknown_sheet_lists_the_sheets_there_are(tmp_path):
    workbook(tmp_path / "data.xlsx", units=[["id", "demand"], ["a", 5]], links=[["unit", "site"]])
    path = scenario(tmp_path, "units: {file: data.xlsx, sheet: Units2026}\n")
    find(issues_of(path), location="(file)", text="one of the sheets: units, links")
    cli_refuses(path, "no sheet 'Units2026'", "units, links")


def test_sheet_errors_name_the_sheet_and_bad_references(tmp_path):
    workbook(tmp_path / "data.xlsx", units=[["id", "demand"], ["a", -5]], links=[["unit", "site"]])
    path = scenario(tmp_path, "units: {file: data.xlsx, sheet: units}\n")
    find(issues_of(path), file=f"{tmp_path / 'data.xlsx'} (sheet units)", location="row 2, column demand",
         text="negative")
    (tmp_path / "units.csv").write_text("id,demand\na,5\n")
    for body, where in [("units: {file: units.csv, sheet: units}\n", "(file)"),
                        ("units: {path: data.xlsx}\n", "units.path"), ("units: {sheet: units}\n", "units.file")]:
        path = scenario(tmp_path, body)
        find(issues_of(path), location=where)
        cli_refuses(path, where)


def test_network_tables_take_a_sheet_too(tmp_path):
    workbook(tmp_path / "data.xlsx", units=[["id", "demand", "node"], ["a", 5, "A"]],
             roads=[["from", "to", "travel"], ["A", "s1", 3]])
    path = scenario(tmp_path, "units: {file: data.xlsx, sheet: units}\n"
                              "network: {edges: {file: data.xlsx, sheet: roads}, max_travel: 5}\n", head=SITES)
    loaded = allocator.load_scenario(path)
    assert list(zip(loaded.links.units, loaded.links.sites)) == [("a", "s1")]


def test_single_sheet_workbook_needs_no_sheet_name(tmp_path):
    workbook(tmp_path / "units.xlsx", whatever=[["id", "demand"], ["a", 5]])
    assert allocator.load_scenario(scenario(tmp_path, "units: units.xlsx\n")).units.demand.tolist() == [[5.0]]


# --------------------------------------------------------------------------- groups

INLINE_WARDS = "units:\n  - {id: a, demand: 6, groups: {ward: w1}}\n  - {id: b, demand: 6, groups: {ward: w2}}\n"


def test_inline_units_groups_define_the_attribute(tmp_path):
    # before: "'ward' is not a group attribute ... (none listed)"
    path = scenario(tmp_path, INLINE_WARDS + "constraints: [{type: group_floor, attribute: ward, share: 0.4}]\n")
    loaded = allocator.load_scenario(path)
    assert loaded.groups == ("ward",)
    groups = allocator.solve(loaded).groups
    # supply 10 over two wards of 6: maxmin gives 5 each, a fill rate of 5/6 per ward
    assert sorted(groups.loc[groups["attribute"] == "ward", "group"]) == ["w1", "w2"]


def test_inline_units_groups_reach_the_reports_without_a_constraint(tmp_path):
    # before: the wards were dropped from every report (scenario.groups was empty)
    loaded = allocator.load_scenario(scenario(tmp_path, INLINE_WARDS))
    assert loaded.groups == ("ward",)
    assert loaded.units.groups["ward"].tolist() == ["w1", "w2"]


def test_inline_unit_missing_a_group_label_is_an_error(tmp_path):
    path = scenario(tmp_path, INLINE_WARDS + "  - {id: c, demand: 1}\n")
    find(issues_of(path), location="units[2].ward", text="group label is blank")
    cli_refuses(path, "units[2].ward")


def test_csv_text_columns_with_no_groups_listed_get_a_warning(tmp_path):
    path = scenario(tmp_path, "units: units.csv\n", units="id,demand,ward,poverty\na,5,w1,3\nb,4,w2,1\n")
    warnings = allocator.load_scenario(path).warnings
    warning = find(warnings, file=tmp_path / "units.csv", location="header", text="ward")
    assert "poverty" not in warning.message  # a numeric column is data a rule may read
    assert "groups: [ward]" in warning.expected
    listed = scenario(tmp_path, "units: units.csv\ngroups: [ward]\n")
    assert not [w for w in allocator.load_scenario(listed).warnings if "group" in w.message]


def test_rows_below_a_blank_line_keep_their_row_numbers(tmp_path):
    # before: blank lines were skipped and the rows renumbered, so b (line 4) was reported as row 3
    path = scenario(tmp_path, "units: units.csv\n", units="id,demand\na,1\n\nb,-2\n,\n")
    issues = issues_of(path)
    find(issues, location="row 4, column demand", text="negative")
    assert len(issues) == 1  # the empty lines 3 and 5 (",") hold nothing and are skipped
    cli_refuses(path, "row 4, column demand")


def test_excel_blank_row_in_the_middle_keeps_the_numbering(tmp_path):
    workbook(tmp_path / "units.xlsx", units=[["id", "demand"], ["a", 1], [None, None], ["b", -2]])
    find(issues_of(scenario(tmp_path, "units: units.xlsx\n")), location="row 4, column demand", text="negative")


def test_network_table_rows_keep_their_numbers_in_excel_and_csv(tmp_path):
    # an empty row 3 is skipped; the bad travel is in row 4 of the sheet and of the CSV
    workbook(tmp_path / "data.xlsx", units=[["id", "demand", "node"], ["a", 5, "A"]],
             roads=[["from", "to", "travel"], ["A", "s1", 3], [None, None, None], ["s1", "A", -1]])
    body = "units: {file: data.xlsx, sheet: units}\nnetwork: {edges: EDGES, max_travel: 5}\n"
    path = scenario(tmp_path, body.replace("EDGES", "{file: data.xlsx, sheet: roads}"), head=SITES)
    find(issues_of(path), file=f"{tmp_path / 'data.xlsx'} (sheet roads)", location="row 4, column travel")
    path = scenario(tmp_path, body.replace("EDGES", "roads.csv"), head=SITES, roads="from,to,travel\nA,s1,3\n\ns1,A,-1\n")
    find(issues_of(path), file=tmp_path / "roads.csv", location="row 4, column travel")
    cli_refuses(path, "roads.csv: row 4, column travel")


def test_title_row_with_trailing_commas_above_a_links_header_is_named(tmp_path):
    # a CSV saved from Excel pads the title to the table's width; before: "duplicated column name(s): "
    path = scenario(tmp_path, "units: units.csv\nlinks: links.csv\n", head=SITES, units="id,demand\na,5\n",
                    links="Links 2026,\nunit,site\na,s1\n")
    find(issues_of(path), file=tmp_path / "links.csv", location="row 1", text="seems to be in row 2 (unit, site)")
    cli_refuses(path, "links.csv: row 1")


def test_a_workbook_whose_declared_size_is_wrong_is_read_whole(tmp_path):
    # Some programs write a stale <dimension ref="A1:B2"/>; openpyxl's read-only mode stops there, so
    # 4 of 5 units and the value column vanished silently (review finding; pandas resets it too).


    book = Workbook()
    sheet = book.active
    sheet.append(["id", "demand", "value"])
    for k in range(5):
        sheet.append([f"u{k}", 10, 3])
    good = tmp_path / "good.xlsx"
    book.save(good)
    stale = tmp_path / "units.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(stale, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:B2" />', data)
                assert b'<dimension ref="A1:B2" />' in data
            target.writestr(item, data)
    scenario = allocator.scenario_from_dict({"name": "x", "resources": [{"id": "food"}], "supply": {"food": 100},
                                             "units": "units.xlsx", "rule": "utilitarian"}, base_dir=tmp_path)
    assert len(scenario.units) == 5
    # 5 units x 10 demand x value 3 = 150 (the stale size read 1 unit, value 1: 10)
    assert allocator.solve(scenario).metrics["total_value"] == pytest.approx(150)


@pytest.mark.parametrize("above", ["\n", "\n\n", " \n,\n"])
def test_blank_lines_above_the_header_are_skipped_and_rows_keep_their_numbers(tmp_path, above):
    # before: "cannot be read as a table: No columns to parse from file" (review finding); a blank
    # line above the header is not a title row, so the table reads as written
    (tmp_path / "units.csv").write_text(above + "id,demand\na,50\nb,\n")
    rows_above = above.count("\n")
    with pytest.raises(allocator.ScenarioError) as caught:
        allocator.scenario_from_dict({"name": "x", "resources": [{"id": "food"}], "supply": {"food": 10},
                                      "units": "units.csv"}, base_dir=tmp_path)
    # b's blank demand is on the spreadsheet's row 3 + the blank rows above
    assert f"row {3 + rows_above}, column demand" in str(caught.value), str(caught.value)
    (tmp_path / "units.csv").write_text(above + "id,demand\na,50\nb,100\n")
    scenario = allocator.scenario_from_dict({"name": "x", "resources": [{"id": "food"}], "supply": {"food": 10},
                                             "units": "units.csv"}, base_dir=tmp_path)
    assert list(scenario.units.ids) == ["a", "b"]


def test_a_sheet_named_like_a_year_is_found(tmp_path):
    # `sheet: 2024` is read by YAML as a number; it names the sheet "2024" (before: "must be a sheet name,
    # got 2024"; review finding)
    book = Workbook()
    book.active.title = "notes"
    sheet = book.create_sheet("2024")
    sheet.append(["id", "demand"])
    sheet.append(["a", 4])
    book.save(tmp_path / "data.xlsx")
    (tmp_path / "s.yaml").write_text("name: x\nresources: [{id: food}]\nsupply: {food: 2}\n"
                                     "units: {file: data.xlsx, sheet: 2024}\n")
    scenario = allocator.load_scenario(tmp_path / "s.yaml")
    assert list(scenario.units.ids) == ["a"]


def test_a_csv_with_carriage_returns_alone_keeps_its_header(tmp_path):
    # old Mac line ends: pandas reads "\r\r" above the header differently from Python, so skipping the
    # blank lines counted by Python dropped the header ("required column missing"; second review)
    (tmp_path / "units.csv").write_text("id,demand\ra,5\rb,-1\r", newline="")
    doc = {"name": "x", "resources": [{"id": "food"}], "supply": {"food": 2}, "units": "units.csv"}
    with pytest.raises(allocator.ScenarioError, match=r"row 3, column demand: is negative"):
        allocator.scenario_from_dict(doc, base_dir=tmp_path)
    (tmp_path / "units.csv").write_text("\r\rid,demand\ra,5\rb,-1\r", newline="")
    with pytest.raises(allocator.ScenarioError) as caught:
        allocator.scenario_from_dict(doc, base_dir=tmp_path)
    assert "required column missing" not in str(caught.value)
