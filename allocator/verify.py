"""Re-run a recorded solve and check that it gives the same allocation, byte for byte.

``summary.json`` records every input file with its sha256, the rule and constraints as
resolved, the solver and its options (:func:`allocator.solving.audit_record`). :func:`verify`
checks the inputs are unchanged, solves again from them, writes the tables to a temporary
folder and compares them with the recorded ones. Same inputs must give byte-identical tables.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from allocator.errors import UsageError
from allocator.result import Result
from allocator.scenario.files import sha256_of

TABLES = ("allocations.csv", "groups.csv", "flows.csv")


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`.

    Attributes
    ----------
    inputs : list of (role, path, state)
        ``state`` is ``unchanged``, ``changed`` or ``missing``.
    tables : list of (file, state)
        ``identical``, ``different`` or ``missing`` (in the recorded folder or the new run).
    """

    folder: str
    inputs: list[tuple[str, str, str]] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return (bool(self.tables) and all(state == "unchanged" for _, _, state in self.inputs)
                and all(state == "identical" for _, state in self.tables))


def verify(folder: str | Path) -> Verification:
    """Check the inputs recorded in ``folder/summary.json``, re-solve, and compare the tables.

    Raises
    ------
    UsageError
        If the folder holds no readable ``summary.json`` with an audit record.
    ScenarioError, InfeasibleError, SolverError
        As :func:`allocator.solve`, when the recorded inputs no longer solve.
    """
    from allocator.scenario.load import load_scenario
    from allocator.solving import solve

    folder = Path(folder)
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        audit = summary["audit"]
        rule, constraints, solver = summary["rule"], summary["constraints"], summary["solver"]["name"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{folder} holds no allocator result with an audit record ({exc}); "
                         "expected the output folder of 'allocator solve --out'") from None
    inputs = []
    for item in audit.get("inputs", []):
        path = Path(item["path"])
        state = "missing" if not path.is_file() else ("unchanged" if sha256_of(path) == item["sha256"] else "changed")
        inputs.append((item["role"], item["path"], state))
    scenario_path = next((Path(p) for role, p, _ in inputs if role == "scenario"), None)
    if scenario_path is None or not scenario_path.is_file():
        return Verification(str(folder), inputs, [], "the scenario file is not recorded or no longer exists")
    folder_of_scenario = scenario_path.parent.resolve()
    outside = any(folder_of_scenario not in Path(p).resolve().parents for role, p, _ in inputs if role != "scenario")
    scenario = load_scenario(scenario_path, allow_outside=outside)
    options = audit.get("solver_options", {})
    result = solve(scenario, _spec(rule), [_spec(c) for c in constraints], solver=solver,
                   time_limit=options.get("time_limit"))
    return Verification(str(folder), inputs, _compare_tables(folder, result))


def _spec(resolved: dict) -> dict:
    """A rule or constraint as recorded (defaults filled in) back to a spec: drop the ``None`` values."""
    return {k: v for k, v in resolved.items() if v is not None}


def _compare_tables(folder: Path, result: Result) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="allocator-verify-") as work:
        again = result.save(Path(work) / "again")
        states = []
        for name in TABLES:
            old, new = folder / name, again / name
            if not old.exists() and not new.exists():
                continue
            if not old.exists() or not new.exists():
                states.append((name, "missing"))
            else:
                states.append((name, "identical" if old.read_bytes() == new.read_bytes() else "different"))
    return states

