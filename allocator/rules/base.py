"""The rule protocol and registry.

A rule is a small frozen object that turns the compiled feasible set into flows by a
sequence of stage LPs (see :mod:`allocator.rules.stages`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from allocator.core.registry import Registry, Spec

if TYPE_CHECKING:
    from allocator.model.compiler import CompiledModel
    from allocator.model.lp import LPModel
    from allocator.rules.stages import StageRunner


@dataclass(frozen=True, eq=False)
class RuleOutcome:
    """Flows chosen by a rule (in the LP's units, see :attr:`Problem.scale`) and what its equity stages settled.

    ``equity`` holds e.g. ``{"level": 0.41}`` (maxmin, proportional) or ``{"level": 0.41,
    "levels": [0.41, 0.47, 0.65]}`` (leximin): the fill rates the rule guaranteed, over the rates it
    ranks (reachable pairs, or groups with ``over:``), which can differ from ``min_fill_rate`` when
    some unit is unreachable.
    """

    flows: np.ndarray
    equity: dict[str, object] = field(default_factory=dict)
    #: what the planner must know about this answer (e.g. a welfare gap left above the tolerance)
    warnings: tuple[str, ...] = ()


class Rule(Spec):
    """Base class of allocation rules."""

    def run(self, model: CompiledModel, runner: StageRunner) -> RuleOutcome:
        raise TypeError(f"{type(self).__name__} must define run()")

    def first_stage(self, model: CompiledModel) -> LPModel:
        """The LP of the rule's first stage (what ``allocator export`` writes)."""
        raise TypeError(f"{type(self).__name__} must define first_stage()")


RULES: Registry[Rule] = Registry("rule", name_field="name")
