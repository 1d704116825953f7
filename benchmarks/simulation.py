#!/usr/bin/env python3
"""Simulation speed: per-draw time with reused HiGHS models against cold solves, and engine scaling.

    python benchmarks/simulation.py                 # 2,000 units x 50 sites, density 0.2, --cv 0.2
    python benchmarks/simulation.py --draws 400 --units 2000

On the benchmark instance (../shared/bench/make_instance.py), for maxmin and utilitarian:

* **reused**: ``simulate(..., shard_size=draws)``: one shard, so one HiGHS model per stage is
  loaded once and each later draw pushes only what changed. Two figures: *run*, the whole run of
  ``--draws`` draws divided by them (setup included: the nominal solve for the starting bases and
  the shard's first draw); *steady*, what one more draw adds, ``(T(draws) - T(draws/2)) / (draws/2)``
  from two runs;
* **cold loop**: ``draws/4`` draws with the same per-draw work and ``reuse=False`` (every draw a
  fresh interior point solve of every stage: no loaded model, and maxmin does not take its level
  from the last draw's duals);
* **cold solve**: ``allocator.solve`` on the scenario itself (compile, solve, full Result), the
  median of 3.

Each rule is measured in ``--rounds`` rounds (3), each round all four in turn, so that a busy spell
of the shared machine falls on both sides; the rule's line holds the medians of the rounds' times
and their ratios.

Then the processes engine against serial on the same draws (shards of 10). Times are in this
process; quote the ratios, not the seconds (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import allocator  # noqa: E402
from benchmarks.suite import instance  # noqa: E402


def timed(call, *args, **kwargs) -> float:
    start = time.perf_counter()
    call(*args, **kwargs)
    return time.perf_counter() - start


def measure(scenario, rule: str, draws: int, cv: float) -> tuple[float, float, float, float]:
    """One round: reused s/draw over the whole run, steady s/draw, cold loop s/draw, cold solve s."""
    half = draws // 2
    whole, first_half = (timed(allocator.simulate, scenario, rules=[rule], draws=n, seed=1, cv=cv, shard_size=n)
                         for n in (draws, half))
    cold_draws = max(draws // 4, 1)
    cold_loop = timed(allocator.simulate, scenario, rules=[rule], draws=cold_draws, seed=1, cv=cv, shard_size=cold_draws,
                      reuse=False) / cold_draws
    cold_solve = statistics.median(timed(allocator.solve, scenario, rule=rule) for _ in range(3))
    return whole / draws, (whole - first_half) / (draws - half), cold_loop, cold_solve


def print_row(label: str, run: float, steady: float, cold_loop: float, cold_solve: float) -> None:
    print(f"{label:<12} {run:>14.4f} {steady:>14.4f} {cold_loop:>17.4f} {cold_solve:>13.4f} "
          f"{cold_loop / steady:>19.2f}x {cold_solve / steady:>20.2f}x {cold_loop / run:>16.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--density", type=float, default=0.2)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--cv", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds per rule; the rule's line has the medians")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "allocator-bench")
    args = parser.parse_args()
    if args.draws < 2:
        parser.error("--draws must be at least 2 (the steady figure compares a run with one of half the draws)")
    scenario = allocator.load_scenario(instance(args.cache, args.units, args.sites, args.density))
    print(f"instance: {args.units} units x {args.sites} sites, density {args.density}; {args.draws} draws, "
          f"demand cv {args.cv}; {os.cpu_count()} cores")
    print(f"{'rule':<12} {'reused s/draw':>14} {'steady s/draw':>14} {'cold loop s/draw':>17} {'cold solve s':>13} "
          f"{'steady vs cold loop':>20} {'steady vs cold solve':>21} {'run vs cold loop':>17}")
    for rule in ("maxmin", "utilitarian"):
        rounds = [measure(scenario, rule, args.draws, args.cv) for _ in range(args.rounds)]
        for k, numbers in enumerate(rounds, 1):
            print_row(f"  round {k}", *numbers)
        print_row(rule, *(statistics.median(column) for column in zip(*rounds)))
    options = dict(draws=args.draws, seed=1, cv=args.cv, shard_size=10)
    serial = timed(allocator.simulate, scenario, rules=["maxmin", "utilitarian"], **options)
    processes = timed(allocator.simulate, scenario, rules=["maxmin", "utilitarian"], engine="processes", **options)
    print(f"engines, maxmin + utilitarian, shards of 10: serial {serial:.2f} s, processes ({os.cpu_count()} workers) "
          f"{processes:.2f} s: {serial / processes:.2f}x")


if __name__ == "__main__":
    main()
