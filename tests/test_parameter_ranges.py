"""Every numeric parameter at the edges of its documented range, and just inside them.

The welfare rules are checked against a hand-worked optimum: two units asking for 1 and 2
share a pooled supply of 1. With fill rates f1, f2 the supply binds, ``f1 + 2 f2 = 1``, and
the optimum of ``u(f1) + u(f2)`` has ``u'(f1) = u'(f2) / 2``, i.e. ``f1^-alpha = f2^-alpha / 2``:

    f1 = 2^(1/alpha) f2,   f2 = 1 / (2 + 2^(1/alpha))      (alpha = 1: f = (1/2, 1/4), amounts 1/2 each)

Along the supply line ``phi(f2) = u(1 - 2 f2) + u(f2)`` has ``phi'' = 4 u''(f1) + u''(f2) <= -5 alpha``
(``u''(f) = -alpha f^(-alpha-1) <= -alpha`` on (0, 1]), and unspent supply ``s`` costs at least
``u'(1) s = s``. So a welfare within ``gap`` of the optimum has ``|f2 - f2*| <= sqrt(2 gap / (5 alpha))``
and ``s <= gap``: the proven gap bounds how far the amounts can be from the optimum's.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import SETTINGS

import allocator
from allocator.core.errors import AllocatorError, UsageError
from allocator.rules.concave import alpha_welfare, power_log
from helpers import allocated, build

TWO_UNITS = dict(units=[{"id": "a", "demand": 1}, {"id": "b", "demand": 2}], supply={"food": 1})


def exact_optimum(alpha: float) -> tuple[float, float, float]:
    """Amounts (a, b) and welfare U* of the two-unit pool, to 50 digits (no cancellation near alpha = 1)."""
    with localcontext() as ctx:
        ctx.prec = 60
        a = Decimal(alpha)
        if a == 0:
            return 1.0, 0.0, -1.0  # u = f - 1: f1 = 1 (supply spent where the rate rises fastest), f2 = 0
        t = (Decimal(2).ln() / a).exp()
        f2 = 1 / (2 + t)
        f1 = t * f2

        def u(f):
            return f.ln() if a == 1 else (((1 - a) * f.ln()).exp() - 1) / (1 - a)

        return float(f1), float(2 * f2), float(u(f1) + u(f2))


def amounts_within_the_proven_gap(result, alpha: float) -> None:
    a_star, b_star, best = exact_optimum(alpha)
    equity = result.equity
    got = allocated(result)
    # the bound is proven: the objective is a feasible welfare, the optimum lies between it and the bound
    assert equity["upper_bound"] >= equity["objective"]
    slack = 1e-9 * max(1.0, abs(best))  # round-off of evaluating u at the reported amounts
    assert equity["objective"] <= best + slack
    assert best <= equity["upper_bound"] + slack
    gap = equity["upper_bound"] - equity["objective"] + slack
    assert equity["relative_gap"] == pytest.approx(gap / max(1.0, abs(equity["objective"])), rel=1e-3, abs=1e-9)
    distance = 2 * math.sqrt(2 * gap / (5 * alpha)) + gap + 1e-7
    assert abs(got["b"] - b_star) <= distance
    assert abs(got["a"] - a_star) <= distance


@pytest.mark.parametrize("alpha", [0.5, 1 - 1e-12, 1.0, 1 + 1e-12, 2.0, 10.0, 30.0, 49.999999, 50.0])
def test_alpha_over_its_range_meets_the_hand_worked_optimum(alpha):
    # before: alpha 1 + 1e-12 reported an upper_bound below its objective with relative_gap 0 (cancellation
    # in f^(1-alpha) - 1), and alpha >= 30 ended infeasible ("solver round-off"): slopes of 1e90 at rate 1e-3
    result = allocator.solve(build(**TWO_UNITS), rule={"name": "alpha", "alpha": alpha})
    assert result.equity["relative_gap"] <= 1e-6
    amounts_within_the_proven_gap(result, alpha)


@pytest.mark.parametrize("alpha", [1 - 1e-12, 1.0, 1 + 1e-12, 0.5, 2.0, 50.0])
def test_a_tight_tolerance_gives_the_amounts_to_1e_5(alpha):
    # the LP solver's accuracy (about 1e-10 relative) is the floor of a proven gap; 1e-12 asks for all of it
    result = allocator.solve(build(**TWO_UNITS), rule={"name": "alpha", "alpha": alpha, "tolerance": 1e-12, "max_rounds": 200})
    a_star, b_star, _ = exact_optimum(alpha)
    assert allocated(result) == pytest.approx({"a": a_star, "b": b_star}, abs=1e-5)
    assert result.equity["relative_gap"] <= 1e-8
    amounts_within_the_proven_gap(result, alpha)


def test_alpha_tends_to_nash_continuously():
    scenario = build(**TWO_UNITS)
    nash = allocator.solve(scenario, rule="nash").equity
    for alpha in (1 - 1e-12, 1 + 1e-12):
        near = allocator.solve(scenario, rule={"name": "alpha", "alpha": alpha}).equity
        # log 1/2 + log 1/4 = -2.0794415...: both within their proven gaps of it
        assert abs(near["objective"] - nash["objective"]) <= near["gap"] + nash["gap"] + 1e-9


@settings(max_examples=25, **SETTINGS)
@given(st.one_of(st.floats(1e-3, 1 - 1e-9), st.sampled_from([1 - 1e-12, 1.0, 1 + 1e-12, 50.0]),
                 st.floats(49.0, 50.0), st.floats(1.0, 50.0)))
def test_any_alpha_gives_a_proven_gap_that_holds(alpha):
    result = allocator.solve(build(**TWO_UNITS), rule={"name": "alpha", "alpha": alpha})
    assert result.equity["relative_gap"] <= 1e-6
    amounts_within_the_proven_gap(result, alpha)


def far_apart_optimum(alpha: float, demand: float) -> tuple[Decimal, Decimal]:
    """Rate f1* of unit a (demand 1) beside b (demand ``demand``) sharing 1, and U*, to 60 digits.

    u'(f1) = lambda, u'(f2) = demand lambda with u'(f) = f^-alpha: f2 = f1 demand^(-1/alpha), and
    f1 + demand f2 = 1 gives f1 = 1 / (1 + demand^(1 - 1/alpha))  (alpha 2, 1e5: 1/(1 + 316.23) = 0.003152).
    """
    with localcontext() as ctx:
        ctx.prec = 60
        a, d = Decimal(alpha), Decimal(demand)
        f1 = 1 / (1 + ((1 - 1 / a) * d.ln()).exp())
        f2 = (1 - f1) / d

        def u(f):
            return f.ln() if a == 1 else (((1 - a) * f.ln()).exp() - 1) / (1 - a)

        return f1, u(f1) + u(f2)


@pytest.mark.parametrize("demand", [1e5, 1e7])
@pytest.mark.parametrize("alpha", [1.0, 2.0, 50.0])
def test_alpha_when_one_optimal_rate_is_far_below_another(alpha, demand):
    # before: alpha 2 and 50 stopped after 30 rounds at a relative gap of 5e-3 (1e5: the welfare's
    # values were 1e-10, below the LP's tolerances) or ended InfeasibleError (1e7: the max-min level
    # 1e-7 read as 0, so no scaling at all, and tangents of slope 1e-318 broke the LP's scaling)
    scenario = build(units=[{"id": "a", "demand": 1}, {"id": "b", "demand": demand}], supply={"food": 1})
    result = allocator.solve(scenario, rule={"name": "alpha", "alpha": alpha})
    assert result.equity["relative_gap"] <= 1e-6 and not result.warnings
    f1_star, best = far_apart_optimum(alpha, demand)
    got = allocated(result)
    with localcontext() as ctx:
        ctx.prec = 60
        a, d = Decimal(alpha), Decimal(demand)
        f1 = Decimal(got["a"])
        # U(x^) >= U* - gap with the gap relative to |U(x^)| (about |U*|; U overflows a float at alpha 50, 1e7)
        gap = Decimal(result.equity["relative_gap"]) * abs(best) * Decimal("1.01") + Decimal("1e-9") * abs(best)
        # along the supply line phi(f1) = u(f1) + u((1 - f1)/d) has phi'' = u''(f1) + u''(f2)/d^2, u'' = -alpha
        # f^(-alpha-1), at least kappa in size between f1 and f1*; phi(f1*) - phi(f1) >= kappa (f1 - f1*)^2 / 2,
        # and unspent supply only lowers U further, so the gap bounds |f1 - f1*|
        high, low = max(f1, f1_star), min(f1, f1_star)
        kappa = a * ((-a - 1) * high.ln()).exp() + a * ((-a - 1) * ((1 - low) / d).ln()).exp() / d ** 2
        distance = (2 * gap / kappa).sqrt()
        assert abs(f1 - f1_star) <= distance
        # b gets what a leaves, less unspent supply s: it costs at least u'(f2) s / d, u'(f2) >= u'(1/d) = d^alpha
        unspent = gap * d / (a * d.ln()).exp()
        assert abs(Decimal(got["b"]) - (1 - f1_star)) <= distance + unspent + Decimal("1e-9")
    if alpha == 2.0 and demand == 1e5:
        assert got["a"] == pytest.approx(0.003152, abs=5e-5)  # the hand-worked 1/(1 + sqrt(1e5)), to the gap allowed


@pytest.mark.parametrize("alpha", [2.0, 5.0, 50.0])
def test_alpha_with_two_large_and_two_small_demands(alpha):
    # demands 1, 1e7, 1e7, 5 sharing 1. Before: InfeasibleError; then (rate column bounded at 1/m) the
    # equilibration took 1/m as the rate's unit and scaled the tangent rows' tolerance back to m: gap 0.25
    demands = [1, 1e7, 1e7, 5]
    scenario = build(units=[{"id": f"u{i}", "demand": d} for i, d in enumerate(demands)], supply={"food": 1})
    result = allocator.solve(scenario, rule={"name": "alpha", "alpha": alpha})
    assert result.equity["relative_gap"] <= 1e-6 and not result.warnings
    got = allocated(result)
    # u'(f_i) = d_i lambda: f_i proportional to d_i^(-1/alpha), so amounts d_i f_i ~ d_i^(1 - 1/alpha);
    # the two big units get equal halves of almost everything, u3 gets 5^(1 - 1/alpha) times u0's
    assert got["u1"] + got["u2"] == pytest.approx(1.0, abs=1e-3)
    assert got["u1"] == pytest.approx(got["u2"], rel=1e-3)
    assert got["u3"] / got["u0"] == pytest.approx(5 ** (1 - 1 / alpha), rel=0.05)


def test_nash_when_one_demand_is_far_above_another():
    # Nash gives equal amounts here (the amounts' logs sum; f1 + 1e7 f2 = 1 at f1 = 1/2): 1/2 each to the gap
    scenario = build(units=[{"id": "a", "demand": 1}, {"id": "b", "demand": 1e7}], supply={"food": 1})
    result = allocator.solve(scenario, rule="nash")
    assert result.equity["relative_gap"] <= 1e-6 and not result.warnings
    # phi(a) = log a + log(1 - a) has phi'' <= -8: |a - 1/2| <= sqrt(2 gap / 8), gap = relative x |U*| (17.5)
    gap = result.equity["relative_gap"] * 17.5 * 1.01 + 1e-9
    assert allocated(result)["a"] == pytest.approx(0.5, abs=math.sqrt(gap / 4))


def test_the_reference_level_is_found_when_it_is_tiny():
    # max-min level of a (demand 1) and b (1e7) sharing 1: t (1 + 1e7) = 1. The LP's tolerances read
    # 1e-7 as 0 unless the level column is rescaled
    from allocator.backends import get_backend
    from allocator.backends.base import SolverOptions
    from allocator.rules.concave import reference_level
    from allocator.rules.stages import StageRunner
    from allocator.solving.compile import compile

    compiled = compile(build(units=[{"id": "a", "demand": 1}, {"id": "b", "demand": 1e7}], supply={"food": 1}),
                       rule={"name": "alpha", "alpha": 2})
    runner = StageRunner(get_backend("highs"), SolverOptions())
    assert reference_level(compiled, runner, 2.0) == pytest.approx(1 / (1 + 1e7), rel=1e-6)


def test_alpha_zero_and_just_above_it():
    # alpha 0: the sum of rates f1 + f2 with f1 + 2 f2 = 1 is largest at f1 = 1 (a gets everything)
    for alpha in (0.0, 1e-9):
        result = allocator.solve(build(**TWO_UNITS), rule={"name": "alpha", "alpha": alpha})
        assert allocated(result) == pytest.approx({"a": 1.0, "b": 0.0}, abs=1e-6)
        assert result.equity["upper_bound"] >= result.equity["objective"]


def test_power_log_has_no_cancellation_near_alpha_one():
    f = np.array([0.25, 0.5, 1.0, 2.0])
    for alpha in (1 - 1e-12, 1 + 1e-12):
        # (f^(1-alpha) - 1)/(1-alpha) = log f (1 + (1-alpha) log f / 2 + ...): log f to 1e-11
        assert power_log(f, alpha) == pytest.approx(np.log(f), rel=1e-11, abs=1e-15)
    assert power_log(np.array([0.0]), 0.5)[0] == -2.0  # u(0) = -1/(1-alpha)
    assert power_log(np.array([0.0]), 2.0)[0] == -np.inf


def test_the_scaled_welfare_is_u_up_to_a_positive_factor_and_a_shift():
    # alpha 50, m = 1/3: w(f) = m^49 u(f); u(1/2) = (2^49 - 1) / -49, u(1 - 1e-9) = -1e-9 (1 + 24.5e-9 ...)
    w = alpha_welfare(50.0, 1 / 3)
    assert w.unscaled(float(w.value(np.array([0.5]))[0])) == pytest.approx((2.0 ** 49 - 1) / -49, rel=1e-14)
    assert w.unscaled(float(w.value(np.array([1 - 1e-9]))[0])) == pytest.approx(-1e-9 * (1 + 24.5e-9), rel=1e-12)
    assert w.value(np.array([1.0]))[0] == 0.0 and w.value(np.array([0.0]))[0] == -np.inf
    # the LP's rate column is f / m: slopes per scaled rate near 1 where the rates are
    assert w.rate_scale == 1 / 3 and w.slope(np.array([1 / 3]))[0] * w.rate_scale == pytest.approx(1.0)


def test_the_reported_bound_stays_proven_on_a_flow_network():
    # edges carry no cost and no capacity here, so the LP lets flow circle n1 -> n2 -> n1: the bound
    # uses that some optimum has no cycle (each edge carries at most the 29 stocked)
    scenario = build(sites=[{"id": "s0", "supply": {"food": 20}}, {"id": "s1", "supply": {"food": 9}}],
                     units=[{"id": f"u{i}", "demand": 5 + 3 * i, "data": {"node": f"n{i % 3}"}} for i in range(5)],
                     network={"mode": "flow", "edges": [{"from": "s0", "to": "n0"}, {"from": "s0", "to": "n1"},
                                                        {"from": "n1", "to": "n2"}, {"from": "s1", "to": "n2"},
                                                        {"from": "n2", "to": "n1"}]})
    for rule in ("nash", {"name": "alpha", "alpha": 3}):
        equity = allocator.solve(scenario, rule=rule).equity
        assert equity["relative_gap"] <= 1e-6 and equity["upper_bound"] >= equity["objective"]


@pytest.mark.parametrize("rule", ["nash", {"name": "alpha", "alpha": 50}])
def test_welfare_rules_under_constraints_at_their_edges(rule):
    # a 10, b 30, c 20 (groups x: a; y: b, c), supply 30
    units = [{"id": "a", "demand": 10, "groups": {"g": "x"}}, {"id": "b", "demand": 30, "groups": {"g": "y"}},
             {"id": "c", "demand": 20, "groups": {"g": "y"}}]
    scenario = build(units=units, supply={"food": 30})
    for constraint in ({"type": "group_gap", "attribute": "g", "max_gap": 0.0},
                       {"type": "group_ratio", "attribute": "g", "min_ratio": 1.0}):
        # equal group rates: x gets t of 10, y t of 50 with 60 t = 30, so t = 1/2 and a = 5
        result = allocator.solve(scenario, rule=rule, constraints=[constraint])
        assert allocated(result)["a"] == pytest.approx(5.0, abs=1e-6)
        assert result.equity["upper_bound"] >= result.equity["objective"]
    floor = allocator.solve(scenario, rule=rule, constraints=[{"type": "floor", "share": 0.5}])  # half of 60 = 30: all of it
    assert allocated(floor) == pytest.approx({"a": 5.0, "b": 15.0, "c": 10.0}, abs=1e-6)


@pytest.mark.parametrize("share", [0.0, 5e-324, 1 - 1e-12, 1.0])
def test_floor_and_group_floor_shares_at_the_edges(share):
    # supply 60 = total demand: every share up to 1 holds, and maxmin fills everyone
    scenario = build(units=[{"id": "a", "demand": 10, "groups": {"g": "x"}}, {"id": "b", "demand": 50, "groups": {"g": "y"}}],
                     supply={"food": 60})
    for constraint in ({"type": "floor", "share": share}, {"type": "group_floor", "attribute": "g", "share": share}):
        assert allocated(allocator.solve(scenario, rule="maxmin", constraints=[constraint])) == pytest.approx({"a": 10, "b": 50})


@pytest.mark.parametrize("max_gap", [0.0, 5e-324, 1.0])
def test_group_gap_and_ratio_at_the_edges(max_gap):
    # a (demand 10, value 1) and b (30, value 2) share 20: utilitarian gives b all it can, so the gap binds
    scenario = build(units=[{"id": "a", "demand": 10, "value": 1, "groups": {"g": "x"}},
                            {"id": "b", "demand": 30, "value": 2, "groups": {"g": "y"}}], supply={"food": 20})
    gap = allocated(allocator.solve(scenario, rule="utilitarian",
                                          constraints=[{"type": "group_gap", "attribute": "g", "max_gap": max_gap}]))
    # t_a = t_b - max_gap while that is >= 0: 10 (t_b - gap) + 30 t_b = 20, t_b = (20 + 10 gap) / 40 (gap <= 2/3)
    t_b = (20 + 10 * max_gap) / 40 if max_gap <= 2 / 3 else 20 / 30
    assert gap["b"] == pytest.approx(30 * t_b, abs=1e-6)
    ratio = 1.0 - max_gap  # min_ratio 1, 1 - 5e-324 (= 1) and 0
    held = allocated(allocator.solve(scenario, rule="utilitarian",
                                           constraints=[{"type": "group_ratio", "attribute": "g", "min_ratio": ratio}]))
    # t_a >= ratio t_b, a + b = 20: b worth more, so t_a = ratio t_b: 10 ratio t + 30 t = 20
    assert held["b"] == pytest.approx(30 * 20 / (10 * ratio + 30), abs=1e-6)


@pytest.mark.parametrize("bad", [{"type": "floor", "share": 1 + 1e-12}, {"type": "floor", "share": -5e-324},
                                 {"type": "group_gap", "attribute": "g", "max_gap": float("nan")},
                                 {"type": "group_ratio", "attribute": "g", "min_ratio": float("inf")}])
def test_constraint_parameters_outside_their_range_are_refused(bad):
    scenario = build(units=[{"id": "a", "demand": 10, "groups": {"g": "x"}}], supply={"food": 5})
    with pytest.raises(AllocatorError):
        allocator.solve(scenario, rule="maxmin", constraints=[bad])


def test_formula_weights_as_large_as_allowed_and_beyond():
    # weights are relative: 1e100 and 1e100 are 1 and 1. Before, two weights of 1e308 summed to inf
    # and every unit got 0 (weight / inf).
    units = [{"id": "a", "demand": 10, "data": {"p": 1.0, "q": 3.0}}, {"id": "b", "demand": 10, "data": {"p": 3.0, "q": 1.0}}]
    scenario = build(units=units, supply={"food": 8})
    huge = allocated(allocator.solve(scenario, rule={"name": "formula", "weights": {"p": 1e100, "q": 1e100}}))
    assert huge == pytest.approx({"a": 4.0, "b": 4.0})  # shares (1/4 + 3/4) / 2 = 1/2 each
    tiny = allocated(allocator.solve(scenario, rule={"name": "formula", "weights": {"p": 5e-324, "q": 5e-324}}))
    assert tiny == pytest.approx({"a": 4.0, "b": 4.0})
    with pytest.raises(UsageError, match="1e\\+308"):
        allocator.solve(scenario, rule={"name": "formula", "weights": {"p": 1e308, "q": 1e308}})


@pytest.mark.parametrize("limit", [0.0, -1.0, float("nan"), float("inf"), True])
def test_a_time_limit_must_be_a_positive_finite_number(limit):
    # before: nan ran with no limit at all, 0 and -1 "ran out" before the first stage
    with pytest.raises(UsageError, match="time_limit"):
        allocator.solve(build(**TWO_UNITS), rule="maxmin", time_limit=limit)


def test_a_tiny_positive_time_limit_stops_cleanly():
    with pytest.raises(allocator.SolverError, match="time limit"):
        allocator.solve(build(**TWO_UNITS), rule="maxmin", time_limit=1e-300)


@pytest.mark.parametrize("seed", [0, 2**63, 10**40])
def test_priority_and_reserve_seeds_of_any_size(seed):
    units = [{"id": u, "demand": 1, "data": {"score": 1.0}} for u in "abcd"]
    scenario = build(units=units, supply={"food": 2})
    first = allocated(allocator.solve(scenario, rule={"name": "priority", "score": "score", "seed": seed}))
    again = allocated(allocator.solve(scenario, rule={"name": "priority", "score": "score", "seed": seed}))
    assert first == again and sum(first.values()) == pytest.approx(2.0)
    assert sorted(first.values()) == pytest.approx([0, 0, 1, 1])  # ties broken whole, by the lottery


@pytest.mark.parametrize("rounds", [1, 2**63])
def test_leximin_max_rounds_at_the_edges(rounds):
    # a 10, b 30, c 20, supply 30: 60 t = 30, every rate 1/2 in the first round already
    scenario = build(units=[{"id": "a", "demand": 10}, {"id": "b", "demand": 30}, {"id": "c", "demand": 20}],
                     supply={"food": 30})
    result = allocator.solve(scenario, rule={"name": "leximin", "max_rounds": rounds})
    assert allocated(result) == pytest.approx({"a": 5, "b": 15, "c": 10}, abs=1e-6)


def test_uncertainty_parameters_at_the_edges():
    from allocator.scenario.uncertainty import DemandNoise, SupplyShock, Uncertainty, draw
    from allocator.solving.compile import compile

    scenario = build(sites=[{"id": "s", "supply": {"food": 10}}], units=[{"id": "a", "demand": 4, "groups": {"g": "x"}},
                                                                       {"id": "b", "demand": 6, "groups": {"g": "x"}}],
                     links=[{"unit": "a", "site": "s"}, {"unit": "b", "site": "s"}])
    problem = compile(scenario, rule="maxmin").problem
    widest = Uncertainty(demand=DemandNoise(cv=10, correlation=1, by="g"),
                         supply_shocks=(SupplyShock(probability=1, loss=1),))
    demand, supply = draw(problem, widest, 0, 0)
    # correlation 1: both units share one factor, so demand keeps its 4 : 6 proportions; loss 1 empties the site
    assert np.all(np.isfinite(demand)) and np.all(demand > 0)
    assert demand[0] / demand[1] == pytest.approx(4 / 6)
    assert supply.sum() == 0.0
    none = Uncertainty(demand=DemandNoise(cv=0), supply_shocks=(SupplyShock(probability=0, loss=1),))
    demand, supply = draw(problem, none, 0, 0)
    assert demand.tolist() == problem.pair_demand.tolist() and supply.tolist() == problem.supply.tolist()
    for bad in (dict(cv=10 + 1e-9), dict(cv=-1e-300), dict(cv=1, correlation=1 + 1e-12)):
        with pytest.raises(ValueError):
            DemandNoise(**bad)
    for bad in (dict(probability=1.1, loss=1), dict(probability=0.5, loss=0), dict(probability=float("nan"), loss=1)):
        with pytest.raises(ValueError):
            SupplyShock(**bad)


def test_a_round_infeasible_by_round_off_keeps_the_last_round(monkeypatch):
    # a later round only adds tangents above u to a relaxation already solved: infeasible there is
    # round-off. Before, that ended in InfeasibleError for a feasible scenario
    from allocator.rules import stages

    solve_stage = stages.StageRunner.run

    def round_three_fails(self, stage, lp):
        if stage == "welfare round 3":
            raise stages.StageInfeasible(stage)
        return solve_stage(self, stage, lp)

    monkeypatch.setattr(stages.StageRunner, "run", round_three_fails)
    result = allocator.solve(build(**TWO_UNITS), rule="nash")
    assert result.equity["rounds"] == 2 and any("round 3 became infeasible" in w for w in result.warnings)
    # round 2's bound is still proven: log 1/2 + log 1/4 = -2.0794 lies between objective and bound
    assert result.equity["objective"] <= math.log(0.125) <= result.equity["upper_bound"]
    assert sum(allocated(result).values()) == pytest.approx(1.0, abs=1e-6)
