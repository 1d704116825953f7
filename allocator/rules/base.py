"""The rule algorithm protocol and its registry.

A rule's spec (:mod:`allocator.scenario.rules`) says what is wanted; its algorithm, registered
here for the spec's class, turns the compiled feasible set into flows by a sequence of stage
LPs (see :mod:`allocator.rules.stages`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from allocator.core.registry import Implementation, Implementations
from allocator.scenario.rules import Rule

if TYPE_CHECKING:
    from allocator.model.compiler import CompiledModel
    from allocator.model.lp import LPModel
    from allocator.rules.stages import StageRunner

R = TypeVar("R", bound=Rule)


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


class RuleAlgorithm(Implementation[R]):
    """How one rule spec is computed: its first stage's LP, and the whole run."""

    @property
    def rule(self) -> R:
        return self.spec

    def first_stage(self, model: CompiledModel) -> LPModel:
        """The LP of the rule's first stage (what ``allocator export`` writes)."""
        raise TypeError(f"{type(self).__name__} must define first_stage()")

    def run(self, model: CompiledModel, runner: StageRunner) -> RuleOutcome:
        raise TypeError(f"{type(self).__name__} must define run()")

    def withholding(self, model: CompiledModel, flows: np.ndarray, r: int) -> str | None:
        """Why the rule leaves supply of resource ``r`` while units still need it, if it can say (see
        :mod:`allocator.solving.withheld`); ``None`` lets the caller say it in general terms."""
        return None


RULE_ALGORITHMS: Implementations[RuleAlgorithm] = Implementations("rule")


def algorithm(rule: Rule) -> RuleAlgorithm:
    """The algorithm registered for ``rule``'s class, built around it."""
    return RULE_ALGORITHMS.of(rule)
