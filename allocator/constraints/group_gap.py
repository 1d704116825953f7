"""The group gap constraint."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from allocator.constraints.base import GroupBoundRows, ParameterPrice, group_bounds, group_measure
from allocator.core.sparse import sparse as sp
from allocator.model.compiler import CONSTRAINT_ROWS
from allocator.scenario.constraints import GroupGap

if TYPE_CHECKING:
    from allocator.model.lp import LPModel
    from allocator.model.measures import MeasureSet


@CONSTRAINT_ROWS.implements(GroupGap)
class GroupGapRows(GroupBoundRows[GroupGap]):
    """How :class:`~allocator.scenario.constraints.GroupGap` holds (its math is in its docstring)."""

    def apply(self, builder, measures, name, baseline=None):
        measure = group_measure(self.constraint, measures)
        high, low, _ = group_bounds(builder, measure, name, low=True)
        count = len(np.unique(measure.resource))
        eye = sp.identity(count, format="csr")
        builder.add_rows(name, {high: eye, low: -eye}, lower=-np.inf, upper=self.constraint.max_gap)

    def rows_per_resource(self, name: str, block: str) -> bool:
        return block == name  # hi_r - lo_r <= max_gap; its below_hi and above_lo rows are per group

    def parameter_price(self, lp: LPModel, x: np.ndarray, duals: np.ndarray, measures: MeasureSet,
                        name: str) -> ParameterPrice:
        # the rows hi_r - lo_r <= max_gap, one per resource: each dual is the price of its max_gap
        return ParameterPrice("max_gap", float(duals[lp.rows(name)].sum()))
