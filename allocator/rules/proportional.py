"""The proportional (equal shares) rule."""

from __future__ import annotations

import numpy as np

from allocator.rules.base import RULE_ALGORITHMS, RuleAlgorithm, RuleOutcome
from allocator.rules.stages import flows_of, level_lp, level_of
from allocator.scenario.rules import Proportional


@RULE_ALGORITHMS.implements(Proportional)
class ProportionalAlgorithm(RuleAlgorithm[Proportional]):
    """How :class:`~allocator.scenario.rules.Proportional` is computed (its math is in its docstring)."""

    def first_stage(self, model):
        measure = model.measures.pair
        return level_lp(model.base, measure, np.arange(len(measure)), equal=True)

    def withholding(self, model, flows: np.ndarray, r: int) -> str:
        """Why supply stays while units still need it (see :mod:`allocator.solving.withheld`)."""
        problem = model.problem
        reachable = problem.pair_reachable
        rates = problem.pair_allocation(flows)[reachable] / problem.pair_demand[reachable]
        level = float(rates.min()) if len(rates) else 0.0
        return (f"proportional holds every unit at one fill rate ({level:.1%}), set by the units that can be "
                "served least: no unit gets more than they do")

    def run(self, model, runner):
        lp = self.first_stage(model)
        solution = runner.run("equal-share", lp)
        return RuleOutcome(flows_of(solution, lp), {"level": level_of(solution, lp)})
