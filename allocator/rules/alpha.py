"""The alpha-fair family of rules."""

from __future__ import annotations

import allocator.rules.concave as concave
from allocator.rules.base import RULE_ALGORITHMS, RuleAlgorithm
from allocator.scenario.rules import Alpha


@RULE_ALGORITHMS.implements(Alpha)
class AlphaAlgorithm(RuleAlgorithm[Alpha]):
    """How :class:`~allocator.scenario.rules.Alpha` is computed (its math is in its docstring)."""

    def first_stage(self, model):
        return concave.initial_lp(model, concave.alpha_welfare(self.rule.alpha))

    def run(self, model, runner):
        welfare = concave.alpha_welfare(self.rule.alpha, concave.reference_level(model, runner, self.rule.alpha))
        return concave.maximise(model, runner, welfare, self.rule.tolerance, self.rule.max_rounds)
