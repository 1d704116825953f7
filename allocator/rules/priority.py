"""The priority rule: serve units in the order of a score, ties broken by a seeded lottery."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from allocator.rules.base import RULES, Rule, RuleOutcome
from allocator.rules.stages import flows_of
from allocator.core.scalars import Count, Identifier


@RULES.register
class Priority(Rule):
    """Serve units one after another in the order of a score column, each as fully as possible.

    First-come-first-served (``score: arrival``, ``order: ascending``) or by vulnerability
    (``score: vulnerability``, ``order: descending``, the default). Units with equal scores
    are ordered by a lottery drawn from ``seed``, so the same seed gives the same order.

    The order is lexicographic: the first unit gets all it can, then the second all it can
    given that, and so on. With one resource, the amounts the network can deliver form a
    polymatroid, on which the greedy order is optimal for every objective with strictly
    decreasing weights (Edmonds 1970). So one LP finds it:

    .. math::

        \\max_x \\sum_{i,r} c_i\\, a_{ir}(x), \\qquad c_i = 1 + \\frac{n - \\text{rank}_i}{n}

    Resources do not interact, so this holds per resource. Constraints that couple units
    (floors, group constraints) break the polymatroid: the LP then gives the best
    priority-weighted allocation they allow, which need not be strictly lexicographic.

    Examples
    --------
    >>> Priority(score="vulnerability").describe()
    'priority(score=vulnerability, order=descending, seed=0)'
    """

    key: ClassVar[str] = "priority"
    summary: ClassVar[str] = "serve units in the order of a score column (ties by a seeded lottery)"

    score: Identifier
    order: Literal["descending", "ascending"] = "descending"
    seed: Count = Field(0, ge=0)

    def columns(self):
        return (self.score,)

    def ranks(self, problem) -> np.ndarray:
        """Each unit's place in the serving order (0 is served first)."""
        score = problem.unit_numbers(self.score)
        lottery = np.random.default_rng(self.seed).permutation(len(score))
        key = -score if self.order == "descending" else score
        order = np.lexsort((lottery, key))  # by score, then by lottery number
        ranks = np.empty(len(score), dtype=np.int64)
        ranks[order] = np.arange(len(score))
        return ranks

    def first_stage(self, model):
        problem = model.problem
        ranks = self.ranks(problem)
        n = max(len(ranks), 1)
        weight = 1.0 + (n - ranks) / n
        return model.base.with_objective({"flow": weight[problem.pair_unit[problem.flow_pair]]})

    def run(self, model, runner):
        lp = self.first_stage(model)
        return RuleOutcome(flows_of(runner.run("priority", lp), lp))
