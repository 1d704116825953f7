"""Compare allocation rules on one scenario: one row per rule, every metric, and the price of fairness.

The price of fairness of a rule is the share of total value it gives up against the
utilitarian optimum, ``1 - value(rule) / value(utilitarian)``. Bertsimas, Farias and Trichakis
(Operations Research 59(1), 2011) bound it for ``n`` units and equal values: at most
``1 - 2/sqrt(n) + 1/n`` for proportional fairness (``nash``) and ``1 - 4n/(n+1)^2`` for max-min
fairness. The table puts that worst case beside the measured price. The theorem measures
fairness and efficiency in the same utilities; here fairness is on fill rates and efficiency is
total value, which coincide (up to a factor) only when every unit has the same demand and value.
``worst_price_applies`` says whether that holds; when it does not, the bound is shown for
orientation only and can be exceeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from allocator.compiler import resolve_rule
from allocator.inequality import atkinson, theil
from allocator.result import Result
from allocator.scenario.model import Scenario
from allocator.solving import solve

DEFAULT_RULES = ("utilitarian", "proportional", "maxmin", "leximin", "nash")


def worst_price_of_fairness(rule: str, units: int) -> float | None:
    """The largest price of fairness theory allows for ``rule`` with ``units`` units, or ``None``.

    Examples
    --------
    >>> round(worst_price_of_fairness("maxmin", 3), 4), round(worst_price_of_fairness("nash", 4), 4)
    (0.25, 0.25)
    """
    if units < 1:
        return None
    if rule == "nash":
        return 1 - 2 / math.sqrt(units) + 1 / units
    if rule == "maxmin":
        return 1 - 4 * units / (units + 1) ** 2
    return None


@dataclass(frozen=True, eq=False)
class Comparison:
    """The outcome of :func:`compare_rules`.

    Attributes
    ----------
    table : DataFrame
        One row per rule (index: the rule's label, e.g. ``alpha(alpha=2.0)``), columns for every metric.
    per_unit : DataFrame
        Fill rate of every (unit, resource) pair (rows) under every rule (columns).
    results : dict
        The full :class:`~allocator.result.Result` of every rule.
    """

    table: pd.DataFrame
    per_unit: pd.DataFrame
    results: dict[str, Result] = field(default_factory=dict)


def compare_rules(scenario: Scenario, rules: Sequence = DEFAULT_RULES, constraints=None, solver: str = "highs", *,
                  progress: Callable[[str], None] | None = None) -> Comparison:
    """Solve ``scenario`` under every rule in ``rules`` and tabulate the outcomes.

    Parameters
    ----------
    scenario : Scenario
    rules : sequence of rule specs
        Names or mappings (``{"name": "alpha", "alpha": 2}``); default utilitarian,
        proportional, maxmin, leximin and nash.
    constraints : list, optional
        Applied to every rule (default: the scenario's).
    progress : callable, optional
        Called with each rule's description before it is solved (the CLI's progress bar).

    Returns
    -------
    Comparison
        ``table`` (see :func:`compare`), ``per_unit`` fill rates and the ``results``.

    Raises
    ------
    InfeasibleError, SolverError
        As :func:`allocator.solve`, for the first rule that fails.
    """
    specs = [resolve_rule(rule, scenario) for rule in rules]
    results: dict[str, Result] = {}
    for spec in specs:
        if progress is not None:
            progress(spec.label())
        results[spec.label()] = solve(scenario, spec, constraints, solver=solver)
    utilitarian = next((r for r in results.values() if r.rule["name"] == "utilitarian"), None)
    if utilitarian is None:
        utilitarian = solve(scenario, "utilitarian", constraints, solver=solver)
    best_value = utilitarian.metrics["total_value"]
    wanted = scenario.units.demand > 0
    demands, values = scenario.units.demand[wanted], scenario.units.value[wanted]
    same_units = bool(len(demands) == 0 or (np.ptp(demands) == 0 and np.ptp(values) == 0))
    rows = [_row(name, result, best_value, len(scenario.units), same_units) for name, result in results.items()]
    table = pd.DataFrame(rows).set_index("rule")
    per_unit = pd.DataFrame({name: result.allocations["fill_rate"].to_numpy() for name, result in results.items()},
                            index=pd.MultiIndex.from_frame(next(iter(results.values())).allocations[["unit", "resource"]]))
    per_unit = per_unit.rename_axis(columns="fill_rate")  # what the values are: kept files round them as rates
    return Comparison(table, per_unit, results)


def compare(scenario: Scenario, rules: Sequence = DEFAULT_RULES, constraints=None, solver: str = "highs") -> pd.DataFrame:
    """One row per rule, a column for every metric of ``summary.json`` and these:

    ``price_of_fairness`` (``1 - total_value / total_value(utilitarian)``),
    ``worst_price_of_fairness`` (the theoretical bound for the rule, where one is known) and
    ``worst_price_applies`` (whether the theorem's conditions hold, see the module docstring),
    ``atkinson_0.5`` and ``atkinson_1``, ``theil``, ``share_unserved`` (units at 0) over the
    pair fill rates. Per attribute ``max_group_gap[attribute]`` and ``min_group_ratio[attribute]``.

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "pool", "resources": [{"id": "food"}], "supply": {"food": 6},
    ...     "units": [{"id": "a", "demand": 4, "value": 3}, {"id": "b", "demand": 4, "value": 1}]})
    >>> compare(s, ["utilitarian", "proportional"])["price_of_fairness"].round(3).tolist()
    [0.0, 0.143]
    """
    return compare_rules(scenario, rules, constraints, solver).table


def _row(name: str, result: Result, best_value: float, units: int, same_units: bool) -> dict:
    rates = result.allocations["fill_rate"].to_numpy(dtype=float)
    metrics = result.metrics
    row: dict[str, object] = {"rule": name, "status": result.status.value}
    for key, value in metrics.items():
        if key == "by_resource":
            for resource, numbers in value.items():
                for sub, number in numbers.items():
                    row[f"{sub}[{resource}]"] = number
        elif isinstance(value, dict):
            for attribute, number in value.items():
                row[f"{key}[{attribute}]"] = number
        else:
            row[key] = value
    value = metrics["total_value"]
    price = 1 - value / best_value if best_value > 0 else 0.0
    row["price_of_fairness"] = 0.0 if -1e-7 < price < 0 else price  # utilitarian's own round-off
    row["worst_price_of_fairness"] = worst_price_of_fairness(result.rule["name"], units)
    row["worst_price_applies"] = same_units and row["worst_price_of_fairness"] is not None
    row["atkinson_0.5"] = atkinson(rates, 0.5)
    row["atkinson_1"] = atkinson(rates, 1.0)
    row["theil"] = theil(rates)
    per_unit = result.allocations.groupby("unit", sort=False)["allocated"].sum()
    row["share_unserved"] = float((per_unit <= 0).mean()) if len(per_unit) else 0.0
    return row


def comparison_summary(comparison: Comparison) -> dict:
    """The comparison as plain data, for JSON."""
    table = comparison.table.replace({np.nan: None})
    return {"rules": [{"rule": name, **{k: _plain(v) for k, v in row.items()}} for name, row in table.iterrows()]}


def _plain(value):
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def save_comparison(comparison: Comparison, folder, *, force: bool = False):
    """Write ``comparison.csv``, ``per_unit.csv`` and ``comparison.json`` atomically into ``folder``."""
    from allocator.result import save_tables

    return save_tables(folder, {"comparison.csv": comparison.table.reset_index(),
                                "per_unit.csv": comparison.per_unit.reset_index()},
                       {"summary.json": comparison_summary(comparison)}, force=force)
