"""The planner's model: exported LP/MPS files and reported objectives in the scenario's own units.

allocator divides every quantity by a power of two near the median demand before it solves
(``Problem.scale``; the tutorial's is 1024, so its 1000 lb reads 0.9765625 inside the LP). Nothing
a planner reads may carry that unit: not an exported file, not a stage objective, not a price.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess

import highspy
import pytest

import allocator
from allocator.model.problem import Problem
from helpers import SCENARIOS, build, shipped

TUTORIAL = SCENARIOS / "tutorial" / "scenario.yaml"


def stage_objectives(result) -> dict[str, float]:
    return {s["stage"]: s["objective"] for s in result.summary()["solver"]["stages"]}


@pytest.fixture
def scale_of(monkeypatch):
    """Force ``Problem.scale`` to a given power of two (as a scenario in other units would get)."""
    def force(value: float) -> None:
        monkeypatch.setattr(Problem, "scale", property(lambda self: value))
    return force


# --- stage objectives in summary.json ------------------------------------------------------------

def test_value_stage_objective_is_total_value_in_the_scenarios_units():
    # tutorial, utilitarian: both depots empty into the six pantries, 1800 + 1200 = 3000 lb of value 1
    # (the LP counts in units of 1024 lb: it reads 3000 / 1024 = 2.9296875)
    result = allocator.solve(shipped("tutorial"), rule="utilitarian")
    assert stage_objectives(result)["value"] == pytest.approx(3000, rel=1e-9)
    assert result.metrics["total_value"] == pytest.approx(3000, rel=1e-9)


def test_maxmin_value_stage_objective_is_total_value():
    # S1 (100 lb) serves only a (asks 100, value 3), S2 (100 lb) only b (asks 400, value 1):
    # the level is b's 100 / 400 = 0.25; the value stage then fills a: 3 x 100 + 1 x 100 = 400
    # (scale 256: the LP reads 1.5625)
    scenario = build(sites=[{"id": "S1", "supply": {"food": 100}}, {"id": "S2", "supply": {"food": 100}}],
                     units=[{"id": "a", "demand": 100, "value": 3}, {"id": "b", "demand": 400, "value": 1}],
                     links=[{"unit": "a", "site": "S1"}, {"unit": "b", "site": "S2"}])
    result = allocator.solve(scenario, rule={"name": "maxmin", "method": "lp"})
    assert stage_objectives(result) == {"maxmin": pytest.approx(0.25, rel=1e-7),
                                        "value": pytest.approx(400, rel=1e-7)}


@pytest.mark.parametrize("rule", ["utilitarian", "maxmin", "leximin", "proportional", "nash"])
def test_reported_stage_objectives_do_not_depend_on_the_lps_unit(scale_of, rule):
    # the same scenario solved with the LP counting in units of 1, 1024 (its own) and 2**-6 lb:
    # every stage objective the summary reports is the same number
    reference = stage_objectives(allocator.solve(shipped("tutorial"), rule={"name": rule, **_lp_method(rule)},
                                                 constraints=[{"type": "floor", "share": 0.1}]))
    for unit in (1.0, 2.0 ** -6):
        scale_of(unit)
        other = stage_objectives(allocator.solve(shipped("tutorial"), rule={"name": rule, **_lp_method(rule)},
                                                 constraints=[{"type": "floor", "share": 0.1}]))
        assert other.keys() == reference.keys()
        for stage, value in reference.items():
            if value is None:
                assert other[stage] is None
            else:
                assert other[stage] == pytest.approx(value, rel=1e-6, abs=1e-9), (unit, stage)


def _lp_method(rule: str) -> dict:
    return {"method": "lp"} if rule in ("maxmin", "leximin") else {}


# --- prices of network limits --------------------------------------------------------------------

def _road(capacity: float, **nodes):
    # W holds 100 lb; one road W -> H of `capacity`; a waits at H and asks for 40 (scale: 32)
    return build(sites=[{"id": "W", "supply": {"food": 100}}],
                 units=[{"id": "a", "demand": 40, "data": {"node": "H"}}],
                 network={"mode": "flow", "edges": [{"from": "W", "to": "H", "capacity": capacity}], **nodes})


def test_edge_price_of_a_level_stage_is_per_lb_of_capacity():
    # proportional: t = 10 / 40 = 0.25; one more lb of road capacity raises t by 1/40 = 0.025
    # (the LP's dual is per 32 lb: 0.8)
    result = allocator.solve(_road(10), rule="proportional")
    wider = allocator.solve(_road(11), rule="proportional")
    assert result.equity["level"] == pytest.approx(0.25)
    gain = wider.equity["level"] - result.equity["level"]
    assert result.edges.iloc[0]["shadow_price"] == pytest.approx(gain, rel=1e-6) == pytest.approx(0.025)


def test_node_price_of_a_level_stage_is_per_lb_of_throughput():
    # W (40 lb) -> hub H (throughput 15) -> X (a, 20) and -> Y (b, 20); proportional: t = 15 / 40,
    # and one more lb through the hub raises t by 1/40 = 0.025 (scale 16: the LP's dual reads 0.4)
    scenario = build(sites=[{"id": "W", "supply": {"food": 40}}],
                     units=[{"id": "a", "demand": 20, "data": {"node": "X"}},
                            {"id": "b", "demand": 20, "data": {"node": "Y"}}],
                     network={"mode": "flow", "nodes": [{"id": "H", "throughput": 15}],
                              "edges": [{"from": "W", "to": "H"}, {"from": "H", "to": "X"}, {"from": "H", "to": "Y"}]})
    result = allocator.solve(scenario, rule="proportional")
    assert result.equity["level"] == pytest.approx(0.375)
    assert result.nodes.set_index("node").loc["H", "shadow_price"] == pytest.approx(0.025)


def test_edge_price_of_a_value_stage_is_unchanged():
    # utilitarian: one more lb of capacity delivers one more lb of value 1
    result = allocator.solve(_road(10), rule="utilitarian")
    assert result.edges.iloc[0]["shadow_price"] == pytest.approx(1.0)


# --- exported LP and MPS files -------------------------------------------------------------------

def _glpsol() -> str | None:
    """glpsol's path, installing Debian's glpk-utils first if this machine can (root with apt-get)."""
    found = shutil.which("glpsol")
    if found or os.environ.get("ALLOCATOR_NO_INSTALL") or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    quiet = {"capture_output": True, "timeout": 600, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    for command in (["apt-get", "install", "-y", "-q", "glpk-utils"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "glpk-utils"]):  # a fresh machine has no package lists
        try:
            subprocess.run(command, **quiet)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if shutil.which("glpsol"):
            break
    return shutil.which("glpsol")


GLPSOL = _glpsol()
needs_glpk = pytest.mark.skipif(GLPSOL is None, reason="glpsol (GLPK) is not installed and could not be: "
                                                       "apt-get install glpk-utils")
NAME = re.compile(r"^[A-DF-Za-df-z][A-Za-z0-9_]{0,254}$")


def glpk_objective(path) -> float:
    """The optimum glpsol reaches on ``path`` (``--lp`` or ``--freemps`` by the suffix)."""
    flag = "--freemps" if str(path).endswith(".mps") else "--lp"
    report = path.with_name(path.name + ".glpk.txt")
    done = subprocess.run([GLPSOL, flag, str(path), "-o", str(report)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    text = report.read_text()
    assert re.search(r"Status:\s+(INTEGER )?OPTIMAL", text), text[:400]
    return float(re.search(r"Objective:\s+obj = (\S+)", text).group(1))


def highs_objective(path) -> float:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


def file_optimum(path, reader) -> float:
    """The stage objective the file stands for: its optimum, or minus it for MPS (a minimisation of -objective)."""
    value = reader(path)
    return -value if str(path).endswith(".mps") else value


def _sites_and_links():
    # two sites, not every unit linked to both; the tutorial's numbers are all below 2**11
    return build(sites=[{"id": "north", "supply": {"food": 70000}}, {"id": "south", "supply": {"food": 25000}}],
                 units=[{"id": "a", "demand": 52000, "value": 2}, {"id": "b", "demand": 31000},
                        {"id": "c", "demand": 40000, "value": 1.5}],
                 links=[{"unit": "a", "site": "north"}, {"unit": "b", "site": "north"}, {"unit": "b", "site": "south"},
                        {"unit": "c", "site": "south"}])


def _resources():
    return build(resources=[{"id": "food", "unit": "lb"}, {"id": "water", "unit": "gal"}],
                 supply={"food": 900, "water": 130.5},
                 units=[{"id": "a", "demand": {"food": 700, "water": 40}, "value": {"food": 1, "water": 3}},
                        {"id": "b", "demand": {"food": 500, "water": 120}}])


CASES = {
    "tutorial": lambda: (shipped("tutorial"), None),
    "constraints": lambda: (shipped("tutorial"), [{"type": "floor", "share": 0.3}, {"type": "group_floor",
                                                                                  "attribute": "rurality", "share": 0.55}]),
    "sites and links": lambda: (_sites_and_links(), [{"type": "floor", "share": 0.2}]),
    "resources": lambda: (_resources(), None),
    "group constraints": lambda: (shipped("food-bank"), None),  # floor and group_gap on rurality
}


@pytest.fixture(params=[pytest.param(reader, marks=(needs_glpk, pytest.mark.glpk) if reader == "glpk" else ())
                        for reader in ("glpk", "highs")])
def reader(request):
    return glpk_objective if request.param == "glpk" else highs_objective


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("rule", ["utilitarian", {"name": "maxmin", "method": "lp"}, "proportional"])
@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_exported_first_stage_reaches_the_objective_solve_reports(tmp_path, case, rule, suffix, reader):
    scenario, constraints = CASES[case]()
    result = allocator.solve(scenario, rule=rule, constraints=constraints)
    reported = result.summary()["solver"]["stages"][0]["objective"]
    path = _export(scenario, tmp_path / f"model{suffix}", rule, constraints)
    assert file_optimum(path, reader) == pytest.approx(reported, rel=1e-6, abs=1e-9)


def _export(scenario, path, rule=None, constraints=None, **kwargs):
    from allocator.accountability.export import export

    return export(scenario, path, rule=rule, constraints=constraints, **kwargs)


def test_the_tutorials_numbers_are_the_scenarios(tmp_path):
    # pantry-a asks for 1000 lb: the file says 1000, not 1000 / 1024 = 0.9765625
    text = _export(shipped("tutorial"), tmp_path / "model.lp", "maxmin").read_text()
    assert "demand_pantry_a_food_hi: + 1 flow_pantry_a_depot_north_food + 1 flow_pantry_a_depot_south_food <= 1000" \
        in text
    assert "0.9765625" not in text
    assert text.splitlines()[5] == "Maximize" and "first stage" in text.splitlines()[1]


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_a_later_stage_reaches_its_reported_objective(tmp_path, suffix, reader):
    # the S1/S2 scenario above: the value stage with the level 0.25 held reaches 400
    scenario = build(sites=[{"id": "S1", "supply": {"food": 100}}, {"id": "S2", "supply": {"food": 100}}],
                     units=[{"id": "a", "demand": 100, "value": 3}, {"id": "b", "demand": 400, "value": 1}],
                     links=[{"unit": "a", "site": "S1"}, {"unit": "b", "site": "S2"}])
    rule = {"name": "maxmin", "method": "lp"}
    path = _export(scenario, tmp_path / f"value{suffix}", rule, stage="value")
    assert "stage 'value'" in path.read_text()
    assert file_optimum(path, reader) == pytest.approx(400, rel=1e-7)


def test_an_unknown_or_skipped_stage_is_a_usage_error(tmp_path):
    with pytest.raises(allocator.UsageError, match="its LP stages here: maxmin"):
        # the tutorial's value stage is skipped: every pantry is held at 60%
        _export(shipped("tutorial"), tmp_path / "m.lp", {"name": "maxmin", "method": "lp"}, stage="value")
    assert not (tmp_path / "m.lp").exists()


HOSTILE = [("pantry a", 300), ("pantry-a", 200), ("Zürich Nord", 250), ("été", 150), ("2nd", 100),
           ("x" * 300, 120), ("a_b", 90), ("a b", 80)]


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_names_are_sanitised_collision_free_and_in_the_legend(tmp_path, suffix, reader):
    # ids with spaces, dashes, accents, a leading digit and 'e', 300 characters, and pairs that sanitise
    # alike ("pantry a"/"pantry-a", "a_b"/"a b"): 1000 lb for 1290 of demand, so utilitarian delivers 1000
    scenario = build(resources=[{"id": "food stuff", "unit": "lb"}],
                     sites=[{"id": "dépôt 1", "supply": {"food stuff": 600}}, {"id": "dépôt-1", "supply": {"food stuff": 400}}],
                     units=[{"id": unit, "demand": {"food stuff": demand}} for unit, demand in HOSTILE])
    path = _export(scenario, tmp_path / f"model{suffix}", "utilitarian")
    assert file_optimum(path, reader) == pytest.approx(1000, rel=1e-9)
    with open(tmp_path / f"model{suffix}.legend.csv", newline="", encoding="utf-8") as handle:
        legend = list(csv.DictReader(handle))
    for kind in ("column", "row"):
        written = [row["name"] for row in legend if row["kind"] == kind]
        assert len(written) == len(set(written)), kind
        assert all(NAME.match(name) for name in written), [n for n in written if not NAME.match(n)]
    flows = [row for row in legend if row["block"] == "flow"]
    assert len(flows) == 2 * len(HOSTILE)  # every unit from both sites, each its own name
    assert {(row["unit"], row["site"]) for row in flows} == {(u, s) for u, _ in HOSTILE for s in ("dépôt 1", "dépôt-1")}
    assert all(row["resource"] == "food stuff" for row in flows)
    name_of = {(row["unit"], row["site"]): row["name"] for row in flows}
    assert name_of[("pantry a", "dépôt 1")] == "flow_pantry_a_depot_1_food_stuff"
    assert name_of[("pantry-a", "dépôt 1")] == "flow_pantry_a_2_depot_1_food_stuff"
    assert name_of[("pantry-a", "dépôt-1")] == "flow_pantry_a_2_depot_1_2_food_stuff"
    assert name_of[("été", "dépôt 1")] == "flow_ete_depot_1_food_stuff"
    text = path.read_text(encoding="ascii")  # ASCII only
    assert all(name in text for name in name_of.values())


def test_same_inputs_give_the_same_bytes(tmp_path):
    first = _export(shipped("food-bank"), tmp_path / "a.mps", "utilitarian")
    second = _export(shipped("food-bank"), tmp_path / "b.mps", "utilitarian")
    assert first.read_bytes() == second.read_bytes().replace(b"b.mps.legend", b"a.mps.legend")
    assert (tmp_path / "a.mps.legend.csv").read_bytes() == (tmp_path / "b.mps.legend.csv").read_bytes()


def test_the_legend_is_not_replaced_without_force(tmp_path):
    (tmp_path / "model.lp.legend.csv").write_text("mine\n")
    with pytest.raises(allocator.OutputExistsError):
        _export(shipped("tutorial"), tmp_path / "model.lp")
    assert (tmp_path / "model.lp.legend.csv").read_text() == "mine\n" and not (tmp_path / "model.lp").exists()
    _export(shipped("tutorial"), tmp_path / "model.lp", force=True)
    assert (tmp_path / "model.lp.legend.csv").read_text().startswith("name,kind,block")


def test_cli_stage_option(tmp_path):
    from typer.testing import CliRunner

    from allocator.cli.app import app

    target = tmp_path / "value.lp"
    done = CliRunner().invoke(app, ["export", str(TUTORIAL), "--rule", "utilitarian", "--stage", "value",
                                    "--output", str(target)])
    assert done.exit_code == 0, done.output
    assert "stage 'value'" in target.read_text()
    unknown = CliRunner().invoke(app, ["export", str(TUTORIAL), "--stage", "nope", "--output", str(tmp_path / "x.lp")])
    assert unknown.exit_code == 2 and "its LP stages here: maxmin" in unknown.output


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_whole_units_stay_whole_in_the_file(tmp_path, suffix, reader):
    # 4 whole beds for a (asks 3) and b (asks 2), maxmin: the LP relaxation reaches 4/5 (2.4 and 1.6);
    # in whole beds the best is 2 and 2, a level of min(2/3, 1) = 2/3
    scenario = build(resources=[{"id": "bed", "divisible": False}], supply={"bed": 4},
                     units=[{"id": "a", "demand": 3}, {"id": "b", "demand": 2}])
    rule = {"name": "maxmin", "method": "lp"}
    reported = allocator.solve(scenario, rule=rule).summary()["solver"]["stages"][0]["objective"]
    assert reported == pytest.approx(2 / 3, rel=1e-6)
    path = _export(scenario, tmp_path / f"beds{suffix}", rule)
    text = path.read_text()
    assert ("General" in text) if suffix == ".lp" else ("INTORG" in text)
    assert file_optimum(path, reader) == pytest.approx(2 / 3, rel=1e-6)


def test_legend_ids_reach_a_spreadsheet_as_text(tmp_path):
    scenario = build(supply={"food": 10}, units=[{"id": "=HYPERLINK(1)", "demand": 4}, {"id": "b", "demand": 6}])
    _export(scenario, tmp_path / "m.lp", "utilitarian")
    with open(tmp_path / "m.lp.legend.csv", newline="") as handle:
        units = {row["unit"] for row in csv.DictReader(handle) if row["block"] == "flow"}
    assert units == {"'=HYPERLINK(1)", "b"}


# --- explain: checked by hand, already in the scenario's units (guards) --------------------------

def test_explain_prices_are_per_lb():
    from allocator.accountability.explain import explain

    # proportional, 50 lb for 40 + 60: t = 0.5, and one more lb raises t by 1/100
    pool = build(supply={"food": 50}, units=[{"id": "a", "demand": 40}, {"id": "b", "demand": 60}])
    assert explain(allocator.solve(pool, rule="proportional")).sites["marginal_value"].tolist() == \
        [pytest.approx(0.01)]
    # utilitarian, 60 lb, a (40, value 3), b (60, value 1), floor 0.5: b 30, a 30, value 120; one more lb
    # goes to a (+3); a share 0.01 higher moves 0.6 lb from a to b: -3 x 60 + 60 = -120 per unit of share
    floor = build(supply={"food": 60}, units=[{"id": "a", "demand": 40, "value": 3}, {"id": "b", "demand": 60}],
                  constraints=[{"type": "floor", "share": 0.5}])
    explanation = explain(allocator.solve(floor, rule="utilitarian"))
    assert explanation.sites["marginal_value"].tolist() == [pytest.approx(3.0)]
    assert explanation.constraints["shadow_price"].tolist() == [pytest.approx(-120.0)]


def test_names_stay_within_255_characters_with_a_long_attribute_name(tmp_path):
    # a 230-character group attribute gave constraint names of 307 characters (review finding); LP
    # readers such as CPLEX stop at 255
    attribute, label, unit = "a" * 230, "g" * 100, "u" * 100
    scenario = build(sites=[{"id": "s1", "supply": {"food": 100}}], groups=[attribute],
                     units=[{"id": unit, "demand": 50, "groups": {attribute: label}},
                            {"id": "b", "demand": 100, "groups": {attribute: "w2"}}],
                     constraints=[{"type": "group_gap", "attribute": attribute, "max_gap": 0.1},
                                  {"type": "group_floor", "attribute": attribute, "share": 0.1}])
    path = _export(scenario, tmp_path / "long.lp", "utilitarian")
    with open(tmp_path / "long.lp.legend.csv", newline="", encoding="utf-8") as handle:
        legend = list(csv.DictReader(handle))
    assert legend and max(len(row["name"]) for row in legend) <= 255
    for kind in ("column", "row"):  # distinct among the columns and among the rows
        written = [row["name"] for row in legend if row["kind"] == kind]
        assert len(written) == len(set(written)), kind
    assert all(len(name) <= 255 for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path.read_text()))
    assert highs_objective(path) == pytest.approx(allocator.solve(scenario, rule="utilitarian").solver["stages"][0]["objective"])


def test_a_full_disk_while_writing_the_lp_names_the_lp_and_leaves_neither_file(tmp_path, monkeypatch):
    # both writes sat in the legend's context, so a failed LP write was reported as the legend
    import errno
    from pathlib import Path

    from allocator.accountability.export import export
    from allocator.core.errors import OutputWriteError

    real = Path.write_text

    def full_for_the_lp(self, *args, **kwargs):
        if ".model.lp.tmp-" in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_for_the_lp)
    scenario = allocator.load_scenario("scenarios/tutorial/scenario.yaml")
    with pytest.raises(OutputWriteError, match=r"cannot write .*model\.lp: No space left"):
        export(scenario, tmp_path / "model.lp")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
