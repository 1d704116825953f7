"""Where a gap between groups comes from: access, where supply sits, the rule, and what remains.

The gap is ``max_group_gap`` for one attribute (the largest difference between two groups' fill
rates of one resource) under a rule. Three factors are switched between the scenario as it is
and a counterfactual:

* **access**: the links as given, or every unit reaching every site;
* **location**: supply held at its sites, or (``location="pool"``, the default) all of it in one
  pool per resource, or (``location="demand"``) each resource's total spread over the same sites
  in proportion to the demand that can reach each site;
* **rule**: the rule, or ``proportional`` (equal shares, the rule-free benchmark).

``v(S)`` is the gap with the factors in ``S`` as in the scenario and the others switched to their
counterfactual: ``v(all)`` is the actual gap, ``v(none)`` what remains with full access, pooled
supply and equal shares (the scenario's constraints and any unreachable demand). The Shapley
value of each factor,

.. math::

    \\phi_i = \\sum_{S \\subseteq N \\setminus \\{i\\}} \\frac{|S|!\\,(n - |S| - 1)!}{n!}
    \\bigl(v(S \\cup \\{i\\}) - v(S)\\bigr),

is its average marginal contribution over every order of switching the factors on, so the
parts do not depend on an order and add up exactly: ``v(all) = v(none) + sum_i phi_i``. A part
can be negative: that factor narrows the gap.

Without transport costs, pooling the supply and giving every unit every site allow exactly the
same allocations, so with ``location="pool"`` the access and location parts are always equal:
where supply sits matters only through who can reach it, and Shapley's symmetry splits that
joint effect in half. ``location="demand"`` keeps the links and only moves the supply, which
separates the two: its location part is what moving stock to where demand can reach it would
change, and its access part what widening the links would.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import pandas as pd

from allocator.backends.base import SolverLike
from allocator.core.arguments import Text, checked
from allocator.core.errors import InfeasibleError, UsageError
from allocator.core.precision import KINDS_ATTR, RATE, round_number
from allocator.model.compiler import resolve_rule
from allocator.results.analysis import Analysis
from allocator.scenario.load import ScenarioLike
from allocator.scenario.model import Scenario
from allocator.solving.api import solve

FACTORS = ("access", "location", "rule")
WORDS = {"access": "who can reach which site (links)", "location": "where the supply sits",
         "rule": "the allocation rule", "remains": "what remains (constraints, unreachable demand)"}


@dataclass(frozen=True, eq=False)
class Disparity(Analysis):
    """The decomposition of one attribute's group gap (see the module docstring); ``save`` writes
    ``disparity.csv`` (the ``table``), ``variants.csv`` and ``summary.json``.

    Attributes
    ----------
    gap : float
        The actual gap, ``v(all)``.
    remains : float
        ``v(none)``.
    parts : dict
        Shapley value of each factor; ``remains + sum(parts) == gap``.
    variants : DataFrame
        ``access, location, rule`` (True = as in the scenario) and the ``gap`` of each of the 8 variants.
    """

    attribute: str
    rule: str
    gap: float
    remains: float
    parts: dict[str, float]
    variants: pd.DataFrame
    resource: str | None = None
    summary: list[str] = field(default_factory=list)
    inputs: tuple[str, ...] = ()

    @property
    def table(self) -> pd.DataFrame:
        """One row per part: ``component, contribution, share`` (of the gap), ``what``."""
        rows = [*((name, value) for name, value in self.parts.items()), ("remains", self.remains)]
        frame = pd.DataFrame(rows, columns=["component", "contribution"])
        frame["share"] = frame["contribution"] / self.gap if self.gap > 0 else float("nan")
        frame["what"] = [WORDS[name] for name in frame["component"]]
        return frame

    FILE = "disparity.csv"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"disparity.csv": self.table, "variants.csv": self.variants}

    def to_dict(self) -> dict:
        """Attribute, rule, resource, the gap, what remains, the parts and the summary (``summary.json``).

        The gaps are differences of fill rates: rounded as rates, so round-off (2.2e-16) reads 0.
        """
        def rate(value):
            return round_number(float(value), RATE)

        return {"attribute": self.attribute, "rule": self.rule, "resource": self.resource,
                "gap": rate(self.gap), "remains": rate(self.remains),
                "parts": {k: rate(v) for k, v in self.parts.items()}, "summary": self.summary}


@checked
def disparity(scenario: ScenarioLike, attribute: Text, *, rule=None, resource: Text | None = None,
              location: Text = "pool", solver: SolverLike = "highs") -> Disparity:
    """Decompose the gap between the groups of ``attribute`` under ``rule`` (default: the scenario's).

    Solves up to 8 variants of the scenario (fewer without sites: access and location do not apply).
    Rules whose answer is not unique (``utilitarian`` with tied values) make the parts depend on
    which optimum the solver returns; the equity rules have unique fill rates.

    Examples
    --------
    North's only site holds 2 lb for its 10, south's 8 for its 10. Under maxmin north gets 20%
    and south 80%. Switching off any one factor closes the gap (full access or pooled supply
    let maxmin give both 50%; equal shares give both 20%), so only the three together make it,
    and each gets a third:

    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "two towns", "resources": [{"id": "food"}], "groups": ["town"],
    ...     "sites": [{"id": "n", "supply": {"food": 2}}, {"id": "s", "supply": {"food": 8}}],
    ...     "units": [{"id": "a", "demand": 10, "groups": {"town": "north"}},
    ...               {"id": "b", "demand": 10, "groups": {"town": "south"}}],
    ...     "links": [{"unit": "a", "site": "n"}, {"unit": "b", "site": "s"}]})
    >>> d = disparity(s, "town", rule="maxmin")
    >>> round(d.gap, 3), {k: round(v, 3) for k, v in d.parts.items()}
    (0.6, {'access': 0.2, 'location': 0.2, 'rule': 0.2})
    """
    if attribute not in scenario.groups:
        raise UsageError(f"{attribute!r} is not a group attribute of this scenario; groups: "
                         f"{', '.join(scenario.groups) or 'none'}")
    if resource is not None and resource not in scenario.resource_ids:
        raise UsageError(f"unknown resource {resource!r}; expected one of: {', '.join(scenario.resource_ids)}")
    if location not in ("pool", "demand"):
        raise UsageError(f"location must be 'pool' or 'demand', got {location!r}")
    chosen = resolve_rule(rule, scenario)
    cache: dict[tuple, float] = {}

    def gap(on: frozenset) -> float:
        variant = _variant(scenario, on, location)
        key = (variant.sites is not None and ("location" in on or location == "demand"),
               variant.sites is not None and "location" in on, variant.links is not None, "rule" in on)
        if key not in cache:
            spec = chosen if "rule" in on else "proportional"
            try:
                result = solve(variant, rule=spec, solver=solver, withheld=False)  # reads group gaps only
            except InfeasibleError as exc:
                raise UsageError(f"the variant with {_describe(on)} cannot be solved under the scenario's "
                                 f"constraints: {exc.conflicting}") from None
            cache[key] = _gap_of(result, attribute, resource)
        return cache[key]

    everything = frozenset(FACTORS)
    parts = {}
    n = len(FACTORS)
    for factor in FACTORS:
        others = [f for f in FACTORS if f != factor]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                total += weight * (gap(frozenset(subset) | {factor}) - gap(frozenset(subset)))
        parts[factor] = total
    variants = pd.DataFrame([{"access": "access" in on, "location": "location" in on, "rule": "rule" in on,
                              "gap": gap(frozenset(on))}
                             for size in range(n + 1) for on in map(frozenset, itertools.combinations(FACTORS, size))])
    variants.attrs[KINDS_ATTR] = {"gap": RATE}  # a difference of fill rates (kept files round it as a rate)
    result = Disparity(attribute, chosen.label(), gap(everything), gap(frozenset()), parts, variants, resource,
                       inputs=scenario.input_paths)
    return Disparity(**{**result.__dict__, "summary": _sentences(result)})


def _variant(scenario: Scenario, on: frozenset, location: str) -> Scenario:
    """The scenario with the factors not in ``on`` switched to their counterfactual."""
    if scenario.sites is None:
        return scenario
    totals: dict[str, float] = {}
    for site in scenario.sites:
        for resource, quantity in site.supply.items():
            totals[resource] = totals.get(resource, 0.0) + quantity
    if "location" not in on and location == "pool":
        return scenario._derive(sites=None, links=None, supply=totals)
    update: dict = {}
    if "location" not in on:  # location == "demand": the same sites, stock where the demand can reach
        update["sites"] = _sites_by_demand(scenario, totals)
    if "access" not in on:
        update["links"] = None
    return scenario._derive(**update) if update else scenario


def _sites_by_demand(scenario: Scenario, totals: dict[str, float]) -> tuple:
    """Each site's share of every resource in proportion to the demand linked to it."""
    import numpy as np

    site_ids = [s.id for s in scenario.sites]
    reach = np.zeros((len(site_ids), len(scenario.resource_ids)))
    demand = scenario.units.demand
    if scenario.links is None:
        reach[:] = demand.sum(axis=0)
    else:
        unit_index = pd.Index([str(u) for u in scenario.units.ids]).get_indexer(scenario.links.units.astype(str))
        site_index = pd.Index(site_ids).get_indexer(scenario.links.sites.astype(str))
        np.add.at(reach, site_index, demand[unit_index])
    shares = reach / np.where(reach.sum(axis=0) > 0, reach.sum(axis=0), 1.0)
    return tuple(site.model_copy(update={"supply": {r: float(totals.get(r, 0.0) * shares[j, k])
                                                    for k, r in enumerate(scenario.resource_ids)}})
                 for j, site in enumerate(scenario.sites))


def _gap_of(result, attribute: str, resource: str | None) -> float:
    if resource is None:
        return float(result.metrics["max_group_gap"][attribute] or 0.0)
    groups = result.groups[(result.groups["attribute"] == attribute) & (result.groups["resource"] == resource)]
    return float(groups["fill_rate"].max() - groups["fill_rate"].min()) if len(groups) > 1 else 0.0


def _describe(on: frozenset) -> str:
    return ", ".join(f"{f} {'as given' if f in on else 'switched off'}" for f in FACTORS)


def _sentences(d: Disparity) -> list[str]:
    out = [f"Under {d.rule}, the gap between {d.attribute} groups is {d.gap:.1%} of need."]
    if d.gap <= 0:
        return out
    ranked = sorted(d.parts.items(), key=lambda item: -abs(item[1]))
    for name, value in ranked:
        if abs(value) < 1e-4:
            continue
        verb = "adds" if value > 0 else "removes"
        out.append(f"{WORDS[name].capitalize()} {verb} {abs(value):.1%} ({abs(value) / d.gap:.0%} of the gap).")
    if abs(d.remains) >= 1e-4:
        out.append(f"{d.remains:.1%} remains with full access, pooled supply and equal shares.")
    return out
