"""The formula rule: shares from a weighted index of unit columns, as statutory formulas do."""

from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from pydantic import Field

from allocator.core.errors import Issue, ScenarioError, Severity
from allocator.rules.base import RULES, Rule, RuleOutcome
from allocator.rules.stages import flows_of
from allocator.core.scalars import Identifier, Number


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


@RULES.register
class Formula(Rule):
    """Shares proportional to a weighted index of unit columns, capped at demand, excess passed on.

    The status-quo rules planners live under. For the federal TEFAP commodity formula,
    ``weights: {poverty: 0.6, unemployed: 0.4}``: a unit's share is 60% of its share of people
    in poverty plus 40% of its share of the unemployed,

    .. math::

        s_i = \\sum_c w_c \\frac{x_{ic}}{\\sum_j x_{jc}} \\Big/ \\sum_c w_c, \\qquad
        a_{ir} = \\min(d_{ir}, \\lambda_r s_i)

    with ``lambda_r`` as large as the supply of ``r`` allows, so what a capped unit does not need
    is passed on to the others in proportion to their shares (water-filling). Shares are taken
    among the units that can be reached for ``r``: an unreachable unit's share is passed on too.
    With sites, the targets ``a_ir`` are computed on the pooled supply of each resource; one LP
    then delivers as much of every target as the links and site stocks allow (maximise the total
    delivered with each unit capped at its target), so what a formula cannot route is visible as
    supply left undelivered.

    Examples
    --------
    >>> Formula(weights={"poverty": 0.6, "unemployed": 0.4}).describe()
    "formula(weights={'poverty': 0.6, 'unemployed': 0.4})"
    """

    key: ClassVar[str] = "formula"
    summary: ClassVar[str] = "shares from a weighted index of unit columns (e.g. TEFAP: 60% poverty, 40% unemployed)"

    #: relative weights; at most 1e100 each, so that their sum never overflows (two of 1e308 sum to inf)
    weights: dict[Identifier, Annotated[Number, Field(le=1e100)]] = Field(min_length=1)

    def columns(self):
        return tuple(self.weights)

    def model_post_init(self, _context) -> None:
        if any(not (w > 0 and np.isfinite(w)) for w in self.weights.values()):
            raise ValueError("every weight must be a positive number")

    def index(self, problem) -> tuple[np.ndarray, list[str]]:
        """Each unit's index ``sum_c w_c x_ic / sum_j x_jc / sum_c w_c`` among the units that take part
        (reachable for some resource), and the weighted columns that are 0 for all of them."""
        taking_part = np.zeros(len(problem.unit_ids), dtype=bool)
        taking_part[problem.pair_unit[problem.pair_reachable]] = True
        total_weight = sum(self.weights.values())
        index = np.zeros(len(problem.unit_ids))
        empty = []
        for column, weight in self.weights.items():
            values = np.where(taking_part, problem.unit_numbers(column), 0.0)
            column_total = values.sum()
            if column_total > 0:
                index += weight / total_weight * values / column_total
            else:
                empty.append(column)
        return index, empty

    def data_issues(self, problem) -> list[Issue]:
        """An index that is 0 for every unit gives no shares at all: refused. A weighted column that is
        0 for every unit drops out of the index (its weight counts for nothing): said."""
        if not problem.pair_reachable.any():
            return []
        _, empty = self.index(problem)
        columns = ", ".join(empty)
        if len(empty) == len(self.weights):
            return [Issue(problem.source, "rule.weights",
                          f"the formula's index is 0 for every unit that can be served ({columns} "
                          f"{'is' if len(empty) == 1 else 'are'} 0 for all of them), so it gives nobody a share",
                          "a weighted column with a value above 0 for some unit, or another rule")]
        return [Issue(problem.source, "rule.weights",
                      f"{columns} {'is' if len(empty) == 1 else 'are'} 0 for every unit that can be served, so "
                      f"{'its weight counts' if len(empty) == 1 else 'their weights count'} for nothing: the shares "
                      f"come from {', '.join(c for c in self.weights if c not in empty)} alone",
                      severity=Severity.WARNING)] if empty else []

    def targets(self, model) -> np.ndarray:
        """The amount each reachable pair should get, in the LP's units."""
        problem, pair = model.problem, model.measures.pair
        errors = [i for i in self.data_issues(problem) if i.severity is Severity.ERROR]
        if errors:
            raise ScenarioError(errors)
        units = problem.pair_unit[np.flatnonzero(problem.pair_reachable)]
        index, _ = self.index(problem)
        targets = np.zeros(len(pair))
        supply = problem.supply.sum(axis=0) / problem.scale
        for r in range(len(problem.resource_ids)):
            mine = pair.resource == r
            targets[mine] = capped_shares(index[units[mine]], pair.lp_denominator[mine], float(supply[r]))
        return targets

    def withholding(self, model, flows: np.ndarray, r: int) -> str:
        """Why supply of resource ``r`` stays while units still need it (see :mod:`allocator.solving.withheld`)."""
        problem = model.problem
        index, _ = self.index(problem)
        allocated = problem.pair_allocation(flows)
        short = problem.pair_reachable & (problem.pair_resource == r) & (allocated < problem.pair_demand)
        zero = int((index[problem.pair_unit[short]] <= 0).sum())
        if zero:
            return (f"{self.describe()} gives shares by its index, and {zero} unit(s) that still "
                    f"need it have an index of 0")
        return (f"{self.describe()} sets each unit's share on the pooled supply, and the links "
                "cannot bring this stock to the units whose shares are not yet delivered")

    def first_stage(self, model):
        targets = self.targets(model)
        return model.base.with_row_bounds("demand", upper=np.minimum(model.base.row_upper[model.base.rows("demand")],
                                                                     targets)).with_objective({"flow": 1.0})

    def run(self, model, runner):
        lp = self.first_stage(model)
        return RuleOutcome(flows_of(runner.run("deliver targets", lp), lp))
