#!/usr/bin/env python3
"""Simulation speed: per-draw time with reused HiGHS models against cold solves, and engine scaling.

    python benchmarks/simulation.py                 # 2,000 units x 50 sites, density 0.2, --cv 0.2
    python benchmarks/simulation.py --draws 100 --units 2000

On the benchmark instance (../shared/bench/make_instance.py), for maxmin and utilitarian:

* **reused**: ``run_simulation(..., shard_size=draws)``: one shard, so one HiGHS model per stage is
  loaded once and each later draw pushes only what changed (per draw: total / draws, the first,
  cold draw included);
* **cold loop**: the same draws and the same per-draw work with ``reuse=False`` (every draw a
  fresh interior point solve);
* **cold solve**: ``allocator.solve`` on the scenario itself (compile, solve, full Result), the
  median of 5.

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
from allocator.simulation import run_simulation  # noqa: E402
from benchmarks.suite import instance  # noqa: E402


def timed(call, *args, **kwargs) -> float:
    start = time.perf_counter()
    call(*args, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--density", type=float, default=0.2)
    parser.add_argument("--draws", type=int, default=60)
    parser.add_argument("--cv", type=float, default=0.2)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "allocator-bench")
    args = parser.parse_args()
    scenario = allocator.load_scenario(instance(args.cache, args.units, args.sites, args.density))
    print(f"instance: {args.units} units x {args.sites} sites, density {args.density}; {args.draws} draws, "
          f"demand cv {args.cv}; {os.cpu_count()} cores")
    print(f"{'rule':<12} {'reused s/draw':>14} {'cold loop s/draw':>17} {'cold solve s':>13} "
          f"{'vs cold loop':>13} {'vs cold solve':>14}")
    for rule in ("maxmin", "utilitarian"):
        options = dict(draws=args.draws, seed=1, cv=args.cv, shard_size=args.draws)
        reused = timed(run_simulation, scenario, [rule], **options) / args.draws
        cold_loop = timed(run_simulation, scenario, [rule], reuse=False, **options) / args.draws
        cold_solve = statistics.median(timed(allocator.solve, scenario, rule) for _ in range(5))
        print(f"{rule:<12} {reused:>14.4f} {cold_loop:>17.4f} {cold_solve:>13.4f} "
              f"{cold_loop / reused:>12.2f}x {cold_solve / reused:>13.2f}x")
    options = dict(draws=args.draws, seed=1, cv=args.cv, shard_size=10)
    serial = timed(run_simulation, scenario, ["maxmin", "utilitarian"], **options)
    processes = timed(run_simulation, scenario, ["maxmin", "utilitarian"], engine="processes", **options)
    print(f"engines, maxmin + utilitarian, shards of 10: serial {serial:.2f} s, processes ({os.cpu_count()} workers) "
          f"{processes:.2f} s: {serial / processes:.2f}x")


if __name__ == "__main__":
    main()
