"""The Nash (proportional fairness) rule."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from allocator.rules import concave
from allocator.rules.base import RULES, Rule
from allocator.core.scalars import Count, Number


@RULES.register
class Nash(Rule):
    """Maximise the sum of the logarithms of what each (unit, resource) pair receives.

    .. math::

        \\max_x \\sum_{(i,r) \\text{ reachable}} \\log a_{ir}(x)
        \\;=\\; \\sum \\log d_{ir} + \\max_x \\sum \\log F_{ir}(x)

    Amounts or fill rates give the same optimum (they differ by the constant ``sum log d``).
    Proportional fairness (Nash 1950; Kelly 1997): any other allocation's relative gains
    sum to at most 0 against it. The fill rates of the optimum are unique. Solved as LPs of
    tangent cuts with a proven bound on the distance to the optimum
    (:mod:`allocator.rules.concave`); the result's ``equity`` reports ``gap`` and
    ``relative_gap`` of ``sum log F``, which stop below ``tolerance`` unless ``max_rounds`` runs out.

    Examples
    --------
    >>> Nash().describe()
    'nash(tolerance=1e-06, max_rounds=30)'
    """

    key: ClassVar[str] = "nash"
    summary: ClassVar[str] = "maximise the sum of log(allocated) over units: proportional fairness"

    tolerance: Number = Field(1e-6, gt=0, le=0.1)
    max_rounds: Count = Field(30, ge=1, le=200)

    def first_stage(self, model):
        return concave.initial_lp(model, concave.alpha_welfare(1.0))

    def run(self, model, runner):
        return concave.maximise(model, runner, concave.alpha_welfare(1.0), self.tolerance, self.max_rounds)
