"""The user's view of a solve: tables, metrics, the stage trace, and writers."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, TypeAlias

import numpy as np
import pandas as pd

from allocator.core.arguments import Flag, PathLike, checked, instance
from allocator.core.errors import Issue, UsageError
from allocator.core.precision import REPORT_PRECISION, round_document, round_frame  # noqa: F401 (REPORT_PRECISION: re-exported)
from allocator.core.status import Status
from allocator.io.atomic import atomic_folder

if TYPE_CHECKING:
    from allocator.rules.stages import StageRecord


def _network_summary(edges: pd.DataFrame, nodes: pd.DataFrame | None) -> dict:
    from allocator.results.edges import bottlenecks, node_bottlenecks

    summary = {"transport_cost": float(edges["transport_cost"].sum()), "shipped": float(edges["flow"].sum()),
               "bottlenecks": [{"from": str(r["from"]), "to": str(r["to"]),
                                **({"resource": r["resource"]} if r["resource"] else {}),
                                "shadow_price": float(r["shadow_price"])} for _, r in bottlenecks(edges).iterrows()]}
    if nodes is not None:
        summary["node_bottlenecks"] = [{"node": str(r["node"]), "shadow_price": float(r["shadow_price"])}
                                       for _, r in node_bottlenecks(nodes).iterrows()]
    return summary


def _round(value: Any) -> Any:
    """``summary.json`` content rounded by kind (:func:`allocator.core.precision.round_document`)."""
    return round_document(value)


def report_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Round every float by its kind: per column in wide tables, per row in ``metric`` tables.

    See :mod:`allocator.core.precision`; a column's largest value never sets another value's decimals.
    """
    return round_frame(frame)


class _Explainers:
    """Where :mod:`allocator.accountability.explain` registers itself: a Result lives below the
    analyses that read it, so :meth:`Result.explain` finds its explainer here instead of importing upwards."""

    def __init__(self):
        self._explain = None

    def register(self, function):
        self._explain = function
        return function

    def of(self, result):
        if self._explain is None:
            raise TypeError("no explainer is registered (import allocator)")
        return self._explain(result)


EXPLAINERS = _Explainers()


@dataclass(frozen=True, eq=False)
class SolveTrace:
    """What :meth:`Result.explain` needs from the solve: the compiled model and the last stage solved.

    ``last`` is ``(stage, lp, solution)``, or ``None`` when no LP was solved (max-flow paths).
    ``stages`` are the records ``solver["stages"]`` was written from, with what code reads of them
    (:class:`~allocator.rules.stages.StageRecord`: how each stage was solved, skipped...).
    """

    model: object
    last: tuple | None
    stages: tuple[StageRecord, ...] = ()


@dataclass(frozen=True, eq=False)
class Result:
    """The outcome of :func:`allocator.solve`.

    Attributes
    ----------
    status : Status
    scenario : str
        Scenario name.
    rule : dict
        The rule as resolved, e.g. ``{"name": "maxmin", "over": None}``.
    constraints : list of dict
        The constraints as resolved (defaults filled in).
    allocations : DataFrame
        ``unit, resource, allocated, demand, fill_rate`` per (unit, resource) with demand.
    groups : DataFrame
        ``attribute, group, resource, units, allocated, demand, fill_rate``.
    flows : DataFrame or None
        ``unit, resource, site, quantity`` per positive flow (``None`` without sites).
    metrics : dict
        See :data:`allocator.results.metrics.METRICS`.
    solver : dict
        ``name``, ``version``, ``seconds`` and the ``stages`` solved.
    equity : dict
        What the rule's equity stages settled: ``level`` (the guaranteed fill rate over the rates
        the rule ranks) and, for leximin, the distinct ``levels``.
    warnings : tuple of Issue
    audit : dict
        ``allocator_version``, ``inputs`` (role, path and sha256 of every file read),
        ``solver_options`` and ``created`` (UTC): what ``allocator verify`` needs to redo the run.
    """

    status: Status
    scenario: str
    rule: dict
    constraints: list[dict]
    allocations: pd.DataFrame
    groups: pd.DataFrame
    flows: pd.DataFrame | None
    metrics: dict
    solver: dict
    equity: dict = field(default_factory=dict)
    warnings: tuple[Issue | str, ...] = field(default=())
    audit: dict = field(default_factory=dict)
    trace: SolveTrace | None = field(default=None, repr=False)
    edges: pd.DataFrame | None = None
    nodes: pd.DataFrame | None = None  # flow networks with throughput limits: one row per limited node
    #: supply left while units it can reach still need it: resource, amount, share, cause, reason
    #: (:func:`allocator.solving.withheld.withheld_supply`); each also stands in ``warnings``
    withheld: tuple[dict, ...] = ()

    @property
    def input_paths(self) -> tuple[str, ...]:
        """The files this result was solved from (the audit record's inputs): no output may replace them."""
        return tuple(item["path"] for item in self.audit.get("inputs", ()))

    def explain(self):
        """Why each unit got what it got, what binds, what supply is worth: see :func:`allocator.explain`."""
        return EXPLAINERS.of(self)

    @property
    def table(self) -> pd.DataFrame:
        """``allocations``: one row per (unit, resource), as every analysis has a ``table``."""
        return self.allocations

    def to_dict(self) -> dict:
        """The content of ``summary.json`` (:meth:`summary`), as every analysis has ``to_dict``."""
        return self.summary()

    def summary(self, folder: PathLike | None = None) -> dict:
        """The content of ``summary.json``; written into ``folder``, input paths relative to it."""
        from allocator.io.audit import relative_inputs

        return _round({
            "status": self.status.value,
            "scenario": self.scenario,
            "rule": self.rule,
            "constraints": self.constraints,
            "equity": self.equity,
            "metrics": self.metrics,
            "solver": self.solver,
            "warnings": [str(w) for w in self.warnings],
            **({"withheld": list(self.withheld)} if self.withheld else {}),
            "audit": self.audit if folder is None else relative_inputs(self.audit, folder),
            **({"network": _network_summary(self.edges, self.nodes)} if self.edges is not None else {}),
        })

    def to_json(self, folder: PathLike | None = None) -> str:
        return json.dumps(self.summary(folder), indent=2, sort_keys=False) + "\n"

    @checked
    def save(self, folder: PathLike, *, force: Flag = False) -> Path:
        """Write ``allocations.csv``, ``groups.csv``, ``flows.csv`` (with sites), ``edges.csv`` and ``nodes.csv``
        (flow networks) and ``summary.json`` atomically; ``summary.json`` records the input paths relative
        to ``folder``.

        Raises
        ------
        OutputExistsError
            If ``folder`` exists and ``force`` is false.
        """
        with atomic_folder(folder, force=force, inputs=self.input_paths) as staging:
            write_csv(self.allocations, staging / "allocations.csv")
            write_csv(self.groups, staging / "groups.csv")
            if self.flows is not None:
                write_csv(self.flows, staging / "flows.csv")
            if self.edges is not None:
                write_csv(self.edges, staging / "edges.csv")
            if self.nodes is not None:
                write_csv(self.nodes, staging / "nodes.csv")
            # input paths relative to the final folder, not the staging one: the project can move
            (staging / "summary.json").write_text(self.to_json(folder), encoding="utf-8")
        return Path(folder)


#: an argument that must be a Result (allocator.solve)
if TYPE_CHECKING:  # the type checker sees the class; at run time the argument is checked
    ResultArg: TypeAlias = Result
else:
    ResultArg = instance(Result, "a Result (allocator.solve)")


@checked
def save_excel(result: ResultArg, path: PathLike, *, force: Flag = False) -> Path:
    """Write every table of ``result`` as a sheet of one ``.xlsx`` workbook, atomically.

    Sheets: ``allocations``, ``groups``, ``flows`` (with sites), ``metrics`` (one row per metric,
    per-attribute and per-resource ones flattened as ``name[key]``) and ``summary`` (status,
    rule, constraints, solver). Text that a spreadsheet would run as a formula is escaped as in
    the CSV files. Unlike the CSV files, a workbook carries zip timestamps, so it is not
    byte-identical between runs.
    """
    from allocator.io.atomic import atomic_file, check_output_file

    metrics = []
    for key, value in result.metrics.items():
        if isinstance(value, dict):
            for inner, number in value.items():
                if isinstance(number, dict):
                    metrics += [(f"{key}[{inner}].{k}", v) for k, v in number.items()]
                else:
                    metrics.append((f"{key}[{inner}]", number))
        else:
            metrics.append((key, value))
    summary = result.summary()
    about = [("status", summary["status"]), ("scenario", summary["scenario"]), ("rule", json.dumps(summary["rule"])),
             ("constraints", json.dumps(summary["constraints"])), ("equity", json.dumps(summary["equity"])),
             ("solver", f"{result.solver['name']} {result.solver['version']}")]
    sheets = {"allocations": result.allocations, "groups": result.groups}
    if result.flows is not None:
        sheets["flows"] = result.flows
    for name, table in (("edges", result.edges), ("nodes", result.nodes)):
        if table is not None:
            sheets[name] = table
    sheets["metrics"] = pd.DataFrame(metrics, columns=["metric", "value"])
    sheets["summary"] = pd.DataFrame(about, columns=["field", "value"])
    check_output_file(path, force=force, inputs=result.input_paths)  # before building the workbook
    too_long = {name: len(frame) for name, frame in sheets.items() if len(frame) > EXCEL_ROWS - 1}
    if too_long:
        name, rows = next(iter(too_long.items()))
        raise UsageError(f"{path}: an Excel sheet holds at most {EXCEL_ROWS:,} rows (the header included), and "
                         f"the {name} sheet would need {rows + 1:,}: write the result to a folder instead "
                         "(CSV files have no row limit)")
    # built in memory, then written in one go: a zip archive that fails half-way (a full disk) is left
    # open by openpyxl, and its finaliser prints a traceback at exit
    workbook = io.BytesIO()
    with pd.ExcelWriter(workbook, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            spreadsheet_safe(report_frame(frame)).to_excel(writer, sheet_name=name, index=False)
    with atomic_file(path, force=force, inputs=result.input_paths) as staging:
        staging.write_bytes(workbook.getbuffer())
    return Path(path)


#: rows of one Excel worksheet (Excel 2007 and later)
EXCEL_ROWS = 1_048_576
#: first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'``.

    Ids come from files written by many hands: a unit called ``=HYPERLINK(...)`` must reach
    the planner's spreadsheet as text. Numbers are untouched (a negative number is a number).

    Examples
    --------
    >>> spreadsheet_safe(pd.DataFrame({"unit": ["=1+1", "a-b", "@x"], "n": [-1, 2, 3]}))["unit"].tolist()
    ["'=1+1", 'a-b', "'@x"]
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            codes, distinct = pd.factorize(np.asarray(out[column], dtype=object))  # each id checked once
            distinct = np.asarray(distinct, dtype=object)
            risky = _formula_like(distinct)
            if risky.any():
                distinct[risky] = ["'" + v for v in distinct[risky]]
                out[column] = np.where(codes < 0, None, distinct[codes])  # type: ignore[call-overload]  # numpy's stubs omit None
    return out


def _formula_like(values: np.ndarray) -> np.ndarray:
    """Which of ``values`` (objects) are text starting with one of :data:`FORMULA_STARTS`."""
    if len(values) and pd.api.types.infer_dtype(values, skipna=False) == "string":
        # all text: compare first characters as code points, without a Python loop
        wide = values.astype(str)
        first = wide.view(np.uint32).reshape(len(values), -1)[:, 0] if wide.dtype.itemsize else np.zeros(len(values))
        return np.isin(first, [ord(c) for c in FORMULA_STARTS])
    return np.fromiter((isinstance(v, str) and v.startswith(FORMULA_STARTS) for v in values),
                       dtype=bool, count=len(values))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV rounded by :func:`report_frame`, formula-like text escaped, ``\\n`` line ends (same bytes everywhere)."""
    spreadsheet_safe(report_frame(frame)).to_csv(path, index=False, lineterminator="\n")


def save_tables(folder, tables: dict[str, pd.DataFrame], documents: dict[str, Any], *, force: bool = False,
                inputs: Iterable[str | Path] = ()):
    """Write ``tables`` (file name -> frame, by :func:`write_csv`) and ``documents`` (file name ->
    JSON-ready content, rounded by kind like the tables, indented) atomically into ``folder``; return ``folder``.

    ``inputs`` are the files the run read: a folder that holds one is never replaced
    (:func:`allocator.io.atomic.check_output_folder`)."""
    with atomic_folder(folder, force=force, inputs=inputs) as staging:
        for name, frame in tables.items():
            write_csv(frame, staging / name)
        for name, content in documents.items():
            (staging / name).write_text(json.dumps(round_document(content), indent=2) + "\n", encoding="utf-8")
    return folder
