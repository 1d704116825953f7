#!/usr/bin/env python3
"""Leximin against one maxmin solve on the same instance (target: at most 10x), plus approximate leximin.

    python benchmarks/leximin.py            # 20,000 units x 50 sites at density 0.04

At density 0.04 units reach about two sites, so leximin has many distinct levels (at 0.2 everyone
ends at one level and leximin is trivial). Each run is `allocator solve` end to end, in its own
process, in this one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import measure  # noqa: E402
from benchmarks.suite import instance  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=20000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--density", type=float, default=0.04)
    parser.add_argument("--approximate-rounds", type=int, nargs="*", default=[2, 4])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "allocator-bench")
    args = parser.parse_args()
    scenario = instance(args.cache, args.units, args.sites, args.density)
    runs = [("maxmin", "maxmin"), ("leximin (LP method)", "{name: leximin, method: lp}"),
            ("leximin (max-flow)", "{name: leximin, method: flow}")]
    runs += [(f"leximin max_rounds={k}", f"{{name: leximin, max_rounds: {k}, method: lp}}")
             for k in args.approximate_rounds]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for label, rule in runs:
            run = measure([sys.executable, "-m", "allocator", "solve", str(scenario), "--rule", rule, "-c", "none",
                           "--json", "--out", str(Path(work) / label.replace(" ", "_"))])
            summary = json.loads(run["stdout"]) if run["ok"] else {}
            rows.append((label, run, summary))
    base = rows[0][1]["seconds"]
    print(f"instance: {args.units} units x {args.sites} sites, density {args.density}, seed 0")
    print(f"{'rule':<24} {'wall s':>8} {'vs maxmin':>10} {'solves':>6} {'levels':>7} {'min fill':>9}  approximation")
    for label, run, summary in rows:
        stages = [s for s in summary.get("solver", {}).get("stages", []) if not s.get("note", "").startswith("skip")]
        equity = summary.get("equity", {})
        approx = equity.get("approximation")
        note = (f"exact_rates {approx['exact_rates']}, max_profile_gap {approx['max_profile_gap']:.4f}"
                if approx else "exact")
        print(f"{label:<24} {run['seconds']:>8.2f} {run['seconds'] / base:>9.2f}x {len(stages):>6} "
              f"{len(equity.get('levels', [])) or 1:>7} {summary.get('metrics', {}).get('min_fill_rate', 0):>9.4f}  "
              f"{note if 'leximin' in label else ''}{run['note']}")


if __name__ == "__main__":
    main()
