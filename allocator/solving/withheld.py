"""Supply left undelivered while units it can reach still need it: how much, and what holds it back.

Measured by LPs on the compiled model, each maximising the total delivered (the rule set aside):

* ``open``: links and stocks only, network limits lifted;
* ``bare``: links, stocks and the network's limits (edge capacities, node throughputs, budget);
* ``constrained``: ``bare`` plus the scenario's constraints (relaxed to fractions);
* ``whole``: ``constrained`` with whole units, when a resource is indivisible.

Each step down is supply held back by what that step added; what ``whole`` can deliver beyond the
result is held back by the rule. Each amount is reported only when it exceeds :data:`LEFT` of
the resource's supply, so round-off never raises a warning. Nothing is solved when no stock is
left beside unmet demand it can reach (the usual case), so a solve pays for this only when it
has something to say.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from allocator.backends import get_backend
from allocator.backends.base import SolverOptions
from allocator.backends.scaling import solve_equilibrated
from allocator.core.errors import Issue, Severity, SolverError, UsageError
from allocator.core.status import Status
from allocator.model.compiler import feasible_set
from allocator.rules.base import algorithm

if TYPE_CHECKING:
    from allocator.model.lp import LPModel

#: supply and demand left below this share of the resource's supply are round-off
LEFT = 1e-6

#: network row block -> what it is, for the planner
NETWORK_LIMITS = {"edge_capacity": "edge capacities", "edge_resource_capacity": "per-resource edge capacities",
                  "node_throughput": "node throughput limits", "budget": "the transport budget"}


def withheld_supply(model, flows: np.ndarray, backend, options: SolverOptions | None = None) -> list[dict]:
    """Per resource and cause: ``{"resource", "amount", "share", "cause", "reason"}`` (amounts in scenario units).

    ``cause`` is ``network``, ``constraints``, ``whole_units`` or ``rule``; ``share`` is the
    amount over the resource's supply.
    """

    problem = model.problem
    supply = problem.supply.sum(axis=0)
    given = _by_resource(problem, flows)
    pairs = _unmet_pairs(problem, flows, supply)
    if not pairs.any():
        return []
    options = options or SolverOptions()
    backend = _plain(backend)
    open_lp = feasible_set(problem, model.measures, ())
    if problem.network is not None:
        opened = open_lp
        for block in NETWORK_LIMITS:
            if block in opened.row_blocks:
                opened = opened.with_row_bounds(block, upper=np.inf)
        steps: list[tuple[str, LPModel | None]] = [("open", opened), ("bare", open_lp)]
    else:
        steps = [("bare", open_lp)]
    if model.constraints:
        steps.append(("constrained", model.base))
    if problem.flow_integer is not None and np.any(problem.flow_integer):
        steps.append(("whole", None))
    reach = {}

    def solve(lp, relax=True):
        return _most_delivered(problem, lp, backend, options, relax=relax)

    for name, lp in steps:
        if name == "whole":
            reach[name] = solve(model.base if model.constraints else open_lp, relax=False)
        else:
            reach[name] = solve(lp)
        if reach[name] is None:  # the solver could not say: no amounts rather than wrong ones
            return []
    names = [name for name, _ in steps]
    records = []
    for r, resource in enumerate(problem.resource_ids):
        if not pairs[r]:
            continue
        floor = LEFT * max(float(supply[r]), 1e-300)
        levels = [reach[name][r] for name in names] + [given[r]]
        causes = names[1:] + ["rule"]  # what each step down adds
        for (high, low), cause in zip(zip(levels, levels[1:]), causes):
            amount = min(high - low, float(supply[r] - given[r]))
            if amount > floor:
                records.append({"resource": resource, "amount": float(amount), "share": float(amount / supply[r]),
                                "cause": _CAUSE[cause], "reason": _reason(cause, model, flows, r, solve, reach["bare"])})
    return records


_CAUSE = {"bare": "network", "constrained": "constraints", "whole": "whole_units", "rule": "rule"}


def withheld_warnings(model, records: list[dict]) -> list[Issue]:
    """One warning per record, in the planner's words."""
    problem = model.problem
    where = "at the sites" if problem.has_sites else "in the pool"
    units = {r.id: r.unit for r in model.scenario.resources} if model.scenario is not None else {}
    issues = []
    for record in records:
        unit = units.get(record["resource"], "")
        issues.append(Issue(problem.source, f"supply.{record['resource']}",
                            f"{_amount(record['amount'])} {unit + ' ' if unit else ''}of {record['resource']} "
                            f"({_share(record['share'])} of its supply) stays {where} while units it can reach still "
                            f"need it, because {record['reason']}", severity=Severity.WARNING))
    return issues


def _share(share: float) -> str:
    """A percentage a planner can read: ``28%``, ``0.3%``, ``<0.01%`` (never ``0%`` for something)."""
    percent = 100 * share
    if percent >= 10:
        return f"{percent:.0f}%"
    return f"{percent:.2g}%" if percent >= 0.01 else "<0.01%"


def _plain(backend):
    """A fresh backend of the same kind: a warm-starting one (a frontier's) keeps its basis for its own LPs."""

    try:
        return get_backend(backend.name)
    except UsageError:  # a backend of the caller's own making
        return backend


def _amount(value: float) -> str:
    """``12,110`` rather than ``1.211e+04``; small amounts to 4 significant digits."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.4g}"


def _by_resource(problem, flows: np.ndarray) -> np.ndarray:
    return np.bincount(problem.pair_resource[problem.flow_pair], weights=flows, minlength=len(problem.resource_ids))


def _unmet_pairs(problem, flows: np.ndarray, supply: np.ndarray) -> np.ndarray:
    """Per resource: is some stock left where a unit that still needs it could take it from?"""
    num_res = len(problem.resource_ids)
    allocated = problem.pair_allocation(flows)
    floor = LEFT * np.maximum(supply, 1e-300)
    short = problem.pair_reachable & (problem.pair_demand - allocated > floor[problem.pair_resource])
    if problem.network is not None:  # reachable through the network: the LPs tell how much can pass
        left = supply - _by_resource(problem, flows)
        return np.bincount(problem.pair_resource[short], minlength=num_res).astype(bool) & (left > floor)
    cell = problem.flow_site * num_res + problem.pair_resource[problem.flow_pair]
    used = np.bincount(cell, weights=flows, minlength=problem.supply.size)
    left = problem.supply.ravel() - used
    beside = short[problem.flow_pair] & (left[cell] > floor[problem.pair_resource[problem.flow_pair]])
    return np.bincount(problem.pair_resource[problem.flow_pair][beside], minlength=num_res).astype(bool)


def _most_delivered(problem, lp, backend, options, *, relax: bool) -> np.ndarray | None:
    """The most of each resource ``lp``'s feasible set can deliver (one LP: the total, over resources)."""
    lp = lp.with_objective({"flow": 1.0})
    if relax:
        lp = replace(lp, integer=None)
    try:
        solution = solve_equilibrated(backend, lp, options)  # as the rule's stages are (supply may be tiny in LP units)
    except SolverError:  # the allocation stands; only this measurement is lost
        return None
    if solution.status is not Status.OPTIMAL or solution.x is None:
        return None
    return _by_resource(problem, np.maximum(solution.x[lp.cols("flow")], 0.0) * problem.scale)


def _reason(cause: str, model, flows: np.ndarray, r: int, solve, bare: np.ndarray) -> str:
    if cause == "bare":
        present = [words for block, words in NETWORK_LIMITS.items() if block in model.base.row_blocks]
        return "the network's " + (", ".join(present) or "limits") + " cannot carry it there"
    if cause == "constrained":
        return _constraint_reason(model, r, solve, bare)
    if cause == "whole":
        if model.constraints:
            return ("whole units cannot be split: " + "; ".join(c.describe() for c in model.constraints)
                    + " could hold with fractions of a unit, not with one more whole unit")
        return "whole units cannot be split: what is left is less than a whole unit where it is needed"
    said = algorithm(model.rule).withholding(model, flows, r)
    return said or _value_reason(model, flows, r) or f"the rule {model.rule.describe()} gives them no more"


#: constraint type -> how it holds supply back
HOLDS = {
    "group_gap": "{c} holds every group's fill rate within {max_gap:g} of the others",
    "group_ratio": "{c} holds the lowest group's fill rate at {min_ratio:g} or more of the highest",
    "no_harm": "{c} keeps every unit at or above its allocation under the baseline rule",
    "floor": "{c} sends supply to the units it guarantees a share first",
    "group_floor": "{c} sends supply to the groups it guarantees a fill rate first",
}


def _constraint_reason(model, r: int, solve, bare: np.ndarray) -> str:
    """The constraints that, each alone, deliver less of resource ``r`` than links and stocks allow."""

    problem = model.problem
    blamed = []
    for constraint in model.constraints:
        # a single constraint is the one that holds supply back: no LP needed to say so
        alone = None if len(model.constraints) == 1 else solve(feasible_set(problem, model.measures, (constraint,),
                                                                                    model.baselines))
        if len(model.constraints) == 1 or alone is not None and alone[r] < bare[r] - LEFT * max(float(bare[r]), 1.0):
            params = constraint.params()
            text = HOLDS.get(constraint.key, "{c} allows no more")
            blamed.append(text.format(c=constraint.describe(), **params))
    if blamed:
        return "; ".join(blamed)
    return "the constraints together (" + "; ".join(c.describe() for c in model.constraints) + ") allow no more"


def _value_reason(model, flows: np.ndarray, r: int) -> str | None:
    """Value rules gain nothing by serving a unit of value 0."""
    problem = model.problem
    allocated = problem.pair_allocation(flows)
    short = problem.pair_reachable & (problem.pair_resource == r) & (problem.pair_demand - allocated > 0)
    if short.any() and np.all(problem.pair_value[short] <= 0):
        return (f"the units still in need have a value of 0, so the rule {model.rule.describe()} gains nothing "
                "by serving them")
    return None
