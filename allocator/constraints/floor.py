"""The per-unit floor constraint."""

from __future__ import annotations

import numpy as np

from allocator.constraints.base import ConstraintRows
from allocator.model.compiler import CONSTRAINT_ROWS
from allocator.scenario.constraints import Floor


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
