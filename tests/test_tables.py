"""Table formats: CSV with a byte-order mark, Excel, and multi-resource columns load alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import allocator
from allocator.scenario import tables

UNITS = pd.DataFrame({"id": ["a", "b", "c"], "demand:food": [10, 20, ""], "demand:care": [1, "", 3],
                      "value:food": [2, 1, ""], "region": ["east", "west", "west"]})


def _scenario(tmp_path, units_file: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\nresources: [{{id: food}}, {{id: care}}]\nsupply: {{food: 15, care: 2}}\n"
                    f"units: {units_file}\ngroups: [region]\nrule: leximin\n")
    return str(path)


def _load(tmp_path, units_file):
    return allocator.load_scenario(_scenario(tmp_path, units_file))


def test_csv_with_byte_order_mark_loads(tmp_path):
    (tmp_path / "units.csv").write_bytes(b"\xef\xbb\xbf" + UNITS.to_csv(index=False).encode())
    scenario = _load(tmp_path, "units.csv")
    assert scenario.units.ids.tolist() == ["a", "b", "c"]
    # a blank demand:<r> beside another demand = 0; a blank value where the unit asks for none (c, food) = 1
    assert scenario.units.demand.tolist() == [[10, 1], [20, 0], [0, 3]]
    assert scenario.units.value.tolist() == [[2, 1], [1, 1], [1, 1]]


def test_excel_table_gives_the_same_scenario_and_result_as_csv(tmp_path):
    UNITS.to_csv(tmp_path / "units.csv", index=False)
    UNITS.to_excel(tmp_path / "units.xlsx", index=False)
    from_csv, from_excel = _load(tmp_path, "units.csv"), _load(tmp_path, "units.xlsx")
    assert from_excel.units.demand.tolist() == from_csv.units.demand.tolist()
    assert from_excel.units.value.tolist() == from_csv.units.value.tolist()
    a, b = allocator.solve(from_csv), allocator.solve(from_excel)
    pd.testing.assert_frame_equal(a.allocations, b.allocations)


def test_multi_resource_pairs_skip_zero_demand(tmp_path):
    UNITS.to_csv(tmp_path / "units.csv", index=False)
    result = allocator.solve(_load(tmp_path, "units.csv"))
    pairs = set(zip(result.allocations["unit"], result.allocations["resource"]))
    assert pairs == {("a", "food"), ("a", "care"), ("b", "food"), ("c", "care")}
    # one pool per resource: food 15 for 30 demanded, care 2 for 4 -> leximin gives 0.5 everywhere
    assert result.allocations["fill_rate"].tolist() == pytest.approx([0.5] * 4, abs=1e-6)


def test_non_utf8_csv_is_reported(tmp_path):
    (tmp_path / "units.csv").write_bytes("id,demand:food,demand:care,region\nb\xe9,1,1,x\n".encode("latin-1"))
    with pytest.raises(allocator.ScenarioError) as info:
        _load(tmp_path, "units.csv")
    assert "not valid UTF-8" in str(info.value) and "units.csv" in str(info.value)


def test_duplicated_header_is_reported(tmp_path):
    (tmp_path / "units.csv").write_text("id,demand:food,demand:food,region\na,1,2,x\n")
    with pytest.raises(allocator.ScenarioError) as info:
        _load(tmp_path, "units.csv")
    assert "duplicated column name(s): demand:food" in str(info.value)


def test_units_path_that_is_a_folder_is_reported(tmp_path):
    (tmp_path / "units.csv").mkdir()
    with pytest.raises(allocator.ScenarioError) as info:
        _load(tmp_path, "units.csv")
    assert "is not a regular file" in str(info.value)


# --- the vectorised column helpers behind the loader's fast paths ---------------------------------

@pytest.mark.parametrize("cells", [
    [" a", "a", "a", "b", None, None, float("nan"), 3, "b ", "b"],   # runs, blanks, a NaN, a number
    ["x", "y", "x", " y", "z"],                                        # no runs: the plain hash path
    ["u1"] * 4 + ["u2"] * 3 + [" u1"] * 2,                             # runs whose ids merge once stripped
    [],
])
def test_factorized_text_matches_stripping_every_cell(cells):
    def expected_text(value):
        return "" if value is None else str(value).strip()
    codes, labels = tables.factorized_text(pd.Series(cells, dtype=object))
    assert [labels[c] for c in codes] == [expected_text(v) for v in cells]
    assert len(set(labels.tolist())) == len(labels)  # each distinct text once


def test_factorized_text_takes_the_run_path_on_long_runs(monkeypatch):
    cells = [f"u{i // 10}" for i in range(1000)]
    monkeypatch.setattr(tables, "RUN_SAMPLE", 100)
    codes, labels = tables.factorized_text(pd.Series(cells, dtype=object))
    assert labels[codes].tolist() == cells and len(labels) == 100


def test_numbers_parse_clean_cells_and_report_the_rest_by_row():
    frame = pd.DataFrame({"demand": [" 17.5 ", "1e3", "abc", "", " nan", "inf", "-3", "4"]}, dtype=object)
    values, issues = tables._numbers(frame, "demand", 0.0, "units.csv", tables.csv_locate)
    assert values[[0, 1, 3, 7]].tolist() == [17.5, 1000.0, 0.0, 4.0]  # blank takes the default
    by_row = {i.location: i.message for i in issues}
    assert by_row == {"row 4, column demand": "is not a number",
                      "row 6, column demand": "is not a finite number (NaN or infinity)",
                      "row 7, column demand": "is not a finite number (NaN or infinity)",
                      "row 8, column demand": "is negative"}


def test_numbers_keep_inline_values_strict():
    # inline YAML values are not all text: a boolean is not a number, a float NaN is not finite
    frame = pd.DataFrame({"demand": [True, 2.5, float("nan"), None]}, dtype=object)
    values, issues = tables._numbers(frame, "demand", 0.0, "s.yaml", tables.frame_locate)
    assert values[[1, 3]].tolist() == [2.5, 0.0]
    assert {i.location: i.message for i in issues} == {
        "position 0, column demand": "is not a number",
        "position 2, column demand": "is not a finite number (NaN or infinity)"}


@pytest.mark.parametrize("num_second", [3, 10**9])  # a small key space (bitmap) and a huge one (hashing)
def test_duplicated_pairs_flags_each_repeat_after_the_first(num_second):
    first = np.array([0, 1, 0, 2, 0, 1])
    second = np.array([1, 2, 1, 0, 2, 2])
    assert tables._duplicated_pairs(first, second, num_second).tolist() == [False, False, True, False, False, True]
    assert not tables._duplicated_pairs(first[:2], second[:2], num_second).any()
