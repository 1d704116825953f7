"""The group ratio constraint (four-fifths rule)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from allocator.constraints.base import HIGH, GroupBoundRows, ParameterPrice, group_bounds, group_measure, part
from allocator.model.compiler import CONSTRAINT_ROWS
from allocator.scenario.constraints import GroupRatio

if TYPE_CHECKING:
    from allocator.model.lp import LPModel
    from allocator.model.measures import MeasureSet


@CONSTRAINT_ROWS.implements(GroupRatio)
class GroupRatioRows(GroupBoundRows[GroupRatio]):
    """How :class:`~allocator.scenario.constraints.GroupRatio` holds (its math is in its docstring)."""

    def apply(self, builder, measures, name, baseline=None):
        measure = group_measure(self.constraint, measures)
        high, _, spread = group_bounds(builder, measure, name, low=False)
        builder.add_rows(name, {"flow": measure.matrix, high: self.constraint.min_ratio * spread}, lower=0.0, upper=np.inf)

    def parameter_price(self, lp: LPModel, x: np.ndarray, duals: np.ndarray, measures: MeasureSet,
                        name: str) -> ParameterPrice:
        # the rows (E x)_g - min_ratio D_g hi_r >= 0: min_ratio enters each with the coefficient -D_g hi_r
        measure = group_measure(self.constraint, measures)
        high = x[lp.cols(part(name, HIGH))]
        resources = np.unique(measure.resource)
        hi_of_row = high[np.searchsorted(resources, measure.resource)]
        return ParameterPrice("min_ratio", float(duals[lp.rows(name)] @ (measure.lp_denominator * hi_of_row)))
