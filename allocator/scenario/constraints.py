"""Constraints as a scenario states them: small frozen parameter specs, registered by their ``type``.

A constraint here says *what* must hold (its parameters, validated, and its math in its
docstring); the rows that make it hold are built by :mod:`allocator.constraints`, registered
for the spec's class. It combines with every rule.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from allocator.core.registry import Registry, Spec
from allocator.core.scalars import Identifier, Number
from allocator.scenario.rules import RULES, Rule


class Constraint(Spec):
    """Base class of constraints: parameters only (see :mod:`allocator.constraints` for their rows)."""

    @property
    def row_block(self) -> str:
        """Name of the row block this constraint adds, e.g. ``group_gap:race``."""
        attribute = self.params().get("attribute")
        resource = self.params().get("resource")
        name = f"{self.key}:{attribute}" if attribute else self.key
        return f"{name}:{resource}" if resource else name

    def baseline_rule(self) -> Rule | None:
        """The rule this constraint compares with (``no_harm``'s baseline), or ``None``."""
        return None


CONSTRAINTS: Registry[Constraint] = Registry("constraint", name_field="type")

#: what a group constraint bounds: group fill rates, or group benefit rates (benefit delivered over
#: the most the group's members could get, see :func:`allocator.model.measures.group_benefit`)
GroupMeasure = Literal["fill", "benefit"]

#: a share of demand (or of a group's demand), from 0 to 1
Share = Annotated[Number, Field(ge=0, le=1)]


def check_benefit(constraint: Constraint) -> None:
    """A benefit rate spans every resource, so it cannot also be restricted to one."""
    params = constraint.params()
    if params.get("measure") == "benefit" and params.get("resource") is not None:
        raise ValueError("measure: benefit covers every resource; leave out resource")


@CONSTRAINTS.register
class Floor(Constraint):
    """Every reachable (unit, resource) pair gets at least ``share`` of its demand.

    .. math::

        a_{ir}(x) \\ge \\text{share} \\cdot d_{ir} \\qquad \\forall (i, r) \\text{ reachable}
        \\;(\\text{and } r = \\text{resource if given})

    Implemented by raising the lower bound of the pair's demand row, so it adds no rows.
    Pairs that no site can reach are exempt (they are warned about instead).

    Examples
    --------
    >>> Floor(share=0.2).describe()
    'floor(share=0.2)'
    """

    key: ClassVar[str] = "floor"
    summary: ClassVar[str] = "every unit gets at least `share` of its demand"
    share: Share
    resource: Identifier | None = None


@CONSTRAINTS.register
class GroupFloor(Constraint):
    """Every group's fill rate is at least ``share``, for each resource.

    .. math::

        \\sum_{i \\in g} a_{ir}(x) \\ge \\text{share} \\cdot \\sum_{i \\in g} d_{ir}
        \\qquad \\forall g \\in \\text{attribute},\\; \\forall r

    One row per (group, resource) with positive demand.

    Examples
    --------
    >>> GroupFloor(attribute="region", share=0.5).describe()
    'group_floor(attribute=region, share=0.5)'
    """

    key: ClassVar[str] = "group_floor"
    summary: ClassVar[str] = "every group of `attribute` gets at least `share` of its demand"
    attribute: Identifier
    share: Share
    resource: Identifier | None = None
    measure: GroupMeasure | None = None  # None: fill rates

    def model_post_init(self, _context) -> None:
        check_benefit(self)


@CONSTRAINTS.register
class GroupGap(Constraint):
    """Group fill rates of one resource differ by at most ``max_gap``.

    .. math::

        \\max_g F_{gr}(x) - \\min_g F_{gr}(x) \\le \\text{max\\_gap} \\qquad \\forall r

    with O(groups) rows through helper columns per resource:
    ``lo_r <= F_gr <= hi_r`` for every group ``g`` and ``hi_r - lo_r <= max_gap``
    (the measure reported as ``max_group_gap``).

    Examples
    --------
    >>> GroupGap(attribute="race", max_gap=0.05).describe()
    'group_gap(attribute=race, max_gap=0.05)'
    """

    key: ClassVar[str] = "group_gap"
    summary: ClassVar[str] = "group fill rates of `attribute` differ by at most `max_gap`"
    attribute: Identifier
    max_gap: Share
    resource: Identifier | None = None
    measure: GroupMeasure | None = None  # None: fill rates

    def model_post_init(self, _context) -> None:
        check_benefit(self)


@CONSTRAINTS.register
class GroupRatio(Constraint):
    """The lowest group fill rate is at least ``min_ratio`` times the highest, per resource.

    .. math::

        \\min_g F_{gr}(x) \\ge \\text{min\\_ratio} \\cdot \\max_g F_{gr}(x) \\qquad \\forall r

    Exact and linear because ``min_ratio`` is a constant: with a helper column ``hi_r`` and
    ``F_gr <= hi_r``, the rows ``(E x)_g - min_ratio D_g hi_r >= 0``. ``min_ratio: 0.8`` is the
    four-fifths rule of US adverse-impact practice (the measure reported as ``min_group_ratio``).

    Examples
    --------
    >>> GroupRatio(attribute="race", min_ratio=0.8).describe()
    'group_ratio(attribute=race, min_ratio=0.8)'
    """

    key: ClassVar[str] = "group_ratio"
    summary: ClassVar[str] = "lowest group fill rate of `attribute` >= `min_ratio` x the highest"
    attribute: Identifier
    min_ratio: Share
    resource: Identifier | None = None
    measure: GroupMeasure | None = None  # None: fill rates

    def model_post_init(self, _context) -> None:
        check_benefit(self)


@CONSTRAINTS.register
class NoHarm(Constraint):
    """No (unit, resource) pair receives less than it would under a baseline rule.

    .. math::

        a_{ir}(x) \\ge (1 - 10^{-7})\\, a^{b}_{ir} \\qquad \\forall (i, r)

    where ``a^b`` is the baseline rule's allocation on the scenario's supply, links and
    demand *without* the scenario's other constraints (the status quo is usually a formula
    that knows none of them). A fairer rule adopted with ``no_harm`` therefore only ever adds:
    ``{type: no_harm, baseline: formula}`` needs the formula's own parameters, so the baseline
    is given as a rule mapping, e.g. ``{name: formula, weights: {poverty: 0.6, unemployed: 0.4}}``,
    or a rule name. The baseline is solved when the model is compiled, with the run's own solver and time limit
    (:func:`allocator.compile`). Implemented
    as lower bounds on the demand rows, like ``floor``: no rows are added.

    Examples
    --------
    >>> NoHarm(baseline="proportional").describe()
    'no_harm(baseline=proportional)'
    """

    key: ClassVar[str] = "no_harm"
    summary: ClassVar[str] = "nobody gets less than under a baseline rule (e.g. the current formula)"
    baseline: str | dict[str, Any]

    @field_validator("baseline")
    @classmethod
    def _known_rule(cls, value):
        parsed, issues = RULES.parse(value, file="", where="baseline")
        if issues:
            raise ValueError("; ".join(i.message for i in issues))
        assert parsed is not None  # parse returns None only with an issue
        if parsed.key == "no_harm":
            raise ValueError("a baseline cannot itself be no_harm")
        return value

    def baseline_rule(self) -> Rule:
        rule = RULES.parse(self.baseline, file="", where="baseline")[0]
        assert rule is not None  # the baseline was checked when the constraint was made
        return rule

    def columns(self):
        return self.baseline_rule().columns()

    def attributes(self):
        return self.baseline_rule().attributes()


__all__ = ["CONSTRAINTS", "Constraint", "GroupMeasure", "Share", "Floor", "GroupFloor", "GroupGap", "GroupRatio",
           "NoHarm"]
