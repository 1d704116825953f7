"""Re-run a recorded solve and check that it gives the same result: every kept file, byte for byte.

``summary.json`` records every input file with its sha256 (paths relative to the result folder),
the rule and constraints as resolved, the solver and its options
(:func:`allocator.solving.api.audit_record`). :func:`verify` checks the inputs are unchanged, solves
again from them, writes the result to a temporary folder and compares every table with the
recorded one byte for byte, and ``summary.json`` field by field (all but when the run was made
and how long it took).

A ``summary.json`` may come from someone else, so its paths are not trusted: unless
``allow_outside``, the scenario must lie inside the working folder or the folder that holds the
result folder (the project), and every other input inside the scenario's folder, the rule
``allocator validate`` applies to a scenario's tables. Nothing is read before these checks pass.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from allocator.core.arguments import Flag, PathLike, checked
from allocator.core.errors import Issue, UsageError
from allocator.io.audit import recorded_file
from allocator.results.analysis import Analysis
from allocator.results.result import Result
from allocator.scenario.files import sha256_of

SUMMARY = "summary.json"
#: the tables :meth:`Result.save` writes; any other CSV file a new run writes is compared too
TABLES = ("allocations.csv", "groups.csv", "flows.csv", "edges.csv", "nodes.csv")
#: ``summary.json`` fields that differ between runs of the same inputs: the audit (the time of the
#: run; its inputs are checked file by file) and the solver's timing
UNCOMPARED = ("audit", "solver.seconds", "solver.stages[*].seconds")
#: an input's state when verified
UNCHANGED, CHANGED, MISSING = "unchanged", "changed", "missing"
#: the scenario read a file the record does not list / the record lists a file the scenario no longer reads
NOT_RECORDED, NOT_READ = "not recorded", "not read"


@dataclass(frozen=True)
class Verification(Analysis):
    """The outcome of :func:`verify`; its ``table`` has one row per check, ``save`` writes
    ``verification.csv`` and ``summary.json``.

    Attributes
    ----------
    inputs : list of (role, path, state)
        ``path`` is the file as resolved; ``state`` is ``unchanged``, ``changed``, ``missing``,
        ``not recorded`` (read by the scenario, absent from the record) or ``not read`` (recorded,
        no longer read by the scenario).
    files : list of (file, state)
        Each table and ``summary.json``: ``identical``, ``different`` or ``missing`` (in the
        recorded folder or the new run).
    fields : list of str
        The ``summary.json`` fields that differ, e.g. ``metrics.min_fill_rate``.
    note : str
        Why nothing was solved again, if so.
    """

    folder: str
    inputs: list[tuple[str, str, str]] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    note: str = ""

    FILE = "verification.csv"

    @property
    def ok(self) -> bool:
        """Every input unchanged and every kept file identical when solved again."""
        return (bool(self.files) and all(state == UNCHANGED for _, _, state in self.inputs)
                and all(state == "identical" for _, state in self.files))

    @property
    def input_paths(self) -> tuple[str, ...]:
        """The scenario's inputs and the verified record itself: saving never replaces what it checked."""
        record = Path(self.folder)
        return (*(path for _, path, _ in self.inputs), str(record / "summary.json"),
                *(str(record / name) for name, _ in self.files))

    @property
    def table(self) -> pd.DataFrame:
        """``check, name, state``: one row per input (``check`` is its role) and per kept file (``file``)."""
        rows = [*((role, path, state) for role, path, state in self.inputs),
                *(("file", name, state) for name, state in self.files)]
        return pd.DataFrame(rows, columns=["check", "name", "state"])

    def to_dict(self) -> dict:
        """The folder, whether it verified, every check, the fields that differ and the note."""
        return {"folder": self.folder, "ok": self.ok,
                "inputs": [{"role": r, "path": p, "state": s} for r, p, s in self.inputs],
                "files": [{"file": f, "state": s} for f, s in self.files], "fields": list(self.fields),
                "note": self.note}


@dataclass(frozen=True)
class _Recorded:
    """One entry of ``audit.inputs``: where it says the file is, resolved."""

    index: int
    role: str
    given: str
    path: Path
    sha256: str


@checked
def verify(folder: PathLike, *, allow_outside: Flag = False) -> Verification:
    """Check the inputs recorded in ``folder/summary.json``, re-solve, and compare every kept file.

    Parameters
    ----------
    folder : str or Path
        An output folder of :meth:`Result.save`.
    allow_outside : bool
        Read recorded inputs outside the scenario's folder, and a scenario outside the project
        (see the module docstring); only for a result whose origin is trusted.

    Raises
    ------
    UsageError
        If the folder holds no readable ``summary.json`` with an audit record, or the record
        points outside the scenario's folder or the project (all such entries named at once).
    ScenarioError, InfeasibleError, SolverError
        As :func:`allocator.solve`, when the unchanged inputs no longer solve.
    """
    from allocator.scenario.load import load_scenario
    from allocator.solving.api import solve

    folder = Path(folder)
    summary = _read_summary(folder)
    recorded, request = _read_record(summary, folder)
    scenario = next((r for r in recorded if r.role == "scenario"), None)
    if scenario is None:
        return Verification(str(folder), [], [], [], "the record lists no scenario file (a scenario built in code?)")
    if not allow_outside:
        _refuse_outside(recorded, scenario, folder)
    inputs = [(r.role, str(r.path), _state(r)) for r in recorded]
    if any(state != UNCHANGED for _, _, state in inputs):
        return Verification(str(folder), inputs, [], [], "an input changed or is missing, so it was not solved again: "
                            "the recorded result comes from other inputs")
    loaded = load_scenario(scenario.path, allow_outside=allow_outside)
    inputs = _against_what_was_read(recorded, loaded.inputs)
    if any(state != UNCHANGED for _, _, state in inputs):
        return Verification(str(folder), inputs, [], [], "the scenario reads other files than the record lists, "
                            "so it was not solved again")
    rule, constraints, solver, time_limit = request
    result = solve(loaded, rule=rule, constraints=constraints, solver=solver, time_limit=time_limit)
    tables, fields = _compare(folder, summary, result)
    return Verification(str(folder), inputs, tables, fields)


def _read_summary(folder: Path) -> dict:
    try:
        summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder} holds no allocator result ({exc}); "
                         "expected the output folder of a solve") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("audit"), dict):
        raise UsageError(f"{folder / SUMMARY} has no audit record (expected the summary.json of a solve)")
    return summary


def _read_record(summary: dict, folder: Path) -> tuple[list[_Recorded], tuple]:
    """The recorded inputs and what to solve (rule, constraints, solver, time limit); every malformed field at once."""
    source, issues, recorded = str(folder / SUMMARY), [], []
    entries = summary["audit"].get("inputs", [])
    if not isinstance(entries, list):
        entries, issues = [], [Issue(source, "audit.inputs", f"is {entries!r}", "a list of files")]
    for k, item in enumerate(entries):
        fields = item if isinstance(item, dict) else {}
        wrong = [key for key in ("role", "path", "sha256") if not isinstance(fields.get(key), str) or not fields[key]]
        if wrong:
            issues.append(Issue(source, f"audit.inputs[{k}]", f"has no text {', '.join(wrong)} ({item!r})",
                                "role, path and sha256 of a file read"))
            continue
        recorded.append(_Recorded(k, item["role"], item["path"], recorded_file(item["path"], folder).resolve(),
                                  item["sha256"]))
    rule, constraints = summary.get("rule"), summary.get("constraints")
    solver = summary.get("solver", {}).get("name") if isinstance(summary.get("solver"), dict) else None
    options = summary["audit"].get("solver_options", {})
    time_limit = options.get("time_limit") if isinstance(options, dict) else "?"
    if not isinstance(rule, dict) or not isinstance(rule.get("name"), str):
        issues.append(Issue(source, "rule", f"is {rule!r}", "the rule as resolved, with its name"))
    if not isinstance(constraints, list) or not all(isinstance(c, dict) for c in constraints):
        issues.append(Issue(source, "constraints", f"is {constraints!r}", "a list of constraints as resolved"))
    if not isinstance(solver, str):
        issues.append(Issue(source, "solver.name", f"is {solver!r}", "the name of the solver used"))
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and math.isfinite(time_limit)
                                       and time_limit > 0):
        issues.append(Issue(source, "audit.solver_options.time_limit", f"is {time_limit!r}",
                            "a positive number of seconds, or null"))
    if issues:
        raise UsageError(_listing(f"{source} is not a record verify can redo", issues))
    return recorded, (_spec(rule), [_spec(c) for c in constraints], solver, time_limit)


def _refuse_outside(recorded: list[_Recorded], scenario: _Recorded, folder: Path) -> None:
    """Refuse a record that points outside the project (the scenario) or the scenario's folder (the rest)."""
    source, issues = str(folder / SUMMARY), []
    project = [Path.cwd().resolve(), folder.resolve().parent]
    if not any(_inside(scenario.path, root) for root in project):
        issues.append(Issue(source, f"audit.inputs[{scenario.index}].path",
                            f"puts the scenario outside the project: {scenario.given} is {scenario.path}",
                            f"a scenario inside the working folder or {project[1]}; allow files outside only "
                            "for a result you trust"))
    home = scenario.path.parent
    for entry in recorded:
        if entry is not scenario and not _inside(entry.path, home):
            issues.append(Issue(source, f"audit.inputs[{entry.index}].path",
                                f"points outside the scenario's folder: {entry.given} is {entry.path}",
                                f"a file inside {home}; allow files outside only for a result you trust"))
    if issues:
        raise UsageError(_listing(f"{source} names files verify does not read", issues))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _listing(head: str, issues: list[Issue]) -> str:
    return "\n".join([f"{head}:", *(f"  - {issue}" for issue in issues)])


def _state(entry: _Recorded) -> str:
    # only a regular file is hashed: a recorded FIFO or device would block or never end
    if not entry.path.is_file():
        return MISSING
    return UNCHANGED if sha256_of(entry.path) == entry.sha256 else CHANGED


def _against_what_was_read(recorded: list[_Recorded], read) -> list[tuple[str, str, str]]:
    """The recorded inputs, each checked against the files the scenario read this time (by role and
    path, then hash), and the files it read that the record does not list."""
    unread = {(r.role, str(r.path)): r for r in recorded}
    states = {}
    extra = []
    for role, path, digest in read:
        entry = unread.pop((role, path), None)
        if entry is None:
            extra.append((role, path, NOT_RECORDED))
        else:
            states[entry.index] = UNCHANGED if digest == entry.sha256 else CHANGED
    return [(r.role, str(r.path), states.get(r.index, NOT_READ)) for r in recorded] + extra


def _spec(resolved: dict) -> dict:
    """A rule or constraint as recorded (defaults filled in) back to a spec: drop the ``None`` values."""
    return {k: v for k, v in resolved.items() if v is not None}


def _compare(folder: Path, summary: dict, result: Result) -> tuple[list[tuple[str, str]], list[str]]:
    """Each table's state, then ``summary.json``'s, and the ``summary.json`` fields that differ."""
    with tempfile.TemporaryDirectory(prefix="allocator-verify-") as work:
        again = result.save(Path(work) / "again")
        written = sorted(p.name for p in again.iterdir() if p.suffix == ".csv" and p.name not in TABLES)
        states = []
        for name in (*TABLES, *written):
            old, new = folder / name, again / name
            if not old.exists() and not new.exists():
                continue
            if not old.is_file() or not new.exists():
                states.append((name, MISSING))
            else:
                states.append((name, "identical" if old.read_bytes() == new.read_bytes() else "different"))
        fields = summary_differences(summary, json.loads((again / SUMMARY).read_text(encoding="utf-8")))
    return [*states, (SUMMARY, "different" if fields else "identical")], fields


def summary_differences(recorded: dict, again: dict) -> list[str]:
    """The fields of two ``summary.json`` contents that differ, as paths (``metrics.min_fill_rate``,
    ``solver.stages[1].objective``), in the recorded order; :data:`UNCOMPARED` ones left out."""
    old, new = _flatten(recorded), _flatten(again)
    return [key for key in (*old, *(k for k in new if k not in old)) if old.get(key, _ABSENT) != new.get(key, _ABSENT)]


_ABSENT = object()


def _flatten(value, path: str = "", pattern: str = "") -> dict:
    """``{path: leaf}`` of a JSON value; ``pattern`` is the path with list indices as ``[*]``."""
    if pattern in UNCOMPARED:
        return {}
    if isinstance(value, dict) and value:
        flat = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{path}.{key}" if path else str(key), f"{pattern}.{key}" if pattern else key))
        return flat
    if isinstance(value, list) and value:
        flat = {}
        for k, inner in enumerate(value):
            flat.update(_flatten(inner, f"{path}[{k}]", f"{pattern}[*]"))
        return flat
    return {path: value}
