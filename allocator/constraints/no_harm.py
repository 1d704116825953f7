"""The no-harm constraint: nobody gets less than under a baseline rule."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import field_validator

from allocator.constraints.base import CONSTRAINTS, Constraint
from allocator.core.tolerance import HELD_LEVEL

#: the baseline amounts are held at (1 - this): the baseline's own round-off must not make them unreachable
BASELINE_TOLERANCE = HELD_LEVEL  # a level held from one solve in another (allocator.core.tolerance)


@CONSTRAINTS.register
class NoHarm(Constraint):
    """No (unit, resource) pair receives less than it would under a baseline rule.

    .. math::

        a_{ir}(x) \\ge (1 - 10^{-7})\\, a^{b}_{ir} \\qquad \\forall (i, r)

    where ``a^b`` is the baseline rule's allocation on the scenario's supply, links and
    demand *without* the scenario's other constraints (the status quo is usually a formula
    that knows none of them). A fairer rule adopted with ``no_harm`` therefore only ever adds:
    ``{type: no_harm, baseline: formula}`` needs the formula's own parameters, so the baseline
    is given as a rule mapping, e.g. ``{name: formula, weights: {poverty: 0.6, unemployed: 0.4}}``,
    or a rule name. The baseline is solved with HiGHS when the model is compiled. Implemented
    as lower bounds on the demand rows, like ``floor``: no rows are added.

    Examples
    --------
    >>> NoHarm(baseline="proportional").describe()
    'no_harm(baseline=proportional)'
    """

    key: ClassVar[str] = "no_harm"
    summary: ClassVar[str] = "nobody gets less than under a baseline rule (e.g. the current formula)"

    baseline: str | dict[str, Any]

    @field_validator("baseline")
    @classmethod
    def _known_rule(cls, value):
        from allocator.rules import RULES

        parsed, issues = RULES.parse(value, file="", where="baseline")
        if issues:
            raise ValueError("; ".join(i.message for i in issues))
        if parsed.key == "no_harm":
            raise ValueError("a baseline cannot itself be no_harm")
        return value

    def baseline_rule(self):
        from allocator.rules import RULES

        return RULES.parse(self.baseline, file="", where="baseline")[0]

    def columns(self):
        return self.baseline_rule().columns()

    def attributes(self):
        return self.baseline_rule().attributes()

    def apply(self, builder, measures, name):
        from allocator.backends import HighsBackend, SolverOptions
        from allocator.model.compiler import CompiledModel, feasible_set
        from allocator.rules.stages import StageRunner

        problem = measures.problem
        rule = self.baseline_rule()
        model = CompiledModel(None, problem, measures, rule, (), feasible_set(problem, measures, ()))
        outcome = rule.run(model, StageRunner(HighsBackend(), SolverOptions()))
        amounts = measures.pair.matrix @ outcome.flows  # per reachable pair, in the LP's units
        builder.tighten_lower("demand", np.maximum(amounts, 0.0) * (1 - BASELINE_TOLERANCE))
