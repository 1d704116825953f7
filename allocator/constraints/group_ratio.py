"""The group ratio constraint (four-fifths rule)."""

from __future__ import annotations

import numpy as np

from allocator.constraints.base import ConstraintRows, group_bounds, group_measure
from allocator.model.compiler import CONSTRAINT_ROWS
from allocator.scenario.constraints import GroupRatio


@CONSTRAINT_ROWS.implements(GroupRatio)
class GroupRatioRows(ConstraintRows[GroupRatio]):
    """How :class:`~allocator.scenario.constraints.GroupRatio` holds (its math is in its docstring)."""

    def apply(self, builder, measures, name, baseline=None):
        measure = group_measure(self.constraint, measures)
        high, _, spread = group_bounds(builder, measure, name, low=False)
        builder.add_rows(name, {"flow": measure.matrix, high: self.constraint.min_ratio * spread}, lower=0.0, upper=np.inf)
