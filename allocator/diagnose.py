"""Explain infeasibility in the planner's terms.

Without scenario constraints the feasible set always contains ``x = 0``, so an infeasible
model is always caused by the constraints. A deletion filter finds a minimal conflicting
subset: drop each constraint in turn and keep it dropped if the rest is still infeasible.
For a single culprit with a numeric parameter, bisection finds the loosest value that holds.
"""

from __future__ import annotations

from allocator.backends.base import Backend, SolverOptions
from allocator.compile import CompiledModel, feasible_set
from allocator.constraints.base import Constraint
from allocator.errors import InfeasibleError, SolverError
from allocator.status import Status

#: per constraint type: (parameter, True if raising it makes the constraint stricter)
PARAMETERS: dict[str, tuple[str, bool]] = {
    "floor": ("share", True),
    "group_floor": ("share", True),
    "group_gap": ("max_gap", False),
    "group_ratio": ("min_ratio", True),
}
BISECTION_STEPS = 14


def _feasible(model: CompiledModel, constraints: list[Constraint], backend: Backend, options: SolverOptions) -> bool:
    lp = feasible_set(model.problem, model.measures, tuple(constraints))
    status = backend.solve(lp, options).status
    if status not in (Status.OPTIMAL, Status.INFEASIBLE):
        raise SolverError(f"{backend.name} could not decide feasibility (status {status.value})")
    return status is Status.OPTIMAL


def minimal_conflict(model: CompiledModel, backend: Backend, options: SolverOptions) -> list[Constraint]:
    """A minimal subset of the constraints that cannot hold together (deletion filter)."""
    active = list(model.constraints)
    for constraint in list(active):
        trial = [c for c in active if c is not constraint]
        if not _feasible(model, trial, backend, options):
            active = trial
    return active


def loosest_feasible(model: CompiledModel, culprit: Constraint, others: list[Constraint],
                     backend: Backend, options: SolverOptions) -> float | None:
    """The strictest value of ``culprit``'s parameter that still holds with ``others`` (by bisection)."""
    if culprit.key not in PARAMETERS:
        return None
    name, stricter_up = PARAMETERS[culprit.key]
    feasible_end, infeasible_end = (0.0, getattr(culprit, name)) if stricter_up else (1.0, getattr(culprit, name))
    for _ in range(BISECTION_STEPS):
        middle = (feasible_end + infeasible_end) / 2
        trial = culprit.model_copy(update={name: middle})
        if _feasible(model, [*others, trial], backend, options):
            feasible_end = middle
        else:
            infeasible_end = middle
    return feasible_end


def infeasibility(model: CompiledModel, backend: Backend, options: SolverOptions) -> InfeasibleError:
    """Build the :class:`InfeasibleError` for a model whose constraints cannot all hold."""
    if _feasible(model, list(model.constraints), backend, options):
        return InfeasibleError([], ["The constraints can hold, but a later stage of the rule became infeasible "
                                    "through round-off; try the other backend (--solver pulp)."])
    conflict = minimal_conflict(model, backend, options)
    names = [c.describe() for c in conflict]
    lines = []
    if len(conflict) == 1:
        culprit = conflict[0]
        others = [c for c in model.constraints if c is not culprit]
        best = loosest_feasible(model, culprit, others, backend, options)
        lines.append(f"{culprit.describe()} cannot hold with this supply and these links"
                     + (" (even with the other constraints removed)." if not others else
                        ", even together with the other constraints only."))
        if best is not None:
            name, stricter_up = PARAMETERS[culprit.key]
            bound = "at most" if stricter_up else "at least"
            lines.append(f"The {name} that can hold is {bound} {best:.4f} (it asks for {getattr(culprit, name)}).")
    else:
        lines.append("These constraints cannot hold together, though each can hold without the others: "
                     + "; ".join(names) + ".")
    return InfeasibleError(names, lines)
