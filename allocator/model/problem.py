"""The scenario as integer-indexed arrays: units x resources x sites, links and group codes.

Indexing conventions used throughout allocator:

* a *pair* is a (unit, resource) with demand > 0, ordered unit-major in resource order;
* a *flow* is a (pair, site) where the unit links to the site and the site holds that
  resource; the LP has one column per flow;
* a pair is *reachable* when it has at least one flow. Without sites, supply is one pool
  per resource, modelled as a single site named ``"(pool)"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Mapping

import numpy as np
import pandas as pd

from allocator.core.errors import Issue, Severity
from allocator.core.sparse import sparse as sp

if TYPE_CHECKING:
    from allocator.scenario.model import Scenario
    from allocator.scenario.network import EdgeTable

POOL = "(pool)"
#: a demand smaller than this share of the supply it draws on is below what an LP solver can
#: resolve next to that supply (its tolerances are ~1e-7 relative); its fill rate may be off
RESOLUTION = 1e-7


@dataclass(frozen=True, eq=False)
class GroupCodes:
    """Integer group code of every unit for one attribute, with the sorted labels."""

    codes: np.ndarray
    labels: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Problem:
    """Index arrays derived once from a :class:`Scenario`; see the module docstring."""

    unit_ids: np.ndarray
    resource_ids: tuple[str, ...]
    site_ids: tuple[str, ...]
    has_sites: bool
    supply: np.ndarray  # (sites, resources)
    pair_unit: np.ndarray
    pair_resource: np.ndarray
    pair_demand: np.ndarray
    pair_value: np.ndarray
    flow_pair: np.ndarray
    flow_site: np.ndarray
    groups: Mapping[str, GroupCodes]
    source: str = "<inline>"
    divisible: tuple[bool, ...] = ()  # per resource; empty means every resource is divisible
    exclusive: tuple[tuple[int, ...], ...] = ()  # resource indices of each exclusive set
    network: EdgeTable | None = None  # flow mode: by site index (supply moves along edges)
    unit_columns: Mapping[str, np.ndarray] = field(default_factory=dict)  # the units table's other columns, as text

    @cached_property
    def scale(self) -> float:
        """The unit the LP counts quantities in: the power of two nearest the median pair demand.

        Dividing every quantity by it keeps the LP's coefficients near 1 whether a scenario
        counts in pounds, tonnes or millions of doses; results are multiplied back.
        """
        if not self.num_pairs or not self.all_divisible:
            return 1.0  # whole units must stay whole: an indivisible resource is counted as it is
        return float(2.0 ** np.round(np.log2(np.median(self.pair_demand))))

    @property
    def all_divisible(self) -> bool:
        return all(self.divisible)

    @property
    def flow_integer(self) -> np.ndarray:
        """True for flows of indivisible resources (whole numbers only)."""
        if self.all_divisible:
            return np.zeros(self.num_flows, dtype=bool)
        return ~np.asarray(self.divisible, dtype=bool)[self.pair_resource[self.flow_pair]]

    @cached_property
    def warnings(self) -> tuple[Issue, ...]:
        """Unreachable (unit, resource) pairs, groups no site can serve, demands below the LP's resolution."""
        return tuple(_unreachable_warnings(self, self.source)) + tuple(_resolution_warnings(self, self.source))

    @property
    def num_pairs(self) -> int:
        return len(self.pair_unit)

    @property
    def num_flows(self) -> int:
        return len(self.flow_pair)

    @property
    def pair_reachable(self) -> np.ndarray:
        return np.bincount(self.flow_pair, minlength=self.num_pairs) > 0

    def flow_to_pair(self) -> sp.csr_array:
        """``P`` with ``(P @ x)[p]`` = amount allocated to pair ``p``."""
        k = self.num_flows
        return sp.csr_array((np.ones(k), (self.flow_pair, np.arange(k))), shape=(self.num_pairs, k))

    def group_cells(self, attribute: str) -> tuple[np.ndarray, int]:
        """Cell ``group * resources + resource`` of every pair for ``attribute``, and the number of cells."""
        codes, num_res = self.groups[attribute], len(self.resource_ids)
        return codes.codes[self.pair_unit] * num_res + self.pair_resource, len(codes.labels) * num_res

    def unit_numbers(self, column: str) -> np.ndarray:
        """Column ``column`` of the units table as numbers (validated when the scenario was loaded)."""
        from allocator.scenario.checks import numbers_in

        return numbers_in(self.unit_columns[column])

    def pair_allocation(self, flows: np.ndarray) -> np.ndarray:
        return np.bincount(self.flow_pair, weights=flows, minlength=self.num_pairs)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Problem:
        units = scenario.units
        resources = tuple(scenario.resource_ids)
        n, num_res = len(units), len(resources)
        if scenario.sites is not None:
            site_ids = tuple(s.id for s in scenario.sites)
            supply = np.array([[s.supply.get(r, 0.0) for r in resources] for s in scenario.sites],
                              dtype=float).reshape(len(site_ids), num_res)
        else:
            assert scenario.supply is not None  # a scenario has supply or sites
            site_ids = (POOL,)
            supply = np.array([[scenario.supply.get(r, 0.0) for r in resources]], dtype=float)
        pair_unit, pair_resource = np.nonzero(units.demand > 0)
        pair_demand = units.demand[pair_unit, pair_resource]
        pair_value = units.value[pair_unit, pair_resource]

        indptr, indices = _access(scenario, n, len(site_ids))  # unit x site, CSR arrays, sorted columns
        # flows: (pair, site) with access and positive supply of the pair's resource, pair-major
        degree = np.diff(indptr)[pair_unit]
        flow_pair = np.repeat(np.arange(len(pair_unit), dtype=np.int64), degree)
        # position of each flow in ``indices``: the start of its unit's row plus its rank within the pair
        within = np.arange(len(flow_pair)) - np.repeat(np.cumsum(degree) - degree, degree)
        flow_site = indices[indptr[pair_unit][flow_pair] + within]
        # a unit's only flow is at its own node in a flow network, whose supply may come along the edges
        keep = (supply[flow_site, pair_resource[flow_pair]] > 0) | (scenario.network is not None)
        flow_pair, flow_site = flow_pair[keep], flow_site[keep]

        groups = {}
        for attribute in scenario.groups:
            codes, labels = pd.factorize(np.asarray(units.groups[attribute], dtype=object), sort=True)
            groups[attribute] = GroupCodes(codes.astype(np.int64), tuple(str(label) for label in labels))

        return cls(
            unit_ids=units.ids, resource_ids=resources, site_ids=site_ids,
            has_sites=scenario.sites is not None, supply=supply,
            pair_unit=pair_unit.astype(np.int64), pair_resource=pair_resource.astype(np.int64),
            pair_demand=pair_demand, pair_value=pair_value, flow_pair=flow_pair, flow_site=flow_site,
            groups=MappingProxyType(groups), source=scenario.source, unit_columns=units.columns,
            divisible=tuple(r.divisible for r in scenario.resources),
            exclusive=tuple(tuple(resources.index(r) for r in members) for members in scenario.exclusive),
            network=scenario.network,
        )


def _access(scenario: Scenario, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit x site access as CSR arrays ``(indptr, indices)``, columns sorted in each row.

    Plain numpy (no scipy, so validation need not import it): links come deduplicated from the
    loader; a links table already sorted by unit then site (the usual export) needs no sort.
    """
    if scenario.links is None:
        return np.arange(n + 1, dtype=np.int64) * m, np.tile(np.arange(m, dtype=np.int64), n)
    links = scenario.links
    assert scenario.sites is not None  # links are only allowed with sites
    unit_index = pd.Index(scenario.units.ids).get_indexer(links.unit_labels)[links.unit_codes].astype(np.int64)
    site_index = pd.Index([s.id for s in scenario.sites]).get_indexer(pd.Index(links.site_labels))[links.site_codes]
    key = unit_index * m + site_index
    if len(key) > 1 and np.any(key[1:] < key[:-1]):
        order = np.argsort(key, kind="stable")
        unit_index, site_index = unit_index[order], site_index[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(unit_index, minlength=n))]).astype(np.int64)
    return indptr, site_index.astype(np.int64)


def _unreachable_warnings(problem: Problem, source: str, limit: int = 20) -> list[Issue]:
    reachable = problem.pair_reachable
    stuck = np.flatnonzero(~reachable)
    issues = []
    for p in stuck[:limit]:
        resource = problem.resource_ids[problem.pair_resource[p]]
        why = (f"no site it links to holds {resource}" if problem.has_sites else f"there is no supply of {resource}")
        issues.append(Issue(source, f"unit {problem.unit_ids[problem.pair_unit[p]]}",
                            f"{why}; it gets 0 of it and is left out of the rule's levels and of floors",
                            severity=Severity.WARNING))
    if len(stuck) > limit:
        issues.append(Issue(source, "links" if problem.has_sites else "supply",
                            f"... and {len(stuck) - limit} more unreachable (unit, resource) pairs",
                            severity=Severity.WARNING))
    num_res = len(problem.resource_ids)
    for attribute, codes in problem.groups.items():
        cells, num_cells = problem.group_cells(attribute)
        wanted = np.bincount(cells, minlength=num_cells) > 0
        served = np.bincount(cells[reachable], minlength=num_cells) > 0
        for cell in np.flatnonzero(wanted & ~served):
            issues.append(Issue(source, f"group {attribute}={codes.labels[cell // num_res]}",
                                f"no member can be reached for {problem.resource_ids[cell % num_res]}; the group "
                                "is left out of group rules and constraints for it (its fill rate stays 0)",
                                severity=Severity.WARNING))
    return issues


def _resolution_warnings(problem: Problem, source: str) -> list[Issue]:
    if not problem.num_flows or problem.pair_demand.min() >= RESOLUTION * problem.supply.max():
        return []  # no demand is that small next to any site: skip the per-flow pass
    site_supply = problem.supply[problem.flow_site, problem.pair_resource[problem.flow_pair]]
    # flows are sorted by pair: the largest supply each pair reaches is a segment maximum
    starts = np.flatnonzero(np.diff(problem.flow_pair, prepend=-1))
    largest = np.zeros(problem.num_pairs)
    largest[problem.flow_pair[starts]] = np.maximum.reduceat(site_supply, starts)
    small = np.flatnonzero(problem.pair_demand < RESOLUTION * largest)
    if not len(small):
        return []
    p = small[np.argmin(problem.pair_demand[small] / largest[small])]
    return [Issue(source, "units", f"{len(small)} (unit, resource) pair(s) ask for less than {RESOLUTION:g} of the "
                  f"supply at the sites they reach (e.g. unit {problem.unit_ids[problem.pair_unit[p]]}: "
                  f"{problem.pair_demand[p]:g} of {problem.resource_ids[problem.pair_resource[p]]} next to "
                  f"{largest[p]:g}); LP solvers cannot resolve amounts that small there, so their fill rates "
                  "may be off by more than 1e-6",
                  "quantities within seven orders of magnitude of the supply they share (count very small "
                  "and very large units in separate scenarios)", severity=Severity.WARNING)]
