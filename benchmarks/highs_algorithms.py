#!/usr/bin/env python3
"""Measure HiGHS algorithms on allocator's own LPs (why the default is IPM without crossover).

Compiles the benchmark instance, builds the maxmin equity stage and the value stage, and
solves each with several HiGHS settings in this one run. Prints seconds and the objective.

    python benchmarks/highs_algorithms.py --units 20000 --time-limit 120
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from allocator import compile, load_scenario  # noqa: E402
from allocator.backends.base import SolverOptions  # noqa: E402
from allocator.backends.highs import HighsBackend  # noqa: E402
from allocator.rules.stages import hold, value_lp  # noqa: E402
from benchmarks.run import BENCH  # noqa: E402

SETTINGS = {
    "ipm, no crossover (default)": {"solver": "ipm", "run_crossover": "off"},
    "ipm + crossover": {"solver": "ipm", "run_crossover": "on"},
    "dual simplex": {"solver": "simplex", "simplex_strategy": 1},
    "pdlp": {"solver": "pdlp"},
}


def timed(lp, settings: dict, time_limit: float) -> tuple[float, str, float]:
    backend = HighsBackend()
    h = backend._new(lp, SolverOptions())
    for key, value in settings.items():
        h.setOptionValue(key, value)
    h.setOptionValue("time_limit", time_limit)
    start = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - start
    return seconds, h.modelStatusToString(h.getModelStatus()), h.getInfo().objective_function_value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=20000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--density", type=float, default=0.2)
    parser.add_argument("--time-limit", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([sys.executable, str(BENCH / "make_instance.py"), "--units", str(args.units), "--sites",
                        str(args.sites), "--density", str(args.density), "--seed", "0", "--out", work],
                       check=True, stdout=subprocess.DEVNULL)
        model = compile(load_scenario(Path(work) / "scenario.yaml"), rule="maxmin")
    stage1 = model.rule.first_stage(model)
    measure = model.measures.pair
    level = timed(stage1, SETTINGS["ipm, no crossover (default)"], args.time_limit)[2]
    stage2 = value_lp(hold(model.base, measure, np.arange(len(measure)), np.full(len(measure), level), "m"),
                      model.problem)
    print(f"{args.units} units x {args.sites} sites, density {args.density}: {stage1.num_cols} columns, "
          f"{stage1.num_rows} rows")
    print(f"{'setting':<30} {'maxmin stage s':>15} {'value stage s':>14}  status")
    for name, settings in SETTINGS.items():
        one = timed(stage1, settings, args.time_limit)
        two = timed(stage2, settings, args.time_limit)
        print(f"{name:<30} {one[0]:>15.2f} {two[0]:>14.2f}  {one[1]} / {two[1]}")


if __name__ == "__main__":
    main()
