"""Typed failures under one root, each carrying what a planner needs to act on it.

The library never prints; the CLI maps each exception class to an exit code
(``ScenarioError`` -> 2, ``InfeasibleError`` -> 3, ``SolverError`` -> 4, ``Interrupted`` -> 130).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: C0 controls (ESC, BEL, backspace, carriage return, newline...), DEL, C1 controls (8-bit CSI, OSC...)
#: and the bidirectional overrides that reorder what a terminal shows
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_VISIBLE = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _CONTROLS}


def inert(text: str) -> str:
    r"""``text`` with every control character written out, so a terminal shows it and obeys none.

    Ids and keys come from files written elsewhere; printed raw, ``"\x1b[2J"`` would clear the
    planner's screen and ``"\x1b]0;...\x07"`` retitle the window.

    >>> inert("a\x1b[2Jb\r")
    'a\\x1b[2Jb\\x0d'
    """
    return text.translate(_VISIBLE)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a scenario.

    Parameters
    ----------
    file : str
        The file the problem is in (``"<inline>"`` for scenarios built in code).
    location : str
        The row or field, e.g. ``"row 14, column demand"`` or ``"constraints[2].share"``.
    message : str
        What is wrong.
    expected : str
        What was expected instead (empty when the message already says it).
    severity : Severity
        Errors stop the run; warnings are reported and the run goes on.
    """

    file: str
    location: str
    message: str
    expected: str = ""
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        text = f"{self.file}: {self.location}: {self.message}"
        return inert(f"{text} (expected {self.expected})" if self.expected else text)


class AllocatorError(Exception):
    """Root of every error allocator raises on purpose."""


class ScenarioError(AllocatorError):
    """The scenario is malformed or inconsistent; ``issues`` lists every problem found."""

    def __init__(self, issues: list[Issue]):
        issues = list(dict.fromkeys(issues))  # two checks finding the same problem say it once
        self.issues = [i for i in issues if i.severity is Severity.ERROR]
        self.warnings = [i for i in issues if i.severity is Severity.WARNING]
        count = len(self.issues)
        lines = [f"{count} problem{'s' if count != 1 else ''} in the scenario:"]
        lines += [f"  - {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


class UsageError(AllocatorError):
    """A request that makes no sense for this scenario (bad option, unknown rule name...)."""


class InfeasibleError(AllocatorError):
    """The constraints cannot all hold at once.

    Attributes
    ----------
    conflicting : list[str]
        The scenario constraints (as written) in a minimal conflicting set.
    explanation : list[str]
        Sentences in the planner's terms.
    """

    def __init__(self, conflicting: list[str], explanation: list[str]):
        self.conflicting = conflicting
        self.explanation = explanation
        head = "The constraints cannot all hold at once."
        if conflicting:
            head += " Conflicting: " + "; ".join(conflicting) + "."
        super().__init__("\n".join([head, *explanation]))


class SolverError(AllocatorError):
    """The solver failed, stopped early, or hit a numerical problem it could not recover from."""


class SolverUnavailableError(SolverError):
    """The requested solver is not installed; the message names the package to install."""


class Interrupted(AllocatorError):
    """Stopped by the user (Ctrl-C); the message says what was kept (exit code 130)."""


class OutputExistsError(AllocatorError):
    """The output folder exists already and ``force`` was not given."""


class OutputWriteError(AllocatorError):
    """An output could not be written (a full disk, a read-only folder, a closed stream...).

    Nothing half-written is left: the temporary files of the attempt are removed.

    Attributes
    ----------
    path : str
        The file or folder that could not be written (``"standard output"`` for a stream).
    reason : str
        What the operating system said, e.g. ``"No space left on device"``.
    """

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(inert(f"cannot write {self.path}: {reason}"))
