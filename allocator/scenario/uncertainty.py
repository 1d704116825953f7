"""Uncertain demand and supply: intervals, multiplicative demand noise, supply shocks, and draws.

A scenario describes its uncertainty in two places:

* **demand intervals** in the units table: ``demand_low`` / ``demand_high`` (one resource) or
  ``demand_low:<r>`` / ``demand_high:<r>``; ``0 < low <= demand <= high``;
* the ``uncertainty:`` section (or an :class:`Uncertainty` built in code)::

      uncertainty:
        demand: {cv: 0.2, correlation: 0.5, by: region}
        supply_shocks:
          - {probability: 0.1, loss: 0.5}                       # each site on its own
          - {probability: 0.05, loss: 1.0, sites: [depot-east], together: true}

One **draw** multiplies every unit's demand (all its resources alike) by a lognormal factor
with mean 1 and coefficient of variation ``cv``:

.. math::

    \\sigma^2 = \\ln(1 + cv^2), \\quad
    Z_i = \\sqrt{\\rho}\\, G_{g(i)} + \\sqrt{1 - \\rho}\\, E_i, \\quad
    d_{ir} \\leftarrow d_{ir} \\exp(\\sigma Z_i - \\sigma^2 / 2)

with ``G`` one standard normal per group of attribute ``by`` and ``E`` one per unit, so that
units of one group share the share ``rho`` of their log-variance. Where a unit has an interval
the drawn demand is clipped into it (a blank side is the nominal demand; units without an
interval are not clipped); with intervals and no ``demand:`` noise, demand is drawn uniformly
within each interval. Each shock then hits each of its sites (or all of them at once,
``together``) with its probability, removing the share ``loss`` of that site's supply (of one
``resource``, or all). Draw ``k`` of seed ``s`` uses ``numpy.random.default_rng([s, k])`` and
nothing else, so it is the same whichever machine or process computes it.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from allocator.core.errors import Issue
from allocator.core.scalars import Identifier, Number


class DemandNoise(BaseModel):
    """Multiplicative lognormal noise on demand (mean 1, coefficient of variation ``cv``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    cv: Number = Field(ge=0, le=10, allow_inf_nan=False)
    correlation: Number = Field(0.0, ge=0, le=1, allow_inf_nan=False)
    by: Identifier | None = None  # group attribute whose members share the correlated part


class SupplyShock(BaseModel):
    """With ``probability``, a site loses the share ``loss`` of its supply."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    probability: Number = Field(ge=0, le=1, allow_inf_nan=False)
    loss: Number = Field(gt=0, le=1, allow_inf_nan=False)
    sites: tuple[Identifier, ...] | None = None  # default: every site
    resource: Identifier | None = None  # default: every resource
    together: bool = False  # one coin for all its sites instead of one per site


class Uncertainty(BaseModel):
    """The ``uncertainty:`` section of a scenario (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    demand: DemandNoise | None = None
    supply_shocks: tuple[SupplyShock, ...] = ()


def interval_columns(resources: list[str]) -> list[tuple[str, str, str]]:
    """``(resource, low column, high column)`` names the units table may use."""
    if len(resources) == 1:
        return [(resources[0], "demand_low", "demand_high")]
    return [(r, f"demand_low:{r}", f"demand_high:{r}") for r in resources]


def check_uncertainty(uncertainty: Uncertainty | None, units, groups: list[str], resources: list[str],
                      site_ids: list[str], source: str) -> list[Issue]:
    """Intervals hold ``0 < low <= demand <= high``; names in the section exist."""
    from allocator.scenario.checks import numbers_in

    issues = []
    if units is not None:
        for k, (resource, low_col, high_col) in enumerate(interval_columns(resources)):
            demand = units.demand[:, k]
            for column, is_low in ((low_col, True), (high_col, False)):
                if column not in units.columns:
                    continue
                values = numbers_in(units.columns[column])
                holds = (values > 0) & (values <= demand) if is_low else values >= demand
                meaning = "0 < demand_low <= demand" if is_low else "demand_high >= demand"
                blank = np.array([str(v).strip() == "" for v in units.columns[column]], dtype=bool)
                bad = np.flatnonzero((demand > 0) & ~blank & ~(np.isfinite(values) & holds))
                for i in bad[:10]:
                    issues.append(Issue(source, f"unit {units.ids[i]}, column {column}",
                                        f"{units.columns[column][i]!r} does not bound demand {demand[i]:g} of {resource}",
                                        meaning))
                if len(bad) > 10:
                    issues.append(Issue(source, f"column {column}", f"... and {len(bad) - 10} more units"))
        if len(resources) > 1:
            plain = [c for c in ("demand_low", "demand_high") if c in units.columns]
            if plain:
                issues.append(Issue(source, "units", f"column(s) {', '.join(plain)} are ambiguous with several resources",
                                    "demand_low:<resource> and demand_high:<resource>"))
    if uncertainty is None:
        return issues
    noise = uncertainty.demand
    if noise is not None and noise.by is not None and noise.by not in groups:
        issues.append(Issue(source, "uncertainty.demand.by", f"{noise.by!r} is not a group attribute",
                            f"one of: {', '.join(groups) or '(no groups)'}"))
    if noise is not None and noise.correlation > 0 and noise.by is None:
        issues.append(Issue(source, "uncertainty.demand.by", "a correlation needs the attribute it runs along",
                            "by: <group attribute>"))
    for k, shock in enumerate(uncertainty.supply_shocks):
        unknown = sorted(set(shock.sites or ()) - set(site_ids))
        if unknown:
            issues.append(Issue(source, f"uncertainty.supply_shocks[{k}].sites", f"unknown site(s): {', '.join(unknown)}",
                                "ids listed under 'sites'"))
        if shock.resource is not None and shock.resource not in resources:
            issues.append(Issue(source, f"uncertainty.supply_shocks[{k}].resource",
                                f"unknown resource {shock.resource!r}", f"one of: {', '.join(resources)}"))
    return issues


def pair_intervals(problem, *, with_mask: bool = False):
    """Per pair ``(low, high)`` demand, or None when the units table gives no interval at all.

    A blank side (or no interval) is the nominal demand on that side: ``[demand, high]`` when
    only the top is given. With ``with_mask`` also which pairs have an interval on either side
    (the pairs whose drawn demand is clipped).
    """
    low, high = problem.pair_demand.copy(), problem.pair_demand.copy()
    given = np.zeros(len(low), dtype=bool)
    found = False
    for k, (_, low_col, high_col) in enumerate(interval_columns(list(problem.resource_ids))):
        mine = np.flatnonzero(problem.pair_resource == k)
        for column, target in ((low_col, low), (high_col, high)):
            if column in problem.unit_columns:
                found = True
                values = problem.unit_numbers(column)[problem.pair_unit[mine]]
                here = np.isfinite(values)  # blank: no interval on this side
                target[mine[here]] = values[here]
                given[mine[here]] = True
    if not found:
        return None
    return (low, high, given) if with_mask else (low, high)


_UNREAD = object()


def draw(problem, uncertainty: Uncertainty | None, seed: int, index: int, *,
         intervals=_UNREAD) -> tuple[np.ndarray, np.ndarray]:
    """Pair demand and site supply of draw ``index`` (see the module docstring).

    ``intervals`` is ``pair_intervals(problem, with_mask=True)``, for callers that draw many times
    from one problem (read from the units table when not given).
    """
    rng = np.random.default_rng([seed, index])
    demand = problem.pair_demand.copy()
    if intervals is _UNREAD:
        intervals = pair_intervals(problem, with_mask=True)
    noise = uncertainty.demand if uncertainty is not None else None
    num_units = len(problem.unit_ids)
    if noise is not None and noise.cv > 0:
        sigma = np.sqrt(np.log1p(noise.cv ** 2))
        z = rng.standard_normal(num_units)
        if noise.by is not None and noise.correlation > 0:
            codes = problem.groups[noise.by]
            common = rng.standard_normal(len(codes.labels))
            z = np.sqrt(noise.correlation) * common[codes.codes] + np.sqrt(1 - noise.correlation) * z
        demand = demand * np.exp(sigma * z - sigma ** 2 / 2)[problem.pair_unit]
        if intervals is not None:  # clipped where a unit has an interval; others vary freely
            low, high, given = intervals
            demand = np.where(given, np.clip(demand, low, high), demand)
    elif intervals is not None:
        low, high, _ = intervals
        demand = low + (high - low) * rng.random(len(demand))
    supply = problem.supply.copy()
    for shock in (uncertainty.supply_shocks if uncertainty is not None else ()):
        sites = (np.arange(len(problem.site_ids)) if shock.sites is None
                 else np.array([problem.site_ids.index(s) for s in shock.sites], dtype=np.int64))
        hit = rng.random(len(sites)) < shock.probability
        if shock.together:
            hit[:] = hit[0] if len(hit) else False
        columns = (slice(None) if shock.resource is None
                   else [list(problem.resource_ids).index(shock.resource)])
        supply[np.ix_(sites[hit], np.arange(supply.shape[1])[columns])] *= 1 - shock.loss
    return demand, supply
