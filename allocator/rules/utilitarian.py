"""The utilitarian rule."""

from __future__ import annotations

from typing import ClassVar

from allocator.rules.base import RULES, Rule, RuleOutcome
from allocator.rules.stages import flows_of, value_lp


@RULES.register
class Utilitarian(Rule):
    """Maximise total value.

    .. math::

        \\max_x \\sum_{i,r} v_{ir}\\, a_{ir}(x) \\quad \\text{over the feasible set}

    where ``a_ir(x) = sum_s x_irs`` is what unit ``i`` receives of resource ``r`` and
    ``v_ir`` its value per unit (default 1, so by default: deliver as much as possible).
    One stage.

    Examples
    --------
    >>> Utilitarian().describe()
    'utilitarian()'
    """

    key: ClassVar[str] = "utilitarian"
    summary: ClassVar[str] = "maximise total value (sum of value x allocated)"

    def first_stage(self, model):
        return value_lp(model.base, model.problem)

    def run(self, model, runner):
        lp = self.first_stage(model)
        return RuleOutcome(flows_of(runner.run("value", lp), lp))
