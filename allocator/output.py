"""Atomic output folders: write everything into a temporary sibling folder, then rename.

An interrupted run leaves nothing half-written (the temporary folder is removed), and an
existing folder is replaced only with ``force``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from allocator.errors import OutputExistsError


@contextlib.contextmanager
def atomic_folder(target: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``target`` when the block ends without error.

    Raises
    ------
    OutputExistsError
        If ``target`` exists and ``force`` is false (checked before anything is written).
    """
    target = Path(target)
    if target.exists() and not force:
        raise OutputExistsError(f"output folder {target} exists already; pass --force to replace it")
    if target.exists() and not target.is_dir():
        raise OutputExistsError(f"{target} exists and is not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield staging
        for path in staging.iterdir():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, retired / target.name)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
