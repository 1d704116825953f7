#!/usr/bin/env python3
"""Flow-network benchmark: 1,000 nodes, 5,000 edges, 50,000 units, against a raw-HiGHS build of the same LP.

    python benchmarks/network.py                      # writes the instance to /tmp/allocator-bench/network
    python benchmarks/network.py --units 5000 --nodes 200 --edges 1000

The instance is random but seeded: 50 warehouse nodes hold the stock (about 60% of the demand),
every other node is reached from an earlier one (so the network is connected), the remaining
edges are random, each with a capacity and a cost; units wait at random nodes. allocator solves
it end to end (``allocator solve --rule utilitarian --out ...``: read, validate, build, solve,
write every output) and benchmarks/network_reference.py solves the same LP with highspy and
nothing else. Both are whole processes; the ratio is from this one run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import measure  # noqa: E402


def write_instance(folder: Path, units: int, nodes: int, edges: int, warehouses: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = np.array([f"n{i:04d}" for i in range(nodes)])
    parent = np.array([rng.integers(0, i) for i in range(1, nodes)])
    tail = np.concatenate([parent, rng.integers(0, nodes, edges - (nodes - 1))])
    head = np.concatenate([np.arange(1, nodes), rng.integers(0, nodes, edges - (nodes - 1))])
    keep = tail != head
    routes = pd.DataFrame({"from": names[tail[keep]], "to": names[head[keep]],
                           "capacity": rng.integers(200, 5000, keep.sum()), "cost": rng.integers(1, 10, keep.sum())})
    demand = rng.integers(1, 20, units)
    frame = pd.DataFrame({"id": [f"u{i:06d}" for i in range(units)], "demand": demand,
                          "node": names[rng.integers(0, nodes, units)]})
    stock = pd.DataFrame({"node": names[:warehouses],
                          "supply": np.round(rng.dirichlet(np.ones(warehouses)) * 0.6 * demand.sum(), 1)})
    frame.to_csv(folder / "units.csv", index=False)
    routes.to_csv(folder / "routes.csv", index=False)
    stock.to_csv(folder / "stock.csv", index=False)
    sites = "".join(f"  - {{id: {row.node}, supply: {{food: {row.supply}}}}}\n" for row in stock.itertuples())
    (folder / "scenario.yaml").write_text(
        f"name: network-benchmark\nresources: [{{id: food}}]\nunits: units.csv\nsites:\n{sites}"
        "network: {mode: flow, edges: routes.csv}\nrule: utilitarian\n")
    return folder / "scenario.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--edges", type=int, default=5_000)
    parser.add_argument("--warehouses", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "allocator-bench")
    args = parser.parse_args()
    folder = args.cache / f"network-u{args.units}-n{args.nodes}-e{args.edges}"
    scenario = write_instance(folder, args.units, args.nodes, args.edges, args.warehouses, args.seed)
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="allocator-network-") as work:
        ours = measure([python, "-m", "allocator", "solve", str(scenario), "--out", str(Path(work) / "out"), "--json"])
    reference = measure([python, str(Path(__file__).with_name("network_reference.py")), str(folder)])
    delivered_ours = __import__("json").loads(ours["stdout"])["metrics"]["total_allocated"] if ours["ok"] else None
    delivered_ref = float(reference["stdout"].split()[-1]) if reference["ok"] else None
    print(f"instance: {args.units} units, {args.nodes} nodes, {args.edges} edges, {args.warehouses} warehouses; "
          "rule utilitarian (flow network)")
    print(f"{'program':<26} {'wall s':>8} {'peak MiB':>9} {'time ratio':>11} {'mem ratio':>10}")
    for name, row in (("allocator (end to end)", ours), ("network_reference.py", reference)):
        print(f"{name:<26} {row['seconds'] or float('nan'):>8.2f} {row['peak_mib'] or float('nan'):>9.0f} "
              f"{(row['seconds'] or 0) / reference['seconds']:>10.2f}x {(row['peak_mib'] or 0) / reference['peak_mib']:>9.2f}x"
              f"  {row['note']}")
    print(f"total delivered: allocator {delivered_ours}, reference {delivered_ref}")


if __name__ == "__main__":
    main()
