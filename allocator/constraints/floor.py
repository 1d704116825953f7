"""The per-unit floor constraint."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from allocator.constraints.base import ConstraintRows, ParameterPrice
from allocator.model.compiler import CONSTRAINT_ROWS
from allocator.scenario.constraints import Floor

if TYPE_CHECKING:
    from allocator.model.lp import LPModel
    from allocator.model.measures import MeasureSet


@CONSTRAINT_ROWS.implements(Floor)
class FloorRows(ConstraintRows[Floor]):
    """How :class:`~allocator.scenario.constraints.Floor` holds (its math is in its docstring)."""

    def apply(self, builder, measures, name, baseline=None):
        pair = measures.pair
        wanted = self.constraint.share * pair.lp_denominator
        if self.constraint.resource is not None:
            mine = pair.resource == measures.problem.resource_ids.index(self.constraint.resource)
            wanted = np.where(mine, wanted, -np.inf)
        builder.tighten_lower("demand", wanted)

    def parameter_price(self, lp: LPModel, x: np.ndarray, duals: np.ndarray, measures: MeasureSet,
                        name: str) -> ParameterPrice:
        # the floor raised the lower bounds of the compiler's demand rows (share D_k), so it has no rows of its own
        pair, resource = measures.pair, self.constraint.resource
        mine = np.ones(len(pair), dtype=bool) if resource is None else (
            pair.resource == measures.problem.resource_ids.index(resource))
        # only rows whose lower bound is the floor itself (later stages may hold a higher level there)
        floor_rows = np.isclose(lp.row_lower[lp.rows("demand")], self.constraint.share * pair.lp_denominator,
                                rtol=1e-9, atol=0.0)
        demand_duals = np.where(floor_rows & mine, np.minimum(duals[lp.rows("demand")], 0.0), 0.0)
        return ParameterPrice("share", float(demand_duals @ pair.lp_denominator))
