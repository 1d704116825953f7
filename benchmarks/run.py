#!/usr/bin/env python3
"""Benchmark `allocator solve` against the raw-HiGHS reference and the hand-written PuLP peer.

One command, one run, one table:

    python benchmarks/run.py                       # 20,000 units x 50 sites, density 0.2, maxmin
    python benchmarks/run.py --units 2000 --skip-peer

Each program runs as its own process on the same files; wall time and peak memory (max RSS
of that process, from os.wait4) are measured from outside. `allocator` is timed end to end:
read, build, solve and write all outputs. Ratios are ours / theirs from this one run (the
machines are shared and noisy: compare ratios, not absolute seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ALLOCATOR_SHARED", ROOT.parent / "shared"))
BENCH = SHARED / "bench"
_compiled = False


def compile_package() -> None:
    """Write allocator's bytecode, as ``pip install`` does for an installed package.

    Editable checkouts with ``PYTHONDONTWRITEBYTECODE=1`` (set on this machine) would otherwise
    compile every allocator module from source in every timed process (about 0.06 s), a cost no
    installed copy pays and the yardsticks' own libraries never pay.
    """
    import compileall

    compileall.compile_dir(ROOT / "allocator", quiet=1)


def measure(command: list[str], timeout: float | None = None) -> dict:
    """Run ``command``; return wall seconds, peak RSS in MiB, exit status and stdout.

    The first call writes allocator's bytecode first (:func:`compile_package`).
    """
    global _compiled
    if not _compiled:
        compile_package()
        _compiled = True
    start = time.perf_counter()
    with tempfile.TemporaryFile() as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE)
        deadline = None if timeout is None else start + timeout
        while True:
            # without a timeout, block in wait4: the wall time is then exact, not rounded up to a poll
            pid, status, usage = os.wait4(process.pid, 0 if deadline is None else os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                return {"seconds": None, "peak_mib": None, "ok": False, "note": f"timed out after {timeout:.0f} s"}
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        stdout.seek(0)
        text = stdout.read().decode(errors="replace")
    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "ok": code == 0,
            "note": "" if code == 0 else f"exit {code}: {err.strip()[-300:]}", "stdout": text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=20000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--density", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rule", choices=["maxmin", "utilitarian"], default="maxmin")
    parser.add_argument("--skip-peer", action="store_true", help="do not run the PuLP peer")
    parser.add_argument("--peer-timeout", type=float, default=600.0)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()

    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="allocator-bench-") as work:
        work = Path(work)
        subprocess.run([python, str(BENCH / "make_instance.py"), "--units", str(args.units), "--sites",
                        str(args.sites), "--density", str(args.density), "--seed", str(args.seed),
                        "--out", str(work / "instance")], check=True, stdout=subprocess.DEVNULL)
        scenario = work / "instance" / "scenario.yaml"
        rows = []
        ours = measure([python, "-m", "allocator", "solve", str(scenario), "--rule", args.rule,
                        "--out", str(work / "ours"), "--json"])
        rows.append(("allocator (highs)", ours))
        reference = measure([python, str(BENCH / "reference_highs.py"), str(scenario), "--rule", args.rule,
                             "--out", str(work / "reference")])
        rows.append(("reference_highs.py", reference))
        if not args.skip_peer and args.rule == "maxmin":
            rows.append(("peer_pulp.py (CBC)", measure([python, str(BENCH / "peer_pulp.py"), str(scenario)],
                                                       timeout=args.peer_timeout)))
        agree = ""
        if ours["ok"] and reference["ok"]:
            mine = json.loads(ours["stdout"])["metrics"]
            theirs = json.loads(reference["stdout"].strip().splitlines()[-1])
            agree = (f"min_fill_rate {mine['min_fill_rate']:.6f} vs {theirs['min_fill_rate']:.6f}; "
                     f"total_value {mine['total_value']:.2f} vs {theirs['total_value']:.2f}")

    print(f"instance: {args.units} units x {args.sites} sites, density {args.density}, seed {args.seed}; "
          f"rule {args.rule}")
    print(f"{'program':<22} {'wall s':>9} {'peak MiB':>9} {'time ratio':>11} {'mem ratio':>10}  note")
    for name, row in rows:
        ratio_t = (f"{row['seconds'] / reference['seconds']:.2f}x" if row["seconds"] and reference["seconds"]
                   else "-")
        ratio_m = (f"{row['peak_mib'] / reference['peak_mib']:.2f}x" if row["peak_mib"] and reference["peak_mib"]
                   else "-")
        secs = f"{row['seconds']:.2f}" if row["seconds"] is not None else "-"
        mem = f"{row['peak_mib']:.0f}" if row["peak_mib"] is not None else "-"
        print(f"{name:<22} {secs:>9} {mem:>9} {ratio_t:>11} {ratio_m:>10}  {row['note']}")
    print("ratios are to reference_highs.py from this run")
    if agree:
        print(f"agreement (allocator vs reference): {agree}")
    if args.json:
        args.json.write_text(json.dumps([{"program": n, **{k: v for k, v in r.items() if k != "stdout"}}
                                         for n, r in rows], indent=2))


if __name__ == "__main__":
    main()
