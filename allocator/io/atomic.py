"""Atomic output folders: write everything into a temporary sibling folder, then rename.

An interrupted run leaves nothing half-written (the temporary folder is removed). An existing
folder is replaced only with ``force``, and only if allocator wrote everything in it: every
folder allocator writes carries a manifest (:data:`MANIFEST`) listing its files, and a folder
with a file the manifest does not list, or holding an input of the run, is refused whatever
``force`` says. ``force`` never deletes a file the user owns.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fnmatch
import glob
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from allocator._version import __version__
from allocator.core.errors import Message, OutputExistsError, OutputWriteError, Parameter

#: the file that marks a folder as an allocator result
MARKER = "summary.json"
#: the list of files allocator wrote into an output folder, written last into every output folder
MANIFEST = ".allocator-output.json"
#: what an output folder of an allocator release without manifests may hold (besides temporary files
#: of a killed run): a folder with :data:`MARKER` and nothing but these is an earlier result
LEGACY_OUTPUTS = (
    "summary.json", "allocations.csv", "groups.csv", "flows.csv", "edges.csv", "nodes.csv", "units.csv",
    "sites.csv", "constraints.csv", "disparity.csv", "decomposition.csv", "draws.csv", "expected.csv",
    "per_unit.csv", "frontier.csv", "comparison.csv", "variants.csv", "bounds.csv", "bounds.json", "*.png",
    "simulation.json", "metrics.parquet", "metric_summary.csv", "shards", "shards/*.parquet", "shards/.*.tmp-*",
)


def check_output_folder(target: str | Path, *, force: bool = False, inputs: Iterable[str | Path] = (),
                        legacy: tuple[str, ...] = LEGACY_OUTPUTS, marker: str = MARKER) -> None:
    """Raise :class:`OutputExistsError` unless ``target`` may be written (before any work is done).

    Parameters
    ----------
    target : str or Path
        The output folder.
    force : bool
        Replace an existing folder that allocator wrote (never any other).
    inputs : iterable of paths
        Files the run reads (the scenario and its tables): a folder that holds one is never replaced.
    legacy, marker : tuple of str, str
        File name patterns an allocator folder without a manifest may hold, and the file that marks one.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "scenario.yaml").write_text("name: mine")
    10
    >>> check_output_folder(folder, force=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    allocator.core.errors.OutputExistsError: refusing to replace ...: it holds scenario.yaml, which allocator did not write; ...
    """
    target = Path(target)
    _refuse_inputs(target, inputs)
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputExistsError(f"{target} exists and is not a folder")
    if not force:
        raise OutputExistsError(Message(f"output folder {target} exists already; pass ", Parameter("force", True),
                                        " to replace it"))
    if target.is_symlink():  # renaming would replace the link, not the folder, and leave the link behind
        raise OutputExistsError(f"refusing to replace {target}: it is a symbolic link; name the folder it points to "
                                f"({_resolved(target) or 'a link loop'})")
    resolved, here = _resolved(target), Path.cwd().resolve()
    if resolved is None:
        raise OutputExistsError(f"{target} is a symbolic link loop, not a folder")
    if resolved == here or resolved in here.parents:
        raise OutputExistsError(f"refusing to replace {target}: it is the working folder or contains it")
    foreign = foreign_files(target, legacy, marker)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise OutputExistsError(f"refusing to replace {target}: it holds {shown}, which allocator did not write; "
                                "move those files out or choose another output folder")


def foreign_files(folder: Path, legacy: tuple[str, ...] = LEGACY_OUTPUTS, marker: str = MARKER) -> list[str]:
    """Files (and folders) under ``folder`` that allocator did not write, as sorted relative paths.

    With a manifest, everything it does not list is foreign. Without one (an earlier release, a
    simulation folder written shard by shard, or not an allocator folder at all), a folder holding
    ``marker`` may hold only ``legacy`` names; any other non-empty folder is foreign as a whole.
    """
    present = sorted(_relative_entries(folder))
    if not present:
        return []
    listed = _manifest_files(folder)
    if listed is not None:
        allowed = set(listed) | {MANIFEST} | {str(Path(f).parent.as_posix()) for f in listed}
        return [p for p in present if p not in allowed and not _is_debris(p)]
    if marker not in present:
        return [p for p in present if "/" not in p]
    return [p for p in present if not _is_debris(p) and not any(fnmatch.fnmatchcase(p, pat) for pat in legacy)]


def _is_debris(relative: str) -> bool:
    """A temporary file of an earlier, killed write (``.name.tmp-PID-...``)."""
    name = relative.rsplit("/", 1)[-1]
    return name.startswith(".") and ".tmp-" in name


def _relative_entries(folder: Path) -> Iterator[str]:
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder)
        for name in sorted(dirs) + sorted(files):
            yield (base / name).as_posix()


def _manifest_files(folder: Path) -> list[str] | None:
    try:
        content = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = content["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else None


def write_manifest(folder: Path) -> None:
    """List every file under ``folder`` in its manifest (called last, so the manifest never lists a file
    that is not there)."""
    files = [p for p in sorted(_relative_entries(folder)) if (folder / p).is_file() and p != MANIFEST]
    (folder / MANIFEST).write_text(json.dumps({"written_by": "allocator", "version": __version__, "files": files},
                                              indent=2) + "\n", encoding="utf-8")


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python < 3.13)
        return None


def _refuse_inputs(target: Path, inputs: Iterable[str | Path]) -> None:
    """An output must not be, or hold, a file the run reads: replacing it would delete the user's input."""
    resolved = _resolved(target)
    for item in inputs:
        path = _resolved(Path(item))
        if path is None or resolved is None:
            continue  # a symbolic link loop: the loader names it; there is nothing to overwrite
        if path == resolved or resolved in path.parents:
            raise OutputExistsError(f"refusing to write {target}: it {'is' if path == resolved else 'holds'} "
                                    f"{path.name}, an input of this run; choose an output outside the inputs")


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike[str], *, force: bool = False, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
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
        _clear_debris(target)  # first: outputs a killed run moved aside are back before the force check
    check_output_folder(target, force=force, inputs=inputs)
    with named_write_failures(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
    retired = None
    try:
        with named_write_failures(target, staging):
            yield staging
            write_manifest(staging)
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


@contextlib.contextmanager
def named_write_failures(target: str | Path, staging: str | Path | None = None) -> Iterator[None]:
    """Raise :class:`~allocator.core.errors.OutputWriteError` naming the output for any ``OSError`` in the block.

    A full disk fails a ``write`` that names no file, and a failure inside ``staging`` names a
    temporary path the user never asked for: the message names the file under ``target``
    instead (``out/allocations.csv``), or ``target`` itself.

    Examples
    --------
    >>> with named_write_failures("out"):
    ...     raise OSError(28, "No space left on device")
    Traceback (most recent call last):
    ...
    allocator.core.errors.OutputWriteError: cannot write out: No space left on device
    """
    try:
        yield
    except OSError as exc:
        target, reason, culprit = Path(target), exc.strerror or str(exc), exc.filename
        if isinstance(culprit, (str, os.PathLike)) and Path(culprit) in target.parents:  # a folder on the way
            not_folder = exc.errno in (errno.EEXIST, errno.ENOTDIR)
            reason = f"{culprit} is not a folder" if not_folder else f"{culprit}: {reason}"
        raise OutputWriteError(_shown_path(target, staging, culprit), reason) from exc


def _shown_path(target: Path, staging: str | Path | None, filename) -> Path:
    """The path a failure names: a file under ``staging`` as the same file under ``target``, else ``target``.

    A failed ``write`` names no file; the one being written is then the newest file in ``staging``."""
    if staging is None:
        return target
    if not isinstance(filename, (str, os.PathLike)):
        filename = _newest_file(Path(staging))
        if filename is None:
            return target
    try:
        inside = Path(filename).relative_to(staging)
    except ValueError:
        return target
    return target / inside if inside.parts else target


def _newest_file(folder: Path) -> Path | None:
    """The file under ``folder`` written last (``None`` when none is, or two tie)."""
    try:
        stamps = sorted(((path.stat().st_mtime_ns, path) for path in folder.rglob("*") if path.is_file()), reverse=True)
    except OSError:
        return None
    if not stamps or (len(stamps) > 1 and stamps[0][0] == stamps[1][0]):
        return None
    return stamps[0][1]


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
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:  # the temporary file of a single output (a workbook, a report, an LP file)
            path.unlink(missing_ok=True)


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
def atomic_file(target: str | os.PathLike[str], *, force: bool = False, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary path that becomes ``target`` (one file) when the block ends without error.

    Raises
    ------
    OutputExistsError
        If ``target`` exists and ``force`` is false, or it is not a file, or it is an input of the run,
        before anything is written.
    """
    target = Path(target)
    check_output_file(target, force=force, inputs=inputs)
    with named_write_failures(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        _clear_debris(target)
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent)
    os.close(handle)
    staging = Path(name)
    try:
        with named_write_failures(target):
            yield staging
            with open(staging, "rb") as written:
                os.fsync(written.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(staging, 0o666 & ~umask)
            os.replace(staging, target)
            _fsync_folder(target.parent)
    finally:
        staging.unlink(missing_ok=True)


def check_output_file(target: str | os.PathLike[str], *, force: bool = False, inputs: Iterable[str | Path] = ()) -> None:
    """Raise :class:`OutputExistsError` unless the file ``target`` may be written (never over an input)."""
    target = Path(target)
    _refuse_inputs(target, inputs)
    if not target.exists():
        return
    if not target.is_file():
        raise OutputExistsError(f"{target} exists and is not a file")
    if not force:
        raise OutputExistsError(Message(f"{target} exists already; pass ", Parameter("force", True), " to replace it"))
