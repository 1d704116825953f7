"""Constraints at their boundary: the tolerance policy applied to a model (docs/solving.md).

A constraint parameter holds iff the model with every parameter loosened by
``PARAMETER_TOLERANCE`` (:mod:`allocator.core.tolerance`) is feasible. A rule is first run on the
parameters as given; only if its stages are infeasible is the policy needed:

1. the verdict: the feasible set with every parameter loosened; infeasible -> the constraints
   do not hold (the caller explains why);
2. the model the rule runs on: a ``floor`` or ``group_floor`` at ``min(share, level)`` (never
   below the loosened share), where ``level`` is the max-min level of its rates with the other
   constraints loosened, so units at the boundary get exactly the level and no slack is left to
   collect; ``group_gap`` and ``group_ratio`` loosened by the first of ``BOUNDARY_STEPS`` that is
   feasible (a relaxed right-hand side, as little as will do: they fix no unit's rate);
3. if round-off makes that model infeasible too, every parameter loosened.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from allocator.backends.base import Backend, SolverOptions
from allocator.backends.scaling import solve_equilibrated
from allocator.constraints.base import group_measure
from allocator.core.errors import StageInfeasible
from allocator.core.status import Status
from allocator.core.tolerance import BOUNDARY_STEPS, loosened
from allocator.model.compiler import CompiledModel, feasible_set
from allocator.rules.base import RuleOutcome, algorithm
from allocator.rules.stages import StageRunner, level_lp, level_of
from allocator.scenario.constraints import Constraint, Floor, GroupFloor

#: per constraint type: (parameter, True if raising it makes the constraint stricter)
PARAMETERS: dict[str, tuple[str, bool]] = {
    "floor": ("share", True),
    "group_floor": ("share", True),
    "group_gap": ("max_gap", False),
    "group_ratio": ("min_ratio", True),
}
#: the note recorded when a rule is run again at the constraints' boundary
AT_BOUNDARY = "constraints at their boundary: run again with them held to the tolerance policy"


def loosen(constraints, keys=tuple(PARAMETERS), by: float | None = None) -> tuple[Constraint, ...]:
    """Every constraint of a type in ``keys`` with its parameter loosened by ``by`` (default
    ``PARAMETER_TOLERANCE``); the others as they are."""
    out = []
    for c in constraints:
        if c.key in PARAMETERS and c.key in keys:
            name, stricter_up = PARAMETERS[c.key]
            c = c.model_copy(update={name: loosened(getattr(c, name), stricter_up, *(() if by is None else (by,)))})
        out.append(c)
    return tuple(out)


def with_constraints(model: CompiledModel, constraints) -> CompiledModel:
    """``model`` with ``constraints`` in place of its own (the feasible set built again)."""

    constraints = tuple(constraints)
    return replace(model, constraints=constraints, base=feasible_set(model.problem, model.measures, constraints, model.baselines))


def _optimal(backend: Backend, lp, options: SolverOptions):
    solution = solve_equilibrated(backend, lp, options)
    return solution if solution.status is Status.OPTIMAL else None


def best_level(model: CompiledModel, constraint: Constraint, others, backend: Backend,
               options: SolverOptions) -> float | None:
    """The highest share a ``floor`` or ``group_floor`` could take with ``others``: the max-min level of its rates."""

    measures = model.measures
    if isinstance(constraint, Floor):  # the class of the key "floor"
        measure = measures.pair
        index = np.arange(len(measure))
        if constraint.resource is not None:
            index = np.flatnonzero(measure.resource == model.problem.resource_ids.index(constraint.resource))
    else:
        measure = group_measure(constraint, measures)
        index = np.arange(len(measure))
    if not len(index):
        return None
    lp = level_lp(feasible_set(model.problem, measures, tuple(others), model.baselines), measure, index)
    solution = _optimal(backend, lp, options)
    return None if solution is None else level_of(solution, lp)


def boundary_models(model: CompiledModel, backend: Backend, options: SolverOptions) -> list[CompiledModel]:
    """The models to run the rule on when it was infeasible as given, in order (steps 2 and 3 of the
    module docstring); empty when the constraints do not hold even loosened (step 1)."""
    if not any(c.key in PARAMETERS for c in model.constraints):
        return []
    loose = loosen(model.constraints)
    relaxed = with_constraints(model, loose)
    if _optimal(backend, relaxed.base, options) is None:
        return []
    effective = list(loose)
    for k, c in enumerate(model.constraints):
        if not isinstance(c, (Floor, GroupFloor)):  # the classes of "floor" and "group_floor"
            continue
        level = best_level(model, c, effective[:k] + effective[k + 1:], backend, options)
        if level is not None:
            effective[k] = c.model_copy(update={"share": min(c.share, max(loosened(c.share, True), level))})
    with_floors = [model.constraints[k] if c.key in ("group_gap", "group_ratio") else c for k, c in enumerate(effective)]
    gaps = ("group_gap", "group_ratio")
    for step in BOUNDARY_STEPS[:-1]:
        candidate = with_constraints(model, loosen(with_floors, gaps, step))
        if _optimal(backend, candidate.base, options) is not None:
            return [candidate, relaxed]
    return [with_constraints(model, loosen(with_floors, gaps, BOUNDARY_STEPS[-1])), relaxed]


def run_rule(model: CompiledModel, runner: StageRunner,
             fresh: Callable[[], StageRunner]) -> tuple[CompiledModel, StageRunner, RuleOutcome]:
    """Run ``model.rule``; if a stage is infeasible, run it again on each of :func:`boundary_models`.

    Returns the model the answer came from, the runner that found it (its records start with
    those of the attempts before it) and the rule's outcome. Raises ``StageInfeasible`` when no
    model is feasible.
    """

    try:
        return model, runner, algorithm(model.rule).run(model, runner)
    except StageInfeasible as exc:
        failed = exc
    for candidate in boundary_models(model, runner.backend, runner.options):
        retry = fresh()
        retry.deadline, retry.records = runner.deadline, runner.records
        retry.record("tolerance", float("nan"), 0.0, AT_BOUNDARY)
        try:
            return candidate, retry, algorithm(candidate.rule).run(candidate, retry)
        except StageInfeasible as exc:
            failed, runner = exc, retry
    raise failed
