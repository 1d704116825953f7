"""Write a rule's first-stage LP as an LP or MPS file (through PuLP, the portable backend)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from allocator.backends.pulp import PulpBackend
from allocator.compiler import compile
from allocator.errors import OutputExistsError, UsageError
from allocator.scenario.model import Scenario

FORMATS = (".lp", ".mps")


def export_lp(scenario: Scenario, path: str | Path, rule=None, constraints=None, *, force: bool = False) -> Path:
    """Write the first-stage LP of ``rule`` on ``scenario`` to ``path`` (``.lp`` or ``.mps``), atomically.

    Columns and rows are named ``<block>_<index>`` (``flow_12``, ``demand_3``, ``level_0``...).
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"cannot tell the format of {path.name}: use a file name ending in .lp or .mps")
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists already; pass --force to replace it")
    model = compile(scenario, rule, constraints)
    lp = model.rule.first_stage(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    try:
        PulpBackend().write(lp, staging)
        os.replace(staging, path)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
    return path
