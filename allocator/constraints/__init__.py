"""Constraints, one concept per module, registered by their YAML ``type``."""

from allocator.constraints import floor, group_floor, group_gap, group_ratio, no_harm  # noqa: F401  (registration)
from allocator.constraints.base import CONSTRAINTS, Constraint
from allocator.constraints.floor import Floor
from allocator.constraints.group_floor import GroupFloor
from allocator.constraints.group_gap import GroupGap
from allocator.constraints.group_ratio import GroupRatio
from allocator.constraints.no_harm import NoHarm

__all__ = ["CONSTRAINTS", "Constraint", "Floor", "GroupFloor", "GroupGap", "GroupRatio", "NoHarm"]
