"""Solver faults: time limits keep the best feasible allocation, numerical failures fall back, missing solvers say what to install."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

import allocator
import allocator.solving.api
from allocator.backends.highs import HighsBackend
from allocator.cli.app import app
from allocator.core.status import Status
from helpers import allocated, assert_feasible, build

runner = CliRunner()
TUTORIAL = Path(__file__).resolve().parent.parent / "scenarios" / "tutorial" / "scenario.yaml"

# unit a can reach only a small site, so the max-min level (0.5) leaves the value stage something
# to decide at the other site: b (value 3) gets 8, c gets 2
DOCUMENT = {
    "sites": [{"id": "s1", "supply": {"food": 4}}, {"id": "s2", "supply": {"food": 10}}],
    "units": [{"id": "a", "demand": 8}, {"id": "b", "demand": 8, "value": 3}, {"id": "c", "demand": 4}],
    "links": [{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s2"}, {"unit": "c", "site": "s2"}],
    "rule": {"name": "maxmin", "method": "lp"},
}


class Scripted:
    """HiGHS, except that the stages numbered in ``faults`` end with the status given there."""

    def __init__(self, faults: dict[int, Status], keep_point: bool = False):
        self.inner, self.faults, self.keep_point, self.calls = HighsBackend(), faults, keep_point, 0
        self.name = "highs"  # so that the fallback is PuLP/CBC, as for the real HiGHS

    def is_available(self):
        return True

    def unavailable_reason(self):
        return ""

    def version(self):
        return "test"

    def write(self, model, path):
        self.inner.write(model, path)

    def solve(self, model, options):
        self.calls += 1
        solution = self.inner.solve(model, options)
        status = self.faults.get(self.calls)
        if status is None:
            return solution
        x = solution.x if (self.keep_point and status is Status.TIME_LIMIT) else None
        return replace(solution, status=status, x=x, row_dual=None, message=f"scripted {status.value}")


def test_time_limit_in_the_value_stage_returns_the_level_stage_allocation():
    scenario = build(DOCUMENT)
    exact = allocator.solve(scenario)
    assert allocated(exact) == pytest.approx({"a": 4, "b": 8, "c": 2}, abs=1e-5)  # by hand
    result = allocator.solve(scenario, solver=Scripted({2: Status.TIME_LIMIT}))
    assert result.status is Status.TIME_LIMIT
    stopped = result.solver["stopped"]
    assert stopped["stage"] == "value" and stopped["allocation_from"] == "maxmin"
    assert_feasible(scenario, result)
    # the level stage already guarantees the max-min level: the worst fill rate is the optimum's
    assert result.metrics["min_fill_rate"] == pytest.approx(exact.metrics["min_fill_rate"], abs=1e-6)
    assert result.summary()["status"] == "time_limit"


def test_a_feasible_point_from_the_interrupted_stage_is_preferred():
    scenario = build(DOCUMENT)
    result = allocator.solve(scenario, solver=Scripted({2: Status.TIME_LIMIT}, keep_point=True))
    assert result.solver["stopped"]["allocation_from"] == "value (stopped before optimal)"
    assert_feasible(scenario, result)


def test_time_limit_before_any_feasible_allocation_is_a_solver_error():
    with pytest.raises(allocator.SolverError, match="before any feasible allocation"):
        allocator.solve(build(DOCUMENT), solver=Scripted({1: Status.TIME_LIMIT}))


def test_cli_writes_the_time_limited_result_says_so_and_exits_4(tmp_path, monkeypatch):
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps({"name": "t", "resources": [{"id": "food"}], **DOCUMENT}))
    monkeypatch.setattr(allocator.solving.api, "get_backend", lambda name: Scripted({2: Status.TIME_LIMIT}))
    out = tmp_path / "out"
    result = runner.invoke(app, ["solve", str(path), "--out", str(out)])
    assert result.exit_code == 4, result.output
    assert "stopped:" in result.output and "not the rule's answer" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "time_limit" and summary["solver"]["stopped"]["stage"] == "value"
    assert (out / "allocations.csv").is_file()


def test_real_highs_time_limit_is_reported_not_hidden(tmp_path):
    # a limit far too short for HiGHS to finish the first stage: exit 4, and nothing claims to be optimal
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps({"name": "t", "resources": [{"id": "food"}], **DOCUMENT}))
    result = runner.invoke(app, ["solve", str(path), "--time-limit", "1e-9", "--json"])
    assert result.exit_code == 4
    assert "time limit" in result.output and '"status": "optimal"' not in result.output


def test_a_numerical_failure_falls_back_to_the_other_backend_and_says_so():
    scenario = build(DOCUMENT)
    exact = allocator.solve(scenario)
    result = allocator.solve(scenario, solver=Scripted({1: Status.ERROR, 2: Status.ERROR}))
    assert result.status is Status.OPTIMAL
    assert len(result.solver["fallbacks"]) == 2
    assert "highs failed (scripted error); solved again with pulp" in result.solver["fallbacks"][0]
    assert allocated(result) == pytest.approx(allocated(exact), abs=1e-5)


def test_a_fallback_is_read_off_the_stage_record_not_its_note(monkeypatch):
    from allocator.rules.stages import Solved, StageRecord

    scenario = build(DOCUMENT)
    result = allocator.solve(scenario, solver=Scripted({2: Status.ERROR}))
    assert [record.how for record in result.trace.stages] == [Solved.BACKEND, Solved.FALLBACK]
    real = allocator.solving.api.run_rule

    def reworded(model, runner, fresh):  # the same solve, with notes in other words
        solved, runner, outcome = real(model, runner, fresh)
        runner.records[:] = [StageRecord("maxmin", Status.OPTIMAL, 0.5, 0.0, "the other backend took over", Solved.FALLBACK),
                             StageRecord("value", Status.OPTIMAL, 20.0, 0.0, "solved again with pulp (words only)")]
        return solved, runner, outcome

    monkeypatch.setattr(allocator.solving.api, "run_rule", reworded)
    assert allocator.solve(scenario).solver["fallbacks"] == ["maxmin: the other backend took over"]


def test_a_skipped_stage_is_told_apart_by_its_record_on_the_terminal(monkeypatch):
    from allocator.rules.stages import StageRunner

    real = StageRunner.skip

    def skip_in_other_words(self, stage, reason):
        real(self, stage, reason)
        self.records[-1] = replace(self.records[-1], note="left out: not needed")

    monkeypatch.setattr(StageRunner, "skip", skip_in_other_words)
    # the tutorial's value stage is skipped (every pantry is held at its level)
    result = runner.invoke(app, ["solve", str(TUTORIAL)])
    assert result.exit_code == 0, result.output
    assert "1 LP(s) (maxmin, value skipped)" in result.output and "  value left out: not needed" in result.output


def test_without_fallback_a_numerical_failure_is_a_solver_error():
    model = allocator.compile(build(DOCUMENT))
    with pytest.raises(allocator.SolverError, match="status error"):
        allocator.solve_compiled(model, solver=Scripted({1: Status.ERROR}), fallback=False)


def test_fallback_notes_reach_the_terminal(tmp_path, monkeypatch):
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps({"name": "t", "resources": [{"id": "food"}], **DOCUMENT}))
    monkeypatch.setattr(allocator.solving.api, "get_backend", lambda name: Scripted({1: Status.ERROR}))
    result = runner.invoke(app, ["solve", str(path)])
    assert result.exit_code == 0, result.output
    assert "fallback:" in result.output and "solved again with pulp" in result.output


def test_missing_highs_names_the_package_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(HighsBackend, "is_available", lambda self: False)
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps({"name": "t", "resources": [{"id": "food"}], **DOCUMENT}))
    result = runner.invoke(app, ["solve", str(path)])
    assert result.exit_code == 4
    assert "pip install highspy" in result.output



def test_the_fallback_gets_only_the_time_that_is_left(monkeypatch):
    # a fake clock: the first backend's failing solve uses the whole budget, so the fallback is not started
    import allocator.rules.stages as stages

    clock = [0.0]
    monkeypatch.setattr(stages.time, "perf_counter", lambda: clock[0])

    class Slow(Scripted):
        def solve(self, model, options):
            clock[0] += 10.0
            return super().solve(model, options)

    with pytest.raises(allocator.SolverError, match="before any feasible allocation"):
        allocator.solve(build(**DOCUMENT), solver=Slow({1: Status.ERROR}), time_limit=5.0)
