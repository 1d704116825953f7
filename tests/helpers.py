"""Shared helpers and constants for the allocator test-suite (``from helpers import build, ...``).

Everything here is independent of allocator's internals: the feasibility check reads only
the public ``Scenario`` fields (units, supply/sites, links) and the ``Result`` tables.
Pytest fixtures, hooks and the hypothesis profile live in ``conftest.py``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import allocator

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SHIPPED = ["tutorial", "food-bank", "clinic-slots"]


def build(document: dict | None = None, **overrides) -> allocator.Scenario:
    """``scenario_from_dict`` with a default name and one resource ``food`` filled in.

    ``build(units=[...], supply={"food": 10})`` is enough for a one-pool scenario.
    """
    doc = {"name": "test", "resources": [{"id": "food"}]}
    if document:
        doc.update(copy.deepcopy(document))
    doc.update(copy.deepcopy(overrides))
    return allocator.scenario_from_dict(doc)


def shipped(name: str) -> allocator.Scenario:
    return allocator.load_scenario(SCENARIOS / name / "scenario.yaml")


def fills(result: allocator.Result, resource: str | None = None) -> dict[str, float]:
    """``{unit: fill_rate}`` (single resource, or the one given)."""
    table = result.allocations
    if resource is not None:
        table = table[table["resource"] == resource]
    assert not table["unit"].duplicated().any(), "pass resource= with several resources"
    return dict(zip(table["unit"], table["fill_rate"].astype(float)))


def allocated(result: allocator.Result, resource: str | None = None) -> dict[str, float]:
    table = result.allocations
    if resource is not None:
        table = table[table["resource"] == resource]
    return dict(zip(table["unit"], table["allocated"].astype(float)))


def group_fills(result: allocator.Result, attribute: str, resource: str | None = None) -> dict[str, float]:
    table = result.groups[result.groups["attribute"] == attribute]
    if resource is not None:
        table = table[table["resource"] == resource]
    return dict(zip(table["group"], table["fill_rate"].astype(float)))


def site_supply(scenario: allocator.Scenario) -> dict[tuple[str, str], float]:
    """``{(site, resource): quantity}``; a pool scenario has the single site ``None``."""
    if scenario.sites is None:
        return {(None, r): float(q) for r, q in scenario.supply.items()}
    return {(s.id, r): float(q) for s in scenario.sites for r, q in s.supply.items()}


def linked_pairs(scenario: allocator.Scenario) -> set[tuple[str, str]]:
    """Every (unit, site) a flow may use."""
    units = [str(u) for u in scenario.units.ids]
    if scenario.sites is None:
        return set()
    if scenario.links is None:
        return {(u, s.id) for u in units for s in scenario.sites}
    return {(str(u), str(s)) for u, s in zip(scenario.links.units, scenario.links.sites)}


def reachable(scenario: allocator.Scenario) -> set[tuple[str, str]]:
    """(unit, resource) pairs with demand that some linked site holds a positive supply of."""
    supply = site_supply(scenario)
    links = linked_pairs(scenario)
    out = set()
    for i, unit in enumerate(scenario.units.ids):
        for k, r in enumerate(scenario.resource_ids):
            if scenario.units.demand[i, k] <= 0:
                continue
            if scenario.sites is None:
                ok = supply.get((None, r), 0.0) > 0
            else:
                ok = any(supply.get((s.id, r), 0.0) > 0 and (str(unit), s.id) in links for s in scenario.sites)
            if ok:
                out.add((str(unit), r))
    return out


def pair_fills(result: allocator.Result, only: set | None = None) -> dict[tuple[str, str], float]:
    table = result.allocations
    out = {(u, r): float(f) for u, r, f in zip(table["unit"], table["resource"], table["fill_rate"])}
    if only is not None:
        out = {k: v for k, v in out.items() if k in only}
    return out


def reachable_fill_vector(scenario, result) -> np.ndarray:
    """Sorted fill rates of the reachable pairs (the vector equity rules work on)."""
    return np.sort(np.array(list(pair_fills(result, reachable(scenario)).values()), dtype=float))


def lex_geq(a, b, tol: float = 1e-5) -> bool:
    """``sorted(a) >=_lex sorted(b)`` with a tolerance on each comparison."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if x > y + tol:
            return True
        if x < y - tol:
            return False
    return True


def assert_feasible(scenario: allocator.Scenario, result: allocator.Result, rel: float = 1e-6) -> None:
    """The allocation respects demand, supply and links, and the tables agree with each other."""
    alloc = result.allocations
    assert list(alloc.columns) == ["unit", "resource", "allocated", "demand", "fill_rate"]
    # demand: 0 <= allocated <= demand (1 + rel)
    assert (alloc["allocated"] >= -1e-9).all(), alloc
    assert (alloc["allocated"] <= alloc["demand"] * (1 + rel) + 1e-9).all(), alloc
    assert np.allclose(alloc["fill_rate"], alloc["allocated"] / alloc["demand"], rtol=1e-12, atol=1e-12)
    # the demand column is the scenario's demand
    ids = [str(u) for u in scenario.units.ids]
    for u, r, d in zip(alloc["unit"], alloc["resource"], alloc["demand"]):
        assert d == pytest.approx(scenario.units.demand[ids.index(u), scenario.resource_ids.index(r)])
    supply = site_supply(scenario)
    if scenario.sites is None:
        assert result.flows is None
        used = alloc.groupby("resource")["allocated"].sum()
        for r, q in used.items():
            assert q <= supply.get((None, r), 0.0) * (1 + rel) + 1e-6, (r, q)
        return
    flows = result.flows
    assert flows is not None
    assert list(flows.columns) == ["unit", "resource", "site", "quantity"]
    assert (flows["quantity"] > 0).all()
    # flows only on linked (unit, site) pairs, and only of resources the site holds
    links = linked_pairs(scenario)
    for u, r, s in zip(flows["unit"], flows["resource"], flows["site"]):
        assert (u, s) in links, f"flow {u} <- {s} has no link"
        assert supply.get((s, r), 0.0) > 0, f"flow of {r} from {s}, which holds none"
    # per site and resource: sum of flows <= supply
    per_site = flows.groupby(["site", "resource"])["quantity"].sum()
    for (s, r), q in per_site.items():
        assert q <= supply.get((s, r), 0.0) * (1 + rel) + 1e-6, (s, r, q)
    # flows add up to the allocations
    per_pair = flows.groupby(["unit", "resource"])["quantity"].sum()
    for u, r, a in zip(alloc["unit"], alloc["resource"], alloc["allocated"]):
        assert per_pair.get((u, r), 0.0) == pytest.approx(a, rel=1e-9, abs=1e-9), (u, r)
    pairs_in_alloc = set(zip(alloc["unit"], alloc["resource"]))
    assert set(per_pair.index) <= pairs_in_alloc
