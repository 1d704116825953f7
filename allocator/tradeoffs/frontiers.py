"""The efficiency-equity frontier: the most total value each strength of a constraint allows.

For values ``p_1 .. p_m`` of one constraint parameter (``group_gap``'s ``max_gap``, ``floor``'s
``share``, ``group_floor``'s ``share``, ``group_ratio``'s ``min_ratio``), solve

.. math::

    V(p) = \\max_x \\sum_{i,r} v_{ir} a_{ir}(x) \\quad \\text{s.t. the constraint at } p
    \\text{ and the scenario's other constraints}

so the curve shows what each step of equity costs. The points are one sequence: the scenario
is indexed once, only the feasible set is rebuilt per point (bulk array operations), and HiGHS
starts each point from the previous point's optimal basis (:class:`~allocator.backends.highs.WarmHighs`),
which is usually a few dual simplex pivots away. Points where the constraint cannot hold are
marked ``infeasible``, not fatal.

For ``floor``, ``group_floor`` and ``group_gap`` the parameter only moves right-hand sides, so
``V`` is concave and piecewise linear in it (LP sensitivity): straight lines between computed
points lie on or below the true curve. The exact breakpoints would need a parametric simplex,
which HiGHS does not expose; allocator samples the points you ask for instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Callable

import numpy as np
import pandas as pd

from allocator.backends import SolverOptions, get_backend
from allocator.backends.base import SolverLike
from allocator.backends.highs import WarmHighs
from allocator.core.arguments import Numbers, Text, checked
from allocator.core.budget import FRONTIER_POINTS_WHY, MAX_FRONTIER_POINTS, refuse_over
from allocator.core.errors import InfeasibleError, ScenarioError, UsageError
from allocator.core.inequality import price_of_fairness
from allocator.core.precision import frame_records
from allocator.core.registry import Spec
from allocator.core.spec_text import parse_spec
from allocator.core.status import Status
from allocator.model.compiler import CompiledModel, feasible_set, resolve_constraints, resolve_rule
from allocator.model.measures import MeasureSet
from allocator.model.problem import Problem
from allocator.results.analysis import Analysis, metric_name
from allocator.scenario.checks import check_references
from allocator.scenario.constraints import CONSTRAINTS
from allocator.scenario.load import ScenarioLike
from allocator.solving.api import solve_compiled
from allocator.solving.baselines import solve_baselines

#: constraint type -> the parameter the frontier moves
PARAMETERS = {"group_gap": "max_gap", "floor": "share", "group_floor": "share", "group_ratio": "min_ratio"}


@dataclass(frozen=True, eq=False)
class Frontier(Analysis):
    """The points of a frontier, and how they were solved; ``save`` writes ``frontier.csv`` and ``summary.json``.

    Attributes
    ----------
    table : DataFrame
        One row per point: the parameter, ``status`` (``optimal`` or ``infeasible``),
        ``total_value``, ``total_allocated``, ``min_fill_rate``, ``price_of_fairness`` (value lost
        against the most total value without this constraint, the scenario's others held:
        :func:`~allocator.core.inequality.price_of_fairness`) and, with an attribute,
        ``max_group_gap[attribute]`` and ``min_group_ratio[attribute]``.
    constraint : dict
        The constraint without its moving parameter.
    parameter : str
    warm_starts : int
        Points started from the previous basis.
    """

    table: pd.DataFrame
    constraint: dict
    parameter: str
    warm_starts: int
    inputs: tuple[str, ...] = ()

    FILE = "frontier.csv"

    def to_dict(self) -> dict:
        """The constraint, the parameter moved, warm starts and every point (``summary.json``)."""
        return {"constraint": self.constraint, "parameter": self.parameter, "warm_starts": self.warm_starts,
                "points": frame_records(self.table)}  # not to_json: it keeps 10 decimals at most


@checked
def frontier(scenario: ScenarioLike, constraint, values: Numbers, *, attribute: Text | None = None,
             resource: Text | None = None, solver: SolverLike = "highs",
             progress: Callable[[str], None] | None = None) -> Frontier:
    """Trace the largest total value for each value of ``constraint``'s parameter.

    Parameters
    ----------
    scenario : Scenario
        Its own constraints stay in force at every point (except one of the same type and attribute).
    constraint : str, mapping or Constraint
        ``group_gap``, ``floor``, ``group_floor`` or ``group_ratio``; also as a spec
        (``"group_gap:attribute=race"``, a mapping or an object), whose attribute and resource
        are used and whose moving parameter is ignored.
    values : sequence of float
        The parameter values, in the order to solve them (e.g. from loose to tight): at least
        one, at most :data:`~allocator.core.budget.MAX_FRONTIER_POINTS` (1,000).
    attribute : str, optional
        Required for group constraints.

    Returns
    -------
    Frontier

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "pool", "resources": [{"id": "food"}], "supply": {"food": 6},
    ...     "units": [{"id": "a", "demand": 4, "value": 3}, {"id": "b", "demand": 4, "value": 1}]})
    >>> frontier(s, "floor", [0.0, 0.5, 0.75]).table["total_value"].round(6).tolist()
    [14.0, 14.0, 12.0]
    """
    kept: dict = {}  # the spec's other fields (measure, over...): every point keeps them
    if not (isinstance(constraint, str) and constraint in PARAMETERS):  # a spec: its kind, attribute, resource
        given = constraint if isinstance(constraint, Spec) else None
        if given is None:
            spec = parse_spec(constraint, "type") if isinstance(constraint, str) else constraint
            given = dict(spec) if isinstance(spec, Mapping) else None
        else:
            given = {"type": given.key, **given.params()}
        if given is None:
            raise UsageError(f"constraint: expected one of {', '.join(PARAMETERS)}, got {constraint!r}")
        constraint = given.get("type")
        for name, value in (("attribute", attribute), ("resource", resource)):
            if value is not None and given.get(name) is not None and str(given[name]) != str(value):
                raise UsageError(f"the constraint names {name} {given[name]!r} and the call {value!r}: name it once")
        attribute = attribute or given.get("attribute")
        resource = resource or given.get("resource")
        kept = {k: v for k, v in given.items() if k not in ("type", "attribute", "resource") and v is not None}
    if constraint not in PARAMETERS:
        raise UsageError(f"constraint: the frontier moves one of: {', '.join(PARAMETERS)}; got {constraint!r}")
    parameter = PARAMETERS[constraint]
    kept.pop(parameter, None)  # the value the frontier moves
    fixed = {"type": constraint, **kept, **({"attribute": attribute} if attribute else {}),
             **({"resource": resource} if resource else {})}
    others = [c for c in resolve_constraints(None, scenario)
              if not (c.key == constraint and c.params().get("attribute") == attribute)]
    values = _point_values(values)
    specs = []
    for value in values:
        spec, issues = CONSTRAINTS.parse({**fixed, parameter: float(value)}, file="<argument>", where="constraint")
        if issues:
            raise UsageError("; ".join(f"{i.location}: {i.message}" + (f" (expected {i.expected})" if i.expected else "")
                                       for i in issues))
        specs.append(spec)
    rule = resolve_rule("utilitarian", scenario)
    issues = check_references(scenario, rule, [*others, *specs[:1]], file="<argument>")
    if issues:
        raise ScenarioError(issues)
    problem = Problem.from_scenario(scenario)  # indexed once for every point
    measures = MeasureSet(problem)
    backend = WarmHighs() if solver == "highs" else get_backend(solver)
    rows = []
    baselines = None
    for value, spec in zip(values, specs):
        if progress is not None:
            progress(f"{parameter}={value:g}")
        constraints = (*others, spec)
        if baselines is None:  # the same for every point: a baseline knows no constraints
            baselines = solve_baselines(problem, measures, constraints, solver)
        model = CompiledModel(scenario, problem, measures, rule, constraints,
                              feasible_set(problem, measures, constraints, baselines), baselines)
        row: dict[str, object] = {parameter: float(value)}
        try:
            result = solve_compiled(model, solver=backend, options=SolverOptions(), withheld=False)  # metrics only
        except InfeasibleError:
            row.update(status=Status.INFEASIBLE.value, total_value=np.nan, total_allocated=np.nan, min_fill_rate=np.nan)
        else:
            metrics = result.metrics
            row.update(status=result.status.value, total_value=metrics["total_value"],
                       total_allocated=metrics["total_allocated"], min_fill_rate=metrics["min_fill_rate"])
            if attribute:
                for name in ("max_group_gap", "min_group_ratio"):
                    row[metric_name(name, attribute)] = metrics[name].get(attribute)
        rows.append(row)
    table = pd.DataFrame(rows)
    best = _best_value(CompiledModel(scenario, problem, measures, rule, tuple(others),
                                     feasible_set(problem, measures, tuple(others), baselines), baselines), solver)
    table["price_of_fairness"] = [price_of_fairness(value, best) for value in table["total_value"]]
    return Frontier(table, fixed, parameter, getattr(backend, "warm_starts", 0),
                    inputs=scenario.input_paths)


def _best_value(model: CompiledModel, solver: SolverLike) -> float | None:
    """The most total value without the moving constraint (the scenario's others held), or ``None``."""
    try:
        return solve_compiled(model, solver=solver, withheld=False).metrics["total_value"]
    except InfeasibleError:  # the other constraints alone cannot hold: every point is infeasible too
        return None


def _point_values(values) -> list:
    """The parameter values as a list (a generator is read once), refused before any solve when there
    are none or more than :data:`~allocator.core.budget.MAX_FRONTIER_POINTS`."""
    given = len(values) if hasattr(values, "__len__") else None
    points = list(islice(values, MAX_FRONTIER_POINTS + 1))
    if not points:
        raise UsageError("values: the frontier needs at least one parameter value, got none")
    refuse_over("values", given if given is not None else len(points), MAX_FRONTIER_POINTS, FRONTIER_POINTS_WHY)
    return points
