"""Rule algorithms, one per module, each registered for its spec (:mod:`allocator.scenario.rules`)."""

from allocator.rules import (  # noqa: F401  (registration)
    alpha,
    formula,
    leximin,
    maxmin,
    nash,
    priority,
    proportional,
    reserve,
    utilitarian,
)
from allocator.rules.base import RULE_ALGORITHMS, RuleAlgorithm, RuleOutcome, algorithm
from allocator.scenario.rules import RULES  # the specs' registry, beside their algorithms

__all__ = ["RULES", "RULE_ALGORITHMS", "RuleAlgorithm", "RuleOutcome", "algorithm"]
