"""The validated scenario: what the planner wrote, as one immutable object.

Tables (units, links) are held as read-only numpy arrays rather than one Python
object per row, so that scenarios with hundreds of thousands of units stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from allocator.core.errors import Issue, ScenarioError, UsageError
from allocator.core.registry import ReadOnlyModel, freeze
from allocator.core.scalars import Identifier, Name, no_text_or_bool
from allocator.scenario.constraints import Constraint
from allocator.scenario.reserves import Reserves
from allocator.scenario.rules import Rule
from allocator.scenario.uncertainty import Uncertainty

if TYPE_CHECKING:
    from allocator.scenario.network import EdgeTable

__all__ = ["Identifier", "MAX_QUANTITY", "LinkTable", "Name", "Quantity", "Resource", "Scenario", "Site", "UnitTable"]

#: the largest quantity accepted: sums of larger ones lose whole units in double precision
MAX_QUANTITY = 1e15
#: strict: a YAML ``true`` or a quoted ``"10"`` is a mistake, not a quantity
Quantity = Annotated[float, BeforeValidator(no_text_or_bool), Field(ge=0, le=MAX_QUANTITY, allow_inf_nan=False, strict=True)]


class Frozen(ReadOnlyModel):
    """Frozen all the way down: mappings inside are read-only, and a copy with changes is validated
    (an invalid change is a :class:`~allocator.core.errors.ScenarioError`)."""

    def _refused(self, issues: list[Issue]) -> Exception:
        return ScenarioError(issues)


class Resource(Frozen):
    """A kind of supply: ``{id: food, unit: lb, divisible: true}``."""

    id: Identifier
    unit: Name = ""
    divisible: bool = True


class Site(Frozen):
    """A place holding supply: ``{id: depot-east, supply: {food: 30000}}``."""

    id: Identifier
    supply: dict[Identifier, Quantity]


def _object_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame whose text columns stay NumPy object arrays: the loader reads a table's cells as
    objects, and pandas with pyarrow would turn text into Arrow strings only to have them turned back."""
    return pd.DataFrame({name: pd.Series(values, dtype=object if np.asarray(values).dtype == object else None)
                         for name, values in columns.items()}, copy=False)


def _readonly(array: np.ndarray) -> np.ndarray:
    """A read-only copy of ``array``: a view of a read-only array, so ``setflags(write=True)`` is refused too
    (numpy lets the owner of the data turn writing back on, never a view)."""
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array.view()


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

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UnitTable):
            return NotImplemented
        return (_same(self.ids, other.ids) and _same(self.demand, other.demand) and _same(self.value, other.value)
                and _same_columns(self.groups, other.groups) and _same_columns(self.columns, other.columns))

    def __hash__(self) -> int:  # cheap, and equal tables hash alike
        return hash((len(self.ids), self.demand.shape))

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

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LinkTable):
            return NotImplemented
        return _same(self.units, other.units) and _same(self.sites, other.sites)

    def __hash__(self) -> int:
        return hash(len(self.unit_codes))


def _plain(value):
    """Read-only mappings back to dicts, for a document."""
    return {k: _plain(v) for k, v in value.items()} if isinstance(value, Mapping) else value


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.all(a == b))


def _same_columns(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> bool:
    return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)



#: the keys a scenario document may have at its top level
TOP_LEVEL_KEYS = ("name", "description", "resources", "supply", "sites", "units", "groups", "links", "exclusive",
                  "reserves", "network", "uncertainty", "rule", "constraints")

#: the loader that reads a changed document back (:meth:`Scenario.replace`); the schema lives below
#: its loader, so :mod:`allocator.scenario.load` registers it here instead of being imported
_LOADER: list = []


def register_loader(function):
    """Register ``scenario_from_dict`` for :meth:`Scenario.replace`."""
    _LOADER[:] = [function]
    return function


class Scenario(Frozen):
    """A complete, validated scenario (format v1).

    Build one with :func:`allocator.load_scenario` (from a file) or
    :func:`allocator.scenario_from_dict` (in code); both check everything and raise
    :class:`allocator.core.errors.ScenarioError` listing every problem at once. It is read-only all
    the way down (tuples, read-only mappings and arrays); derive a variant with :meth:`replace`.
    Two scenarios are equal when they describe the same problem: where they were read from
    (``source``, ``inputs``) and the warnings are not compared.
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
    if TYPE_CHECKING:
        network: EdgeTable | None = None
    else:  # held as it is: pydantic would validate and copy a dataclass field
        network: object | None = None
    #: a reserve system for one resource (``reserves:``, see :mod:`allocator.scenario.reserves`)
    reserves: Reserves | None = None
    #: demand noise and supply shocks for simulations (``uncertainty:``, see :mod:`allocator.scenario.uncertainty`)
    uncertainty: Uncertainty | None = None
    #: sets of resources of which a unit gets at most one unit in total (``exclusive:``)
    exclusive: tuple[tuple[str, ...], ...] = ()
    #: the files it was read from: ``(role, absolute path, sha256)``, role ``scenario``, ``units`` or ``links``
    inputs: tuple[tuple[str, str, str], ...] = ()

    def replace(self, **changes: Any) -> Scenario:
        """A variant with some top-level sections changed, validated like a loaded scenario.

        ``changes`` are sections of the scenario format (``supply``, ``sites``, ``units``,
        ``links``, ``rule``, ``constraints``, ``groups``...) in any form :func:`scenario_from_dict`
        accepts (``units`` and ``links`` also as DataFrames); ``rule`` and ``constraints`` also as
        objects or CLI strings (``"floor:share=0.2"``). Table paths are relative to the scenario
        file's folder, as on loading. The variant has no recorded ``inputs``: it is no longer
        what the files say.

        Raises
        ------
        ScenarioError
            Listing every problem of the variant, as loading it would.

        Examples
        --------
        >>> from allocator import scenario_from_dict
        >>> s = scenario_from_dict({"name": "pool", "resources": [{"id": "food"}], "supply": {"food": 10},
        ...                         "units": [{"id": "a", "demand": 8}]})
        >>> dict(s.replace(supply={"food": 4}).supply)
        {'food': 4.0}
        """
        from allocator.scenario.constraints import CONSTRAINTS
        scenario_from_dict = _LOADER[0]
        from allocator.scenario.rules import RULES

        unknown = sorted(set(changes) - set(TOP_LEVEL_KEYS), key=str)
        if unknown:
            raise ScenarioError([Issue(self.source, key, "unknown key", "one of: " + ", ".join(TOP_LEVEL_KEYS))
                                 for key in unknown])
        issues: list[Issue] = []
        changes = dict(changes)
        rule_unreadable = False
        if isinstance(changes.get("rule"), str):  # a CLI string; anything else is parsed by the loader
            changes["rule"], found = RULES.coerce(changes["rule"], file=self.source, where="rule")
            issues += found
            rule_unreadable = changes["rule"] is None
        if isinstance(changes.get("constraints"), str):  # "floor:share=0.2,group_gap:..." as the CLI and solve read it
            try:
                changes["constraints"] = list(CONSTRAINTS.many(changes["constraints"], where="constraints"))
            except UsageError as exc:
                issues.append(Issue(self.source, "constraints", str(exc)))
                changes.pop("constraints")
        if changes.get("constraints") is not None:
            given = changes["constraints"]
            given = [given] if isinstance(given, (str, Mapping, Constraint)) else list(given)
            parsed = [CONSTRAINTS.coerce(c, file=self.source, where=f"constraints[{k}]") for k, c in enumerate(given)]
            changes["constraints"] = [c for c, _ in parsed if c is not None]
            issues += [i for _, found in parsed for i in found]
        if rule_unreadable:  # its problems are listed: check the rest with the scenario's own rule
            changes.pop("rule")
        try:
            variant = scenario_from_dict({**self.model_dump(), **changes}, base_dir=self._folder(), source=self.source,
                                         record_inputs=False)
        except ScenarioError as exc:
            raise ScenarioError(issues + list(exc.issues)) from None
        if issues:
            raise ScenarioError(issues)
        return variant

    def _folder(self):
        """Where table paths given to :meth:`replace` are relative to: the scenario file's folder, as on loading."""
        from pathlib import Path

        return Path(self.source).parent if self.source != "<inline>" and Path(self.source).is_file() else None

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Scenario:
        """:meth:`replace` (pydantic's own copy would skip validation); without ``update``, the scenario itself."""
        return self.replace(**update) if update else self

    def _derive(self, **update: Any) -> Scenario:
        """Internal fast path: a copy whose ``update`` the caller knows keeps a validated scenario valid."""
        copy = BaseModel.model_copy(self, update=update)
        for name in update:
            object.__setattr__(copy, name, freeze(getattr(copy, name)))
        return copy

    def model_dump(self, **_ignored: Any) -> dict[str, Any]:
        """The scenario as the mapping :func:`allocator.scenario_from_dict` reads back into an equal one.

        ``units`` and ``links`` are DataFrames with the CSV columns; every other section is plain data.
        A flow-mode ``network`` is written as inline ``edges`` (and ``nodes`` for throughput limits).
        """
        document: dict[str, Any] = {"name": self.name, "description": self.description,
                                    "resources": [dict(r) for r in self.resources]}
        if self.supply is not None:
            document["supply"] = dict(self.supply)
        if self.sites is not None:
            document["sites"] = [{"id": site.id, "supply": dict(site.supply)} for site in self.sites]
        document["units"] = self._units_frame()
        if self.groups:
            document["groups"] = list(self.groups)
        if self.network is not None:  # flow mode: the edges decide the routes (the links follow from them)
            assert self.sites is not None  # flow mode holds supply at sites
            document["network"] = self.network.document([site.id for site in self.sites], self.resource_ids)
        elif self.links is not None:
            document["links"] = _object_frame({"unit": self.links.units, "site": self.links.sites})
        if self.exclusive:
            document["exclusive"] = [list(members) for members in self.exclusive]
        for key in ("reserves", "uncertainty"):
            if getattr(self, key) is not None:
                document[key] = getattr(self, key).model_dump()
        document["rule"] = {"name": self.rule.key, **_plain(self.rule.model_dump())}
        document["constraints"] = [{"type": c.key, **_plain(c.model_dump())} for c in self.constraints]
        return document

    def _units_frame(self) -> pd.DataFrame:
        units = self.units
        columns: dict[str, Any] = {"id": units.ids}
        for k, r in enumerate(self.resource_ids):
            columns[f"demand:{r}"] = units.demand[:, k]
            columns[f"value:{r}"] = units.value[:, k]
        columns.update(units.groups)
        columns.update(units.columns)
        return _object_frame(columns)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        provenance = ("source", "inputs", "warnings")
        return all(getattr(self, name) == getattr(other, name) for name in type(self).model_fields
                   if name not in provenance)

    __hash__ = None  # type: ignore[assignment]  # unhashable: holds mappings and large tables (mypy wants a method)

    @property
    def input_paths(self) -> tuple[str, ...]:
        """The files this scenario was read from (paths of :attr:`inputs`): no output may replace them."""
        return tuple(path for _, path, _ in self.inputs)

    @property
    def resource_ids(self) -> list[str]:
        return [r.id for r in self.resources]

    @property
    def has_sites(self) -> bool:
        return self.sites is not None
