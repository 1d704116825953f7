#!/usr/bin/env python3
"""Exact at any size: every reported fill rate and amount against the level the rule certifies.

    python benchmarks/exactness.py                 # 2,000,000 pooled units, maxmin and leximin
    python benchmarks/exactness.py --units 200000 --sited 0   # a quicker look

A second row runs maxmin on the benchmark instance with sites (``--sited`` units x 50 sites at
density 0.2: 2,000,000 links at the default 200,000 units), where no closed form exists: there the
check is that every unit's rate, ``min_fill_rate`` and the certified level agree, and that no site
ships more than it holds.

The instance has a closed form. One unit asks for 1 and the other ``n - 1`` ask for 9; a single pool
holds ``n / 2`` (1,000,000 at n = 2,000,000). Nothing else limits anyone, so max-min (and leximin)
gives every unit the same rate, ``t* = (n / 2) / (1 + 9 (n - 1))`` (0.0555556 at n = 2,000,000), and
the pool is used up.
Before issue 22 the max-flow engine handed the round-off of the full pool to one unit (0.055549
against 0.055556). Each rule runs as ``allocator solve --out`` in its own process; the check reads
the files a planner reads (``allocations.csv``, ``summary.json``) and fails loudly on any
disagreement beyond the tolerance policy (docs/solving.md): a rate more than 5e-7 from ``t*``
after the reported rounding (rates are written to 6 decimals), an amount more than 1e-6 (relative)
from ``t* x demand`` (amounts are written to 7 significant digits), or a total above the pool.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import allocator  # noqa: E402
from benchmarks.run import measure  # noqa: E402
from benchmarks.suite import instance  # noqa: E402

#: the tolerance policy's (allocator.core.tolerance.PARAMETER_TOLERANCE) on top of the reported rounding
RATE_TOLERANCE = 5e-7 + 0.5e-6
AMOUNT_TOLERANCE = 1e-6


def pooled_instance(folder: Path, units: int, supply: float) -> Path:
    """The closed-form instance above, written once per size."""
    scenario = folder / f"pooled-{units}-{supply:.0f}" / "scenario.yaml"
    if not scenario.exists():
        scenario.parent.mkdir(parents=True, exist_ok=True)
        demand = np.full(units, 9.0)
        demand[0] = 1.0
        pd.DataFrame({"id": [f"u{i}" for i in range(units)], "demand": demand}).to_csv(
            scenario.parent / "units.csv", index=False)
        scenario.write_text(f"name: pooled-{units}\nresources: [{{id: food, unit: lb}}]\n"
                            f"supply: {{food: {supply:.0f}}}\nunits: units.csv\n", encoding="utf-8")
    return scenario


def check(folder: Path, level: float | None, supply: dict[str, float]) -> tuple[list[str], dict]:
    """Disagreements between the written outputs and the level: ``level`` (closed form, every unit
    at it) or, if ``None``, the certified level ``summary.json`` reports (no unit below it, and no
    site shipping more than ``supply`` says it holds; the pooled instance's one pool is ``None``)."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    table = pd.read_csv(folder / "allocations.csv")
    rates, amounts = table["fill_rate"].to_numpy(), table["allocated"].to_numpy()
    certified = summary["equity"].get("level")
    found = {"level": certified, "min_fill_rate": summary["metrics"]["min_fill_rate"],
             "lowest rate": float(rates.min()), "highest rate": float(rates.max()), "worst amount": float("nan")}
    problems = []
    if level is None:  # no closed form: the outputs must agree with the rule's own certificate
        level = certified
        compared = ("min_fill_rate", "lowest rate")
        shipped = pd.read_csv(folder / "flows.csv").groupby("site")["quantity"].sum()
        over = [site for site, amount in shipped.items() if amount > supply[site] * (1 + AMOUNT_TOLERANCE)]
        if over:
            problems.append(f"{len(over)} sites ship more than they hold, e.g. {over[0]}")
    else:
        compared = ("level", "min_fill_rate", "lowest rate", "highest rate")
        wanted = level * table["demand"].to_numpy()
        found["worst amount"] = float(np.max(np.abs(amounts - wanted) / wanted))
        if found["worst amount"] > AMOUNT_TOLERANCE:
            problems.append(f"an amount is {found['worst amount']:.2g} (relative) from t* x demand")
        if amounts.sum() > supply[None] * (1 + AMOUNT_TOLERANCE):
            problems.append(f"the total {amounts.sum():.10g} exceeds the pool {supply[None]:.0f}")
    problems += [f"{name} {found[name]:.7g} is not the level {level:.7g}" for name in compared
                 if abs(found[name] - level) > RATE_TOLERANCE]
    return problems, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=2_000_000)
    parser.add_argument("--rules", nargs="*", default=["maxmin", "leximin"])
    parser.add_argument("--sited", type=int, default=200_000, help="units of the sited row (0: skip it)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "allocator-bench")
    args = parser.parse_args()
    pool = args.units / 2
    scenario = pooled_instance(args.cache, args.units, pool)
    level = pool / (1 + 9 * (args.units - 1))
    print(f"instance: {args.units:,} pooled units (one asks 1, the rest 9), pool {pool:,.0f}; t* = {level:.9f}")
    print(f"{'rule':<10} {'wall s':>8} {'peak MiB':>9} {'level':>9} {'lowest':>9} {'highest':>9} "
          f"{'worst amount':>13}  verdict")
    runs = [(rule, scenario, level, {None: pool}) for rule in args.rules]
    if args.sited:
        sited = instance(args.cache, args.sited, 50, 0.2)
        supply = {site.id: site.supply["food"] for site in allocator.load_scenario(sited).sites}
        runs.append((f"maxmin, {args.sited:,} units x 50 sites", sited, None, supply))
    failed = False
    with tempfile.TemporaryDirectory() as work:
        for number, (label, path, closed_form, supply) in enumerate(runs):
            out = Path(work) / str(number)
            run = measure([sys.executable, "-m", "allocator", "solve", str(path), "--rule", label.split(",")[0],
                           "--out", str(out)])
            if not run["ok"]:
                print(f"{label:<10} failed: {run['note']}")
                failed = True
                continue
            problems, found = check(out, closed_form, supply)
            failed |= bool(problems)
            print(f"{label:<10} {run['seconds']:>8.2f} {run['peak_mib']:>9.0f} {found['level']:>9.6f} "
                  f"{found['lowest rate']:>9.6f} {found['highest rate']:>9.6f} {found['worst amount']:>13.1e}  "
                  f"{'; '.join(problems) or 'exact to the policy'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
