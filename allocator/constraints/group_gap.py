"""The group gap constraint."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from allocator.core.sparse import sparse as sp
from allocator.constraints.base import CONSTRAINTS, Constraint, GroupMeasure, check_benefit, group_bounds, group_measure
from allocator.constraints.floor import Share
from allocator.core.scalars import Identifier


@CONSTRAINTS.register
class GroupGap(Constraint):
    """Group fill rates of one resource differ by at most ``max_gap``.

    .. math::

        \\max_g F_{gr}(x) - \\min_g F_{gr}(x) \\le \\text{max\\_gap} \\qquad \\forall r

    with O(groups) rows through helper columns per resource:
    ``lo_r <= F_gr <= hi_r`` for every group ``g`` and ``hi_r - lo_r <= max_gap``
    (the measure reported as ``max_group_gap``).

    Examples
    --------
    >>> GroupGap(attribute="race", max_gap=0.05).describe()
    'group_gap(attribute=race, max_gap=0.05)'
    """

    key: ClassVar[str] = "group_gap"
    summary: ClassVar[str] = "group fill rates of `attribute` differ by at most `max_gap`"

    attribute: Identifier
    max_gap: Share
    resource: Identifier | None = None
    measure: GroupMeasure | None = None  # None: fill rates

    def model_post_init(self, _context) -> None:
        check_benefit(self)

    def apply(self, builder, measures, name):
        measure = group_measure(self, measures)
        high, low, _ = group_bounds(builder, measure, name, low=True)
        count = len(np.unique(measure.resource))
        eye = sp.identity(count, format="csr")
        builder.add_rows(name, {high: eye, low: -eye}, lower=-np.inf, upper=self.max_gap)
