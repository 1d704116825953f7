"""Explain infeasibility in the planner's terms.

Without scenario constraints the feasible set always contains ``x = 0``, and every rule's
first stage is feasible with ``t = 0``, except ``proportional``, whose equal-rate rows can
clash with a constraint that forces some rates up. So an infeasible solve is always caused by
the constraints, possibly together with the rule. A deletion filter finds a minimal
conflicting subset: drop each constraint in turn and keep it dropped if the rest is still
infeasible. For a single culprit with a numeric parameter, bisection finds the strictest
value that holds. Every verdict follows the tolerance policy (:mod:`allocator.core.tolerance`): the
LPs impose each parameter loosened by ``PARAMETER_TOLERANCE`` (as :func:`allocator.solve` does
at a boundary, :mod:`allocator.solving.boundary`), they are solved through the same
equilibration as the rule's stages, and a strictest value is reported to ``REPORTED_RATE``
towards the loose side, so the value named holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from allocator.backends.base import Backend, SolverLike, SolverOptions
from allocator.backends.scaling import solve_equilibrated
from allocator.core.arguments import checked
from allocator.core.errors import InfeasibleError, Message, Parameter, SolverError
from allocator.core.precision import frame_records
from allocator.core.status import Status
from allocator.core.tolerance import (
    FLOAT_ROUNDOFF,
    PARAMETER_TOLERANCE,
    SOLVER_FEASIBILITY,
    holds,
    loosened,
    reported_limit,
    shown,
)
from allocator.model.compiler import CompiledModel, feasible_set
from allocator.model.lp import LPModel
from allocator.results.analysis import Analysis
from allocator.rules.base import algorithm
from allocator.scenario.constraints import Constraint, Floor
from allocator.scenario.load import ScenarioLike
from allocator.solving.boundary import PARAMETERS, best_level, loosen

#: bisection stops when the bracket is this narrow: below the reported precision, so the rounded
#: limit is the strictest reported value that holds
BISECTION_WIDTH = SOLVER_FEASIBILITY


class _Oracle:
    """Answers 'can these constraints hold?' (optionally together with the rule's first stage)."""

    def __init__(self, model: CompiledModel, backend: Backend, options: SolverOptions, with_rule: bool):
        self.model, self.backend, self.options, self.with_rule = model, backend, options, with_rule

    def _lp(self, constraints: list[Constraint]) -> LPModel:
        constraints = loosen(constraints)  # the verdict of the tolerance policy
        base = feasible_set(self.model.problem, self.model.measures, constraints, self.model.baselines)
        if not self.with_rule:
            return base
        return algorithm(self.model.rule).first_stage(replace(self.model, constraints=tuple(constraints), base=base))

    def feasible(self, constraints: list[Constraint]) -> bool:
        # equilibrated like the rule's stages: a verdict must not depend on which path asked
        status = solve_equilibrated(self.backend, self._lp(constraints), self.options).status
        if status not in (Status.OPTIMAL, Status.INFEASIBLE):
            raise SolverError(f"{self.backend.name} could not decide feasibility (status {status.value})")
        return status is Status.OPTIMAL

    def minimal_conflict(self, constraints: list[Constraint]) -> list[Constraint]:
        """A minimal infeasible subset of ``constraints`` (deletion filter)."""
        active = list(constraints)
        for constraint in list(active):
            trial = [c for c in active if c is not constraint]
            if not self.feasible(trial):
                active = trial
        return active

    def strictest(self, culprit: Constraint, others: list[Constraint]) -> float | None:
        """The strictest value of ``culprit``'s parameter that holds with ``others`` (one LP for a floor, else bisection)."""
        if culprit.key not in PARAMETERS:
            return None
        name, stricter_up = PARAMETERS[culprit.key]
        if culprit.key in ("floor", "group_floor") and not self.with_rule:
            # one LP: the share holds iff the max-min level of its rates is at least share - tolerance
            level = best_level(self.model, culprit, loosen(others), self.backend, self.options)
            if level is not None:
                asked = getattr(culprit, name)
                return float(asked) if holds(level, asked, True) else reported_limit(level + PARAMETER_TOLERANCE, True)
        feasible_end, infeasible_end = (0.0 if stricter_up else 1.0), getattr(culprit, name)
        if not self.feasible([*others, culprit.model_copy(update={name: feasible_end})]):
            return None
        if self.feasible([*others, culprit.model_copy(update={name: infeasible_end})]):
            return float(infeasible_end)  # the value asked for holds already
        while abs(infeasible_end - feasible_end) > BISECTION_WIDTH:
            middle = (feasible_end + infeasible_end) / 2
            if self.feasible([*others, culprit.model_copy(update={name: middle})]):
                feasible_end = middle
            else:
                infeasible_end = middle
        return reported_limit(feasible_end, stricter_up)


def infeasibility(model: CompiledModel, backend: Backend, options: SolverOptions) -> InfeasibleError:
    """Build the :class:`InfeasibleError` for a model whose stage LPs turned out infeasible."""
    constraints = list(model.constraints)
    oracle = _Oracle(model, backend, options, with_rule=False)
    rule = model.rule.describe()
    if oracle.feasible(constraints):
        oracle = _Oracle(model, backend, options, with_rule=True)
        if oracle.feasible([]) and not oracle.feasible(constraints):
            conflict = oracle.minimal_conflict(constraints)
            lines = [f"The rule {rule} cannot hold together with " + "; ".join(c.describe() for c in conflict)
                     + ", though the constraints can hold under other rules."]
            return InfeasibleError([rule, *(c.describe() for c in conflict)], lines + _strictest(oracle, conflict))
        return InfeasibleError([], [Message("The constraints can hold, but a later stage of the rule became "
                                            "infeasible through solver round-off; try the other backend (",
                                            Parameter("solver", "pulp"), ").")])
    conflict = oracle.minimal_conflict(constraints)
    if len(conflict) == 1:
        lines = [f"{conflict[0].describe()} cannot hold with this supply and these links, even on its own."]
        if isinstance(conflict[0], Floor):  # the class of the key "floor"
            lines += floor_shortage(model.problem, conflict[0].share, conflict[0].resource)
    else:
        lines = ["These constraints cannot hold together, though each can hold without the others: "
                 + "; ".join(c.describe() for c in conflict) + "."]
    return InfeasibleError([c.describe() for c in conflict], lines + _strictest(oracle, conflict))


#: a conflict of more constraints than this is explained without the strictest values (a bisection each)
STRICTEST_OF = 3


def _strictest(oracle: _Oracle, conflict: list[Constraint]) -> list[str]:
    """For each culprit with a numeric parameter, the sentence naming the strictest value of it that
    can hold with the other constraints kept."""
    if len(conflict) > STRICTEST_OF:
        return []
    lines = []
    for culprit in conflict:
        others = [c for c in oracle.model.constraints if c is not culprit]
        best = oracle.strictest(culprit, others)
        if best is None:
            continue
        name, stricter_up = PARAMETERS[culprit.key]
        bound = "at most" if stricter_up else "at least"
        scope = ", with the other constraints kept" if others else ""
        subject = f"The {name}" if len(conflict) == 1 else f"The {name} of {culprit.key}"
        lines.append(f"{subject} that can hold is {bound} {shown(best)}{scope} "
                     f"(it asks for {shown(getattr(culprit, name))}).")
    return lines


#: units and sites named in a shortage sentence before "and N more"
NAMED = 5


def floor_shortage(problem, share: float, resource: str | None = None) -> list[str]:
    """Sentences naming a set of units whose reachable stock is below what a ``share`` floor asks of it.

    For each resource, a max-flow from the units (capacity ``share x demand``) through their
    links to the sites (capacity: stock) finds whether the floor can be met; if not, the units
    on the source side of a minimum cut and the sites they can reach are a set that proves it
    (Hall's condition): together those sites hold less than the floor asks for those units.
    """
    import igraph

    lines = []
    resources = range(len(problem.resource_ids)) if resource is None else [problem.resource_ids.index(resource)]
    for r in resources:
        pairs = np.flatnonzero(problem.pair_reachable & (problem.pair_resource == r))
        links = np.flatnonzero(problem.pair_resource[problem.flow_pair] == r)
        if not len(pairs) or not len(links):
            continue
        sites = np.unique(problem.flow_site[links])
        pair_node = np.full(problem.num_pairs, -1)
        pair_node[pairs] = 2 + np.arange(len(pairs))
        site_node = np.full(len(problem.site_ids), -1)
        site_node[sites] = 2 + len(pairs) + np.arange(len(sites))
        wanted = loosened(share, True) * problem.pair_demand[pairs]  # what the LP imposes
        stock = problem.supply[sites, r]
        edges = np.concatenate([np.stack([np.zeros(len(pairs), dtype=np.int64), pair_node[pairs]], axis=1),
                                np.stack([pair_node[problem.flow_pair[links]], site_node[problem.flow_site[links]]], axis=1),
                                np.stack([site_node[sites], np.ones(len(sites), dtype=np.int64)], axis=1)])
        capacity = np.concatenate([wanted, np.full(len(links), wanted.sum() + stock.sum() + 1.0), stock])
        graph = igraph.Graph(n=2 + len(pairs) + len(sites), edges=edges.tolist(), directed=True)
        flow = graph.maxflow(0, 1, capacity=capacity.tolist())
        if flow.value >= wanted.sum() * (1 - FLOAT_ROUNDOFF):
            continue
        side = np.zeros(graph.vcount(), dtype=bool)
        side[flow.partition[0]] = True
        short_pairs = pairs[side[pair_node[pairs]]]
        short_sites = sites[side[site_node[sites]]]
        units = [str(problem.unit_ids[problem.pair_unit[p]]) for p in short_pairs]
        names = [str(problem.site_ids[s]) for s in short_sites]
        held = float(problem.supply[short_sites, r].sum())
        demand = float(problem.pair_demand[short_pairs].sum())
        where = ("no site" if not names else
                 f"only {'site' if len(names) == 1 else 'sites'} {_listed(names)}, which "
                 f"{'holds' if len(names) == 1 else 'hold'} {held:,.6g}")
        lines.append(f"A {share:.0%} floor for every unit is impossible for {problem.resource_ids[r]}: "
                     f"{'unit' if len(units) == 1 else 'units'} {_listed(units)} can reach {where} for their "
                     f"{demand:,.6g} of demand (the floor asks for {share * demand:,.7g}).")
    return lines


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:NAMED])
    return shown + (f" and {len(names) - NAMED} more" if len(names) > NAMED else "")


@dataclass(frozen=True, eq=False)
class Diagnosis(Analysis):
    """What :func:`diagnose` found; ``save`` writes ``limits.csv`` (the ``table``) and ``summary.json``.

    Attributes
    ----------
    feasible : bool
        Whether the scenario's constraints can hold together (with the rule).
    conflicting, explanation : list of str
        As :class:`~allocator.core.errors.InfeasibleError`, when not feasible.
    limits : DataFrame
        ``constraint, parameter, given, limit``: for each constraint with a numeric parameter
        (the scenario's, and a floor, group_ratio and group_gap per attribute it does not have),
        the strictest value that holds together with the scenario's other constraints.
    """

    feasible: bool
    conflicting: list[str]
    explanation: list[str]
    limits: pd.DataFrame
    inputs: tuple[str, ...] = ()

    FILE = "limits.csv"

    @property
    def table(self) -> pd.DataFrame:
        """``constraint, parameter, given, limit`` (``limits``)."""
        return self.limits

    def to_dict(self) -> dict:
        """Whether feasible, the conflict and its explanation, and every limit (``summary.json``)."""
        return {"feasible": self.feasible, "conflicting": list(self.conflicting),
                "explanation": list(self.explanation), "limits": frame_records(self.limits)}


@checked
def diagnose(scenario: ScenarioLike, *, rule=None, constraints=None, solver: SolverLike = "highs") -> Diagnosis:
    """Check whether the constraints can hold, explain why not, and find the strictest values that can.

    Each limit holds together with every other constraint of the scenario: for a floor or group
    floor, the max-min level of its rates (one LP); otherwise by bisection on the constraint's
    parameter (to ``BISECTION_WIDTH``, about 24 feasibility LPs). It is reported to the reported
    precision towards the loose side (:func:`allocator.core.tolerance.reported_limit`).

    Parameters
    ----------
    scenario : Scenario or path
    rule : rule, optional
        Default: the scenario's rule.
    constraints : constraint or list, optional
        Default: the scenario's; ``[]`` for none.
    solver : str

    Returns
    -------
    Diagnosis
        ``feasible``, the conflict when not, and the ``table`` of limits.

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "x", "resources": [{"id": "food"}], "supply": {"food": 6},
    ...     "constraints": [{"type": "floor", "share": 0.9}],
    ...     "units": [{"id": "a", "demand": 4}, {"id": "b", "demand": 4}]})
    >>> found = diagnose(s)
    >>> found.feasible, found.table.loc[found.table["constraint"] == "floor", "limit"].tolist()
    (False, [0.75])
    """
    from allocator.backends import get_backend
    from allocator.scenario.constraints import CONSTRAINTS
    from allocator.solving.compile import compile as compile_model

    model = compile_model(scenario, rule=rule, constraints=constraints)
    backend, options = get_backend(solver), SolverOptions()
    oracle = _Oracle(model, backend, options, with_rule=False)
    active = list(model.constraints)
    feasible = oracle.feasible(active) and _Oracle(model, backend, options, with_rule=True).feasible(active)
    conflicting, explanation = [], []
    if not feasible:
        error = infeasibility(model, backend, options)
        conflicting, explanation = error.conflicting, error.explanation
    def extreme(c):  # the constraint at its strictest: the bisection searches from the loosest to there
        name, stricter_up = PARAMETERS[c.key]
        return c.model_copy(update={name: 1.0 if stricter_up else 0.0})

    candidates = [(extreme(c), [d for d in active if d is not c], getattr(c, PARAMETERS[c.key][0]))
                  for c in active if c.key in PARAMETERS]
    present = {(c.key, c.params().get("attribute")) for c in active}
    wanted = [("floor", None, {"share": 1.0})] + [
        item for attribute in scenario.groups
        for item in (("group_ratio", attribute, {"min_ratio": 1.0}), ("group_gap", attribute, {"max_gap": 0.0}))]
    for key, attribute, parameter in wanted:
        if (key, attribute) not in present:
            spec = {"type": key, **({"attribute": attribute} if attribute else {}), **parameter}
            candidates.append((CONSTRAINTS.parse(spec, file="", where="")[0], active, None))
    rows = []
    for constraint, others, given in candidates:
        name = PARAMETERS[constraint.key][0]
        limit = oracle.strictest(constraint, others)
        attribute = constraint.params().get("attribute")
        rows.append({"constraint": constraint.key + (f"(attribute={attribute})" if attribute else ""),
                     "parameter": name, "given": given, "limit": limit})
    limits = pd.DataFrame(rows, columns=["constraint", "parameter", "given", "limit"])
    return Diagnosis(feasible, conflicting, explanation, limits, inputs=model.scenario.input_paths)
