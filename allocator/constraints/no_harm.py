"""The no-harm constraint: nobody gets less than under a baseline rule."""

from __future__ import annotations

import numpy as np

from allocator.constraints.base import ConstraintRows
from allocator.core.tolerance import HELD_LEVEL
from allocator.model.compiler import CONSTRAINT_ROWS
from allocator.scenario.constraints import NoHarm

#: the baseline amounts are held at (1 - this): the baseline's own round-off must not make them unreachable
BASELINE_TOLERANCE = HELD_LEVEL  # a level held from one solve in another (allocator.core.tolerance)


@CONSTRAINT_ROWS.implements(NoHarm)
class NoHarmRows(ConstraintRows[NoHarm]):
    """How :class:`~allocator.scenario.constraints.NoHarm` holds (its math is in its docstring)."""

    def apply(self, builder, measures, name, baseline=None):
        if baseline is None:  # compile() solves it (allocator.solving.baselines); the model layer cannot
            raise TypeError("no_harm needs its baseline's amounts: compile with allocator.compile")
        builder.tighten_lower("demand", np.maximum(baseline, 0.0) * (1 - BASELINE_TOLERANCE))
