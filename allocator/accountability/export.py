"""Write the planner's model of one stage of a rule as an LP or MPS file, with a legend of its names.

The file is the stage LP in the **scenario's own units**: allocator solves a copy of it in which
every quantity is divided by ``Problem.scale`` (a power of two), but the file is compiled with a
unit of 1, so its coefficients, bounds and right-hand sides are the scenario's numbers and its
optimum is the objective ``allocator solve`` reports for that stage (in the MPS file, minus it:
see :mod:`allocator.model.lp_files`). Names are built from the ids (``flow_<unit>_<site>_<resource>``,
``demand_<unit>_<resource>``...); ``<file>.legend.csv`` says what each one means.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from allocator._version import __version__
from allocator.constraints.base import group_measure, rows_of
from allocator.core.arguments import Flag, PathLike, Text, checked
from allocator.core.errors import StageInfeasible, UsageError
from allocator.io.atomic import atomic_file, check_output_file, named_write_failures
from allocator.model.compiler import CompiledModel, constraint_blocks, feasible_set
from allocator.model.lp import LPModel
from allocator.model.lp_files import MAX_NAME, layout, lp_text, mps_text, sanitise, unique
from allocator.model.measures import MeasureSet
from allocator.model.problem import Problem
from allocator.results.result import spreadsheet_safe
from allocator.rules.base import algorithm
from allocator.rules.stages import StageRunner
from allocator.scenario.load import ScenarioLike
from allocator.solving.compile import compile

FORMATS = (".lp", ".mps")
#: the legend's columns: what a name is, and the ids it was built from
LEGEND = ["name", "kind", "block", "index", "sense", "attribute", "group", "unit", "site", "to", "resource", "meaning"]
#: longest id part of a name (the whole name stays within LP readers' 255 characters)
ID_PART = 60
PREFIX = {("column", "flow"): "flow", ("column", "edge"): "ship", ("column", "t"): "t", ("column", "rate"): "rate",
          ("column", "z"): "z", ("row", "demand"): "demand", ("row", "supply"): "supply", ("row", "level"): "level",
          ("row", "rate"): "rate_of", ("row", "edge_capacity"): "capacity", ("row", "node_throughput"): "throughput",
          ("row", "edge_resource_capacity"): "capacity", ("row", "budget"): "budget"}
MEANING = {
    ("column", "flow"): "amount of the resource the site sends to the unit",
    ("column", "edge"): "amount of the resource shipped on the edge from site to 'to'",
    ("column", "t"): "the level: the lowest fill rate (0 to 1)",
    ("column", "rate"): "the unit's fill rate of the resource",
    ("column", "z"): "the welfare of the unit's fill rate (tangent approximation)",
    ("row", "demand"): "what the unit gets of the resource: at most its demand (at least a floor)",
    ("row", "supply"): "what the site gives out of the resource: at most its stock",
    ("row", "level"): "fill rate >= the level t",
    ("row", "rate"): "defines the rate column",
    ("row", "edge_capacity"): "what the edge carries: at most its capacity",
    ("row", "edge_resource_capacity"): "what the edge carries of the resource: at most its capacity for it",
    ("row", "node_throughput"): "what the node delivers and ships on: at most its throughput",
    ("row", "budget"): "transport cost: at most the budget",
}


def legend_path(path: str | Path) -> Path:
    """Where the legend of the model file ``path`` goes: ``model.lp`` -> ``model.lp.legend.csv``."""
    path = Path(path)
    return path.with_name(path.name + ".legend.csv")


@checked
def export(scenario: ScenarioLike, path: PathLike, *, rule=None, constraints=None, stage: Text | None = None,
              force: Flag = False) -> Path:
    """Write a stage LP of ``rule`` on ``scenario`` to ``path`` (``.lp`` or ``.mps``) and its legend, atomically.

    Parameters
    ----------
    stage : str, optional
        The name of a stage as ``solve`` lists it (``"value"``, ``"leximin-2"``...): the rule is
        solved and that stage's LP written, with what earlier stages settled held. Default: the
        rule's first stage, written without solving.

    Returns
    -------
    Path
        ``path``; the legend is :func:`legend_path` of it.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"cannot tell the format of {path.name}: use a file name ending in .lp or .mps")
    inputs = scenario.input_paths  # an export never overwrites a file it was built from
    check_output_file(path, force=force, inputs=inputs)
    check_output_file(legend_path(path), force=force, inputs=inputs)
    model = in_scenario_units(compile(scenario, rule=rule, constraints=constraints))
    lp = algorithm(model.rule).first_stage(model) if stage is None else stage_lp(model, stage)
    columns, rows, legend = names(model, lp)
    plan = layout(lp, columns, rows)
    mps = path.suffix.lower() == ".mps"
    header = _header(model, stage, legend_path(path).name, mps)
    text = (mps_text if mps else lp_text)(lp, plan, header)
    # nested: when either file cannot be written (a full disk), neither is, so no LP is left without its legend
    # each write names its own file: a full disk while writing the LP names the LP, not the legend
    with atomic_file(path, force=force) as staging, atomic_file(legend_path(path), force=force) as legend_staging:
        with named_write_failures(path):
            staging.write_text(text, encoding="ascii")
        with named_write_failures(legend_path(path)):
            spreadsheet_safe(_legend_table(legend, plan)).to_csv(legend_staging, index=False, lineterminator="\n")
    return path


def in_scenario_units(model: CompiledModel) -> CompiledModel:
    """``model`` compiled again with an LP unit of 1, so that its LPs hold the scenario's own numbers."""
    if model.problem.scale == 1.0:
        return model
    problem = replace(model.problem)  # a new object: its cached scale is not copied ...
    object.__setattr__(problem, "scale", 1.0)  # ... and is set here (a cached property, so a plain attribute)
    measures = MeasureSet(problem)
    return replace(model, problem=problem, measures=measures, base=feasible_set(problem, measures, model.constraints, model.baselines))


def stage_lp(model: CompiledModel, stage: str) -> LPModel:
    """The LP of stage ``stage`` as the rule solves it on ``model`` (with HiGHS), earlier stages' results held."""
    from allocator.backends import SolverOptions, fallback_for, get_backend
    from allocator.solving.diagnose import infeasibility

    backend = get_backend("highs")
    runner = _Keeping(backend, SolverOptions(), fallback_for(backend), unit=model.problem.scale)
    try:
        algorithm(model.rule).run(model, runner)
    except StageInfeasible:
        raise infeasibility(model, backend, SolverOptions()) from None
    if stage not in runner.models:
        record = next((r for r in runner.records if r.stage == stage), None)
        why = f" ({record.note})" if record is not None and record.note else ""
        raise UsageError(f"rule {model.rule.describe()} solves no LP stage {stage!r} on this scenario{why}; "
                         f"its LP stages here: {', '.join(runner.models) or 'none'}")
    return runner.models[stage]


class _Keeping(StageRunner):
    """A stage runner that keeps every stage LP it is given, by stage name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.models: dict[str, LPModel] = {}

    def run(self, stage: str, lp: LPModel):
        self.models[stage] = lp
        return super().run(stage, lp)

    def attempt(self, stage: str, lp: LPModel, note: str, accept=None):
        self.models[stage] = lp
        return super().attempt(stage, lp, note, accept)


def _header(model: CompiledModel, stage: str | None, legend: str, mps: bool) -> list[str]:
    which = (f"the stage '{stage}' (earlier stages' results held)" if stage is not None
             else "the rule's first stage (the first of the stages 'allocator solve' lists)")
    units = ", ".join(f"{r.id} in {r.unit}" if r.unit else r.id for r in model.scenario.resources)
    lines = [f"allocator {__version__}: scenario {model.scenario.name}, rule {model.rule.describe()}",
             f"this is {which}",
             f"in the scenario's own units ({units}): no internal scaling",
             f"what every name means: {legend}"]
    if mps:
        lines += ["allocator MAXIMISES; this file MINIMISES THE NEGATED OBJECTIVE (not every reader takes OBJSENSE):",
                  "its optimum is minus the stage objective 'allocator solve' reports",
                  "free MPS (names longer than 8 characters): glpsol --freemps, HiGHS readModel"]
    else:
        lines.append("its optimum is the stage objective 'allocator solve' reports")
    # comments are one line each, in ASCII: ids may hold anything
    return [re.sub(r"[\x00-\x1f\x7f]", " ", line).encode("ascii", "backslashreplace").decode("ascii")
            for line in lines]


def names(model: CompiledModel, lp: LPModel) -> tuple[list[str], list[str], dict[str, pd.DataFrame]]:
    """Column and row names from the ids, and per kind (``column``, ``row``) the legend of each model index."""
    tokens = _Tokens(model.problem)
    out, legends = {}, {}
    for kind, blocks, total in (("column", lp.col_blocks, lp.num_cols), ("row", lp.row_blocks, lp.num_rows)):
        named = [f"{kind[0]}_{i}" for i in range(total)]  # for an index no block covers (none does today)
        parts = [pd.DataFrame({"kind": [kind] * total})]
        for block, span in blocks.items():
            start, stop, _ = span.indices(total)
            labels = _labels(model, kind, block, stop - start)
            prefix = PREFIX.get((kind, block)) or sanitise(block.replace(":", "_"))
            frame = pd.DataFrame({"block": block, "index": np.arange(stop - start),
                                  "meaning": MEANING.get((kind, block)) or _constraint_meaning(model, block)},
                                 index=range(start, stop))
            if labels is None:
                named[start:stop] = [prefix] if stop - start == 1 else [f"{prefix}_{k}" for k in range(stop - start)]
            else:
                labels = labels.set_axis(frame.index)
                frame = frame.join(labels)
                named[start:stop] = tokens.names(prefix, labels)
            parts.append(frame)
        legends[kind] = pd.concat(parts[1:]).reindex(range(total)).assign(kind=kind) if len(parts) > 1 else parts[0]
        out[kind] = named
    return out["column"], out["row"], legends


class _Tokens:
    """Each id as a name part, distinct ids always distinct parts (per kind of id)."""

    def __init__(self, problem: Problem):
        def distinct(ids) -> dict[str, str]:
            ids = [str(i) for i in ids]
            return dict(zip(ids, unique([sanitise(i, ID_PART, leading=False) for i in ids])))

        self.of = {"unit": distinct(problem.unit_ids), "site": distinct(problem.site_ids),
                   "to": distinct(problem.site_ids), "resource": distinct(problem.resource_ids)}

    def names(self, prefix: str, labels: pd.DataFrame) -> list[str]:
        columns = [c for c in ("attribute", "group", "unit", "site", "to", "resource") if c in labels.columns
                   and not (c == "attribute" and _said(prefix, labels[c]))]
        parts = [[self.of.get(c, {}).get(str(v)) or sanitise(str(v), ID_PART, leading=False) for v in labels[c]] for c in columns]
        # capped like every name part: LP readers stop at 255 characters (the cap leaves room for _lo/_hi and
        # the _2, _3... that keep capped names distinct)
        joined = ["_".join((prefix, *row)) for row in zip(*parts)] if parts else [prefix] * len(labels)
        return [name[:MAX_NAME] for name in joined]


def _said(prefix: str, values: pd.Series) -> bool:
    """Whether every value is a part of ``prefix`` already (a constraint block's name holds its attribute)."""
    return all(f"_{sanitise(str(v), ID_PART, leading=False)}" in f"{prefix}_" for v in values.unique())


def _constraint_meaning(model: CompiledModel, block: str) -> str:
    """The constraint (as written) that a block of rows or helper columns belongs to, or ''."""
    for constraint, name in constraint_blocks(model.constraints):
        if block == name or block.startswith(name + ":"):
            return f"part of {constraint.describe()}"
    return ""


def _labels(model: CompiledModel, kind: str, block: str, count: int) -> pd.DataFrame | None:
    """The ids each column or row of ``block`` stands for, or ``None`` when it is only numbered."""
    problem, measures = model.problem, model.measures
    ids = lambda values, index: np.asarray(values, dtype=object)[index]  # noqa: E731
    num_res = len(problem.resource_ids)
    if (kind, block) == ("column", "flow"):
        pair = problem.flow_pair
        frame = {"unit": ids(problem.unit_ids, problem.pair_unit[pair])}
        if problem.has_sites:
            frame["site"] = ids(problem.site_ids, problem.flow_site)
        return pd.DataFrame({**frame, "resource": ids(problem.resource_ids, problem.pair_resource[pair])})
    if (kind, block) == ("column", "edge"):
        edge, resource = np.divmod(np.arange(count), num_res)
        network = problem.network
        return pd.DataFrame({"site": ids(problem.site_ids, network.tail[edge]),
                             "to": ids(problem.site_ids, network.head[edge]),
                             "resource": ids(problem.resource_ids, resource)})
    if block in ("demand", "rate") or (kind, block) == ("column", "z"):
        return measures.pair.labels[["unit", "resource"]].copy() if count == len(measures.pair) else None
    if (kind, block) == ("row", "level"):
        measure = measures.over(model.rule.params().get("over"))
        return _measure_labels(measure) if count == len(measure) else None
    if (kind, block) == ("row", "supply"):
        if problem.network is not None:
            cells = np.arange(count)
        else:
            cells = np.unique(problem.flow_site * num_res + problem.pair_resource[problem.flow_pair])
        return pd.DataFrame({"site": ids(problem.site_ids, cells // num_res),
                             "resource": ids(problem.resource_ids, cells % num_res)})
    if kind == "row" and problem.network is not None:
        return _network_labels(problem, block)
    if kind == "row" and block.startswith("exclusive:"):
        members = problem.exclusive[int(block.split(":")[1])]
        mine = np.isin(problem.pair_resource[problem.flow_pair], members)
        return pd.DataFrame({"unit": ids(problem.unit_ids, np.unique(problem.pair_unit[problem.flow_pair[mine]]))})
    return _constraint_labels(model, kind, block, count)


def _measure_labels(measure) -> pd.DataFrame:
    labels = measure.labels
    return labels[[c for c in ("attribute", "group", "unit", "resource") if c in labels.columns]].copy()


def _network_labels(problem: Problem, block: str) -> pd.DataFrame | None:
    network, sites = problem.network, np.asarray(problem.site_ids, dtype=object)
    if block == "edge_capacity":
        limited = np.flatnonzero(np.isfinite(network.capacity))
        return pd.DataFrame({"site": sites[network.tail[limited]], "to": sites[network.head[limited]]})
    if block == "edge_resource_capacity":
        edge, resource = np.divmod(np.flatnonzero(np.isfinite(network.resource_capacity.ravel())),
                                   len(problem.resource_ids))
        return pd.DataFrame({"site": sites[network.tail[edge]], "to": sites[network.head[edge]],
                             "resource": np.asarray(problem.resource_ids, dtype=object)[resource]})
    if block == "node_throughput":
        return pd.DataFrame({"site": sites[np.flatnonzero(np.isfinite(network.throughput))]})
    return None


def _constraint_labels(model: CompiledModel, kind: str, block: str, count: int) -> pd.DataFrame | None:
    """Group constraints: rows per (group, resource) of their measure, helpers per resource."""
    for constraint, name in constraint_blocks(model.constraints):
        if not (block == name or block.startswith(name + ":")) or not constraint.params().get("attribute"):
            continue
        measure = group_measure(constraint, model.measures)
        per_resource = (kind == "column") or rows_of(constraint).rows_per_resource(name, block)
        if per_resource:
            resources = np.unique(measure.resource)
            labels = measure.labels
            first = [int(np.flatnonzero(measure.resource == r)[0]) for r in resources]
            frame = labels.iloc[first][["resource"]].reset_index(drop=True)
            return frame if count == len(frame) else None
        return _measure_labels(measure).reset_index(drop=True) if count == len(measure) else None
    return None


def _legend_table(legend: dict[str, pd.DataFrame], plan) -> pd.DataFrame:
    """One legend row per name as written: columns, then rows (a split row twice, with its sense)."""
    columns = legend["column"].assign(name=plan.columns, sense="")
    rows = legend["row"].iloc[plan.row].assign(name=plan.names,
                                               sense=[{"E": "=", "G": ">=", "L": "<="}[s] for s in plan.sense])
    table = pd.concat([columns, rows], ignore_index=True)
    for column in LEGEND:
        if column not in table.columns:
            table[column] = ""
    table["index"] = table["index"].astype("Int64")
    return table[LEGEND].astype(object).where(table[LEGEND].notna(), "")
