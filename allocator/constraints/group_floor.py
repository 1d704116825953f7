"""The group floor constraint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allocator.constraints.base import ConstraintRows, ParameterPrice, group_measure
from allocator.model.compiler import CONSTRAINT_ROWS
from allocator.scenario.constraints import GroupFloor

if TYPE_CHECKING:
    import numpy as np

    from allocator.model.lp import LPModel
    from allocator.model.measures import MeasureSet


@CONSTRAINT_ROWS.implements(GroupFloor)
class GroupFloorRows(ConstraintRows[GroupFloor]):
    """How :class:`~allocator.scenario.constraints.GroupFloor` holds (its math is in its docstring)."""

    def apply(self, builder, measures, name, baseline=None):
        measure = group_measure(self.constraint, measures)
        builder.add_rows(name, {"flow": measure.matrix},
                         lower=self.constraint.share * measure.lp_denominator, upper=float("inf"))

    def parameter_price(self, lp: LPModel, x: np.ndarray, duals: np.ndarray, measures: MeasureSet,
                        name: str) -> ParameterPrice:
        # the rows (E x)_g >= share D_g: share enters each bound with D_g
        measure = group_measure(self.constraint, measures)
        return ParameterPrice("share", float(duals[lp.rows(name)] @ measure.lp_denominator))
