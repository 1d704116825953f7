"""The constraint protocol and registry.

A constraint adds rows (and helper columns) to the compiled feasible set; it combines
with every rule. Each one carries its formulation in its docstring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from allocator.core.sparse import sparse as sp
from allocator.core.registry import Registry, Spec

if TYPE_CHECKING:
    from allocator.model.lp import LPBuilder
    from allocator.model.measures import FillMeasure, MeasureSet


class Constraint(Spec):
    """Base class of constraints."""

    def apply(self, builder: LPBuilder, measures: MeasureSet, name: str) -> None:
        """Add this constraint's rows (and helper columns) to ``builder`` as blocks named after ``name``."""
        raise TypeError(f"{type(self).__name__} must define apply()")

    @property
    def row_block(self) -> str:
        """Name of the row block this constraint adds, e.g. ``group_gap:race``."""
        attribute = self.params().get("attribute")
        resource = self.params().get("resource")
        name = f"{self.key}:{attribute}" if attribute else self.key
        return f"{name}:{resource}" if resource else name


CONSTRAINTS: Registry[Constraint] = Registry("constraint", name_field="type")

#: what a group constraint bounds: group fill rates, or group benefit rates (benefit delivered over
#: the most the group's members could get, see :func:`allocator.model.measures.group_benefit`)
GroupMeasure = Literal["fill", "benefit"]


def group_measure(constraint: Constraint, measures: MeasureSet) -> FillMeasure:
    """The measure a group constraint bounds: its ``measure`` of its ``attribute`` (and ``resource``)."""
    params = constraint.params()
    if params.get("measure") == "benefit":
        return measures.benefit(params["attribute"])
    return measures.group(params["attribute"], params.get("resource"))


def check_benefit(constraint: Constraint) -> None:
    """A benefit rate spans every resource, so it cannot also be restricted to one."""
    params = constraint.params()
    if params.get("measure") == "benefit" and params.get("resource") is not None:
        raise ValueError("measure: benefit covers every resource; leave out resource")


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
