"""Fill-rate measures, defined once and used both as LP rows and as reported metrics.

A :class:`FillMeasure` is a list of fill rates that are linear-fractional in the flows:

.. math::

    F_k(x) = \\frac{(E x)_k}{D_k}

* :func:`pair_fill`: one entry per reachable (unit, resource) pair,
  ``F = allocated[i, r] / demand[i, r]``;
* :func:`group_fill`: one entry per (group, resource) of an attribute with positive demand,
  ``F = sum_{i in g} allocated[i, r] / sum_{i in g} demand[i, r]``.

Because ``D`` is a constant, ``F_k >= t`` is the linear row ``(E x)_k - D_k t >= 0``; every
rule and group constraint is built from that identity, and the metrics in the result are
computed by :meth:`FillMeasure.rates` on the same matrices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Callable

import numpy as np
import pandas as pd

from allocator.core.sparse import sparse as sp
from allocator.model.problem import Problem

#: fill rates below this are solver round-off, not service
NEGLIGIBLE = 1e-9


@dataclass(frozen=True, eq=False)
class FillMeasure:
    """Fill rates ``(E x) / D``; ``labels`` names each entry, ``resource`` gives its resource index.

    ``demand_rows`` is set when the entries coincide with the LP's ``demand`` row block
    (one row per reachable pair), so levels can be held by tightening those rows.
    The labels table is built on first use (``make_labels``): solves that only need the
    numbers, such as simulation draws, never pay for it. ``renew`` computes ``D`` for another
    problem of the same structure (see :meth:`for_problem`).
    """

    name: str
    matrix: sp.csr_array
    denominator: np.ndarray
    make_labels: Callable[[], pd.DataFrame]
    resource: np.ndarray
    demand_rows: bool = False
    scale: float = 1.0
    renew: Callable[[Problem], np.ndarray] | None = None

    @cached_property
    def labels(self) -> pd.DataFrame:
        return self.make_labels()

    def __len__(self) -> int:
        return len(self.denominator)

    @property
    def lp_denominator(self) -> np.ndarray:
        """``D`` in the LP's units (quantities divided by :attr:`Problem.scale`)."""
        return self.denominator / self.scale

    def rates(self, flows: np.ndarray) -> np.ndarray:
        """Fill rates of ``flows`` given in real units."""
        return (self.matrix @ flows) / self.denominator

    def lp_rates(self, lp_flows: np.ndarray) -> np.ndarray:
        """Fill rates of flows given in the LP's units."""
        return (self.matrix @ lp_flows) / self.lp_denominator

    def subset(self, index: np.ndarray) -> sp.csr_array:
        """The rows ``index`` of :attr:`matrix` (the matrix itself, not a copy, when that is all of them in order)."""
        index = np.asarray(index)
        if index.dtype.kind in "iu" and len(index) == len(self) and np.array_equal(index, np.arange(len(self))):
            return self.matrix
        return self.matrix[index]

    def for_problem(self, problem: Problem) -> FillMeasure:
        """This measure for ``problem``, which differs from the one it was built for only in demand
        and supply numbers (every demand still positive): same matrix and labels, new ``D``."""
        if self.renew is None:
            raise ValueError(f"measure {self.name!r} cannot be renewed")
        return replace(self, denominator=self.renew(problem), scale=problem.scale)


def pair_fill(problem: Problem) -> FillMeasure:
    """Fill rate of every reachable (unit, resource) pair."""
    reachable = np.flatnonzero(problem.pair_reachable)
    matrix = problem.flow_to_pair()[reachable]

    def labels():
        return pd.DataFrame({
            "unit": problem.unit_ids[problem.pair_unit[reachable]],
            "resource": np.asarray(problem.resource_ids, dtype=object)[problem.pair_resource[reachable]],
        })

    return FillMeasure("pair", sp.csr_array(matrix), problem.pair_demand[reachable], labels,
                       problem.pair_resource[reachable], demand_rows=True, scale=problem.scale,
                       renew=lambda other: other.pair_demand[reachable])


def group_fill(problem: Problem, attribute: str, resource: str | None = None,
               *, servable_only: bool = False) -> FillMeasure:
    """Group fill rate of every (group, resource) of ``attribute`` with positive demand.

    Demand of unreachable units counts in the denominator: a group whose members cannot be
    reached is really behind, and the measure says so. With ``servable_only`` (what rules and
    constraints use), groups none of whose members can be reached for that resource are left out:
    no allocation can change their rate (0), and keeping them would pin every max-min level and
    group ratio to 0.
    """
    codes = problem.groups[attribute]
    num_res = len(problem.resource_ids)
    pair_cell, num_cells = problem.group_cells(attribute)

    def cell_demand(of: Problem) -> np.ndarray:
        return np.bincount(pair_cell, weights=of.pair_demand, minlength=num_cells)

    demand = cell_demand(problem)
    keep = demand > 0
    if servable_only:
        reachable = problem.pair_reachable
        keep &= np.bincount(pair_cell[reachable], minlength=num_cells) > 0
    if resource is not None:
        keep &= (np.arange(num_cells) % num_res) == problem.resource_ids.index(resource)
    cells = np.flatnonzero(keep)
    row_of_cell = np.full(num_cells, -1)
    row_of_cell[cells] = np.arange(len(cells))
    flow_rows = row_of_cell[pair_cell[problem.flow_pair]]
    on = flow_rows >= 0
    matrix = sp.csr_array((np.ones(on.sum()), (flow_rows[on], np.flatnonzero(on))),
                          shape=(len(cells), problem.num_flows))

    def labels():
        return pd.DataFrame({
            "attribute": attribute,
            "group": np.asarray(codes.labels, dtype=object)[cells // num_res],
            "resource": np.asarray(problem.resource_ids, dtype=object)[cells % num_res],
        })

    return FillMeasure(f"group:{attribute}", matrix, demand[cells], labels, cells % num_res, scale=problem.scale,
                       renew=lambda other: cell_demand(other)[cells])


def potential_benefit(problem: Problem) -> np.ndarray:
    """The most benefit each unit could receive: ``sum_r v_ir d_ir``, where an exclusive set counts
    only its best member for one unit, ``max_{r in set} v_ir min(d_ir, 1)``."""
    n = len(problem.unit_ids)
    benefit = problem.pair_value * problem.pair_demand
    in_set = np.zeros(len(problem.resource_ids), dtype=bool)
    total = np.zeros(n)
    for members in problem.exclusive:
        in_set[list(members)] = True
        mine = np.isin(problem.pair_resource, members)
        best = np.zeros(n)
        np.maximum.at(best, problem.pair_unit[mine], problem.pair_value[mine] * np.minimum(problem.pair_demand[mine], 1.0))
        total += best
    free = ~in_set[problem.pair_resource]
    return total + np.bincount(problem.pair_unit[free], weights=benefit[free], minlength=n)


def group_benefit(problem: Problem, attribute: str, *, servable_only: bool = False) -> FillMeasure:
    """Benefit rate of every group of ``attribute``: benefit delivered over the most its members could get.

    ``sum_{i in g} sum_r v_ir a_ir / sum_{i in g} potential_i`` (see :func:`potential_benefit`),
    one entry per group across resources (``resource`` is 0 for all). With ``servable_only``,
    groups none of whose members can be reached are left out.
    """
    codes = problem.groups[attribute]

    def group_potential(of: Problem) -> np.ndarray:
        return np.bincount(codes.codes, weights=potential_benefit(of), minlength=len(codes.labels))

    potential = group_potential(problem)
    keep = potential > 0
    if servable_only:
        keep &= np.bincount(codes.codes[problem.pair_unit[problem.pair_reachable]], minlength=len(codes.labels)) > 0
    groups = np.flatnonzero(keep)
    row_of_group = np.full(len(codes.labels), -1)
    row_of_group[groups] = np.arange(len(groups))
    flow_rows = row_of_group[codes.codes[problem.pair_unit[problem.flow_pair]]]
    on = flow_rows >= 0
    matrix = sp.csr_array((problem.pair_value[problem.flow_pair][on], (flow_rows[on], np.flatnonzero(on))),
                          shape=(len(groups), problem.num_flows))

    def labels():
        return pd.DataFrame({"attribute": attribute, "group": np.asarray(codes.labels, dtype=object)[groups],
                             "resource": "(benefit)"})

    return FillMeasure(f"benefit:{attribute}", matrix, potential[groups], labels, np.zeros(len(groups), dtype=np.int64),
                       scale=problem.scale, renew=lambda other: group_potential(other)[groups])


def spread(rates: np.ndarray, resource: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Highest and lowest rate per resource index (NaN where a resource has no entries)."""
    num = int(resource.max()) + 1 if len(resource) else 0
    high = np.full(num, np.nan)
    low = np.full(num, np.nan)
    for r in range(num):
        mine = rates[resource == r]
        if len(mine):
            high[r], low[r] = mine.max(), mine.min()
    return high, low


def max_gap(rates: np.ndarray, resource: np.ndarray) -> float:
    """Largest difference between group fill rates of one resource: ``max_r (max_g F - min_g F)``.

    The quantity that ``group_gap`` bounds and that ``max_group_gap`` reports.
    """
    high, low = spread(rates, resource)
    gaps = high - low
    return float(np.nanmax(gaps)) if np.isfinite(gaps).any() else 0.0


def min_ratio(rates: np.ndarray, resource: np.ndarray) -> float:
    """Smallest ratio lowest/highest group fill rate of one resource: ``min_r (min_g F / max_g F)``.

    The quantity that ``group_ratio`` bounds and that ``min_group_ratio`` reports
    (1 when every group of a resource gets nothing: no group is behind another).
    """
    high, low = spread(rates, resource)
    # rates below NEGLIGIBLE are round-off: every group at (about) 0 is no group behind another
    served = high > NEGLIGIBLE
    ratios = np.where(served, low / np.where(served, high, 1.0), 1.0)
    ratios = ratios[np.isfinite(high)]
    return float(ratios.min()) if len(ratios) else 1.0


class MeasureSet:
    """Builds each :class:`FillMeasure` of a problem once and hands out the same object after.

    A set made by :meth:`renewed` takes every measure's matrix from another set, whose problem
    differs only in demand and supply numbers, and computes only the denominators (simulation
    draws of one scenario share everything else).
    """

    def __init__(self, problem: Problem):
        self.problem = problem
        self._cache: dict[tuple[str, str | None], FillMeasure] = {}
        self._structure: MeasureSet | None = None

    def renewed(self, problem: Problem) -> MeasureSet:
        """The measures of ``problem``: this set's problem with other demand and supply numbers
        (every demand still positive, so the same pairs and groups have demand)."""
        renewed = MeasureSet(problem)
        renewed._structure = self if self._structure is None else self._structure
        return renewed

    def _get(self, key: tuple[str, str | None], build: Callable[[Problem], FillMeasure]) -> FillMeasure:
        if key not in self._cache:
            if self._structure is None:
                self._cache[key] = build(self.problem)
            else:
                self._cache[key] = self._structure._get(key, build).for_problem(self.problem)
        return self._cache[key]

    @property
    def pair(self) -> FillMeasure:
        return self._get(("pair", None), pair_fill)

    def group(self, attribute: str, resource: str | None = None, *, servable_only: bool = True) -> FillMeasure:
        """Group fill rates; rules and constraints use the servable groups, reports use all."""
        return self._get((f"group:{attribute}:{servable_only}", resource),
                         lambda problem: group_fill(problem, attribute, resource, servable_only=servable_only))

    def benefit(self, attribute: str, *, servable_only: bool = True) -> FillMeasure:
        """Group benefit rates (see :func:`group_benefit`)."""
        return self._get((f"benefit:{attribute}:{servable_only}", None),
                         lambda problem: group_benefit(problem, attribute, servable_only=servable_only))

    def over(self, attribute: str | None) -> FillMeasure:
        """The pair measure, or the group measure of ``attribute`` when one is given."""
        return self.pair if attribute is None else self.group(attribute)
