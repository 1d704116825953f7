"""The reserve rule: allocate by the scenario's reserve system (categories, eligibility, priorities)."""

from __future__ import annotations

import numpy as np

from allocator.core.errors import UsageError
from allocator.rules.base import RULE_ALGORITHMS, RuleAlgorithm, RuleOutcome
from allocator.rules.stages import flows_of
from allocator.scenario.reserves import OPEN, allocate, places, rank
from allocator.scenario.rules import Reserve


@RULE_ALGORITHMS.implements(Reserve)
class ReserveAlgorithm(RuleAlgorithm[Reserve]):
    """How :class:`~allocator.scenario.rules.Reserve` is computed (its math is in its docstring)."""

    def placement(self, model):
        """``(categories per unit, reserves)``: the category that serves each unit, or None."""
        scenario = model.scenario
        reserves = getattr(scenario, "reserves", None)
        if reserves is None:
            raise UsageError("the reserve rule needs a 'reserves:' section in the scenario")
        problem = model.problem
        resource = problem.resource_ids.index(reserves.resource or problem.resource_ids[0])
        supply = int(round(float(problem.supply[:, resource].sum())))
        n = len(problem.unit_ids)
        wanting = np.zeros(n, dtype=bool)
        mine = problem.pair_resource == resource
        wanting[problem.pair_unit[mine & problem.pair_reachable]] = True
        lottery = np.random.default_rng(reserves.seed).permutation(n)
        base = reserves.priority
        orders = {OPEN: rank(problem.unit_numbers(base.score), base.order, lottery)}
        eligible = {OPEN: np.ones(n, dtype=bool)}
        for category in reserves.categories:
            priority = category.priority or base
            orders[category.id] = rank(problem.unit_numbers(priority.score), priority.order, lottery)
            codes = problem.groups[category.attribute]
            labels = np.asarray(codes.labels, dtype=object)[codes.codes]
            eligible[category.id] = np.isin(labels, category.groups)
        return allocate(reserves, supply, eligible, orders, wanting).category, reserves, resource, supply

    def _deliver_lp(self, model, served, resource):
        """The feasible set with each pair capped at what the reserve system granted; deliver the most."""
        problem = model.problem
        granted = np.array([served[u] is not None for u in problem.pair_unit], dtype=float)
        granted[problem.pair_resource != resource] = 0.0
        caps = (granted * problem.pair_demand)[problem.pair_reachable] / problem.scale
        upper = np.minimum(model.base.row_upper[model.base.rows("demand")], caps)
        return model.base.with_row_bounds("demand", upper=upper).with_objective({"flow": 1.0})

    def first_stage(self, model):
        served, _, resource, _ = self.placement(model)
        return self._deliver_lp(model, served, resource)

    def withholding(self, model, flows: np.ndarray, r: int) -> str:
        """Why doses stay while units still need them (see :mod:`allocator.solving.withheld`): unfilled places."""
        served, reserves, _, supply = self.placement(model)
        granted = places(reserves, supply)
        unfilled = [f"{name} fills {sum(c == name for c in served)} of {granted[name]} places"
                    for name in [c.id for c in reserves.categories] + [OPEN]
                    if sum(c == name for c in served) < granted[name]]
        lost = "; places a category cannot fill are lost (unused: lost)" if reserves.unused == "lost" else ""
        return (f"the reserve system ({reserves.method}) serves only units eligible for a category with a place "
                f"left: {', '.join(unfilled) or 'every place is filled'}{lost}")

    def run(self, model, runner):
        served, reserves, resource, supply = self.placement(model)
        lp = self._deliver_lp(model, served, resource)
        names = [c.id for c in reserves.categories] + [OPEN]
        counts = {name: sum(1 for c in served if c == name) for name in names}
        granted = places(reserves, supply)
        equity = {"method": reserves.method, "served": int(sum(counts.values())),
                  "categories": {name: {"places": granted[name], "served": counts[name]} for name in names}}
        return RuleOutcome(flows_of(runner.run("deliver", lp), lp), equity)
