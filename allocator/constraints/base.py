"""What every constraint's rows share.

A constraint's spec (:mod:`allocator.scenario.constraints`) says what must hold; its rows,
registered for the spec's class in :data:`allocator.model.compiler.CONSTRAINT_ROWS`, make it hold
in the compiled feasible set. It combines with every rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import numpy as np

from allocator.core.registry import Implementation
from allocator.core.sparse import sparse as sp
from allocator.scenario.constraints import Constraint

if TYPE_CHECKING:
    from allocator.model.lp import LPBuilder
    from allocator.model.measures import FillMeasure, MeasureSet

C = TypeVar("C", bound=Constraint)


class ConstraintRows(Implementation[C]):
    """The rows (and helper columns) that make one constraint spec hold."""

    @property
    def constraint(self) -> C:
        return self.spec

    def apply(self, builder: LPBuilder, measures: MeasureSet, name: str, baseline: np.ndarray | None = None) -> None:
        """Add this constraint's rows to ``builder`` as blocks named after ``name``.

        ``baseline`` is what a baseline rule gives each reachable pair, for constraints that
        compare with one (``no_harm``); the solving layer computes it (see :mod:`allocator.solving.baselines`).
        """
        raise TypeError(f"{type(self).__name__} must define apply()")


def group_measure(constraint: Constraint, measures: MeasureSet) -> FillMeasure:
    """The measure a group constraint bounds: its ``measure`` of its ``attribute`` (and ``resource``)."""
    params = constraint.params()
    if params.get("measure") == "benefit":
        return measures.benefit(params["attribute"])
    return measures.group(params["attribute"], params.get("resource"))


def group_bounds(builder: LPBuilder, measure: FillMeasure, name: str, *, low: bool):
    """Add helper columns ``hi_r`` (and ``lo_r`` if ``low``) per resource with ``lo_r <= F_gr <= hi_r``.

    O(groups) rows: ``(E x)_g - D_g hi_r <= 0`` and ``(E x)_g - D_g lo_r >= 0``. Returns the
    column block names and the (groups x resources) matrix of ``-D_g`` used in those rows.
    """
    resources = np.unique(measure.resource)
    position = np.searchsorted(resources, measure.resource)
    spread = sp.csr_array((-measure.lp_denominator, (np.arange(len(measure)), position)),
                          shape=(len(measure), len(resources)))
    high = f"{name}:hi"
    builder.add_columns(high, len(resources), lower=0.0, upper=1.0)
    builder.add_rows(f"{name}:below_hi", {"flow": measure.matrix, high: spread}, lower=-np.inf, upper=0.0)
    if not low:
        return high, None, spread
    low_name = f"{name}:lo"
    builder.add_columns(low_name, len(resources), lower=0.0, upper=1.0)
    builder.add_rows(f"{name}:above_lo", {"flow": measure.matrix, low_name: spread}, lower=0.0, upper=np.inf)
    return high, low_name, spread
