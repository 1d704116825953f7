#!/usr/bin/env python3
"""Time a 21-point frontier against 21 cold solves of the same points.

    python benchmarks/frontier.py                     # 2,000 units x 50 sites, group_gap on region
    python benchmarks/frontier.py --units 20000 --points 11

The frontier (:func:`allocator.frontier`) indexes the scenario once and starts each
point from the previous optimal basis; the cold run calls :func:`allocator.solve` once per point
(fresh compile, interior point from scratch), which is what a script looping over
``allocator.solve`` does. Both run in this process, one after the other, after one warm-up solve;
the ratio is from this one run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import allocator  # noqa: E402
from allocator.tradeoffs.frontiers import frontier  # noqa: E402
from benchmarks.suite import instance  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--density", type=float, default=0.2)
    parser.add_argument("--points", type=int, default=21)
    parser.add_argument("--attribute", default="region")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "allocator-bench")
    args = parser.parse_args()

    scenario = allocator.load_scenario(instance(args.cache, args.units, args.sites, args.density))
    values = np.linspace(0.3, 0.0, args.points)
    allocator.solve(scenario, rule="utilitarian")  # warm-up: imports and first-call costs out of both timings

    start = time.perf_counter()
    traced = frontier(scenario, "group_gap", values, attribute=args.attribute)
    warm = time.perf_counter() - start

    start = time.perf_counter()
    cold_values = []
    for value in values:
        try:
            result = allocator.solve(scenario, rule="utilitarian",
                                     constraints=[{"type": "group_gap", "attribute": args.attribute,
                                                   "max_gap": float(value)}])
            cold_values.append(result.metrics["total_value"])
        except allocator.InfeasibleError:
            cold_values.append(np.nan)
    cold = time.perf_counter() - start

    agree = np.allclose(traced.table["total_value"].to_numpy(), cold_values, rtol=1e-6, equal_nan=True)
    print(f"instance: {args.units} units x {args.sites} sites, density {args.density}; group_gap on "
          f"{args.attribute} from 0.3 to 0, {args.points} points")
    print(f"{'run':<28} {'seconds':>8} {'per point':>10} {'ratio':>7}")
    print(f"{'frontier (warm sequence)':<28} {warm:>8.2f} {warm / args.points:>10.3f} {warm / cold:>6.2f}x")
    print(f"{'cold solves':<28} {cold:>8.2f} {cold / args.points:>10.3f} {1.0:>6.2f}x")
    print(f"warm starts: {traced.warm_starts}; values agree to 1e-6: {agree}")


if __name__ == "__main__":
    main()
