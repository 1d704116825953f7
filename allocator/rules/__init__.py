"""Allocation rules, one per module, registered by name."""

from allocator.rules import leximin, maxmin, proportional, utilitarian  # noqa: F401  (registration)
from allocator.rules.base import RULES, Rule, RuleOutcome
from allocator.rules.leximin import Leximin
from allocator.rules.maxmin import MaxMin
from allocator.rules.proportional import Proportional
from allocator.rules.utilitarian import Utilitarian

__all__ = ["RULES", "Rule", "RuleOutcome", "Leximin", "MaxMin", "Proportional", "Utilitarian"]
