"""The utilitarian rule."""

from __future__ import annotations

from allocator.rules.base import RULE_ALGORITHMS, RuleAlgorithm, RuleOutcome
from allocator.rules.stages import flows_of, value_lp
from allocator.scenario.rules import Utilitarian


@RULE_ALGORITHMS.implements(Utilitarian)
class UtilitarianAlgorithm(RuleAlgorithm[Utilitarian]):
    """How :class:`~allocator.scenario.rules.Utilitarian` is computed (its math is in its docstring)."""

    def first_stage(self, model):
        return value_lp(model.base, model.problem)

    def run(self, model, runner):
        lp = self.first_stage(model)
        return RuleOutcome(flows_of(runner.run("value", lp), lp))
