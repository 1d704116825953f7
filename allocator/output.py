"""Atomic output folders: write everything into a temporary sibling folder, then rename.

An interrupted run leaves nothing half-written (the temporary folder is removed), and an
existing folder is replaced only with ``force``, and only if it is empty or holds an earlier
allocator result (a ``summary.json``): ``--force`` never deletes someone else's folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from allocator.errors import OutputExistsError

#: the file that marks a folder as an allocator result
MARKER = "summary.json"


def check_output_folder(target: str | Path, *, force: bool = False) -> None:
    """Raise :class:`OutputExistsError` unless ``target`` may be written (before any work is done)."""
    target = Path(target)
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputExistsError(f"{target} exists and is not a folder")
    if not force:
        raise OutputExistsError(f"output folder {target} exists already; pass --force to replace it")
    resolved, here = target.resolve(), Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise OutputExistsError(f"refusing to replace {target}: it is the working folder or contains it")
    if any(target.iterdir()) and not (target / MARKER).is_file():
        raise OutputExistsError(f"refusing to replace {target}: it is not empty and holds no {MARKER}, so it "
                                "does not look like an earlier allocator result; choose another --out")


@contextlib.contextmanager
def atomic_folder(target: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``target`` when the block ends without error.

    Raises
    ------
    OutputExistsError
        If ``target`` may not be replaced (see :func:`check_output_folder`), before anything is written.
    """
    target = Path(target)
    check_output_folder(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    retired = None
    try:
        yield staging
        for path in staging.iterdir():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; outputs are ordinary folders
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, retired / target.name)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
