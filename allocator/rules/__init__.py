"""Allocation rules, one per module, registered by name."""

from allocator.rules import (  # noqa: F401  (registration)
    alpha, formula, leximin, maxmin, nash, priority, proportional, reserve, utilitarian,
)
from allocator.rules.alpha import Alpha
from allocator.rules.base import RULES, Rule, RuleOutcome
from allocator.rules.formula import Formula
from allocator.rules.leximin import Leximin
from allocator.rules.maxmin import MaxMin
from allocator.rules.nash import Nash
from allocator.rules.priority import Priority
from allocator.rules.proportional import Proportional
from allocator.rules.reserve import Reserve
from allocator.rules.utilitarian import Utilitarian

__all__ = ["RULES", "Rule", "RuleOutcome", "Alpha", "Formula", "Leximin", "MaxMin", "Nash", "Priority",
           "Proportional", "Reserve", "Utilitarian"]
