"""The priority rule: serve units in the order of a score, ties broken by a seeded lottery."""

from __future__ import annotations

from allocator.rules.base import RULE_ALGORITHMS, RuleAlgorithm, RuleOutcome
from allocator.rules.stages import flows_of
from allocator.scenario.rules import Priority


@RULE_ALGORITHMS.implements(Priority)
class PriorityAlgorithm(RuleAlgorithm[Priority]):
    """How :class:`~allocator.scenario.rules.Priority` is computed (its math is in its docstring)."""

    def first_stage(self, model):
        problem = model.problem
        ranks = self.rule.ranks(problem)
        n = max(len(ranks), 1)
        weight = 1.0 + (n - ranks) / n
        return model.base.with_objective({"flow": weight[problem.pair_unit[problem.flow_pair]]})

    def run(self, model, runner):
        lp = self.first_stage(model)
        return RuleOutcome(flows_of(runner.run("priority", lp), lp))
