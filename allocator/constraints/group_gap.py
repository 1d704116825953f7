"""The group gap constraint."""

from __future__ import annotations

import numpy as np

from allocator.constraints.base import ConstraintRows, group_bounds, group_measure
from allocator.core.sparse import sparse as sp
from allocator.model.compiler import CONSTRAINT_ROWS
from allocator.scenario.constraints import GroupGap


@CONSTRAINT_ROWS.implements(GroupGap)
class GroupGapRows(ConstraintRows[GroupGap]):
    """How :class:`~allocator.scenario.constraints.GroupGap` holds (its math is in its docstring)."""

    def apply(self, builder, measures, name, baseline=None):
        measure = group_measure(self.constraint, measures)
        high, low, _ = group_bounds(builder, measure, name, low=True)
        count = len(np.unique(measure.resource))
        eye = sp.identity(count, format="csr")
        builder.add_rows(name, {high: eye, low: -eye}, lower=-np.inf, upper=self.constraint.max_gap)
