"""The group gap constraint."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from allocator.constraints.base import CONSTRAINTS, Constraint
from allocator.constraints.floor import Share


def group_bounds(builder, measure, name: str, *, low: bool) -> tuple[str, str | None]:
    """Add helper columns ``hi_r`` (and ``lo_r`` if ``low``) per resource with ``lo_r <= F_g <= hi_r``.

    O(groups) rows: ``(E x)_g - D_g hi_r <= 0`` and ``(E x)_g - D_g lo_r >= 0``. Returns the
    column block names.
    """
    resources = np.unique(measure.resource)
    position = np.searchsorted(resources, measure.resource)
    spread = sp.csr_array((-measure.lp_denominator, (np.arange(len(measure)), position)),
                          shape=(len(measure), len(resources)))
    high = f"{name}:hi"
    builder.add_columns(high, len(resources), lower=0.0, upper=1.0)
    builder.add_rows(f"{name}:below_hi", {"flow": measure.matrix, high: spread}, lower=-np.inf, upper=0.0)
    if not low:
        return high, None
    low_name = f"{name}:lo"
    builder.add_columns(low_name, len(resources), lower=0.0, upper=1.0)
    builder.add_rows(f"{name}:above_lo", {"flow": measure.matrix, low_name: spread}, lower=0.0, upper=np.inf)
    return high, low_name


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

    attribute: str
    max_gap: Share
    resource: str | None = None

    def apply(self, builder, measures, name):
        measure = measures.group(self.attribute, self.resource)
        high, low = group_bounds(builder, measure, name, low=True)
        count = len(np.unique(measure.resource))
        eye = sp.identity(count, format="csr")
        builder.add_rows(name, {high: eye, low: -eye}, lower=-np.inf, upper=self.max_gap)
