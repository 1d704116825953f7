"""Explain infeasibility in the planner's terms.

Without scenario constraints the feasible set always contains ``x = 0``, and every rule's
first stage is feasible with ``t = 0``, except ``proportional``, whose equal-rate rows can
clash with a constraint that forces some rates up. So an infeasible solve is always caused by
the constraints, possibly together with the rule. A deletion filter finds a minimal
conflicting subset: drop each constraint in turn and keep it dropped if the rest is still
infeasible. For a single culprit with a numeric parameter, bisection finds the strictest
value that holds.
"""

from __future__ import annotations

from dataclasses import replace

from allocator.backends.base import Backend, SolverOptions
from allocator.compiler import CompiledModel, feasible_set
from allocator.constraints.base import Constraint
from allocator.errors import InfeasibleError, SolverError
from allocator.lp import LPModel
from allocator.status import Status

#: per constraint type: (parameter, True if raising it makes the constraint stricter)
PARAMETERS: dict[str, tuple[str, bool]] = {
    "floor": ("share", True),
    "group_floor": ("share", True),
    "group_gap": ("max_gap", False),
    "group_ratio": ("min_ratio", True),
}
BISECTION_STEPS = 14


class _Oracle:
    """Answers 'can these constraints hold?' (optionally together with the rule's first stage)."""

    def __init__(self, model: CompiledModel, backend: Backend, options: SolverOptions, with_rule: bool):
        self.model, self.backend, self.options, self.with_rule = model, backend, options, with_rule

    def _lp(self, constraints: list[Constraint]) -> LPModel:
        base = feasible_set(self.model.problem, self.model.measures, tuple(constraints))
        if not self.with_rule:
            return base
        return self.model.rule.first_stage(replace(self.model, constraints=tuple(constraints), base=base))

    def feasible(self, constraints: list[Constraint]) -> bool:
        status = self.backend.solve(self._lp(constraints), self.options).status
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
        """The strictest value of ``culprit``'s parameter that holds with ``others``, by bisection."""
        if culprit.key not in PARAMETERS:
            return None
        name, stricter_up = PARAMETERS[culprit.key]
        feasible_end, infeasible_end = (0.0 if stricter_up else 1.0), getattr(culprit, name)
        if not self.feasible([*others, culprit.model_copy(update={name: feasible_end})]):
            return None
        for _ in range(BISECTION_STEPS):
            middle = (feasible_end + infeasible_end) / 2
            if self.feasible([*others, culprit.model_copy(update={name: middle})]):
                feasible_end = middle
            else:
                infeasible_end = middle
        return feasible_end


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
        return InfeasibleError([], ["The constraints can hold, but a later stage of the rule became infeasible "
                                    "through solver round-off; try the other backend (--solver pulp)."])
    conflict = oracle.minimal_conflict(constraints)
    if len(conflict) == 1:
        lines = [f"{conflict[0].describe()} cannot hold with this supply and these links, even on its own."]
    else:
        lines = ["These constraints cannot hold together, though each can hold without the others: "
                 + "; ".join(c.describe() for c in conflict) + "."]
    return InfeasibleError([c.describe() for c in conflict], lines + _strictest(oracle, conflict))


def _strictest(oracle: _Oracle, conflict: list[Constraint]) -> list[str]:
    """For a single culprit, the sentence naming the strictest value of its parameter that can hold."""
    if len(conflict) != 1:
        return []
    culprit = conflict[0]
    others = [c for c in oracle.model.constraints if c is not culprit]
    best = oracle.strictest(culprit, others)
    if best is None:
        return []
    name, stricter_up = PARAMETERS[culprit.key]
    bound = "at most" if stricter_up else "at least"
    scope = ", with the other constraints kept" if others else ""
    return [f"The {name} that can hold is {bound} {best:.4f}{scope} (it asks for {getattr(culprit, name)})."]
