"""Typed failures under one root, each carrying what a planner needs to act on it.

Every exception allocator raises on purpose is defined here, under :class:`AllocatorError`.
The library never prints; the CLI maps each exception class to an exit code (docs/solving.md,
"Exit codes and errors"): ``ScenarioError``, ``UsageError``, ``OutputExistsError`` and
``OutputWriteError`` -> 2 (bad input or usage), ``InfeasibleError`` -> 3, ``SolverError`` -> 4,
``WorkerLost`` -> 6, ``InternalError`` -> 7, ``Interrupted`` -> 130.

``StageInfeasible`` and ``StageTimeLimit`` are internal control flow between a rule's stages and the
solving layer: always caught inside allocator, they never reach users (see :class:`_StageSignal`).

A message that suggests a setting names the library parameter (``force=True``, ``time_limit``),
never a CLI option: it is a :class:`Message` whose :class:`Parameter` parts the CLI writes as its
options instead (``--force``, ``--time-limit``), see :meth:`AllocatorError.spelled`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Callable

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


@dataclass(frozen=True, slots=True)
class Parameter:
    """A library parameter a message names: ``force=True``, ``solver="pulp"``, or ``time_limit`` itself.

    Parameters
    ----------
    name : str
        The keyword argument, as the library spells it (``"allow_outside"``).
    value : optional
        The setting suggested (``True``, ``"pulp"``); ``None`` names the parameter itself.

    Examples
    --------
    >>> str(Parameter("force", True)), str(Parameter("solver", "pulp")), str(Parameter("time_limit"))
    ('force=True', 'solver="pulp"', 'time_limit')
    """

    name: str
    value: Any = None

    def __str__(self) -> str:
        if self.value is None:
            return self.name
        return f'{self.name}="{self.value}"' if isinstance(self.value, str) else f"{self.name}={self.value!r}"


#: how a parameter is written: the library's spelling (``str``), or the CLI's (its option)
Spelling = Callable[[Parameter], str]


class Message(str):
    """Text that names library parameters: a plain string in the library's spelling, with its parts kept.

    The CLI writes the same text with its options in place of the parameters (:meth:`spelled`),
    so the library never names a CLI option and the command line never names a keyword argument.

    Examples
    --------
    >>> m = Message("out exists already; pass ", Parameter("force", True), " to replace it")
    >>> m
    'out exists already; pass force=True to replace it'
    >>> m.spelled(lambda p: "--" + p.name)
    'out exists already; pass --force to replace it'
    """

    parts: tuple

    def __new__(cls, *parts: str | Parameter) -> "Message":
        text = super().__new__(cls, "".join(map(str, parts)))
        text.parts = tuple(parts)
        return text

    def __getnewargs__(self) -> tuple:  # pickled (a worker's error) with its parts
        return self.parts

    @property
    def named(self) -> tuple[Parameter, ...]:
        """The parameters the text names, in order."""
        found: list[Parameter] = []
        for part in self.parts:
            if isinstance(part, Message):
                found += part.named
            elif isinstance(part, Parameter):
                found.append(part)
        return tuple(found)

    def spelled(self, spell: Spelling) -> str:
        """The text with every parameter written by ``spell``."""
        return "".join(part if not isinstance(part, (Message, Parameter)) else spelled(part, spell)
                       for part in self.parts)


def spelled(text: Any, spell: Spelling) -> str:
    """``text`` with the parameters it names written by ``spell`` (any other text as it is)."""
    if isinstance(text, Parameter):
        return spell(text)
    return text.spelled(spell) if isinstance(text, Message) else str(text)


def _named(*texts: Any) -> tuple[Parameter, ...]:
    return tuple(p for text in texts if isinstance(text, Message) for p in text.named)


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
        return self.spelled(str)

    def spelled(self, spell: Spelling) -> str:
        """The issue as one line, with the parameters its text names written by ``spell``."""
        text = f"{self.file}: {self.location}: {spelled(self.message, spell)}"
        return inert(f"{text} (expected {spelled(self.expected, spell)})" if self.expected else text)

    def respelled(self, spell: Spelling) -> "Issue":
        """A copy whose message and expectation name the parameters as ``spell`` writes them."""
        return replace(self, message=spelled(self.message, spell), expected=spelled(self.expected, spell))


class AllocatorError(Exception):
    """Root of every error allocator raises on purpose.

    The message may be a :class:`Message`: it then names the library parameters that would
    resolve the failure (``force=True``...); :attr:`parameters` lists their names and
    :meth:`spelled` writes the message with another spelling of them (the CLI's options).
    """

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the library parameters the message suggests, in order (``("resume", "force")``)."""
        return tuple(dict.fromkeys(p.name for p in self._named()))

    def _named(self) -> tuple[Parameter, ...]:
        return _named(*self.args)

    def spelled(self, spell: Spelling) -> str:
        """The message with every parameter it names written by ``spell`` (``str(self)``: the library's)."""
        return spelled(self.args[0], spell) if len(self.args) == 1 else str(self)


class ScenarioError(AllocatorError):
    """The scenario is malformed or inconsistent; ``issues`` lists every problem found."""

    def __init__(self, issues: list[Issue]):
        issues = list(dict.fromkeys(issues))  # two checks finding the same problem say it once
        self.issues = [i for i in issues if i.severity is Severity.ERROR]
        self.warnings = [i for i in issues if i.severity is Severity.WARNING]
        super().__init__(self.spelled(str))

    def _named(self) -> tuple[Parameter, ...]:
        return _named(*(text for issue in self.issues + self.warnings for text in (issue.message, issue.expected)))

    def spelled(self, spell: Spelling) -> str:
        count = len(self.issues)
        lines = [f"{count} problem{'s' if count != 1 else ''} in the scenario:"]
        lines += [f"  - {issue.spelled(spell)}" for issue in self.issues]
        return "\n".join(lines)

    def respelled(self, spell: Spelling) -> "ScenarioError":
        """The same error with the parameters its issues name written by ``spell``."""
        return ScenarioError([issue.respelled(spell) for issue in self.issues + self.warnings])


class UsageError(AllocatorError):
    """A request that makes no sense for this scenario (bad option, unknown rule name...)."""


class InfeasibleError(AllocatorError):
    """The constraints cannot all hold at once.

    Attributes
    ----------
    conflicting : list[str]
        The scenario constraints (as written) in a minimal conflicting set.
    explanation : list[str]
        Sentences in the planner's terms (a :class:`Message` where one names a parameter).
    """

    def __init__(self, conflicting: list[str], explanation: list[str]):
        self.conflicting = conflicting
        self.explanation = explanation
        super().__init__(self.spelled(str))

    def _named(self) -> tuple[Parameter, ...]:
        return _named(*self.explanation)

    def spelled(self, spell: Spelling) -> str:
        head = "The constraints cannot all hold at once."
        if self.conflicting:
            head += " Conflicting: " + "; ".join(self.conflicting) + "."
        return "\n".join([head, *(spelled(line, spell) for line in self.explanation)])

    def respelled(self, spell: Spelling) -> "InfeasibleError":
        """The same error with the parameters its explanation names written by ``spell``."""
        return InfeasibleError(self.conflicting, [spelled(line, spell) for line in self.explanation])


class SolverError(AllocatorError):
    """The solver failed, stopped early, or hit a numerical problem it could not recover from."""


class SolverUnavailableError(SolverError):
    """The requested solver is not installed; the message names the package to install."""


class InternalError(AllocatorError):
    """One of allocator's own checks failed: a defect of allocator, not of the input or the solver.

    Raised instead of reporting a number allocator knows to be wrong (an allocation below the
    level its rule certified, groups that changed between simulation draws); nothing is written.
    The message asks for a report. Not a :class:`SolverError`: code that retries or skips a
    failed solve must not pass over it.
    """


class _StageSignal(InternalError):
    """Base of the signals a stage runner raises to its rule and callers (:mod:`allocator.rules.stages`).

    Internal control flow, not an error a user sees: every one is caught inside allocator (the solving
    layer turns it into an :class:`InfeasibleError` or a time-limited result, a simulation draw into its
    status). Under :class:`InternalError` so that one that ever escaped would be reported as a defect of
    allocator (exit code 7), not as bad input. ``stage`` is the stage it was raised in.
    """

    #: what happened in the stage, for the message of one that escaped
    happened = ""

    def __init__(self, stage: str):
        self.stage = stage
        super().__init__(f"allocator's own check failed: the signal that stage '{stage}' {self.happened} "
                         "was not handled (please report this with the scenario)")

    def __reduce__(self):  # pickled with its stage, not its message
        return type(self), (self.stage,)


class StageInfeasible(_StageSignal):
    """A stage LP has no solution (the caller turns this into a planner-facing diagnosis). Internal: see :class:`_StageSignal`."""

    happened = "has no solution"


class StageTimeLimit(_StageSignal):
    """The time limit ran out during (or before) a stage; the runner keeps the best allocation so far.
    Internal: see :class:`_StageSignal`."""

    happened = "ran out of time"


class WorkerLost(AllocatorError):
    """A worker process of the simulation's ``processes`` engine died (killed, out of memory, or it
    could not start); the finished shards are saved in the output folder, to continue with ``resume=True``."""


class Interrupted(AllocatorError):
    """Stopped by the user (Ctrl-C); the message says what was kept (exit code 130)."""


class SimulationInterrupted(Interrupted):
    """Stopped (Ctrl-C) before every draw was solved; finished shards are on disk, to continue with ``resume=True``.

    Attributes
    ----------
    done, total : int
        Draws saved (or collected) and draws of the plan.
    """

    def __init__(self, done: int, total: int, folder=None):
        self.done, self.total, self.folder = done, total, folder
        where = (Message(f"; the finished draws are saved in {folder}: run again with ", Parameter("resume", True))
                 if folder else "")
        super().__init__(Message(f"interrupted after {done} of {total} draws", where))

    def __reduce__(self):  # pickled with its arguments, not its message
        return type(self), (self.done, self.total, self.folder)


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
