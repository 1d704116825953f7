"""Fairness bounds: the range of each metric when demand may be anywhere within its intervals.

Demand of pair ``p`` lies in ``[l_p, h_p]`` (``demand_low`` / ``demand_high``; the nominal demand
where none is given). Two settings:

**Fixed allocation** (planned on nominal demand, delivered as planned). Pair ``p`` was given
``a_p``; with demand ``d_p`` it uses ``min(a_p, d_p)``, its fill rate is ``min(a_p, d_p) / d_p``.
Every bound here is **exact**:

* min fill rate: each rate falls as its demand rises, so the worst is at ``h`` and the best at ``l``;
* total value ``sum_p v_p min(a_p, d_p)`` rises with demand: worst at ``l``, best at ``h``;
* a group's fill rate ``F_c(d) = sum_{p in c} min(a_p, d_p) / sum_{p in c} d_p`` ranges over an
  interval ``[F_c^-, F_c^+]`` (groups share no pair, so each moves on its own). ``F_c^+`` is
  attained at ``d_p = clip(a_p, l_p, h_p)`` (each term of ``sum min(a, d) - lambda d`` peaks there
  for every ``lambda`` in [0, 1]); ``F_c^-`` by Dinkelbach's method (each step puts every demand at
  the end of its interval that lowers ``min(a, d) - lambda d``; finitely many steps). The largest
  gap is ``max_{c != c'} F_c^+ - F_{c'}^-``, the smallest ``max(0, max_c F_c^- - min_c F_c^+)``,
  per resource, then the largest over resources (as the ``max_group_gap`` metric).

**Re-solved** once demand is known. Exact where the rule's answer is monotone in demand
(:func:`monotone_cases` lists the conditions): the max-min level (maxmin and leximin, divisible
resources, no constraints other than ``floor``, no rebate edges) can only fall as demand rises
(an allocation feasible at higher demand, capped at the lower one, keeps every rate), so it is
worst at ``h`` and best at ``l``; the utilitarian total value (no constraints, value stages on
value, not value minus cost) can only rise with demand (demand caps loosen). Everything else is **sampled**: the rule solved at
``l``, at ``h``, at nominal demand and at ``samples`` demand vectors drawn uniformly from the box;
the true range may be wider than the sampled one, and the table says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from allocator.backends.base import SolverLike
from allocator.core.arguments import Seconds, Whole, checked
from allocator.core.budget import Budget
from allocator.core.errors import UsageError
from allocator.core.precision import frame_records
from allocator.core.status import Status
from allocator.model.compiler import resolve_rule
from allocator.model.problem import Problem
from allocator.results.analysis import Analysis, metric_name
from allocator.scenario.load import ScenarioLike
from allocator.scenario.uncertainty import Uncertainty, pair_intervals
from allocator.simulation.draws import draw_backends, flat_metrics, solve_draw
from allocator.simulation.plan import plan_simulation
from allocator.solving.api import solve_compiled
from allocator.solving.compile import compile as compile_model

MONOTONE_LEVEL_RULES = frozenset({"maxmin", "leximin"})


@dataclass(frozen=True, eq=False)
class Bounds(Analysis):
    """What :func:`bounds` found; ``save`` writes ``bounds.csv`` (the ``table``) and ``summary.json``.

    Attributes
    ----------
    table : DataFrame
        ``setting`` (``fixed allocation`` / ``re-solved``), ``metric``, ``nominal``, ``worst``,
        ``best``, ``method`` (``exact`` or ``sampled (n vectors)``).
    rule : str
        The rule's label.
    status : Status
        ``COMPLETE``, or ``TIME_LIMIT`` when the time ran out before every sample (``stopped``
        says after how many).
    """

    table: pd.DataFrame
    rule: str
    status: Status = Status.COMPLETE
    stopped: dict | None = None
    inputs: tuple[str, ...] = ()

    FILE = "bounds.csv"

    def to_dict(self) -> dict:
        """The rule, status and every row, each rounded by its metric's kind (``summary.json``)."""
        summary = {"rule": self.rule, "status": self.status.value, "bounds": frame_records(self.table)}
        if self.stopped is not None:
            summary["stopped"] = self.stopped
        return summary


@checked
def bounds(scenario: ScenarioLike, *, rule=None, samples: Whole = 200, seed: Whole = 0, solver: SolverLike = "highs",
           time_limit: Seconds | None = None, progress: Callable[[int, int], None] | None = None) -> Bounds:
    """Worst and best min fill rate, total value and group gaps over the demand intervals.

    Parameters
    ----------
    scenario : Scenario
        With demand intervals (``demand_low`` / ``demand_high`` columns).
    rule : rule, optional
        Default: the scenario's rule.
    samples : int
        Uniform demand vectors solved for the sampled bounds, one at a time (only the running
        extremes are kept, so memory does not grow with ``samples``).
    time_limit : float, optional
        Seconds for the whole run, checked before each sample (the solves at nominal demand, the
        lows and the highs always run): when they run out, the samples solved so far give the
        sampled bounds, ``method`` says so, and ``status`` is ``TIME_LIMIT``.
    progress : callable, optional
        Called with (samples solved, samples asked).

    Returns
    -------
    Bounds
        Its ``table``: ``setting`` (``fixed allocation`` / ``re-solved``), ``metric``, ``nominal``, ``worst``,
        ``best`` (worst = lowest for rates and value, highest for gaps) and ``method``
        (``exact``, or ``sampled (N vectors)``: the lows, the highs, nominal demand and
        ``samples`` uniform draws; the true range may be wider; ``sampled (N of M vectors: time
        limit)`` when the time ran out first). ``status`` and ``stopped`` (``None``, or how far
        the samples got).

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "pool", "resources": [{"id": "food"}], "supply": {"food": 10},
    ...     "units": [{"id": "a", "demand": 10, "data": {"demand_low": 5, "demand_high": 20}}]})
    >>> table = bounds(s, rule="maxmin", samples=5).table
    >>> table.loc[table["metric"] == "min_fill_rate", ["setting", "worst", "best", "method"]].values.tolist()
    [['fixed allocation', 0.5, 1.0, 'exact'], ['re-solved', 0.5, 1.0, 'exact']]
    """
    budget = Budget(time_limit)  # (samples and seed are checked by @checked)
    rule = resolve_rule(rule, scenario)
    problem = Problem.from_scenario(scenario)
    intervals = pair_intervals(problem)
    if intervals is None:
        raise UsageError("bounds need demand intervals: add demand_low and/or demand_high columns to the units "
                         "table (demand_low:<resource> / demand_high:<resource> with several resources)")
    low, high = intervals
    # cold solves (no model reuse): the same answers `allocator solve` gives where the optimum is not unique
    plan = plan_simulation(scenario, [rule], draws=1, seed=seed, uncertainty=Uncertainty(), solver=solver,
                           reuse=False)
    backends = draw_backends(plan)
    label = rule.label()

    def solved(demand):
        _, status, metrics, _ = solve_draw(plan, problem, demand, problem.supply, backends)[0]
        if status != Status.OPTIMAL:
            raise UsageError(f"the {label} rule has no feasible allocation at some demand within the intervals "
                             f"({status}); bounds need every demand in the box to be feasible")
        return metrics

    nominal = solved(problem.pair_demand)
    result = solve_compiled(compile_model(scenario, rule=rule), solver=solver, withheld=False)  # the plan: the nominal allocation
    given = result.allocations.set_index(["unit", "resource"])["allocated"]
    keys = list(zip(problem.unit_ids[problem.pair_unit], np.asarray(problem.resource_ids)[problem.pair_resource]))
    allocated = given.reindex(keys).to_numpy(dtype=float)
    rows = _fixed_rows(problem, allocated, low, high, flat_metrics(result.metrics, problem.resource_ids))

    # re-solved: exact where monotone, else sampled (one vector at a time: only the extremes are kept)
    names = ["min_fill_rate", "total_value", *[metric_name("max_group_gap", a) for a in problem.groups]]
    at_low, at_high = solved(low), solved(high)
    lowest = {m: _extreme(np.minimum, nominal[m], at_low[m], at_high[m]) for m in names}
    highest = {m: _extreme(np.maximum, nominal[m], at_low[m], at_high[m]) for m in names}
    generator = np.random.default_rng(seed)
    used = 0
    if progress is not None:
        progress(0, samples)
    while used < samples and not budget.expired():
        outcome = solved(low + (high - low) * generator.random(len(low)))
        for m in names:
            lowest[m], highest[m] = _extreme(np.minimum, lowest[m], outcome[m]), _extreme(np.maximum, highest[m], outcome[m])
        used += 1
        if progress is not None:
            progress(used, samples)
    stopped = budget.stopped(used, samples, "samples") if used < samples else None
    # the lows, the highs, nominal demand and the uniform draws
    method = (f"sampled ({used + 3} vectors)" if stopped is None
              else f"sampled ({used + 3} of {samples + 3} vectors: time limit)")
    level_exact, value_exact = monotone_cases(problem, rule, plan.constraints)
    for metric in names:
        is_gap = metric.startswith("max_group_gap")
        if metric == "min_fill_rate" and level_exact:
            worst, best, how = at_high[metric], at_low[metric], "exact"
        elif metric == "total_value" and value_exact:
            worst, best, how = at_low[metric], at_high[metric], "exact"
        else:
            worst = highest[metric] if is_gap else lowest[metric]
            best = lowest[metric] if is_gap else highest[metric]
            how = method
        rows.append({"setting": "re-solved", "metric": metric, "nominal": nominal[metric], "worst": worst,
                     "best": best, "method": how})
    order = {"fixed allocation": 0, "re-solved": 1}
    table = pd.DataFrame(rows)
    table = table.sort_values("setting", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    status = Status.COMPLETE if stopped is None else Status.TIME_LIMIT
    return Bounds(table, label, status, stopped, inputs=scenario.input_paths)


def _extreme(pick, *values) -> float:
    """``pick`` (``np.minimum`` or ``np.maximum``) over ``values`` as floats (``None`` is NaN and wins, as in
    an array's min and max: a metric missing at one point leaves its bound unknown)."""
    numbers = np.array([np.nan if v is None else v for v in values], dtype=float)
    return float(pick.reduce(numbers))


def monotone_cases(problem: Problem, rule, constraints) -> tuple[bool, bool]:
    """Whether the re-solved max-min level, and the re-solved utilitarian value, are monotone in demand.

    The level argument caps a solution at lower demand (``a' = min(a, d)``): it needs divisible
    resources (whole units break it: one slot for a demand of 1.5 is a rate of 0.67), no
    constraint other than ``floor``, no ``over:``, and no rebate edge in a flow network (there a
    node must pass on all it receives, so cutting a delivery changes the shipments and can break
    the budget). The value argument (demand caps only loosen) needs no constraints and value
    stages that maximise value itself, not value minus transport cost.
    """
    network = problem.network
    rebates = network is not None and bool((network.cost < 0).any())
    net_of_cost = network is not None and network.net_of_cost
    level = (rule.key in MONOTONE_LEVEL_RULES and rule.params().get("over") is None and problem.all_divisible
             and all(c.key == "floor" for c in constraints) and not rebates)
    value = rule.key == "utilitarian" and not constraints and not net_of_cost
    return level, value


def _fixed_rows(problem, allocated, low, high, nominal) -> list[dict]:
    """Exact bounds for the fixed allocation (see the module docstring)."""
    value = problem.pair_value

    def rates(d):
        return np.minimum(allocated, d) / d

    rows = [
        {"metric": "min_fill_rate", "worst": rates(high).min(), "best": rates(low).min()},
        {"metric": "total_value", "worst": float(value @ np.minimum(allocated, low)),
         "best": float(value @ np.minimum(allocated, high))},
    ]
    for attribute in problem.groups:
        cells, _ = problem.group_cells(attribute)
        worst, best = 0.0, 0.0
        for r in range(len(problem.resource_ids)):
            ranges = [group_rate_range(allocated[m], low[m], high[m])
                      for m in (np.flatnonzero((cells == c) & (problem.pair_resource == r)) for c in np.unique(cells))
                      if len(m)]
            if len(ranges) < 2:
                continue
            lows, highs = np.array([x[0] for x in ranges]), np.array([x[1] for x in ranges])
            spread = highs[:, None] - lows[None, :]
            np.fill_diagonal(spread, -np.inf)  # a group against itself is no gap
            worst = max(worst, float(spread.max()))
            best = max(best, float(max(0.0, lows.max() - highs.min())))
        rows.append({"metric": metric_name("max_group_gap", attribute), "worst": worst, "best": best})
    for row in rows:
        row.update(setting="fixed allocation", nominal=nominal[row["metric"]], method="exact")
    return [{k: row[k] for k in ("setting", "metric", "nominal", "worst", "best", "method")} for row in rows]


def group_rate_range(allocated: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[float, float]:
    """``(min, max)`` over ``low <= d <= high`` of ``sum min(a, d) / sum d`` (exact; module docstring).

    Examples
    --------
    >>> low, high = group_rate_range(np.array([5.0, 0.0]), np.array([4.0, 1.0]), np.array([10.0, 3.0]))
    >>> round(low * 13, 9), round(high * 6, 9)  # 5/13 at d = (10, 3), 5/6 at d = (5, 1)
    (5.0, 5.0)
    """
    best_d = np.clip(allocated, low, high)
    highest = np.minimum(allocated, best_d).sum() / best_d.sum()
    d = high.copy()
    ratio = np.minimum(allocated, d).sum() / d.sum()
    for _ in range(len(d) + 2):  # Dinkelbach: strictly decreasing, so at most one step per vertex change
        at_low = np.minimum(allocated, low) - ratio * low
        at_high = np.minimum(allocated, high) - ratio * high
        d = np.where(at_low < at_high, low, high)
        new = np.minimum(allocated, d).sum() / d.sum()
        if new >= ratio - 1e-15:
            break
        ratio = new
    return float(min(ratio, new)), float(highest)
