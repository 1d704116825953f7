#!/usr/bin/env python3
"""Time `allocator validate` against pandas reading the same CSV files.

    python benchmarks/validation.py                   # 200,000 units x 50 sites, density 0.2
    python benchmarks/validation.py --units 20000 --runs 7

Both are whole processes on the same files, run alternately ``--runs`` times so that load on a
shared machine hits both alike. The yardstick is a script that imports pandas and calls
``pd.read_csv`` (defaults) on the units and links tables, nothing else. The table shows the
median and the best run of each, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import measure  # noqa: E402
from benchmarks.suite import instance  # noqa: E402

READ_ONLY = "import sys, pandas as pd\nfor name in sys.argv[1:]:\n    pd.read_csv(name)\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=200_000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--density", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "allocator-bench")
    args = parser.parse_args()

    scenario = instance(args.cache, args.units, args.sites, args.density)
    tables = [str(scenario.parent / "units.csv"), str(scenario.parent / "links.csv")]
    commands = {
        "allocator validate": [sys.executable, "-m", "allocator", "validate", str(scenario)],
        "pandas read_csv": [sys.executable, "-c", READ_ONLY, *tables],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            row = measure(command)
            if not row["ok"]:
                sys.exit(f"{name} failed: {row['note']}")
            times[name].append(row["seconds"])

    base = statistics.median(times["pandas read_csv"])
    print(f"instance: {args.units} units x {args.sites} sites, density {args.density}; {args.runs} alternating runs")
    print(f"{'program':<20} {'median s':>9} {'best s':>8} {'ratio':>7}")
    for name, runs in times.items():
        print(f"{name:<20} {statistics.median(runs):>9.2f} {min(runs):>8.2f} {statistics.median(runs) / base:>6.2f}x")


if __name__ == "__main__":
    main()
