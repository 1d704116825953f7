#!/usr/bin/env python3
"""The benchmark suite: every size x rule, beside raw HiGHS and hand-written PuLP, in one table.

    python benchmarks/suite.py                                   # 2,000 / 20,000 / 200,000 units x 50 sites
    python benchmarks/suite.py --sizes 2000 20000 --json out.json --chart docs/scaling.png

Instances come from ../shared/bench/make_instance.py (density 0.2, seed 0; the 200,000-unit one
has about 2 million flow variables) and are cached in --cache. Rules: maxmin, leximin,
utilitarian, and utilitarian with a group_gap on region (max 0.05). Each program runs as its own
process; wall time and peak memory (max RSS) are measured from outside (see run.py). The
reference (reference_highs.py) has maxmin and utilitarian; the peer (peer_pulp.py, CBC) has
maxmin and runs up to the size it finishes in --peer-timeout seconds: once a size takes more than
a tenth of that, larger sizes (10x the variables) are not attempted and say so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import BENCH, measure  # noqa: E402

RULES = {
    "maxmin": ["--rule", "maxmin", "-c", "none"],
    "leximin": ["--rule", "leximin", "-c", "none"],
    "utilitarian": ["--rule", "utilitarian", "-c", "none"],
    "utilitarian+group_gap": ["--rule", "utilitarian", "-c", "group_gap:attribute=region,max_gap=0.05"],
}
REFERENCE_RULES = {"maxmin", "utilitarian"}
PEER_RULES = {"maxmin"}


def instance(cache: Path, units: int, sites: int, density: float) -> Path:
    folder = cache / f"u{units}-s{sites}-d{density}"
    scenario = folder / "scenario.yaml"
    if not scenario.exists():
        subprocess.run([sys.executable, str(BENCH / "make_instance.py"), "--units", str(units), "--sites", str(sites),
                        "--density", str(density), "--seed", "0", "--out", str(folder)],
                       check=True, stdout=subprocess.DEVNULL)
    return scenario


def flow_variables(scenario: Path) -> int:
    with open(scenario.parent / "links.csv", "rb") as handle:
        return sum(1 for _ in handle) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 200000])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--density", type=float, default=0.2)
    parser.add_argument("--rules", nargs="+", default=list(RULES), choices=list(RULES))
    parser.add_argument("--peer-timeout", type=float, default=600.0)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "allocator-bench")
    parser.add_argument("--json", type=Path, help="write every row here")
    parser.add_argument("--chart", type=Path, help="write a log-log scaling chart here (needs matplotlib)")
    args = parser.parse_args()

    python = sys.executable
    rows, peer_stopped = [], ""
    header = (f"{'units':>8} {'flow vars':>10} {'rule':<22} {'program':<20} {'wall s':>8} {'peak MiB':>9} "
              f"{'vs ref':>7} {'vs peer':>8} {'mem vs ref':>10}  note")
    print(header, flush=True)
    with tempfile.TemporaryDirectory(prefix="allocator-suite-") as work:
        for units in sorted(args.sizes):
            scenario = instance(args.cache, units, args.sites, args.density)
            variables = flow_variables(scenario)
            for rule in args.rules:
                out = Path(work) / f"{units}-{rule}"
                runs = {"allocator": measure([python, "-m", "allocator", "solve", str(scenario), *RULES[rule],
                                              "--out", str(out), "--json"])}
                if rule in REFERENCE_RULES:
                    runs["reference_highs"] = measure([python, str(BENCH / "reference_highs.py"), str(scenario),
                                                       "--rule", rule, "--out", str(out) + "-ref"])
                if rule in PEER_RULES:
                    if peer_stopped:
                        runs["peer_pulp"] = {"seconds": None, "peak_mib": None, "ok": False, "note": peer_stopped}
                    else:
                        runs["peer_pulp"] = measure([python, str(BENCH / "peer_pulp.py"), str(scenario)],
                                                    timeout=args.peer_timeout)
                        took = runs["peer_pulp"]["seconds"]
                        if took is None or took > args.peer_timeout / 10:
                            peer_stopped = (f"not run: took {took:.0f} s at {units} units, 10x larger would exceed "
                                            f"{args.peer_timeout:.0f} s" if took else "not run: timed out at a smaller size")
                ref, peer = runs.get("reference_highs"), runs.get("peer_pulp")
                for program, run in runs.items():
                    row = {"units": units, "flow_variables": variables, "rule": rule, "program": program,
                           "seconds": run["seconds"], "peak_mib": run["peak_mib"], "ok": run["ok"], "note": run["note"]}
                    rows.append(row)
                    print(_line(row, ref, peer), flush=True)
    print(f"ratios: allocator / program in the same run; density {args.density}, {args.sites} sites, seed 0")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if args.chart:
        chart(rows, args.chart)


def _ratio(a, b) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def _line(row: dict, ref: dict | None, peer: dict | None) -> str:
    mine = row["program"] == "allocator"
    vs_ref = _ratio(row["seconds"], ref["seconds"]) if mine and ref else ""
    vs_peer = _ratio(row["seconds"], peer["seconds"]) if mine and peer else ""
    mem = _ratio(row["peak_mib"], ref["peak_mib"]) if mine and ref else ""
    secs = f"{row['seconds']:.2f}" if row["seconds"] is not None else "-"
    peak = f"{row['peak_mib']:.0f}" if row["peak_mib"] is not None else "-"
    return (f"{row['units']:>8} {row['flow_variables']:>10} {row['rule']:<22} {row['program']:<20} {secs:>8} "
            f"{peak:>9} {vs_ref:>7} {vs_peer:>8} {mem:>10}  {row['note']}")


def chart(rows: list[dict], path: Path) -> None:
    """Log-log time against flow variables for maxmin (ours, reference, peer), with fitted exponents."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for program in ("allocator", "reference_highs", "peer_pulp"):
        points = [(r["flow_variables"], r["seconds"]) for r in rows
                  if r["rule"] == "maxmin" and r["program"] == program and r["seconds"]]
        if not points:
            continue
        x, y = np.array(points, dtype=float).T
        label = program
        if len(points) > 1:
            slope = np.polyfit(np.log(x), np.log(y), 1)[0]
            label += f" (exponent {slope:.2f})"
        ax.loglog(x, y, marker="o", label=label)
    ax.set_xlabel("flow variables")
    ax.set_ylabel("wall seconds, end to end (maxmin)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
