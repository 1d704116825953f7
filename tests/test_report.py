"""The HTML report, the charts and the Excel workbook: parsed, checked for content, rendered where a browser exists."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import allocator
from allocator.cli.app import app
from allocator.report import plots
from allocator.report.html import build_report, levelling_down, render_html
from helpers import SCENARIOS, build, shipped

runner = CliRunner()
SECTIONS = ["At a glance", "Findings", "Rules compared", "Group fill rates", "Inequality between units",
            "The cost of equity", "Where the gaps come from"]


class Parsed(HTMLParser):
    """Collects what the tests look at: images, links, section titles, highlighted rows."""

    def __init__(self, text: str):
        super().__init__()
        self.images, self.urls, self.titles, self.chosen, self._in_h2 = [], [], [], 0, False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("src", "href"):
            if key in attrs and tag != "img":
                self.urls.append(attrs[key])
        if tag in ("script", "link", "iframe"):
            self.urls.append(f"<{tag}>")
        self._in_h2 = tag == "h2"
        if tag == "tr" and attrs.get("class") == "chosen":
            self.chosen += 1

    def handle_data(self, data):
        if self._in_h2:
            self.titles.append(data)

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False


@pytest.fixture(scope="module")
def food_bank_report():
    return build_report(shipped("food-bank"), ["utilitarian", "proportional", "leximin"])


def test_the_report_is_self_contained_and_complete(food_bank_report):
    text = render_html(food_bank_report)
    parsed = Parsed(text)
    assert parsed.titles == SECTIONS
    # group fill rates per attribute (2), Lorenz, distribution, one frontier and one disparity per attribute (2 + 2)
    assert len(parsed.images) == 8
    assert all(src.startswith("data:image/png;base64,") for src in parsed.images)
    assert parsed.urls == [] and "http://" not in text and "https://" not in text
    assert parsed.chosen == 1 and "maxmin (chosen)" in text  # the scenario's own rule, highlighted
    assert "raises the lowest fill rate from 25% to 41%" in text


def test_report_numbers_come_from_the_comparison(food_bank_report):
    table = food_bank_report.comparison.table
    single = allocator.solve(shipped("food-bank"), rule="proportional")
    assert table.loc["proportional", "total_value"] == pytest.approx(single.metrics["total_value"], rel=1e-9)
    assert list(food_bank_report.frontiers) == ["region", "rurality"]
    values = food_bank_report.frontiers["region"].table["total_value"].dropna().to_numpy()
    assert (np.diff(values) <= 1e-6).all()


def test_levelling_down_is_named_with_the_amount():
    # x reaches a small site, y a large one. A gap of 0 forces y down to x's rate (10 of 40 -> 25%),
    # leaving 30 of y's 40 lb undelivered; a group_floor at 25% delivers all 50.
    scenario = build(units=[{"id": "a", "demand": 40, "groups": {"g": "x"}},
                            {"id": "b", "demand": 40, "groups": {"g": "y"}}],
                     sites=[{"id": "small", "supply": {"food": 10}}, {"id": "big", "supply": {"food": 40}}],
                     links=[{"unit": "a", "site": "small"}, {"unit": "b", "site": "big"}], groups=["g"],
                     constraints=[{"type": "group_gap", "attribute": "g", "max_gap": 0.0}])
    comparison = allocator.compare(scenario, rules=["utilitarian"])
    warnings = levelling_down(scenario, comparison)
    assert len(warnings) == 1
    assert "delivers 20; a group_floor of 25.0% on g delivers 50 (30 more" in warnings[0]


def test_charts_are_byte_identical_for_the_same_results(food_bank_report):
    first = plots.png(plots.lorenz_curves(food_bank_report.comparison))
    again = plots.png(plots.lorenz_curves(food_bank_report.comparison))
    assert first == again and first.startswith(b"\x89PNG")


def test_cli_report_and_plot(tmp_path):
    target = tmp_path / "report.html"
    args = [str(SCENARIOS / "tutorial" / "scenario.yaml"), "--rules", "utilitarian,maxmin"]
    result = runner.invoke(app, ["report", *args, "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert Parsed(target.read_text()).titles == SECTIONS
    again = runner.invoke(app, ["report", *args, "--out", str(target)])
    assert again.exit_code == 2 and "--force" in again.output
    charts = tmp_path / "charts"
    result = runner.invoke(app, ["plot", *args, "--out", str(charts)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in charts.iterdir())
    assert "lorenz.png" in names and "fill_rates.png" in names and "summary.json" in names
    assert any(n.startswith("frontier_") for n in names) and any(n.startswith("group_fill_rates_") for n in names)


def test_solve_writes_an_excel_workbook_with_every_table(tmp_path):
    target = tmp_path / "results.xlsx"
    result = runner.invoke(app, ["solve", str(SCENARIOS / "tutorial" / "scenario.yaml"), "--out", str(target)])
    assert result.exit_code == 0, result.output
    sheets = pd.read_excel(target, sheet_name=None)
    assert list(sheets) == ["allocations", "groups", "flows", "metrics", "summary"]
    single = allocator.solve(shipped("tutorial"))
    assert sheets["allocations"]["allocated"].sum() == pytest.approx(single.metrics["total_allocated"])
    metrics = dict(zip(sheets["metrics"]["metric"], sheets["metrics"]["value"]))
    assert metrics["min_fill_rate"] == pytest.approx(single.metrics["min_fill_rate"], abs=1e-6)
    again = runner.invoke(app, ["solve", str(SCENARIOS / "tutorial" / "scenario.yaml"), "--out", str(target)])
    assert again.exit_code == 2


def test_formula_like_ids_stay_text_in_excel(tmp_path):
    pd.DataFrame({"id": ["=1+1", "b"], "demand": [1, 1]}).to_csv(tmp_path / "units.csv", index=False)
    (tmp_path / "s.yaml").write_text("name: t\nresources: [{id: food}]\nsupply: {food: 2}\nunits: units.csv\n")
    target = tmp_path / "r.xlsx"
    assert runner.invoke(app, ["solve", str(tmp_path / "s.yaml"), "--out", str(target)]).exit_code == 0
    from openpyxl import load_workbook
    cell = load_workbook(target)["allocations"]["A2"]
    assert cell.data_type == "s" and cell.value == "'=1+1"


def _chromium() -> str | None:
    """Chromium's path, installing Debian's package first if this machine can (root with apt-get)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found or os.environ.get("ALLOCATOR_NO_INSTALL") or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, timeout=900,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("chromium")


@pytest.mark.chromium
def test_the_report_renders_in_a_headless_browser(food_bank_report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine, and it cannot be installed here")
    page, shot = tmp_path / "report.html", tmp_path / "report.png"
    page.write_text(render_html(food_bank_report), encoding="utf-8")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1200,2400", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    ink = (pixels < 0.9).any(axis=-1).mean()  # share of pixels that are not (near) white
    assert 0.02 < ink < 0.9, ink
    assert pixels.std() > 0.05  # charts and text, not one flat colour
    assert Path(shot).stat().st_size > 20_000
