"""Constraint rows, one concept per module, each registered for its spec (:mod:`allocator.scenario.constraints`)."""

from allocator.constraints import floor, group_floor, group_gap, group_ratio, no_harm  # noqa: F401  (registration)
from allocator.constraints.base import ConstraintRows, group_bounds, group_measure
from allocator.scenario.constraints import CONSTRAINTS  # the specs' registry, beside their rows

__all__ = ["CONSTRAINTS", "ConstraintRows", "group_bounds", "group_measure"]
