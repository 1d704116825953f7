"""The per-unit floor constraint."""

from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from pydantic import Field

from allocator.constraints.base import CONSTRAINTS, Constraint
from allocator.core.scalars import Identifier, Number

Share = Annotated[Number, Field(ge=0, le=1)]


@CONSTRAINTS.register
class Floor(Constraint):
    """Every reachable (unit, resource) pair gets at least ``share`` of its demand.

    .. math::

        a_{ir}(x) \\ge \\text{share} \\cdot d_{ir} \\qquad \\forall (i, r) \\text{ reachable}
        \\;(\\text{and } r = \\text{resource if given})

    Implemented by raising the lower bound of the pair's demand row, so it adds no rows.
    Pairs that no site can reach are exempt (they are warned about instead).

    Examples
    --------
    >>> Floor(share=0.2).describe()
    'floor(share=0.2)'
    """

    key: ClassVar[str] = "floor"
    summary: ClassVar[str] = "every unit gets at least `share` of its demand"

    share: Share
    resource: Identifier | None = None

    def apply(self, builder, measures, name):
        pair = measures.pair
        wanted = self.share * pair.lp_denominator
        if self.resource is not None:
            mine = pair.resource == measures.problem.resource_ids.index(self.resource)
            wanted = np.where(mine, wanted, -np.inf)
        builder.tighten_lower("demand", wanted)
