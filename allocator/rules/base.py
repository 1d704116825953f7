"""The rule algorithm protocol and its registry.

A rule's spec (:mod:`allocator.scenario.rules`) says what is wanted; its algorithm, registered
here for the spec's class, turns the compiled feasible set into flows by a sequence of stage
LPs (see :mod:`allocator.rules.stages`).
"""

from __future__ import annotations

import copy
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
M = TypeVar("M", bound="RuleMemory")


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


class RuleMemory:
    """What one rule keeps from one solve to the next of the same compiled scenario with other numbers
    (the draws of one simulation shard): one object per rule, made by :meth:`RuleAlgorithm.new_memory`
    and handed to every solve through :attr:`StageRunner.memory <allocator.rules.stages.StageRunner>`.

    This base remembers nothing. A rule that remembers defines its own subclass next to its algorithm,
    with named fields (maxmin: :class:`allocator.rules.maxmin.LevelMemory`). A memory is picklable: a
    simulation plan sends what the rules remembered of the nominal scenario to every shard.
    """

    def remembers(self) -> bool:
        """Whether anything was kept (a rule that kept something may solve its next draw another way)."""
        return False

    def copy(self: M) -> M:
        """A shallow copy: a rule replaces what it keeps (it never changes a kept array in place)."""
        return copy.copy(self)


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

    def new_memory(self) -> RuleMemory:
        """An empty memory of what this rule keeps between solves (see :class:`RuleMemory`); the base's
        remembers nothing."""
        return RuleMemory()

    def withholding(self, model: CompiledModel, flows: np.ndarray, r: int) -> str | None:
        """Why the rule leaves supply of resource ``r`` while units still need it, if it can say (see
        :mod:`allocator.solving.withheld`); ``None`` lets the caller say it in general terms."""
        return None


RULE_ALGORITHMS: Implementations[RuleAlgorithm] = Implementations("rule")


def algorithm(rule: Rule) -> RuleAlgorithm:
    """The algorithm registered for ``rule``'s class, built around it."""
    return RULE_ALGORITHMS.of(rule)
