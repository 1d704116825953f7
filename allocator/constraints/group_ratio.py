"""The group ratio constraint (four-fifths rule)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from allocator.constraints.base import CONSTRAINTS, Constraint, GroupMeasure, check_benefit, group_bounds, group_measure
from allocator.constraints.floor import Share
from allocator.core.scalars import Identifier


@CONSTRAINTS.register
class GroupRatio(Constraint):
    """The lowest group fill rate is at least ``min_ratio`` times the highest, per resource.

    .. math::

        \\min_g F_{gr}(x) \\ge \\text{min\\_ratio} \\cdot \\max_g F_{gr}(x) \\qquad \\forall r

    Exact and linear because ``min_ratio`` is a constant: with a helper column ``hi_r`` and
    ``F_gr <= hi_r``, the rows ``(E x)_g - min_ratio D_g hi_r >= 0``. ``min_ratio: 0.8`` is the
    four-fifths rule of US adverse-impact practice (the measure reported as ``min_group_ratio``).

    Examples
    --------
    >>> GroupRatio(attribute="race", min_ratio=0.8).describe()
    'group_ratio(attribute=race, min_ratio=0.8)'
    """

    key: ClassVar[str] = "group_ratio"
    summary: ClassVar[str] = "lowest group fill rate of `attribute` >= `min_ratio` x the highest"

    attribute: Identifier
    min_ratio: Share
    resource: Identifier | None = None
    measure: GroupMeasure | None = None  # None: fill rates

    def model_post_init(self, _context) -> None:
        check_benefit(self)

    def apply(self, builder, measures, name):
        measure = group_measure(self, measures)
        high, _, spread = group_bounds(builder, measure, name, low=False)
        builder.add_rows(name, {"flow": measure.matrix, high: self.min_ratio * spread}, lower=0.0, upper=np.inf)
