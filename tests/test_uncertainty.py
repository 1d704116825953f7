"""Uncertainty: demand intervals, lognormal demand noise (correlated by group), supply shocks, draws."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.core.errors import ScenarioError
from allocator.model.problem import Problem
from allocator.scenario.uncertainty import Uncertainty, draw, pair_intervals
from helpers import build


def _problem(units=None, uncertainty=None, **extra):
    grouped = units is None
    units = units or [{"id": f"u{i}", "demand": 10 + i, "groups": {"region": "ab"[i % 2]}} for i in range(8)]
    return Problem.from_scenario(build(supply={"food": 50}, units=units, groups=["region"] if grouped else [],
                                       **({"uncertainty": uncertainty} if uncertainty else {}), **extra))


def test_the_same_seed_and_index_give_the_same_draw_and_others_differ():
    problem = _problem()
    noise = Uncertainty.model_validate({"demand": {"cv": 0.3}})
    a, b = draw(problem, noise, 5, 17), draw(problem, noise, 5, 17)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], draw(problem, noise, 5, 18)[0])
    assert not np.array_equal(a[0], draw(problem, noise, 6, 17)[0])


def test_lognormal_noise_has_mean_one_and_the_asked_coefficient_of_variation():
    problem = _problem()
    noise = Uncertainty.model_validate({"demand": {"cv": 0.4}})
    factors = np.array([draw(problem, noise, 1, k)[0] / problem.pair_demand for k in range(3000)])
    # one factor per unit: 8 units x 3000 draws; the mean of 24,000 factors has sd 0.4/sqrt(24000) = 0.0026
    assert factors.mean() == pytest.approx(1.0, abs=4 * 0.4 / np.sqrt(factors.size))
    assert factors.std() / factors.mean() == pytest.approx(0.4, rel=0.05)


def test_correlation_is_shared_within_a_group_and_absent_between_groups():
    problem = _problem()
    noise = Uncertainty.model_validate({"demand": {"cv": 0.3, "correlation": 0.6, "by": "region"}})
    logs = np.log(np.array([draw(problem, noise, 2, k)[0] / problem.pair_demand for k in range(4000)]))
    same = np.corrcoef(logs[:, 0], logs[:, 2])[0, 1]  # u0 and u2 are both in region a
    other = np.corrcoef(logs[:, 0], logs[:, 1])[0, 1]  # u1 is in region b
    assert same == pytest.approx(0.6, abs=0.05) and other == pytest.approx(0.0, abs=0.05)


def test_intervals_clip_the_noise_and_are_sampled_uniformly_without_it():
    units = [{"id": "a", "demand": 10, "data": {"demand_low": 8, "demand_high": 14}},
             {"id": "b", "demand": 20, "data": {"demand_low": "", "demand_high": 30}}]  # b: no lower end
    problem = _problem(units)
    low, high = pair_intervals(problem)
    assert low.tolist() == [8, 20] and high.tolist() == [14, 30]
    noisy = np.array([draw(problem, Uncertainty.model_validate({"demand": {"cv": 1.0}}), 3, k)[0] for k in range(500)])
    assert (noisy >= low - 1e-12).all() and (noisy <= high + 1e-12).all()
    assert (noisy[:, 0] == 8).any() and (noisy[:, 0] == 14).any()  # clipped at both ends
    uniform = np.array([draw(problem, None, 3, k)[0] for k in range(4000)])
    assert uniform[:, 0].mean() == pytest.approx(11, abs=0.1) and uniform[:, 1].min() >= 20


def test_supply_shocks_hit_with_their_probability_and_take_their_share():
    scenario = build(sites=[{"id": s, "supply": {"food": 100, "water": 50}} for s in ("n", "s", "e")],
                     resources=[{"id": "food"}, {"id": "water"}],
                     units=[{"id": "a", "demand": {"food": 10, "water": 10}}])
    problem = Problem.from_scenario(scenario)
    every = Uncertainty.model_validate({"supply_shocks": [{"probability": 0.25, "loss": 0.4}]})
    supplies = np.array([draw(problem, every, 4, k)[1] for k in range(4000)])
    hit = supplies[:, :, 0] < 100
    assert hit.mean() == pytest.approx(0.25, abs=0.02)
    assert np.allclose(supplies[:, :, 0][hit], 60) and np.allclose(supplies[:, :, 1][hit], 30)
    together = Uncertainty.model_validate({"supply_shocks": [{"probability": 0.5, "loss": 1.0, "sites": ["n", "s"],
                                                              "together": True, "resource": "water"}]})
    supplies = np.array([draw(problem, together, 4, k)[1] for k in range(200)])
    assert ((supplies[:, 0, 1] == 0) == (supplies[:, 1, 1] == 0)).all()  # n and s fall together
    assert (supplies[:, 2, 1] == 50).all() and (supplies[:, :, 0] == 100).all()  # e and food untouched


def test_bad_intervals_and_uncertainty_sections_are_reported_all_at_once():
    units = [{"id": "a", "demand": 10, "data": {"demand_low": 12, "demand_high": 9}},
             {"id": "b", "demand": 10, "data": {"demand_low": "x", "demand_high": 11}},
             {"id": "c", "demand": 10, "data": {"demand_low": 0, "demand_high": 11}}]
    with pytest.raises(ScenarioError) as caught:
        build(sites=[{"id": "s", "supply": {"food": 5}}], units=units,
              uncertainty={"demand": {"cv": 0.2, "correlation": 0.5}, "supply_shocks": [{"probability": 0.1,
                                                                                         "loss": 0.5, "sites": ["t"]}]})
    text = str(caught.value)
    for expected in ("unit a, column demand_low", "unit a, column demand_high", "unit b, column demand_low",
                     "unit c, column demand_low", "a correlation needs the attribute", "unknown site(s): t"):
        assert expected in text, (expected, text)
    with pytest.raises(ScenarioError, match="probability"):
        build(supply={"food": 5}, units=[{"id": "a", "demand": 1}],
              uncertainty={"supply_shocks": [{"probability": 1.5, "loss": 0.5}]})


def test_units_without_an_interval_keep_their_noise():
    # only a has an interval: b must still vary (a review found every unit clipped to its nominal demand)
    units = [{"id": "a", "demand": 10, "data": {"demand_low": 5, "demand_high": 20}},
             {"id": "b", "demand": 10, "data": {"demand_low": "", "demand_high": ""}}]
    problem = _problem(units)
    noise = Uncertainty.model_validate({"demand": {"cv": 0.5}})
    drawn = np.array([draw(problem, noise, 1, k)[0] for k in range(300)])
    assert drawn[:, 1].std() > 1 and drawn[:, 1].min() < 5 < 20 < drawn[:, 1].max()
    assert drawn[:, 0].min() >= 5 and drawn[:, 0].max() <= 20
