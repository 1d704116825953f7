"""The alpha-fair family of rules."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from allocator.rules import concave
from allocator.rules.base import RULES, Rule
from allocator.core.scalars import Count, Number


@RULES.register
class Alpha(Rule):
    """Maximise the alpha-fair welfare of the fill rates (Mo and Walrand 2000).

    .. math::

        \\max_x \\sum_{(i,r) \\text{ reachable}} u_\\alpha(F_{ir}(x)), \\qquad
        u_\\alpha(f) = \\frac{f^{1-\\alpha} - 1}{1-\\alpha} \\;(\\alpha \\ne 1), \\quad u_1(f) = \\log f

    ``alpha = 0`` maximises the sum of fill rates, ``alpha = 1`` is :class:`~allocator.rules.nash.Nash`,
    and as ``alpha`` grows the optimum tends to the max-min fill rates (``alpha`` of 5 to 10 is
    already close). **On fill rates, not amounts**: so that the family runs between the same
    rates the other equity rules rank, and so that ``alpha = 1`` is exactly Nash (on amounts it
    would be too, but large ``alpha`` would then equalise absolute amounts, giving a unit asking
    for 10 the same as one asking for 1000). The price: ``alpha = 0`` is utilitarian only when
    demands and values are equal; the ``utilitarian`` rule is the one that maximises total value.
    Solved by tangent cuts with a proven bound (:mod:`allocator.rules.concave`).

    Examples
    --------
    >>> Alpha(alpha=2).describe()
    'alpha(alpha=2.0, tolerance=1e-06, max_rounds=30)'
    """

    key: ClassVar[str] = "alpha"
    summary: ClassVar[str] = "alpha-fair welfare of fill rates: 0 sum of rates, 1 nash, large -> maxmin"

    alpha: Number = Field(ge=0, le=50, allow_inf_nan=False)
    tolerance: Number = Field(1e-6, gt=0, le=0.1)
    max_rounds: Count = Field(30, ge=1, le=200)

    def first_stage(self, model):
        return concave.initial_lp(model, concave.alpha_welfare(self.alpha))

    def run(self, model, runner):
        welfare = concave.alpha_welfare(self.alpha, concave.reference_level(model, runner, self.alpha))
        return concave.maximise(model, runner, welfare, self.tolerance, self.max_rounds)
