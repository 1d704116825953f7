"""The proportional (equal shares) rule."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from allocator.rules.base import RULES, Rule, RuleOutcome
from allocator.rules.stages import flows_of, level_lp, level_of


@RULES.register
class Proportional(Rule):
    """Every (unit, resource) pair gets the same fill rate, as high as possible.

    .. math::

        \\max_{x,t}\\; t \\quad\\text{s.t.}\\quad a_{ir}(x) = t\\, d_{ir}
        \\;\\;\\forall (i, r) \\text{ reachable},\\qquad 0 \\le t \\le 1

    Equal shares of demand. With the fill rates all fixed at ``t*`` the amounts are fixed, so
    there is no value stage (total value cannot change). Pairs no site can reach are left out
    (they get 0 and would force ``t = 0``); the scenario warns about them.
    """

    key: ClassVar[str] = "proportional"
    summary: ClassVar[str] = "same fill rate for every unit and resource, as high as possible"

    def first_stage(self, model):
        measure = model.measures.pair
        return level_lp(model.base, measure, range(len(measure)), equal=True)

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
