"""The group floor constraint."""

from __future__ import annotations

from typing import ClassVar

from allocator.constraints.base import CONSTRAINTS, Constraint, GroupMeasure, check_benefit, group_measure
from allocator.constraints.floor import Share
from allocator.core.scalars import Identifier


@CONSTRAINTS.register
class GroupFloor(Constraint):
    """Every group's fill rate is at least ``share``, for each resource.

    .. math::

        \\sum_{i \\in g} a_{ir}(x) \\ge \\text{share} \\cdot \\sum_{i \\in g} d_{ir}
        \\qquad \\forall g \\in \\text{attribute},\\; \\forall r

    One row per (group, resource) with positive demand.

    Examples
    --------
    >>> GroupFloor(attribute="region", share=0.5).describe()
    'group_floor(attribute=region, share=0.5)'
    """

    key: ClassVar[str] = "group_floor"
    summary: ClassVar[str] = "every group of `attribute` gets at least `share` of its demand"

    attribute: Identifier
    share: Share
    resource: Identifier | None = None
    measure: GroupMeasure | None = None  # None: fill rates

    def model_post_init(self, _context) -> None:
        check_benefit(self)

    def apply(self, builder, measures, name):
        measure = group_measure(self, measures)
        builder.add_rows(name, {"flow": measure.matrix},
                         lower=self.share * measure.lp_denominator, upper=float("inf"))
