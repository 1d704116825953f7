"""One exception module, exit codes of their own, and library messages that name parameters, not CLI flags.

Each message that suggests a setting is triggered twice: through the library (it names the
parameter, ``force=True``, and no ``--`` option) and through the CLI (the same message names the
option, ``--force``).
"""

from __future__ import annotations

import ast
import importlib
import pickle
import pkgutil
import re
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from conftest import build
from typer.testing import CliRunner

import allocator
from allocator.cli.app import app
from allocator.core import errors
from allocator.core.errors import (
    AllocatorError,
    InfeasibleError,
    InternalError,
    Message,
    OutputExistsError,
    Parameter,
    ScenarioError,
    SimulationInterrupted,
    SolverError,
    UsageError,
    WorkerLost,
)

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "scenarios" / "tutorial" / "scenario.yaml"
UNCERTAIN = ROOT / "scenarios" / "food-bank-uncertain" / "scenario.yaml"
#: a command-line option, as a message would name it
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
POOL = "name: pool\nresources: [{id: food}]\nsupply: {food: 60}\nunits: [{id: a, demand: 40}, {id: b, demand: 60}]\n"
LEVELS = """name: levels
resources: [{id: food}]
sites: [{id: s1, supply: {food: 10}}, {id: s2, supply: {food: 30}}, {id: s3, supply: {food: 4}}]
units: [{id: a, demand: 20}, {id: b, demand: 20}, {id: c, demand: 20}, {id: d, demand: 10}]
links: [{unit: a, site: s1}, {unit: b, site: s2}, {unit: c, site: s2}, {unit: d, site: s3}]
"""

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def library_message(exc: AllocatorError) -> str:
    """The message a library caller sees, which must name no command-line option."""
    text = str(exc)
    assert not OPTION.search(text), text
    return text


def _scenario(folder: Path, text: str = POOL) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- one module, one root ------------------------------------------------------------------------


def _allocator_modules():
    for info in pkgutil.walk_packages(allocator.__path__, "allocator."):
        if info.name == "allocator.__main__":
            continue
        yield importlib.import_module(info.name)


def test_every_allocator_error_is_defined_in_the_one_exception_module():
    found = {}
    for module in _allocator_modules():
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, AllocatorError):
                found[value.__qualname__] = value.__module__
    assert {"WorkerLost", "InternalError", "SimulationInterrupted"} <= set(found)
    assert {name: where for name, where in found.items() if where != "allocator.core.errors"} == {}


def test_the_stage_signals_live_in_the_exception_module_as_internal_errors():
    from allocator.rules import stages

    for kind in (errors.StageInfeasible, errors.StageTimeLimit):
        assert kind.__module__ == "allocator.core.errors" and getattr(stages, kind.__name__) is kind
        # one that escaped would be a defect of allocator (exit 7), never bad input or a solver failure
        assert issubclass(kind, InternalError) and not issubclass(kind, (UsageError, ScenarioError, SolverError))
        signal = pickle.loads(pickle.dumps(kind("value")))
        assert type(signal) is kind and signal.stage == "value"
        assert str(signal).startswith("allocator's own check failed: the signal that stage 'value' ")


def test_names_stay_importable_where_tests_and_callers_found_them():
    from allocator.simulation import api, engines

    assert engines.WorkerLost is WorkerLost and api.SimulationInterrupted is SimulationInterrupted
    assert api.plan_simulation is importlib.import_module("allocator.simulation.plan").plan_simulation


def test_a_lost_worker_and_a_failed_own_check_are_neither_bad_input_nor_solver_failures():
    for kind in (WorkerLost, InternalError):
        assert issubclass(kind, AllocatorError)
        assert not issubclass(kind, (UsageError, ScenarioError, OutputExistsError, SolverError))


def test_library_strings_name_no_command_line_option():
    # docstrings may show the CLI spelling; a message (any other string) may not
    allowed = {"--freemps"}  # glpsol's option, named in a note on the MPS files allocator writes
    found = []
    for path in sorted((ROOT / "allocator").rglob("*.py")):
        if path.parent.name == "cli":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                found += [f"{path.relative_to(ROOT)}:{node.lineno}: {m}" for m in OPTION.findall(node.value)
                          if m not in allowed]
    assert found == []


# --- the structured message ----------------------------------------------------------------------


def test_a_message_reads_as_the_library_spells_it_and_keeps_its_parameters():
    exc = OutputExistsError(Message("out exists already: ", Parameter("resume", True), " to continue, ",
                                    Parameter("force", True), " to replace it"))
    assert str(exc) == "out exists already: resume=True to continue, force=True to replace it"
    assert exc.parameters == ("resume", "force")
    assert exc.spelled(lambda p: f"--{p.name}") == "out exists already: --resume to continue, --force to replace it"
    again = pickle.loads(pickle.dumps(exc))  # a worker's error crosses a process boundary whole
    assert str(again) == str(exc) and again.parameters == exc.parameters
    assert str(Parameter("solver", "pulp")) == 'solver="pulp"' and str(Parameter("time_limit")) == "time_limit"
    assert UsageError("plain").parameters == () and UsageError("plain").spelled(str) == "plain"
    interrupted = pickle.loads(pickle.dumps(SimulationInterrupted(3, 10, "sim")))
    assert (interrupted.done, interrupted.total) == (3, 10) and interrupted.parameters == ("resume",)


# --- each message, through the library and through the CLI ---------------------------------------


def test_an_existing_output_folder_names_force(tmp_path):
    from allocator.io.atomic import check_output_folder

    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    with pytest.raises(OutputExistsError) as info:
        check_output_folder(out)
    assert "pass force=True to replace it" in library_message(info.value) and info.value.parameters == ("force",)
    with pytest.raises(OutputExistsError) as info:
        allocator.solve(TUTORIAL).save(out)
    assert "force=True" in library_message(info.value)
    result = run("solve", TUTORIAL, "--out", out)
    assert result.exit_code == 2 and "pass --force to replace it" in result.output, result.output
    assert "force=True" not in result.output


def test_an_existing_output_file_names_force(tmp_path):
    from allocator.io.atomic import check_output_file

    target = tmp_path / "model.lp"
    target.write_text("x")
    with pytest.raises(OutputExistsError) as info:
        check_output_file(target)
    assert "pass force=True to replace it" in library_message(info.value)
    result = run("export", TUTORIAL, "--output", target)
    assert result.exit_code == 2 and "pass --force to replace it" in result.output, result.output


def test_a_table_outside_the_folder_names_allow_outside(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "units.csv").write_text("id,demand\na,4\n")
    (tmp_path / "here").mkdir()
    path = _scenario(tmp_path / "here", "name: t\nresources: [{id: food}]\nsupply: {food: 5}\n"
                                        "units: ../elsewhere/units.csv\n")
    with pytest.raises(ScenarioError) as info:
        allocator.load_scenario(path)
    text = library_message(info.value)
    assert "or pass allow_outside=True if the file is meant to be shared" in text
    assert info.value.parameters == ("allow_outside",)
    assert "allow_outside=True" in str(info.value.issues[0])
    result = run("validate", path)
    assert result.exit_code == 2 and "or pass --allow-outside if the file" in result.output, result.output
    assert "allow_outside=True" not in result.output
    assert run("validate", path, "--allow-outside").exit_code == 0


def test_demand_noise_out_of_range_names_cv(tmp_path):
    with pytest.raises(UsageError) as info:
        allocator.simulate(build(units=[{"id": "a", "demand": 4}], supply={"food": 5}), draws=2, cv=11)
    assert library_message(info.value).startswith("cv must be between 0 and 10, got 11")
    result = run("simulate", UNCERTAIN, "--draws", "2", "--cv", "11", "--out", tmp_path / "sim")
    assert result.exit_code == 2 and "--cv must be between 0 and 10" in result.output, result.output


def test_an_occupied_simulation_folder_names_resume_and_force(tmp_path):
    from allocator.simulation.api import simulate

    scenario, out = allocator.load_scenario(UNCERTAIN), tmp_path / "sim"
    simulate(scenario, rules=["maxmin"], draws=2, shard_size=1, out=out)
    with pytest.raises(OutputExistsError) as info:
        simulate(scenario, rules=["maxmin"], draws=2, shard_size=1, out=out)
    text = library_message(info.value)
    assert "resume=True to continue that simulation, force=True to replace it" in text
    assert info.value.parameters == ("resume", "force")
    with pytest.raises(UsageError) as info:
        simulate(scenario, rules=["maxmin"], draws=3, shard_size=1, out=out, resume=True)
    assert "or use force=True to start again" in library_message(info.value)
    again = run("simulate", UNCERTAIN, "--rules", "maxmin", "--draws", "2", "--shard-size", "1", "--out", out)
    assert again.exit_code == 2 and "--resume to continue that simulation, --force to replace it" in again.output
    other = run("simulate", UNCERTAIN, "--rules", "maxmin", "--draws", "3", "--shard-size", "1", "--out", out,
                "--resume")
    assert other.exit_code == 2 and "or use --force to start again" in other.output, other.output


def test_an_interrupted_simulation_names_resume(tmp_path, monkeypatch):
    from allocator.simulation import api

    def stop(done, total):
        if done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(SimulationInterrupted) as info:
        api.simulate(allocator.load_scenario(UNCERTAIN), rules=["maxmin"], draws=4, shard_size=1,
                           out=tmp_path / "sim", progress=stop)
    assert library_message(info.value).endswith("run again with resume=True")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "execute", interrupted)
    result = run("simulate", UNCERTAIN, "--rules", "maxmin", "--draws", "4", "--out", tmp_path / "cli")
    assert result.exit_code == 130 and "run again with --resume" in result.output, result.output


class _DeadPool:
    """A process pool whose workers are gone: every submission finds the pool broken."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, *args, **kwargs):
        raise BrokenProcessPool("a child process terminated abruptly")

    def shutdown(self, *args, **kwargs):
        pass


def test_a_lost_worker_names_resume_and_exits_6(tmp_path, monkeypatch):
    from allocator.simulation import engines
    from allocator.simulation.api import simulate

    monkeypatch.setattr(engines, "ProcessPoolExecutor", _DeadPool)
    with pytest.raises(WorkerLost) as info:
        simulate(allocator.load_scenario(UNCERTAIN), rules=["maxmin"], draws=4, shard_size=2, engine="processes",
                       workers=2, out=tmp_path / "sim")
    assert library_message(info.value).endswith("run again with resume=True")
    result = run("simulate", UNCERTAIN, "--rules", "maxmin", "--draws", "4", "--shard-size", "2",
                 "--engine", "processes", "--workers", "2", "--out", tmp_path / "cli")
    assert result.exit_code == 6, result.output
    assert "worker process died" in result.output and "run again with --resume" in result.output


def test_a_time_limit_with_nothing_found_names_time_limit(tmp_path):
    with pytest.raises(SolverError) as info:
        allocator.solve(_scenario(tmp_path), rule="maxmin", time_limit=1e-300)
    text = library_message(info.value)
    assert "allow more time with a larger time_limit" in text and info.value.parameters == ("time_limit",)
    result = run("solve", _scenario(tmp_path), "--rule", "maxmin", "--time-limit", "1e-300")
    assert result.exit_code == 4 and "allow more time with a larger --time-limit" in result.output, result.output


def test_round_off_in_a_later_stage_names_the_other_solver(tmp_path, monkeypatch):
    from allocator.rules.stages import StageInfeasible
    from allocator.solving import api, diagnose

    class Feasible:  # every constraint can hold: the stages' infeasibility is round-off
        def __init__(self, *args, **kwargs):
            pass

        def feasible(self, constraints):
            return True

    def infeasible_stage(*args, **kwargs):
        raise StageInfeasible("value")

    monkeypatch.setattr(diagnose, "_Oracle", Feasible)
    monkeypatch.setattr(api, "run_rule", infeasible_stage)
    with pytest.raises(InfeasibleError) as info:
        allocator.solve(_scenario(tmp_path), rule="maxmin")
    assert 'try the other backend (solver="pulp")' in library_message(info.value)
    assert info.value.parameters == ("solver",) and 'solver="pulp"' in info.value.explanation[0]
    result = run("solve", _scenario(tmp_path), "--rule", "maxmin")
    assert result.exit_code == 3 and "try the other backend (--solver pulp)" in result.output, result.output


def test_a_failed_own_check_is_an_internal_error_and_exits_7(tmp_path, monkeypatch):
    from allocator.rules import bottleneck

    real = bottleneck.solve_by_bottlenecks

    def short_by_a_tenth(model, runner):
        flows, equity = real(model, runner)
        return flows * 0.9, equity

    monkeypatch.setattr(bottleneck, "solve_by_bottlenecks", short_by_a_tenth)
    path = _scenario(tmp_path, LEVELS)
    with pytest.raises(InternalError, match="allocator's own check failed"):
        allocator.solve(path, rule={"name": "leximin", "method": "flow"})
    out = tmp_path / "out"
    result = run("solve", path, "--rule", "{name: leximin, method: flow}", "--out", out)
    assert result.exit_code == 7, result.output
    assert "internal error" in result.output and "allocator's own check failed" in result.output
    assert not out.exists()


def test_the_exit_code_table_is_documented():
    table = (ROOT / "docs" / "solving.md").read_text(encoding="utf-8")
    assert "| 6 |" in table and "`WorkerLost`" in table and "| 7 |" in table and "`InternalError`" in table
    row_2 = next(line for line in table.splitlines() if line.startswith("| 2 |"))
    assert "WorkerLost" not in row_2 and "worker" not in row_2
    assert "6 a simulation worker process died" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert errors.__doc__ and "``WorkerLost`` -> 6" in errors.__doc__ and "``InternalError`` -> 7" in errors.__doc__
