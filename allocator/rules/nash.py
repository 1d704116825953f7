"""The Nash (proportional fairness) rule."""

from __future__ import annotations

import allocator.rules.concave as concave
from allocator.rules.base import RULE_ALGORITHMS, RuleAlgorithm
from allocator.scenario.rules import Nash


@RULE_ALGORITHMS.implements(Nash)
class NashAlgorithm(RuleAlgorithm[Nash]):
    """How :class:`~allocator.scenario.rules.Nash` is computed (its math is in its docstring)."""

    def first_stage(self, model):
        return concave.initial_lp(model, concave.alpha_welfare(1.0))

    def run(self, model, runner):
        return concave.maximise(model, runner, concave.alpha_welfare(1.0), self.rule.tolerance, self.rule.max_rounds)
