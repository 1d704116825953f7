"""Bounded work: every count option is refused above a stated limit before any work, or runs in
bounded memory with progress and a time limit that stops it with a partial, marked result."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from allocator.cli.app import app
from allocator.core.budget import MAX_FRONTIER_POINTS, MAX_TABLE_ROWS, Budget
from allocator.core.errors import UsageError
from allocator.core.status import Status
from allocator.simulation import summary as sim_summary
from allocator.simulation.api import simulate
from allocator.simulation.bounds import bounds
from allocator.tradeoffs.frontiers import frontier
from allocator.tradeoffs.lottery import _dependent_round, _draw_chunks, _graph, lottery
from helpers import build

runner = CliRunner()
#: one slot, two units: every draw gives it to one of them (probability 1/2 each)
HALF = "name: t\nresources: [{id: slot, divisible: false}]\nsupply: {slot: 1}\nunits: [{id: a, demand: 1}, {id: b, demand: 1}]\n"
#: two regions of one unit each, with demand intervals (for bounds)
GROUPED = dict(units=[{"id": "a", "demand": 8, "groups": {"region": "n"}, "data": {"demand_low": 4, "demand_high": 10}},
                      {"id": "b", "demand": 4, "groups": {"region": "s"}, "data": {"demand_low": 2, "demand_high": 6}}],
               supply={"food": 10}, groups=["region"])
#: a time budget that has always run out by the time it is first checked (after the first unit of work)
SPENT = 1e-9


def _scenario_file(tmp_path, text=HALF):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


# --- limits refused up front: exit 2, the option, the value and the limit named, nothing written ---

def test_lottery_draws_beyond_the_table_limit_are_refused_before_any_work(tmp_path):
    out = tmp_path / "lot"
    result = runner.invoke(app, ["lottery", str(_scenario_file(tmp_path)), "--draws", "1000000000", "--out", str(out)])
    assert result.exit_code == 2, result.output
    # 2 allowed flows (a and b from the pool) but 1 slot: at most 1 row a draw, so 2,000,000 rows allow
    # 2,000,000 draws
    assert "draws: 1,000,000,000 is more than the limit of 2,000,000" in result.output
    assert "2,000,000 rows" in result.output and not out.exists()


def test_the_library_lottery_states_the_same_limit():
    scenario = build(resources=[{"id": "slot", "divisible": False}], supply={"slot": 1},
                     units=[{"id": "a", "demand": 1}, {"id": "b", "demand": 1}])
    with pytest.raises(UsageError, match=r"draws: 2,000,001 is more than the limit of 2,000,000"):
        lottery(scenario, rule="maxmin", draws=MAX_TABLE_ROWS + 1)


def test_simulate_draws_beyond_the_table_limit_are_refused_before_any_work(tmp_path):
    out = tmp_path / "sim"
    scenario = build(**GROUPED)
    # 2 rules x (1 metrics row + 2 group rows) = 6 rows a draw: 2,000,000 // 6 = 333,333 draws
    with pytest.raises(UsageError, match=r"draws: 333,334 is more than the limit of 333,333: each draw adds 6 rows"):
        simulate(scenario, rules=["maxmin", "utilitarian"], draws=333_334, out=out)
    assert not out.exists()


def test_the_cli_refuses_simulate_draws_with_exit_2(tmp_path):
    out = tmp_path / "sim"
    path = _scenario_file(tmp_path, "name: t\nresources: [{id: food}]\nsupply: {food: 1}\nunits: [{id: a, demand: 2}]\n")
    result = runner.invoke(app, ["simulate", str(path), "--rules", "maxmin", "--draws", "2000001", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "draws: 2,000,001 is more than the limit of 2,000,000" in result.output and not out.exists()


def test_local_workers_beyond_four_per_core_are_refused_before_any_work(tmp_path):
    out = tmp_path / "sim"
    with pytest.raises(UsageError, match=r"workers: 1,000,000 is more than the limit of \d+: 4 local worker processes "
                                         "per core"):
        simulate(build(**GROUPED), rules=["maxmin"], draws=2, shard_size=1, engine="processes", workers=10**6, out=out)
    assert not out.exists()


def test_frontier_points_beyond_the_limit_are_refused(tmp_path):
    result = runner.invoke(app, ["frontier", str(_scenario_file(tmp_path)), "-c", "floor", "--from", "0", "--to", "1",
                                 "--points", "5000", "--out", str(tmp_path / "f")])
    assert result.exit_code == 2, result.output
    assert "--points: 5,000 is more than the limit of 1,000" in result.output and not (tmp_path / "f").exists()
    scenario = build(**GROUPED)
    with pytest.raises(UsageError, match="values: 1,001 is more than the limit of 1,000"):
        frontier(scenario, "floor", np.linspace(0, 1, MAX_FRONTIER_POINTS + 1))
    with pytest.raises(UsageError, match="at least one parameter value"):
        frontier(scenario, "floor", [])  # was a KeyError


def test_frontier_reads_a_generator_of_values_once():
    scenario = build(resources=[{"id": "food"}], supply={"food": 6},
                     units=[{"id": "a", "demand": 4, "value": 3}, {"id": "b", "demand": 4, "value": 1}])
    # floor share 0.75 holds both at >= 3 of 4: a gets 3, b 3: 3 * 3 + 1 * 3 = 12; looser floors give a 4: 14
    table = frontier(scenario, "floor", (share for share in (0.0, 0.5, 0.75))).table
    assert table["total_value"].round(6).tolist() == [14.0, 14.0, 12.0]


def test_bootstrap_resamples_beyond_the_limit_are_refused():
    groups = pd.DataFrame({"rule": ["r"], "attribute": ["g"], "group": ["x"], "resource": ["food"], "units": [1],
                           "allocated": [1.0], "demand": [2.0], "fill_rate": [0.5]})
    with pytest.raises(UsageError, match="resamples: 100,001 is more than the limit of 100,000"):
        sim_summary.group_intervals(groups, resamples=100_001)


def test_time_limits_and_seeds_are_checked_before_any_work(tmp_path):
    path = _scenario_file(tmp_path)
    for command in (["lottery"], ["simulate", "--rules", "maxmin"], ["bounds"]):
        result = runner.invoke(app, [command[0], str(path), *command[1:], "--time-limit", "0", "--out",
                                     str(tmp_path / "o")])
        assert result.exit_code == 2 and "--time-limit must be a positive number of seconds, got 0.0" in result.output
        assert not (tmp_path / "o").exists()
    negative = runner.invoke(app, ["lottery", str(path), "--seed", "-1"])
    assert negative.exit_code == 2 and "seed is -1 (int); expected a whole number of at least 0" in negative.output
    scenario = build(resources=[{"id": "slot", "divisible": False}], supply={"slot": 1}, units=[{"id": "a", "demand": 1}])
    with pytest.raises(UsageError, match=r"seed is -1 \(int\); expected a whole number of at least 0"):
        lottery(scenario, rule="maxmin", seed=-1)  # numpy's ValueError, an internal error, before
    with pytest.raises(UsageError, match=r"time_limit is nan \(float\); expected a number of seconds above 0"):
        lottery(scenario, rule="maxmin", time_limit=float("nan"))


# --- time limits: checked after each unit of work, a partial result marked as such ---

def test_a_spent_lottery_budget_keeps_one_draw_and_says_it_stopped(tmp_path):
    scenario = build(resources=[{"id": "slot", "divisible": False}], supply={"slot": 1},
                     units=[{"id": "a", "demand": 1}, {"id": "b", "demand": 1}])
    result = lottery(scenario, rule="maxmin", draws=50, time_limit=SPENT)
    assert result.status == "time_limit" and result.count == 1 and result.draws["draw"].tolist() == [0]
    assert result.stopped["done"] == 1 and result.stopped["total"] == 50
    assert result.decomposition is None and any("decomposition" in note for note in result.notes)
    out = tmp_path / "lot"
    cli = runner.invoke(app, ["lottery", str(_scenario_file(tmp_path)), "--draws", "50", "--time-limit", "1e-9",
                              "--out", str(out)])
    assert cli.exit_code == 4, cli.output  # as a time-limited solve: written, exit 4
    assert "stopped: the time limit (1e-09 s) ran out after 1 of 50 draws" in cli.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "time_limit" and summary["draws"] == 1 and summary["stopped"]["total"] == 50


@pytest.mark.pyarrow
def test_a_spent_simulation_budget_keeps_one_shard_and_resumes(tmp_path):
    scenario, out = build(**GROUPED), tmp_path / "sim"
    partial = simulate(scenario, rules=["maxmin"], draws=40, seed=3, cv=0.2, shard_size=10, out=out, time_limit=SPENT)
    assert partial.status == "time_limit" and partial.draws_done == 10
    assert sorted(partial.metrics["draw"]) == list(range(10))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and summary["stopped"]["done"] == 10 and summary["stopped"]["total"] == 40
    whole = simulate(scenario, rules=["maxmin"], draws=40, seed=3, cv=0.2, shard_size=10, out=out, resume=True)
    assert whole.status == "complete" and whole.resumed_draws == 10 and len(whole.metrics) == 40
    assert json.loads((out / "summary.json").read_text())["complete"] is True
    fresh = simulate(scenario, rules=["maxmin"], draws=40, seed=3, cv=0.2, shard_size=10)
    assert whole.metrics.equals(fresh.metrics)  # stopping and resuming changes no number


@pytest.mark.pyarrow
def test_the_cli_marks_a_stopped_simulation_and_exits_4(tmp_path):
    path = _scenario_file(tmp_path, "name: t\nresources: [{id: food}]\nsupply: {food: 1}\nunits: [{id: a, demand: 2}]\n")
    result = runner.invoke(app, ["simulate", str(path), "--rules", "maxmin", "--draws", "30", "--shard-size", "10",
                                 "--cv", "0.1", "--time-limit", "1e-9", "--out", str(tmp_path / "sim")])
    assert result.exit_code == 4, result.output
    assert "simulation: 10 of 30 draws" in result.output and "run again with --resume" in result.output


def test_a_spent_bounds_budget_uses_the_fixed_vectors_only(tmp_path):
    found = bounds(build(**GROUPED), rule="utilitarian", samples=50, time_limit=SPENT)
    table = found.table
    assert found.status == Status.TIME_LIMIT and found.stopped["done"] == 0
    sampled = table.loc[table["method"].str.startswith("sampled"), "method"]
    # lows, highs and nominal demand are always solved: 3 of the 3 + 50 vectors
    assert len(sampled) and set(sampled) == {"sampled (3 of 53 vectors: time limit)"}
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nresources: [{id: food}]\nsupply: {food: 10}\ngroups: [region]\nunits:\n"
                    "  - {id: a, demand: 8, groups: {region: n}, data: {demand_low: 4, demand_high: 10}}\n"
                    "  - {id: b, demand: 4, groups: {region: s}, data: {demand_low: 2, demand_high: 6}}\n")
    result = runner.invoke(app, ["bounds", str(path), "--rule", "utilitarian", "--time-limit", "1e-9",
                                 "--out", str(tmp_path / "b")])
    assert result.exit_code == 4, result.output
    assert "stopped: the time limit (1e-09 s) ran out after 0 of 200 samples" in result.output
    assert "time limit" in (tmp_path / "b" / "bounds.csv").read_text()


# --- streaming: chunks and one sample at a time, with progress ---

def test_lottery_draws_come_in_chunks_with_progress():
    scenario = build(resources=[{"id": "slot", "divisible": False}], supply={"slot": 1},
                     units=[{"id": "a", "demand": 1}, {"id": "b", "demand": 1}])
    calls = []
    result = lottery(scenario, rule="maxmin", draws=2500, seed=4, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]  # chunks of DRAW_CHUNK = 1000
    values, graph = result.expected["expected"].to_numpy(), _graph(result.expected)
    chunks = list(_draw_chunks(values, graph, np.random.default_rng(4), 7, Budget(None), chunk=3))
    assert [sorted(set(c[0])) for c in chunks] == [[0, 1, 2], [3, 4, 5], [6]] and [c[3] for c in chunks] == [3, 6, 7]
    # the chunks are the lottery's own draws: one slot a draw, to a or b
    first = result.draws[result.draws["draw"] < 7]
    assert np.concatenate([c[1] for c in chunks]).tolist() == [
        int(np.flatnonzero(result.expected["unit"] == unit)[0]) for unit in first["unit"]]
    assert _dependent_round(values, graph, np.random.default_rng(0)).sum() == 1


def test_bounds_samples_are_solved_one_at_a_time_with_progress():
    calls = []
    found = bounds(build(**GROUPED), rule="utilitarian", samples=4, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)] and found.status == Status.COMPLETE


def test_the_bootstrap_in_blocks_gives_the_one_matrix_answer(monkeypatch):
    rates = np.random.default_rng(1).random(37)
    whole = rates[np.random.default_rng(9).integers(0, 37, (2000, 37))].mean(axis=1)  # the former one-matrix form
    tail = (1 - 0.95) / 2  # as the function computes it (not exactly 0.025)
    expected = (float(np.quantile(whole, tail)), float(np.quantile(whole, 1 - tail)))
    monkeypatch.setattr(sim_summary, "BOOTSTRAP_BLOCK", 100)  # 2 resamples a block
    assert sim_summary.bootstrap_mean_interval(rates, np.random.default_rng(9)) == expected


def test_the_draws_limit_counts_the_rows_whole_units_can_make():
    # 25 units asking 2 slots, 10 sites holding 3, every unit linked to every site: 250 flows, but a
    # row carries at least one whole slot and only min(25 x 2, 10 x 3) = 30 slots move, so a draw has
    # at most 30 rows and 2,000,000 // 30 = 66,666 draws fit (the flow count alone allowed 8,000,
    # refusing modest requests on larger scenarios)
    scenario = build(resources=[{"id": "food", "divisible": False}],
                     sites=[{"id": f"s{j}", "supply": {"food": 3}} for j in range(10)],
                     units=[{"id": f"u{i}", "demand": 2} for i in range(25)])
    with pytest.raises(UsageError, match=r"draws: 70,000 is more than the limit of 66,666: each draw may have up to 30 row"):
        lottery(scenario, rule="maxmin", draws=70_000)


def test_a_lottery_whose_draws_all_finished_says_the_decomposition_was_cut_short():
    # with draws=1 the one draw is made before the spent budget is checked; the note said "ran out
    # after 1 of 1 draws", as if draws were missing
    scenario = build(resources=[{"id": "slot", "divisible": False}], supply={"slot": 1},
                     units=[{"id": "a", "demand": 1}, {"id": "b", "demand": 1}])
    result = lottery(scenario, rule="maxmin", draws=1, time_limit=SPENT)
    assert result.status == "time_limit" and result.count == 1
    assert "after all 1 draws, before the exact decomposition" in result.stopped["note"]


def _runs_out_at_check(number: int):
    """A Budget whose time runs out at its ``number``-th check: expiry by count, not by the clock."""

    class Counted(Budget):
        checks = 0

        def expired(self) -> bool:
            self.checks += 1
            return self.checks >= number

    return Counted


def _record_submitted_shards(engine: str, monkeypatch) -> list[int]:
    """The shards each engine is asked to start, recorded in this process."""
    submitted: list[int] = []
    if engine == "serial":
        from allocator.simulation import draws as sim_draws

        real = sim_draws.run_shard
        monkeypatch.setattr(sim_draws, "run_shard", lambda plan, shard: submitted.append(shard) or real(plan, shard))
    elif engine == "processes":
        from concurrent.futures import ProcessPoolExecutor

        real = ProcessPoolExecutor.submit

        def submit(pool, fn, *args, **kwargs):
            if fn.__name__ == "_shard_in_worker":
                submitted.append(args[0])
            return real(pool, fn, *args, **kwargs)

        monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    else:
        distributed = pytest.importorskip("dask.distributed")
        real = distributed.Client.submit

        def submit(client, fn, *args, **kwargs):
            if getattr(fn, "__name__", "") == "run_shard":
                submitted.append(args[1])
            return real(client, fn, *args, **kwargs)

        monkeypatch.setattr(distributed.Client, "submit", submit)
    return submitted


@pytest.mark.pyarrow
@pytest.mark.parametrize("engine", ["serial", "processes", pytest.param("dask", marks=pytest.mark.dask)])
def test_a_run_out_of_time_starts_no_shard_keeps_every_started_one_and_resumes(tmp_path, monkeypatch, engine):
    # found in review: the processes engine submitted every shard up front, so when the time ran out
    # the ones already running or queued in the pool ran to the end (21 s on a 2 s limit) and were
    # thrown away, with any finished in the same batch. Now a shard starts only while time is left,
    # and every shard started is on disk.
    from allocator.simulation import api as simulation

    scenario, out = build(**GROUPED), tmp_path / "sim"
    options = dict(draws=40, seed=3, cv=0.2, shard_size=5)  # 8 shards of 5 draws
    monkeypatch.setattr(simulation, "Budget", _runs_out_at_check(4))
    submitted = _record_submitted_shards(engine, monkeypatch)
    partial = simulate(scenario, rules=["maxmin"], engine=engine, workers=2, out=out, time_limit=60, **options)
    saved = sorted(int(path.stem.split("-")[1]) for path in (out / "shards").glob("metrics-*.parquet"))
    # the first shard always starts and checks 1-3 leave time for three more; check 4 finds it spent
    assert sorted(submitted) == saved and len(saved) == 4
    summary = json.loads((out / "summary.json").read_text())
    assert partial.status == "time_limit" and summary["complete"] is False
    assert partial.draws_done == summary["stopped"]["done"] == 5 * len(saved) == len(partial.metrics)
    assert sorted(set(partial.metrics["draw"])) == [draw for shard in saved for draw in range(5 * shard, 5 * shard + 5)]
    monkeypatch.undo()  # the real budget (no limit) and engines from here on
    whole = simulate(scenario, rules=["maxmin"], engine=engine, workers=2, out=out, resume=True, **options)
    assert whole.status == "complete" and whole.resumed_draws == 20 and len(whole.metrics) == 40
    assert whole.metrics.equals(simulate(scenario, rules=["maxmin"], **options).metrics)
