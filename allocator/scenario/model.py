"""The validated scenario: what the planner wrote, as one immutable object.

Tables (units, links) are held as read-only numpy arrays rather than one Python
object per row, so that scenarios with hundreds of thousands of units stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from allocator.constraints.base import Constraint
from allocator.errors import Issue
from allocator.reserves import Reserves
from allocator.uncertainty import Uncertainty
from allocator.rules.base import Rule
from allocator.scalars import Identifier, Name, no_text_or_bool

__all__ = ["Identifier", "MAX_QUANTITY", "LinkTable", "Name", "Quantity", "Resource", "Scenario", "Site", "UnitTable"]

#: the largest quantity accepted: sums of larger ones lose whole units in double precision
MAX_QUANTITY = 1e15
#: strict: a YAML ``true`` or a quoted ``"10"`` is a mistake, not a quantity
Quantity = Annotated[float, BeforeValidator(no_text_or_bool), Field(ge=0, le=MAX_QUANTITY, allow_inf_nan=False, strict=True)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Resource(Frozen):
    """A kind of supply: ``{id: food, unit: lb, divisible: true}``."""

    id: Identifier
    unit: Name = ""
    divisible: bool = True


class Site(Frozen):
    """A place holding supply: ``{id: depot-east, supply: {food: 30000}}``."""

    id: Identifier
    supply: dict[Identifier, Quantity]


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class UnitTable:
    """Demand units as columns.

    Attributes
    ----------
    ids : ndarray of str
        Unit ids, unique, in file order.
    demand, value : ndarray, shape (units, resources)
        Demand and benefit per unit allocated, resource columns in the scenario's resource order.
    groups : Mapping[str, ndarray of str]
        Group label of each unit, per attribute.
    columns : Mapping[str, ndarray]
        Every other column of the table, as text (e.g. ``poverty`` for the ``formula`` rule or
        ``score`` for ``priority``); rules that use one parse it as numbers.
    """

    ids: np.ndarray
    demand: np.ndarray
    value: np.ndarray
    groups: Mapping[str, np.ndarray] = field(default_factory=dict)
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", _readonly(np.asarray(self.ids, dtype=object)))
        object.__setattr__(self, "demand", _readonly(np.asarray(self.demand, dtype=float)))
        object.__setattr__(self, "value", _readonly(np.asarray(self.value, dtype=float)))
        for name in ("groups", "columns"):
            object.__setattr__(self, name, MappingProxyType(
                {k: _readonly(np.asarray(v, dtype=object)) for k, v in getattr(self, name).items()}))

    def __len__(self) -> int:
        return len(self.ids)

    def __reduce__(self):
        # read-only mappings do not pickle: rebuild from plain dicts (simulation workers get a copy)
        return (UnitTable, (self.ids, self.demand, self.value, dict(self.groups), dict(self.columns)))


@dataclass(frozen=True, eq=False)
class LinkTable:
    """Which unit can be served by which site.

    Stored factorised, as for a categorical column: link ``k`` joins unit ``unit_labels[unit_codes[k]]``
    and site ``site_labels[site_codes[k]]``. Millions of links then cost integer arrays, and id
    look-ups happen once per distinct id.
    """

    unit_labels: np.ndarray
    unit_codes: np.ndarray
    site_labels: np.ndarray
    site_codes: np.ndarray

    def __post_init__(self) -> None:
        for name in ("unit_labels", "site_labels"):
            object.__setattr__(self, name, _readonly(np.asarray(getattr(self, name), dtype=object)))
        for name in ("unit_codes", "site_codes"):
            object.__setattr__(self, name, _readonly(np.asarray(getattr(self, name), dtype=np.int64)))

    @classmethod
    def from_ids(cls, units, sites) -> LinkTable:
        """Build from parallel sequences of unit and site ids."""
        unit_codes, unit_labels = pd.factorize(np.asarray(units, dtype=object))
        site_codes, site_labels = pd.factorize(np.asarray(sites, dtype=object))
        return cls(unit_labels, unit_codes, site_labels, site_codes)

    @property
    def units(self) -> np.ndarray:
        return self.unit_labels[self.unit_codes]

    @property
    def sites(self) -> np.ndarray:
        return self.site_labels[self.site_codes]

    def __len__(self) -> int:
        return len(self.unit_codes)


class Scenario(Frozen):
    """A complete, validated scenario (format v1).

    Build one with :func:`allocator.load_scenario` (from a file) or
    :func:`allocator.scenario_from_dict` (in code); both check everything and raise
    :class:`allocator.errors.ScenarioError` listing every problem at once.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: Identifier
    description: str = ""
    resources: tuple[Resource, ...]
    supply: Mapping[str, float] | None = None
    sites: tuple[Site, ...] | None = None
    units: UnitTable
    groups: tuple[str, ...] = ()
    links: LinkTable | None = None
    rule: Rule
    constraints: tuple[Constraint, ...] = ()
    source: str = "<inline>"
    warnings: tuple[Issue, ...] = ()
    #: flow-mode network edges by site index (``network: {mode: flow}``), see :mod:`allocator.scenario.network`
    network: object | None = None
    #: a reserve system for one resource (``reserves:``, see :mod:`allocator.reserves`)
    reserves: Reserves | None = None
    #: demand noise and supply shocks for simulations (``uncertainty:``, see :mod:`allocator.uncertainty`)
    uncertainty: Uncertainty | None = None
    #: sets of resources of which a unit gets at most one unit in total (``exclusive:``)
    exclusive: tuple[tuple[str, ...], ...] = ()
    #: the files it was read from: ``(role, absolute path, sha256)``, role ``scenario``, ``units`` or ``links``
    inputs: tuple[tuple[str, str, str], ...] = ()

    @property
    def resource_ids(self) -> list[str]:
        return [r.id for r in self.resources]

    @property
    def has_sites(self) -> bool:
        return self.sites is not None
