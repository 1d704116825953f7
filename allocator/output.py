"""Atomic output folders: write everything into a temporary sibling folder, then rename.

An interrupted run leaves nothing half-written (the temporary folder is removed), and an
existing folder is replaced only with ``force``, and only if it is empty or holds an earlier
allocator result (a ``summary.json``): ``--force`` never deletes someone else's folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import os
import shutil
import sys
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

    The new folder replaces an old one in a single atomic exchange where the platform has one
    (Linux ``renameat2``), so a run killed at any moment leaves either the old outputs or the
    complete new ones under ``target``. Elsewhere the old folder is moved aside first and a
    later run puts it back if the process died in between. Temporary folders of runs that
    were killed are removed by the next run.

    Raises
    ------
    OutputExistsError
        If ``target`` may not be replaced (see :func:`check_output_folder`), before anything is written.
    """
    target = Path(target)
    if target.parent.is_dir():
        _clear_debris(target)  # first: outputs a killed run moved aside are back before the --force check
    check_output_folder(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
    retired = None
    try:
        yield staging
        for path in staging.iterdir():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; outputs are ordinary folders
        if not target.exists():
            os.replace(staging, target)
        elif not _exchange(staging, target):  # staging now holds the old outputs
            retired = target.parent / f".{target.name}.old-{os.getpid()}"
            os.replace(target, retired)
            os.replace(staging, target)
        _fsync_folder(target.parent)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if done != 0:
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS, errno.EPERM):  # file system or kernel without it
            return False
        raise OSError(code, os.strerror(code), str(b))
    return True


def _clear_debris(target: Path) -> None:
    """Remove what killed runs left next to ``target``; restore outputs moved aside but never replaced."""
    for path in target.parent.glob(f".{glob.escape(target.name)}.*-*"):
        kind, _, rest = path.name[len(target.name) + 2:].partition("-")
        pid = rest.split("-", 1)[0]
        if kind not in ("tmp", "old") or not pid.isdigit() or _alive(int(pid)):
            continue
        if kind == "old" and not target.exists():
            os.replace(path, target)  # the run died between moving the old outputs aside and renaming
        else:
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(target: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path that becomes ``target`` (one file) when the block ends without error.

    Raises
    ------
    OutputExistsError
        If ``target`` exists and ``force`` is false, or it is not a file, before anything is written.
    """
    target = Path(target)
    check_output_file(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent)
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
        with open(staging, "rb") as written:
            os.fsync(written.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o666 & ~umask)
        os.replace(staging, target)
        _fsync_folder(target.parent)
    finally:
        if staging.exists():
            staging.unlink()


def check_output_file(target: str | Path, *, force: bool = False) -> None:
    """Raise :class:`OutputExistsError` unless the file ``target`` may be written."""
    target = Path(target)
    if not target.exists():
        return
    if not target.is_file():
        raise OutputExistsError(f"{target} exists and is not a file")
    if not force:
        raise OutputExistsError(f"{target} exists already; pass --force to replace it")
