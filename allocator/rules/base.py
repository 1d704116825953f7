"""The rule protocol and registry.

A rule is a small frozen object that turns the compiled feasible set into flows by a
sequence of stage LPs (see :mod:`allocator.rules.stages`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from allocator.registry import Registry, Spec

if TYPE_CHECKING:
    from allocator.compile import CompiledModel
    from allocator.lp import LPModel
    from allocator.rules.stages import StageRunner


@dataclass(frozen=True, eq=False)
class RuleOutcome:
    """Flows chosen by a rule and the equity levels it settled (``levels`` by measure entry)."""

    flows: np.ndarray
    levels: dict[str, float] = field(default_factory=dict)


class Rule(Spec):
    """Base class of allocation rules."""

    def run(self, model: CompiledModel, runner: StageRunner) -> RuleOutcome:
        raise TypeError(f"{type(self).__name__} must define run()")

    def first_stage(self, model: CompiledModel) -> LPModel:
        """The LP of the rule's first stage (what ``allocator export`` writes)."""
        raise TypeError(f"{type(self).__name__} must define first_stage()")


RULES: Registry[Rule] = Registry("rule", name_field="name")
