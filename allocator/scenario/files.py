"""Guards on what a scenario file may point at and how large it may expand.

Scenario files travel between agencies, so the loader treats them as untrusted:

* a table path must stay inside the scenario's folder (after following symbolic links)
  unless the caller allows otherwise (``--allow-outside``);
* a symbolic link loop is named as such, not reported as a missing file;
* a parsed document may hold at most ``MAX_DOCUMENT_VALUES`` values once YAML aliases are
  expanded (the "billion laughs" document is a few hundred bytes that expand to 10^9) and
  nest at most ``MAX_DEPTH`` levels deep.
"""

from __future__ import annotations

import errno
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allocator.errors import Issue

#: values a scenario document may expand to; large tables belong in CSV files
MAX_DOCUMENT_VALUES = 2_000_000
#: nesting levels a scenario document may use (the format itself needs fewer than ten)
MAX_DEPTH = 64


@dataclass(frozen=True)
class TableFiles:
    """Where a scenario's table paths are resolved, and whether they may leave that folder.

    Examples
    --------
    >>> files = TableFiles(Path("/data/city"), allow_outside=False)
    >>> files.resolve("../other/units.csv", "units", "scenario.yaml")[1][0].message.startswith("points outside")
    True
    """

    base: Path
    allow_outside: bool = False
    #: record a sha256 of every table read (for the audit trail in ``summary.json``)
    record: bool = True
    inputs: list[tuple[str, str, str]] = field(default_factory=list)  # (role, path, sha256), in reading order

    def note(self, role: str, path: Path) -> None:
        """Remember that the table ``path`` was read as ``role`` (with its sha256, if recording)."""
        if self.record:
            self.inputs.append((role, str(path.resolve()), sha256_of(path)))

    def resolve(self, spec: str | Path, key: str, source: str) -> tuple[Path | None, list[Issue]]:
        """The path of table ``spec`` (given under ``key``), or the issues that forbid reading it."""
        path = self.base / spec
        try:
            real = path.resolve(strict=False)
        except (RuntimeError, OSError):  # Python < 3.13 raises RuntimeError on a loop
            real = None
        if real is None or is_link_loop(path):
            return None, [Issue(str(path), "(file)", "is a symbolic link loop", "a CSV or Excel file")]
        if not self.allow_outside:
            folder = self.base.resolve()
            if real != folder and folder not in real.parents:
                return None, [Issue(source, key, f"points outside the scenario's folder: {spec} is {real}",
                                    f"a table inside {folder}, or pass --allow-outside (allow_outside=True) "
                                    "if the file is meant to be shared")]
        return path, []


def is_link_loop(path: Path) -> bool:
    """True if ``path`` is a symbolic link that leads back to itself."""
    try:
        path.stat()
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def document_issues(document: Any, source: str) -> list[Issue]:
    """Refuse documents that expand beyond ``MAX_DOCUMENT_VALUES`` values or ``MAX_DEPTH`` levels.

    Walks the parsed document once, counting a value every time it is reached (so a YAML
    alias counts once per use, as it would when the document is used), and stops at the
    first limit crossed.
    """
    count = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_DOCUMENT_VALUES:
            return [Issue(source, "(file)", f"expands to more than {MAX_DOCUMENT_VALUES:,} values (YAML aliases "
                                            "repeating other aliases?)", "a scenario with its large tables in CSV files")]
        if depth > MAX_DEPTH:
            return [Issue(source, "(file)", f"is nested more than {MAX_DEPTH} levels deep",
                          "the scenario format (a few levels of mappings and lists)")]
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
            count += len(value)  # the keys
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return []


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, hex."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
