"""Badly scaled scenarios: quantities from 1e-3 to 1e9 solve to 1e-6, with the scaling inside the model."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import allocator
from allocator.backends import get_backend
from allocator.backends.base import SolverOptions
from allocator.backends.scaling import Equilibrated, solve_equilibrated
from allocator.model.lp import LPModel
from helpers import assert_feasible, build, fills

RULES = [{"name": "maxmin", "method": "lp"}, "proportional", {"name": "leximin", "method": "lp"}, "utilitarian"]
ACCURACY = 1e-6


def _pool(low: float, high: float, share: float = 0.5, n: int = 60):
    demand = 10 ** np.random.default_rng(0).uniform(np.log10(low), np.log10(high), n)
    units = [{"id": f"u{i}", "demand": float(d)} for i, d in enumerate(demand)]
    return build(units=units, supply={"food": float(share * demand.sum())}), demand


@pytest.mark.parametrize("solver", ["highs", "pulp"])
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r if isinstance(r, str) else r["name"])
@pytest.mark.parametrize("low, high", [(1e-3, 1e3), (1e3, 1e9), (1e-3, 1e-3 * 10**5.5), (1e8, 1e9)])
def test_one_pool_across_six_orders_of_magnitude(low, high, rule, solver):
    # closed form: half the total demand in one pool. Every equity rule gives every unit 1/2;
    # the utilitarian rule hands out exactly the pool (values are equal, so its split is free).
    scenario, demand = _pool(low, high)
    result = allocator.solve(scenario, rule=rule, solver=solver)
    assert_feasible(scenario, result, rel=ACCURACY)
    if rule == "utilitarian":
        assert result.allocations["allocated"].sum() == pytest.approx(demand.sum() / 2, rel=ACCURACY)
    else:
        assert np.abs(np.array(list(fills(result).values())) - 0.5).max() <= ACCURACY
    assert not [w for w in result.warnings if "cannot resolve" in w.message]


@pytest.mark.parametrize("solver", ["highs", "pulp"])
def test_milligrams_and_kilotonnes_in_one_scenario_when_they_do_not_share_a_site(solver):
    # twelve orders of magnitude apart, each at its own site: leximin gives each its site's ratio
    rng = np.random.default_rng(1)
    small, large = 10 ** rng.uniform(-3, -1, 20), 10 ** rng.uniform(7, 9, 20)
    units = ([{"id": f"a{i}", "demand": float(d)} for i, d in enumerate(small)]
             + [{"id": f"b{i}", "demand": float(d)} for i, d in enumerate(large)])
    links = [{"unit": f"a{i}", "site": "A"} for i in range(20)] + [{"unit": f"b{i}", "site": "B"} for i in range(20)]
    sites = [{"id": "A", "supply": {"food": float(0.3 * small.sum())}},
             {"id": "B", "supply": {"food": float(0.7 * large.sum())}}]
    scenario = build(units=units, sites=sites, links=links)
    result = allocator.solve(scenario, rule={"name": "leximin", "method": "lp"}, solver=solver)
    assert_feasible(scenario, result, rel=ACCURACY)
    got = fills(result)
    assert max(abs(got[f"a{i}"] - 0.3) for i in range(20)) <= ACCURACY
    assert max(abs(got[f"b{i}"] - 0.7) for i in range(20)) <= ACCURACY
    assert result.equity["levels"] == pytest.approx([0.3, 0.7], abs=ACCURACY)


def test_twelve_orders_in_one_pool_keep_the_aggregates_and_warn_about_the_smallest():
    # past what double precision can resolve per unit: the level and the totals stay exact to
    # 1e-6, and the planner is told which units are too small to be resolved next to the rest
    scenario, demand = _pool(1e-3, 1e9)
    result = allocator.solve(scenario, rule={"name": "maxmin", "method": "lp"})
    assert_feasible(scenario, result, rel=ACCURACY)
    assert result.equity["level"] == pytest.approx(0.5, abs=ACCURACY)
    assert result.allocations["allocated"].sum() == pytest.approx(demand.sum() / 2, rel=ACCURACY)
    resolvable = demand >= 1e-6 * demand.max()
    rates = result.allocations["fill_rate"].to_numpy()
    assert np.abs(rates[resolvable] - 0.5).max() <= 1e-5
    warning = [w for w in result.warnings if "cannot resolve" in w.message]
    assert len(warning) == 1
    small = int((demand < 1e-7 * demand.sum() / 2).sum())
    assert warning[0].message.startswith(f"{small} (unit, resource) pair(s)")


def test_equilibration_maps_solutions_and_duals_back():
    # a small LP with rows a million times apart: scaled and unscaled solves agree
    rng = np.random.default_rng(3)
    matrix = sp.csr_array(rng.uniform(0.5, 2.0, (4, 6)) * np.array([[1e-3], [1.0], [1e3], [1e6]]))
    lp = LPModel(cost=rng.uniform(1, 2, 6), col_lower=np.zeros(6), col_upper=np.full(6, np.inf), matrix=matrix,
                 row_lower=np.full(4, -np.inf), row_upper=np.array([1e-3, 2.0, 5e3, 1e6]))
    reduction = Equilibrated.of(lp)
    assert np.abs(reduction.model.matrix.toarray()).max(axis=1) == pytest.approx(np.ones(4))
    backend = get_backend("highs")
    direct, scaled = backend.solve(lp, SolverOptions()), solve_equilibrated(backend, lp, SolverOptions())
    assert scaled.objective == pytest.approx(direct.objective, rel=1e-7)
    assert lp.matrix @ scaled.x == pytest.approx(lp.matrix @ direct.x, rel=1e-6, abs=1e-9)
    # duals: the objective's sensitivity to each row bound, the same in both
    assert scaled.row_dual == pytest.approx(direct.row_dual, rel=1e-6, abs=1e-9)


def test_scaling_every_quantity_leaves_fill_rates_and_levels_unchanged():
    base, _ = _pool(1.0, 100.0, share=0.37)
    doc = {"units": [{"id": str(u), "demand": float(d)} for u, d in zip(base.units.ids, base.units.demand[:, 0])]}
    reference = fills(allocator.solve(build(units=doc["units"], supply={"food": base.supply["food"]}), rule="leximin"))
    for factor in (1e-3, 1e6, 1e9 / 100):
        units = [{"id": u["id"], "demand": u["demand"] * factor} for u in doc["units"]]
        scaled = allocator.solve(build(units=units, supply={"food": base.supply["food"] * factor}), rule="leximin")
        got = fills(scaled)
        assert max(abs(got[u] - reference[u]) for u in reference) <= ACCURACY
