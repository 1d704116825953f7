"""Input paths of the audit trail: relative to the result folder when saved, resolved back when read.

A project folder that holds a scenario and its results can then be moved or copied and still
verify: ``results/run1/summary.json`` records ``../../scenarios/city/units.csv``, not where the
project happened to sit on the machine that solved it.
"""

from __future__ import annotations

import os
from pathlib import Path


def relative_inputs(audit: dict, folder: str | os.PathLike[str]) -> dict:
    """``audit`` with each input path relative to ``folder``, with ``/`` separators on every platform.

    Examples
    --------
    >>> relative_inputs({"inputs": [{"role": "units", "path": "/p/city/units.csv"}]}, "/p/out")["inputs"]
    [{'role': 'units', 'path': '../city/units.csv'}]
    """
    if not audit.get("inputs"):
        return audit
    base = Path(folder).resolve()
    inputs = []
    for item in audit["inputs"]:
        try:
            path = Path(os.path.relpath(item["path"], base)).as_posix()
        except ValueError:  # another drive (Windows): only the absolute path says where the file is
            path = item["path"]
        inputs.append({**item, "path": path})
    return {**audit, "inputs": inputs}


def recorded_file(path: str, folder: str | Path) -> Path:
    """A recorded input path as the file it names: a relative one from ``folder`` (after following
    links, as it was written), an absolute one (``summary.json`` files of allocator 0.1) as it is."""
    recorded = Path(path)
    return recorded if recorded.is_absolute() else Path(folder).resolve() / recorded
