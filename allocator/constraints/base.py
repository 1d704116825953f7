"""The constraint protocol and registry.

A constraint adds rows (and helper columns) to the compiled feasible set; it combines
with every rule. Each one carries its formulation in its docstring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from allocator.registry import Registry, Spec

if TYPE_CHECKING:
    from allocator.lp import LPBuilder
    from allocator.measures import MeasureSet


class Constraint(Spec):
    """Base class of constraints."""

    def apply(self, builder: LPBuilder, measures: MeasureSet, name: str) -> None:
        """Add this constraint's rows (and helper columns) to ``builder`` as blocks named after ``name``."""
        raise TypeError(f"{type(self).__name__} must define apply()")

    @property
    def row_block(self) -> str:
        """Name of the row block this constraint adds, e.g. ``group_gap:race``."""
        attribute = self.params().get("attribute")
        resource = self.params().get("resource")
        name = f"{self.key}:{attribute}" if attribute else self.key
        return f"{name}:{resource}" if resource else name


CONSTRAINTS: Registry[Constraint] = Registry("constraint", name_field="type")
