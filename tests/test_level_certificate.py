"""The level certificate: bounds from old duals, and simulation draws that skip the level LP with it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_simulation import _sites

import allocator
from allocator.backends import SolverOptions
from allocator.backends.highs import HighsBackend, ReusingHighs
from allocator.core.sparse import sparse as sp
from allocator.core.status import Status
from allocator.model.lp import LPBuilder
from allocator.model.problem import Problem
from allocator.rules.base import algorithm
from allocator.rules.level_certificate import level_bound
from allocator.rules.maxmin import LevelMemory, MaxMin
from allocator.rules.stages import LEVEL_TOLERANCE, StageRunner, equity_lp
from allocator.scenario.uncertainty import draw
from allocator.simulation.api import plan_simulation
from allocator.simulation.draws import DrawCache, draw_backends, solve_draw
from helpers import build


def _one_unit_one_site(demand=4.0, supply=2.0):
    """max t s.t. x <= demand, x <= supply, x - demand t >= 0, 0 <= t <= 1 (rows: demand, supply, level)."""
    builder = LPBuilder()
    builder.add_columns("flow", 1, lower=0.0, upper=np.inf)
    one = sp.csr_array(np.ones((1, 1)))
    builder.add_rows("demand", {"flow": one}, lower=0.0, upper=demand)
    builder.add_rows("supply", {"flow": one}, lower=0.0, upper=supply)
    builder.add_columns("t", 1, lower=0.0, upper=1.0)
    builder.add_rows("level", {"flow": one, "t": sp.csr_array(-demand * np.ones((1, 1)))}, lower=0.0, upper=np.inf)
    return builder.build().with_objective({"t": 1.0})


def test_the_bound_by_hand():
    lp = _one_unit_one_site()
    # pricing the site at 1/4 proves t <= supply / demand = 0.5
    assert level_bound(lp, np.array([0.0, 0.25, -0.25])) == pytest.approx(0.5)
    # pricing the unit's demand instead proves only t <= 1
    assert level_bound(lp, np.array([0.25, 0.0, -0.25])) == pytest.approx(1.0)
    # the same duals on other numbers (supply 3): the bound follows, 3 / 4
    assert level_bound(_one_unit_one_site(supply=3.0), np.array([0.0, 0.25, -0.25])) == pytest.approx(0.75)
    # scaled duals prove the same
    assert level_bound(lp, np.array([0.0, 7.0, -7.0])) == pytest.approx(0.5)


def test_duals_that_price_nothing_prove_only_the_bound_of_t():
    lp = _one_unit_one_site()
    assert level_bound(lp, np.zeros(3)) == 1.0
    # a positive multiplier on the level row's infinite side is dropped: then t is not priced
    assert level_bound(lp, np.array([0.0, -0.25, 0.25])) == 1.0
    # a flow with a positive reduced cost and no upper bound, own or implied by a row: no bound
    builder = LPBuilder()
    builder.add_columns("flow", 1, lower=0.0, upper=np.inf)
    builder.add_columns("t", 1, lower=0.0, upper=1.0)
    builder.add_rows("level", {"flow": sp.csr_array(np.ones((1, 1))), "t": sp.csr_array(-np.ones((1, 1)))},
                     lower=0.0, upper=np.inf)
    assert level_bound(builder.build().with_objective({"t": 1.0}), np.array([-0.25])) == np.inf
    # pricing the level row alone leaves the flow (no upper bound of its own) a positive reduced
    # cost 1/4, bounded by the tighter of the rows it sits in: x <= supply 2 gives 1/2, and with
    # supply 6, x <= demand 4 gives 1
    assert level_bound(lp, np.array([0.0, 0.0, -0.25])) == pytest.approx(0.5)
    assert level_bound(_one_unit_one_site(supply=6.0), np.array([0.0, 0.0, -0.25])) == pytest.approx(1.0)


def _scenario(seed: int, units: int, sites: int, numbers_seed: int | None = None) -> allocator.Scenario:
    """Random links from ``seed``; demand and supply from ``numbers_seed`` (default: ``seed``)."""
    rng = np.random.default_rng(seed)
    links = [{"unit": f"u{i}", "site": f"s{j}"} for i in range(units) for j in range(sites)
             if rng.random() < 0.6 or j == i % sites]
    rng = np.random.default_rng(seed if numbers_seed is None else numbers_seed)
    unit_rows = [{"id": f"u{i}", "demand": float(rng.integers(1, 30)), "groups": {"g": "ab"[i % 2]}}
                 for i in range(units)]
    site_rows = [{"id": f"s{j}", "supply": {"food": float(rng.integers(1, 60))}} for j in range(sites)]
    return build(sites=site_rows, units=unit_rows, links=links, groups=["g"])


def _level_lp(scenario, over=None, constraints=()):
    model = allocator.compile(scenario, rule="maxmin", constraints=list(constraints))
    lp = equity_lp(model, over)
    solution = HighsBackend().solve(lp, SolverOptions())
    return lp, solution if solution.status is Status.OPTIMAL else None


CONSTRAINTS = [(), ({"type": "group_gap", "attribute": "g", "max_gap": 0.2},),
               ({"type": "floor", "share": 0.05}, {"type": "group_ratio", "attribute": "g", "min_ratio": 0.8})]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), units=st.integers(1, 7), sites=st.integers(1, 4),
       over=st.sampled_from([None, "g"]), constraints=st.sampled_from(CONSTRAINTS))
def test_any_multipliers_bound_the_level_and_its_own_duals_reach_it(seed, units, sites, over, constraints):
    rng = np.random.default_rng(seed)
    lp, solution = _level_lp(_scenario(seed, units, sites), over, constraints)
    other_lp, other_solution = _level_lp(_scenario(seed, units, sites, numbers_seed=seed + 1), over, constraints)
    assume(solution is not None and other_solution is not None)  # else the constraints cannot all hold
    level = solution.x[lp.cols("t")][0]
    # strong duality: the LP's own optimal duals give the level itself
    assert level_bound(lp, solution.row_dual) == pytest.approx(level, rel=1e-7, abs=1e-9)
    # weak duality: any multipliers at all give a bound at or above the level; these are the
    # optimal duals disturbed (scaled, shifted, signs flipped), so most bounds are close to it
    bounds = []
    for _ in range(10):
        y = solution.row_dual * rng.uniform(0.5, 1.5, lp.num_rows) + rng.normal(0, 1e-3, lp.num_rows)
        y[rng.random(lp.num_rows) < 0.1] *= -1
        bounds.append(level_bound(lp, y))
    assert min(bounds) >= level - 1e-9
    # the duals of the same links with other demand and supply still bound this one's level
    assert other_lp.num_rows == lp.num_rows
    assert level_bound(lp, other_solution.row_dual) >= level - 1e-9


def test_disturbed_duals_give_bounds_below_the_trivial_one():
    # the weak-duality check above is not vacuous: disturbed duals mostly prove less than t <= 1
    lp, solution = _level_lp(_scenario(3, 7, 3))
    level = solution.x[lp.cols("t")][0]
    assert level < 0.9
    rng = np.random.default_rng(0)
    bounds = [level_bound(lp, solution.row_dual * rng.uniform(0.9, 1.1, lp.num_rows)) for _ in range(20)]
    assert sum(level - 1e-9 <= b < 1.0 for b in bounds) >= 10


def _reachable_sites(seed: int, units: int = 30, sites: int = 4) -> allocator.Scenario:
    """``_sites`` with every unit linked to at least one site, so the min fill rate is the level."""
    rng = np.random.default_rng(seed)
    unit_rows = [{"id": f"u{i:02d}", "demand": int(rng.integers(5, 40)), "groups": {"g": "xyz"[i % 3]}}
                 for i in range(units)]
    links = [{"unit": u["id"], "site": f"s{j}"} for i, u in enumerate(unit_rows) for j in range(sites)
             if rng.random() < 0.5 or j == i % sites]
    return build(sites=[{"id": f"s{j}", "supply": {"food": int(rng.integers(60, 200))}} for j in range(sites)],
                 units=unit_rows, links=links, groups=["g"])


def _unique_numbers(label: str, metrics: dict, groups) -> dict:
    """What maxmin pins down: its level (of units, or of groups with over:) and, after it, total value."""
    level = float(np.min(groups[0] / groups[1])) if "over" in label else metrics["min_fill_rate"]
    return {"level": level, "total_value": metrics["total_value"]}


@pytest.mark.parametrize("case", ["one pool of sites", "group gap", "supply shocks"])
def test_draws_at_the_remembered_level_give_the_cold_answers(case):
    constraints, uncertainty = [], {}
    scenario = _reachable_sites(3)
    if case == "group gap":
        constraints = [{"type": "group_gap", "attribute": "g", "max_gap": 0.2}]
    if case == "supply shocks":
        uncertainty = {"supply_shocks": [{"probability": 0.3, "loss": 0.5}]}
    rules = ["maxmin", {"name": "maxmin", "over": "g"}]
    plan = plan_simulation(scenario, rules, draws=16, seed=5, cv=0.3, uncertainty=uncertainty or None)
    if constraints:
        plan = replace(plan, constraints=allocator.model.compiler.resolve_constraints(constraints, scenario))
    cold = replace(plan, reuse=False)
    problem, cache, backends = Problem.from_scenario(scenario), DrawCache(), draw_backends(plan)
    for k in range(16):
        demand, supply = draw(problem, plan.uncertainty, 5, k)
        warm = solve_draw(plan, problem, demand, supply, backends, cache)
        fresh = solve_draw(cold, problem, demand, supply, draw_backends(cold), None)
        for (label, status, metrics, groups), (_, status2, metrics2, groups2) in zip(warm, fresh):
            assert status == status2 == "optimal"
            got, expected = _unique_numbers(label, metrics, groups), _unique_numbers(label, metrics2, groups2)
            assert got["level"] > 0.05  # every unit is reachable: the level is a real one
            for name in got:  # the cold value stage's holds allow LEVEL_TOLERANCE
                assert got[name] == pytest.approx(expected[name], rel=2 * LEVEL_TOLERANCE), (label, name, k)
    tries = {label: (cache.memory[label].tries, cache.memory[label].misses) for label in ("maxmin", "maxmin(over=g)")}
    # the remembered level was used: at least one try succeeded for each rule
    assert all(made > missed for made, missed in tries.values()), tries


def _two_pools(supply_0: float, supply_1: float) -> allocator.Scenario:
    """u0 is served only by s0 and u1 only by s1 (demand 10 each): the level is min(1, s0 / 10, s1 / 10)."""
    return build(sites=[{"id": "s0", "supply": {"food": supply_0}}, {"id": "s1", "supply": {"food": supply_1}}],
                 units=[{"id": "u0", "demand": 10}, {"id": "u1", "demand": 10}],
                 links=[{"unit": "u0", "site": "s0"}, {"unit": "u1", "site": "s1"}])


def test_a_bottleneck_that_moved_is_found_by_the_level_lp():
    backend, memory = ReusingHighs(), LevelMemory()
    first = allocator.compile(_two_pools(2, 8), rule="maxmin", constraints=[])
    assert algorithm(MaxMin()).run(first, StageRunner(backend, SolverOptions(), memory=memory)).equity["level"] \
        == pytest.approx(0.2)
    # the duals price s0: on (s0 = 8, s1 = 2) they prove only level <= 0.8, where u1 cannot be held
    moved = allocator.compile(_two_pools(8, 2), rule="maxmin", constraints=[])
    assert level_bound(equity_lp(moved, None), memory.duals) == pytest.approx(0.8)
    runner = StageRunner(backend, SolverOptions(), memory=memory)
    outcome = algorithm(MaxMin()).run(moved, runner)
    assert outcome.equity["level"] == pytest.approx(0.2)
    assert (memory.tries, memory.misses) == (1, 1)
    assert [(record.stage, record.status) for record in runner.records][:2] == [
        ("value", Status.INFEASIBLE), ("maxmin", Status.OPTIMAL)]
    # the new duals price s1, so the next draw (s0 = 9, s1 = 3) is answered at 0.3 without the level LP
    runner = StageRunner(backend, SolverOptions(), memory=memory)
    reused = backend.reused
    outcome = algorithm(MaxMin()).run(allocator.compile(_two_pools(9, 3), rule="maxmin", constraints=[]), runner)
    assert outcome.equity["level"] == pytest.approx(0.3, rel=LEVEL_TOLERANCE)
    assert [record.stage for record in runner.records] == ["value"] and (memory.tries, memory.misses) == (2, 1)
    # the model of the infeasible try was kept loaded and reused
    assert backend.reused == reused + 1


def test_duals_that_price_nothing_try_level_one_and_tries_stop_after_many_fail():
    model = allocator.compile(_two_pools(2, 8), rule="maxmin", constraints=[])
    rows = equity_lp(model, None).num_rows
    backend, memory = ReusingHighs(), LevelMemory()
    algorithm(MaxMin()).run(model, StageRunner(backend, SolverOptions(), memory=memory))
    # no rate priced (as when everyone was served in full): level 1 is tried, and fails here
    memory.duals = np.zeros(rows)
    again = algorithm(MaxMin()).run(model, StageRunner(backend, SolverOptions(), memory=memory))
    assert (memory.tries, memory.misses) == (1, 1)
    assert again.equity["level"] == pytest.approx(0.2)
    # where everyone can be served in full, the try succeeds
    served = algorithm(MaxMin()).run(allocator.compile(_two_pools(20, 30), rule="maxmin", constraints=[]),
                          StageRunner(backend, SolverOptions(), memory=LevelMemory(duals=np.zeros(rows))))
    assert served.equity["level"] == 1.0
    # once a third of the tries have failed (after a few), no more tries
    memory.tries, memory.misses, memory.duals = 4, 3, np.zeros(rows)
    runner = StageRunner(backend, SolverOptions(), memory=memory)
    algorithm(MaxMin()).run(model, runner)
    assert (memory.tries, memory.misses) == (4, 3) and runner.records[0].stage == "maxmin"


def test_pulp_draws_at_the_remembered_level_agree_with_highs():
    scenario = _reachable_sites(4)
    rules = ["maxmin", {"name": "maxmin", "over": "g"}]
    problem = Problem.from_scenario(scenario)
    plans = {solver: plan_simulation(scenario, rules, draws=8, seed=6, cv=0.3, solver=solver)
             for solver in ("highs", "pulp")}
    caches = {solver: DrawCache() for solver in plans}
    backends = {solver: draw_backends(plan) for solver, plan in plans.items()}
    for k in range(8):
        demand, supply = draw(problem, plans["highs"].uncertainty, 6, k)
        answers = {solver: solve_draw(plan, problem, demand, supply, backends[solver], caches[solver])
                   for solver, plan in plans.items()}
        for (label, _, metrics, groups), (_, _, metrics2, groups2) in zip(answers["highs"], answers["pulp"]):
            got, expected = _unique_numbers(label, metrics, groups), _unique_numbers(label, metrics2, groups2)
            for name in got:
                assert got[name] == pytest.approx(expected[name], rel=2 * LEVEL_TOLERANCE), (label, name, k)
    # CBC's duals are accurate to its tolerance (about 1e-8 here), too loose for the 1e-9 the
    # remembered level needs: PuLP's tries fail and stop, and every draw takes the level LP
    made, missed = caches["pulp"].memory["maxmin"].tries, caches["pulp"].memory["maxmin"].misses
    assert made == missed == 3


def test_every_shard_starts_from_the_nominal_scenario_s_level_duals():
    from allocator.simulation.draws import run_shard, warm_bases

    plan = warm_bases(plan_simulation(_sites(3), ["maxmin", "utilitarian"], draws=6, seed=2, cv=0.2, shard_size=3))
    assert set(plan.memory) == {"maxmin"} and plan.memory["maxmin"].duals is not None
    kept = plan.memory["maxmin"].copy()
    run_shard(plan, 0)
    # the shard did not change the plan's memory (it works on a copy)
    memory = plan.memory["maxmin"]
    assert (memory.duals is kept.duals) and (memory.tries, memory.misses) == (kept.tries, kept.misses)
    # a shard's first draw already took the remembered level: its value LP is the only maxmin stage
    cache = DrawCache(memory={"maxmin": plan.memory["maxmin"].copy()})
    problem = Problem.from_scenario(plan.scenario)
    demand, supply = draw(problem, plan.uncertainty, 2, 0)
    solve_draw(plan, problem, demand, supply, draw_backends(plan), cache)
    made, missed = cache.memory["maxmin"].tries, cache.memory["maxmin"].misses
    assert (made, missed) == (kept.tries + 1, kept.misses)


@pytest.mark.parametrize("solver", ["highs", "pulp"])
def test_whole_units_never_take_the_remembered_level(solver):
    # with indivisible units the level is a MIP's, which an LP bound does not prove: no tries, and
    # duals a solver may report for a MIP are not used
    scenario = build(resources=[{"id": "slot", "divisible": False}], supply={"slot": 7},
                     units=[{"id": f"u{i}", "demand": {"slot": 2 + i % 3}} for i in range(5)])
    model = allocator.compile(scenario, rule="maxmin", constraints=[])
    lp = equity_lp(model, None)
    assert lp.is_mip
    memory = LevelMemory(duals=np.ones(lp.num_rows))
    backend = allocator.backends.get_backend(solver)
    outcome = algorithm(MaxMin()).run(model, StageRunner(backend, SolverOptions(), memory=memory))
    assert memory.tries == 0
    flows = outcome.flows * model.problem.scale
    assert np.allclose(flows, np.round(flows)) and flows.sum() <= 7 + 1e-9


def test_amounts_count_as_fixed_only_when_the_floor_uses_up_the_supply():
    from allocator.rules.maxmin import REMEMBERED_LEVEL_GAP, _amounts_fixed

    # one pool of 100 for demand 60 + 90: the level is 100 / 150, and holding both at it uses it all
    scenario = build(supply={"food": 100}, units=[{"id": "a", "demand": 60}, {"id": "b", "demand": 90}])
    model = allocator.compile(scenario, rule="maxmin", constraints=[])
    level = 100 / 150
    assert _amounts_fixed(model.problem, model.measures.pair, level * (1 - REMEMBERED_LEVEL_GAP / 10))
    # a floor that leaves a thousandth of the supply free: value could still be added
    assert not _amounts_fixed(model.problem, model.measures.pair, level * (1 - 1e-3))
    # group rates are not the demand rows: never
    grouped = build(supply={"food": 100}, groups=["g"],
                    units=[{"id": "a", "demand": 60, "groups": {"g": "x"}}, {"id": "b", "demand": 90, "groups": {"g": "y"}}])
    model = allocator.compile(grouped, rule="maxmin", constraints=[])
    assert not _amounts_fixed(model.problem, model.measures.group("g"), level)


def test_each_rule_makes_its_own_typed_memory_and_maxmin_refuses_another():
    import pickle

    from allocator.rules.base import RuleMemory
    from allocator.scenario.rules import Utilitarian

    empty = algorithm(Utilitarian()).new_memory()
    assert type(empty) is RuleMemory and not empty.remembers()
    memory = algorithm(MaxMin()).new_memory()
    assert isinstance(memory, LevelMemory) and not memory.remembers()
    memory.duals = np.ones(3)
    assert memory.remembers() and LevelMemory(tries=1).remembers()
    # a shard works on a copy (shallow: the rule replaces its duals, never changes them in place) ...
    copy = memory.copy()
    copy.tries += 1
    assert copy.duals is memory.duals and memory.tries == 0
    # ... and the plan sends the memory to worker processes
    sent = pickle.loads(pickle.dumps(memory))
    assert np.array_equal(sent.duals, memory.duals) and (sent.tries, sent.misses) == (0, 0)
    model = allocator.compile(_two_pools(2, 8), rule="maxmin", constraints=[])
    with pytest.raises(TypeError, match="LevelMemory"):
        algorithm(MaxMin()).run(model, StageRunner(HighsBackend(), SolverOptions(), memory=RuleMemory()))


def test_warm_bases_keep_the_memory_only_of_rules_that_remembered_something():
    from allocator.simulation.draws import warm_bases

    plan = warm_bases(plan_simulation(_sites(3), ["maxmin", "utilitarian"], draws=2, seed=2, cv=0.2))
    assert set(plan.memory) == {"maxmin"} and isinstance(plan.memory["maxmin"], LevelMemory)
