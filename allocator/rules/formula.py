"""The formula rule: shares from a weighted index of unit columns, as statutory formulas do."""

from __future__ import annotations

import numpy as np

from allocator.core.errors import ScenarioError, Severity
from allocator.rules.base import RULE_ALGORITHMS, RuleAlgorithm, RuleOutcome
from allocator.rules.stages import flows_of
from allocator.scenario.rules import Formula


def capped_shares(shares: np.ndarray, caps: np.ndarray, total: float) -> np.ndarray:
    """Split ``total`` in proportion to ``shares``, capped at ``caps``, passing every excess on.

    The amounts are ``min(cap_i, lam * share_i)`` with the largest ``lam`` whose amounts sum to
    at most ``total`` (water-filling): the units are capped in the order of ``cap_i / share_i``.

    Examples
    --------
    >>> capped_shares(np.array([0.5, 0.3, 0.2]), np.array([10.0, 100.0, 100.0]), 60.0).tolist()
    [10.0, 30.0, 20.0]
    """
    shares = np.asarray(shares, dtype=float)
    caps = np.asarray(caps, dtype=float)
    amounts = np.zeros(len(shares))
    active = shares > 0
    if not active.any() or total <= 0:
        return amounts
    if caps[active].sum() <= total:
        amounts[active] = caps[active]
        return amounts
    index = np.flatnonzero(active)
    order = index[np.argsort(caps[index] / shares[index], kind="stable")]
    ratio = caps[order] / shares[order]
    # with the first j units capped, the rest share what is left: lam_j = (total - capped) / rest
    capped = np.concatenate([[0.0], np.cumsum(caps[order])[:-1]])
    rest = shares[order][::-1].cumsum()[::-1]
    lam = (total - capped) / rest
    j = int(np.argmax(lam <= ratio))  # the first unit that the level does not cap
    amounts[order[:j]] = caps[order[:j]]
    amounts[order[j:]] = lam[j] * shares[order[j:]]
    return amounts


@RULE_ALGORITHMS.implements(Formula)
class FormulaAlgorithm(RuleAlgorithm[Formula]):
    """How :class:`~allocator.scenario.rules.Formula` is computed (its math is in its docstring)."""

    def targets(self, model) -> np.ndarray:
        """The amount each reachable pair should get, in the LP's units."""
        problem, pair = model.problem, model.measures.pair
        errors = [i for i in self.rule.data_issues(problem) if i.severity is Severity.ERROR]
        if errors:
            raise ScenarioError(errors)
        units = problem.pair_unit[np.flatnonzero(problem.pair_reachable)]
        index, _ = self.rule.index(problem)
        targets = np.zeros(len(pair))
        supply = problem.supply.sum(axis=0) / problem.scale
        for r in range(len(problem.resource_ids)):
            mine = pair.resource == r
            targets[mine] = capped_shares(index[units[mine]], pair.lp_denominator[mine], float(supply[r]))
        return targets

    def withholding(self, model, flows: np.ndarray, r: int) -> str:
        """Why supply of resource ``r`` stays while units still need it (see :mod:`allocator.solving.withheld`)."""
        problem = model.problem
        index, _ = self.rule.index(problem)
        allocated = problem.pair_allocation(flows)
        short = problem.pair_reachable & (problem.pair_resource == r) & (allocated < problem.pair_demand)
        zero = int((index[problem.pair_unit[short]] <= 0).sum())
        if zero:
            return (f"{self.rule.describe()} gives shares by its index, and {zero} unit(s) that still "
                    f"need it have an index of 0")
        return (f"{self.rule.describe()} sets each unit's share on the pooled supply, and the links "
                "cannot bring this stock to the units whose shares are not yet delivered")

    def first_stage(self, model):
        targets = self.targets(model)
        return model.base.with_row_bounds("demand", upper=np.minimum(model.base.row_upper[model.base.rows("demand")],
                                                                     targets)).with_objective({"flow": 1.0})

    def run(self, model, runner):
        lp = self.first_stage(model)
        return RuleOutcome(flows_of(runner.run("deliver targets", lp), lp))
