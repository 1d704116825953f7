"""A simulation's folder: its plan, one Parquet shard pair per finished shard, and resumption.

Layout::

    OUT/simulation.json          the plan (rules, uncertainty, draws, seed, shard size, input hashes)
    OUT/shards/groups-00012.parquet
    OUT/shards/metrics-00012.parquet   written last: its presence means shard 12 is complete

Every file is written to a temporary name in the same folder and renamed into place, so a
killed run leaves complete shards and at most some temporary files, which the next run removes.
``resume=True`` checks that the folder holds the same plan and skips the shards it finds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from allocator.core.errors import Message, OutputExistsError, Parameter, UsageError
from allocator.io.atomic import check_output_folder, named_write_failures
from allocator.model.problem import Problem

PLAN_FILE = "simulation.json"
#: everything a simulation folder holds (shards, summaries, temporary files of a killed run); with
#: ``force`` a folder holding anything else is refused
SIMULATION_OUTPUTS = ("simulation.json", "shards", "shards/groups-*.parquet", "shards/metrics-*.parquet",
                      "metrics.parquet", "metric_summary.csv", "groups.csv", "distributions.png", "summary.json")
#: what :meth:`ShardStore.write` names a shard's marker file
SHARD_NAME = re.compile(r"metrics-(\d{5})\.parquet")


def scenario_fingerprint(scenario) -> str:
    """sha256 of the numbers a simulation reads (demand, values, supply, access, groups, unit columns):
    a resumed run of a scenario built in code, which has no input files to hash, is checked too."""
    problem = Problem.from_scenario(scenario)
    digest = hashlib.sha256()
    for array in (problem.pair_unit, problem.pair_resource, problem.pair_demand, problem.pair_value,
                  problem.flow_pair, problem.flow_site, problem.supply):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update("\0".join(map(str, problem.unit_ids)).encode())
    for name, codes in sorted(problem.groups.items()):
        digest.update(name.encode() + codes.codes.tobytes() + "\0".join(codes.labels).encode())
    for name, column in sorted(problem.unit_columns.items()):
        digest.update(name.encode() + "\0".join(map(str, column)).encode())
    return digest.hexdigest()


class ShardStore:
    """The shards of one simulation in ``folder`` (see the module docstring)."""

    def __init__(self, folder: str | Path, plan: dict, *, resume: bool = False, force: bool = False,
                 inputs: Iterable[str | Path] = ()):
        if importlib.util.find_spec("pyarrow") is None:
            raise UsageError("simulation shards are Parquet files, which need pyarrow (a dependency of allocator "
                             "that is missing here): reinstall allocator, or pip install pyarrow")
        self.folder = Path(folder)
        self.shards = self.folder / "shards"
        self.count = -(-int(plan["draws"]) // int(plan["shard_size"]))  # the plan's shards: 0 .. count - 1
        if self.folder.exists() and not self.folder.is_dir():
            raise OutputExistsError(f"{self.folder} exists and is not a folder")
        occupied = self.folder.exists() and any(self.folder.iterdir())
        if occupied and resume:
            self._check_same_plan(plan)
        elif occupied and not force:
            raise OutputExistsError(Message(
                f"{self.folder} exists already: ", Parameter("resume", True), " to continue that simulation, ",
                Parameter("force", True), " to replace it, or choose another folder"))
        elif occupied:
            # the same rule as every output folder: only what allocator wrote, never an input of the run
            check_output_folder(self.folder, force=True, inputs=inputs, legacy=SIMULATION_OUTPUTS,
                                marker=PLAN_FILE)
            shutil.rmtree(self.folder)
        created = not self.folder.exists()
        with named_write_failures(self.folder):
            self.shards.mkdir(parents=True, exist_ok=True)
        for stale in self.shards.glob(".*.tmp-*"):  # left by a run that was killed while writing
            stale.unlink(missing_ok=True)
        if not (self.folder / PLAN_FILE).exists():
            try:
                _write_atomic(self.folder / PLAN_FILE, lambda path: path.write_text(
                    json.dumps(plan, indent=2, sort_keys=True) + "\n", encoding="utf-8"))
            except BaseException:  # a full disk: an empty folder left would refuse the next run
                if created:
                    shutil.rmtree(self.folder, ignore_errors=True)
                raise

    def _check_same_plan(self, plan: dict) -> None:
        path = self.folder / PLAN_FILE
        if not path.exists():
            raise UsageError(f"{self.folder} is not a simulation folder (no {PLAN_FILE}): nothing to resume")
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            recorded = exc
        if not isinstance(recorded, dict):
            raise UsageError(f"{path} cannot be read as a simulation plan ({recorded!s:.200}); expected the plan "
                             "the simulation wrote: start the simulation again instead of resuming it")
        current = json.loads(json.dumps(plan))  # the same JSON round trip as the recorded copy
        differ = sorted(k for k in set(recorded) | set(current) if recorded.get(k) != current.get(k))
        if differ:
            raise UsageError(Message(f"{self.folder} holds a different simulation (it differs in: {', '.join(differ)}); "
                                     "resume with the same scenario and options, or use ", Parameter("force", True),
                                     " to start again"))

    def done(self) -> set[int]:
        """Shards of the plan whose two files are on disk (other files in ``shards/`` are not read)."""
        named = (SHARD_NAME.fullmatch(p.name) for p in self.shards.glob("metrics-*.parquet"))
        found = {int(m.group(1)) for m in named if m}
        return {k for k in found if k < self.count and (self.shards / f"groups-{k:05d}.parquet").is_file()}

    def write(self, shard: int, metrics: pd.DataFrame, groups: pd.DataFrame) -> None:
        """Store one finished shard (groups first: the metrics file marks it complete)."""
        _write_atomic(self.shards / f"groups-{shard:05d}.parquet", lambda p: groups.to_parquet(p, index=False))
        _write_atomic(self.shards / f"metrics-{shard:05d}.parquet", lambda p: metrics.to_parquet(p, index=False))

    def load(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Every stored shard, concatenated in shard order."""
        done = sorted(self.done())
        metrics = [self._read(f"metrics-{k:05d}.parquet") for k in done]
        groups = [self._read(f"groups-{k:05d}.parquet") for k in done]
        return (pd.concat(metrics, ignore_index=True) if metrics else pd.DataFrame(),
                pd.concat(groups, ignore_index=True) if groups else pd.DataFrame())

    def _read(self, name: str) -> pd.DataFrame:
        try:
            # absolute: pyarrow reads a relative "a:b/shards/..." (a folder name with a colon) as a URI
            return pd.read_parquet((self.shards / name).absolute())
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise UsageError(f"{self.shards / name} cannot be read as a shard ({exc!s:.200}); remove it and "
                             "resume: its draws are solved again") from None


def _write_atomic(target: Path, write) -> None:
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with named_write_failures(target):  # a full disk names the shard, not its temporary name
            write(temporary)
            os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
