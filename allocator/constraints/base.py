"""What every constraint's rows share.

A constraint's spec (:mod:`allocator.scenario.constraints`) says what must hold; its rows,
registered for the spec's class in :data:`allocator.model.compiler.CONSTRAINT_ROWS`, make it hold
in the compiled feasible set. It combines with every rule.

The rows also say what a solved LP's duals mean for them (:meth:`ConstraintRows.parameter_price`,
:meth:`ConstraintRows.binding_caps`) and how their blocks are laid out (:meth:`ConstraintRows.rows_per_resource`):
the explainer (:mod:`allocator.accountability.explain`) and the LP legend (:mod:`allocator.accountability.export`)
ask them, so only a constraint's own module knows the names of its row blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from allocator.core.registry import Implementation
from allocator.core.sparse import sparse as sp
from allocator.model.compiler import CONSTRAINT_ROWS
from allocator.scenario.constraints import Constraint

if TYPE_CHECKING:
    from allocator.model.lp import LPBuilder, LPModel
    from allocator.model.measures import FillMeasure, MeasureSet

C = TypeVar("C", bound=Constraint)

#: the parts of a group constraint's blocks (:func:`group_bounds`), each named ``<block>:<part>``:
#: helper columns ``hi_r`` and ``lo_r`` per resource, and the rows ``F_gr <= hi_r`` and ``F_gr >= lo_r``
HIGH, LOW, BELOW_HIGH, ABOVE_LOW = "hi", "lo", "below_hi", "above_lo"


def part(block: str, name: str) -> str:
    """The name of part ``name`` of a constraint's block ``block``: ``group_gap:race:below_hi``."""
    return f"{block}:{name}"


@dataclass(frozen=True, slots=True)
class ParameterPrice:
    """What a solved LP's duals say one constraint's parameter is worth.

    ``price`` is the LP objective gained per unit increase of the spec's parameter ``parameter``
    (``share``, ``max_gap``, ``min_ratio``: a whole 0 -> 1 of it), in the LP's objective units.
    """

    parameter: str
    price: float


@dataclass(frozen=True, slots=True)
class GroupCap:
    """A group whose fill (or benefit) rate of ``resource`` a constraint's cap row holds down (its dual is not 0).

    ``resource`` is the resource label of the constraint's measure (``"(benefit)"`` for a benefit rate).
    """

    attribute: str
    group: str
    resource: str


class ConstraintRows(Implementation[C]):
    """The rows (and helper columns) that make one constraint spec hold."""

    @property
    def constraint(self) -> C:
        return self.spec

    def apply(self, builder: LPBuilder, measures: MeasureSet, name: str, baseline: np.ndarray | None = None) -> None:
        """Add this constraint's rows to ``builder`` as blocks named after ``name``.

        ``baseline`` is what a baseline rule gives each reachable pair, for constraints that
        compare with one (``no_harm``); the solving layer computes it (see :mod:`allocator.solving.baselines`).
        """
        raise TypeError(f"{type(self).__name__} must define apply()")

    def parameter_price(self, lp: LPModel, x: np.ndarray, duals: np.ndarray, measures: MeasureSet,
                        name: str) -> ParameterPrice | None:
        """What the duals of ``lp`` (solved: primal ``x``, row duals ``duals``), which holds this constraint's
        blocks named after ``name``, say its parameter is worth; ``None`` when it has none priced (the base)."""
        return None

    def binding_caps(self, lp: LPModel, duals: np.ndarray, measures: MeasureSet, name: str,
                     zero: float) -> list[GroupCap]:
        """The groups whose rate this constraint's cap rows in ``lp`` hold down: rows whose dual is larger than
        ``zero`` in size, in row order; none for a constraint without cap rows (the base)."""
        return []

    def rows_per_resource(self, name: str, block: str) -> bool:
        """Whether the rows of ``block`` (one of this constraint's blocks, named after ``name``) are one per
        resource of its measure, not one per entry of it (what ``allocator export``'s legend labels them by)."""
        return False


def rows_of(constraint: Constraint) -> ConstraintRows:
    """The rows registered for ``constraint``'s class (:data:`~allocator.model.compiler.CONSTRAINT_ROWS`), built around it."""
    rows = CONSTRAINT_ROWS.of(constraint)
    if not isinstance(rows, ConstraintRows):
        raise TypeError(f"the rows registered for {type(constraint).__name__} are not ConstraintRows")
    return rows


class GroupBoundRows(ConstraintRows[C]):
    """A group constraint built on :func:`group_bounds`: its ``below_hi`` rows cap each group's rate."""

    def binding_caps(self, lp: LPModel, duals: np.ndarray, measures: MeasureSet, name: str,
                     zero: float) -> list[GroupCap]:
        rows = part(name, BELOW_HIGH)
        if rows not in lp.row_blocks:
            return []
        measure = group_measure(self.constraint, measures)
        attribute = str(self.constraint.params()["attribute"])
        caps = duals[lp.rows(rows)]
        return [GroupCap(attribute, str(measure.labels["group"].iloc[k]), str(measure.labels["resource"].iloc[k]))
                for k in np.flatnonzero(np.abs(caps) > zero)]


def group_measure(constraint: Constraint, measures: MeasureSet) -> FillMeasure:
    """The measure a group constraint bounds: its ``measure`` of its ``attribute`` (and ``resource``)."""
    params = constraint.params()
    if params.get("measure") == "benefit":
        return measures.benefit(params["attribute"])
    return measures.group(params["attribute"], params.get("resource"))


def group_bounds(builder: LPBuilder, measure: FillMeasure, name: str, *, low: bool):
    """Add helper columns ``hi_r`` (and ``lo_r`` if ``low``) per resource with ``lo_r <= F_gr <= hi_r``.

    O(groups) rows: ``(E x)_g - D_g hi_r <= 0`` and ``(E x)_g - D_g lo_r >= 0``. Returns the
    column block names and the (groups x resources) matrix of ``-D_g`` used in those rows.
    """
    resources = np.unique(measure.resource)
    position = np.searchsorted(resources, measure.resource)
    spread = sp.csr_array((-measure.lp_denominator, (np.arange(len(measure)), position)),
                          shape=(len(measure), len(resources)))
    high = part(name, HIGH)
    builder.add_columns(high, len(resources), lower=0.0, upper=1.0)
    builder.add_rows(part(name, BELOW_HIGH), {"flow": measure.matrix, high: spread}, lower=-np.inf, upper=0.0)
    if not low:
        return high, None, spread
    low_name = part(name, LOW)
    builder.add_columns(low_name, len(resources), lower=0.0, upper=1.0)
    builder.add_rows(part(name, ABOVE_LOW), {"flow": measure.matrix, low_name: spread}, lower=0.0, upper=np.inf)
    return high, low_name, spread
