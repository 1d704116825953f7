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
from typing import Callable

import numpy as np
import pandas as pd

from allocator.backends.base import SolverLike
from allocator.core.arguments import checked
from allocator.core.errors import InfeasibleError, UsageError
from allocator.core.inequality import atkinson, price_of_fairness, theil
from allocator.core.status import Status
from allocator.results.analysis import Analysis, metric_name
from allocator.results.result import Result
from allocator.scenario.load import ScenarioLike
from allocator.scenario.rules import RULES
from allocator.solving.api import solve

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
class Comparison(Analysis):
    """The outcome of :func:`compare`; ``save`` writes ``comparison.csv``, ``per_unit.csv`` and ``summary.json``.

    Attributes
    ----------
    table : DataFrame
        One row per rule (index: the rule's label, e.g. ``alpha(alpha=2.0)``), columns for every metric.
    per_unit : DataFrame
        Fill rate of every (unit, resource) pair (rows) under every rule (columns).
    results : dict
        The full :class:`~allocator.results.result.Result` of every rule that solved.
    infeasible : dict
        Why each rule that cannot meet the constraints failed, by label (its table row has status
        ``infeasible``, the ``reason`` and empty metrics; its ``per_unit`` column is empty).
    """

    table: pd.DataFrame
    per_unit: pd.DataFrame
    results: dict[str, Result] = field(default_factory=dict)
    infeasible: dict[str, str] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()

    FILE = "comparison.csv"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"comparison.csv": self.table.reset_index(), "per_unit.csv": self.per_unit.reset_index()}

    def to_dict(self) -> dict:
        """``{"rules": [{"rule": label, <every column>}, ...]}``, NaN as ``None``."""
        table = self.table.replace({np.nan: None})
        return {"rules": [{"rule": name, **{k: _plain(v) for k, v in row.items()}} for name, row in table.iterrows()]}


@checked
def compare(scenario: ScenarioLike, *, rules=DEFAULT_RULES, constraints=None, solver: SolverLike = "highs",
            progress: Callable[[str], None] | None = None) -> Comparison:
    """Solve ``scenario`` under every rule in ``rules`` and tabulate the outcomes.

    The ``table`` has one row per rule (index: the rule's label), a column for every metric of
    ``summary.json`` and these: ``price_of_fairness`` (``1 - total_value / total_value(utilitarian)``,
    utilitarian solved under the same constraints), ``worst_price_of_fairness`` (the theoretical
    bound for the rule, where one is known) and ``worst_price_applies`` (whether the theorem's
    conditions hold, see the module docstring), ``atkinson_0.5`` and ``atkinson_1``, ``theil``,
    ``share_unserved`` (units at 0) over the pair fill rates. Per attribute
    ``max_group_gap[attribute]`` and ``min_group_ratio[attribute]`` (:func:`~allocator.results.analysis.metric_name`).

    Parameters
    ----------
    scenario : Scenario
    rules : rule or sequence of rules
        Names, CLI strings (``"maxmin:over=region"``), mappings (``{"name": "alpha", "alpha": 2}``)
        or objects; default utilitarian, proportional, maxmin, leximin and nash.
    constraints : constraint or list, optional
        Applied to every rule (default: the scenario's).
    progress : callable, optional
        Called with each rule's description before it is solved (the CLI's progress bar).

    Returns
    -------
    Comparison
        ``table``, ``per_unit`` fill rates and the ``results``. A rule that cannot meet the
        constraints is listed with status ``infeasible`` and the reason; the others are compared
        as usual.

    Raises
    ------
    InfeasibleError
        When no rule can meet the constraints.
    SolverError
        As :func:`allocator.solve`, for the first rule the solver fails on.
    UsageError
        For a rule that is not one, or one listed twice.

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "pool", "resources": [{"id": "food"}], "supply": {"food": 6},
    ...     "units": [{"id": "a", "demand": 4, "value": 3}, {"id": "b", "demand": 4, "value": 1}]})
    >>> compare(s, rules=["utilitarian", "proportional"]).table["price_of_fairness"].round(3).tolist()
    [0.0, 0.143]
    """
    specs = RULES.many(rules, where="rules")
    labels = [spec.label() for spec in specs]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise UsageError(f"rules: listed twice: {', '.join(twice)}")
    if not specs:
        raise UsageError("rules: name at least one rule")
    results: dict[str, Result] = {}
    failed: dict[str, InfeasibleError] = {}
    for spec in specs:
        if progress is not None:
            progress(spec.label())
        try:
            results[spec.label()] = solve(scenario, rule=spec, constraints=constraints, solver=solver)
        except InfeasibleError as exc:
            failed[spec.label()] = exc
    if not results:
        raise next(iter(failed.values()))
    utilitarian = next((r for r in results.values() if r.rule["name"] == "utilitarian"), None)
    if utilitarian is None and "utilitarian" not in failed:
        try:
            utilitarian = solve(scenario, rule="utilitarian", constraints=constraints, solver=solver, withheld=False)
        except InfeasibleError:
            pass
    best_value = utilitarian.metrics["total_value"] if utilitarian is not None else None
    wanted = scenario.units.demand > 0
    demands, values = scenario.units.demand[wanted], scenario.units.value[wanted]
    same_units = bool(len(demands) == 0 or (np.ptp(demands) == 0 and np.ptp(values) == 0))
    reasons = {label: infeasible_reason(exc) for label, exc in failed.items()}
    rows = [_row(label, results[label], best_value, len(scenario.units), same_units) if label in results
            else {"rule": label, "status": Status.INFEASIBLE.value, "reason": reasons[label]} for label in labels]
    table = pd.DataFrame(rows).set_index("rule")
    pairs = next(iter(results.values())).allocations[["unit", "resource"]]
    per_unit = pd.DataFrame({label: results[label].allocations["fill_rate"].to_numpy() if label in results
                             else np.full(len(pairs), np.nan) for label in labels},
                            index=pd.MultiIndex.from_frame(pairs))
    per_unit = per_unit.rename_axis(columns="fill_rate")  # what the values are: kept files round them as rates
    return Comparison(table, per_unit, results, reasons, inputs=scenario.input_paths)


def infeasible_reason(error: InfeasibleError) -> str:
    """One line on why a rule cannot meet the constraints (the conflict, or the error's own text)."""
    if error.conflicting:
        return "cannot meet " + " with ".join(error.conflicting)
    return str(error).splitlines()[0] if str(error) else "infeasible"


def _row(name: str, result: Result, best_value: float | None, units: int, same_units: bool) -> dict:
    rates = result.allocations["fill_rate"].to_numpy(dtype=float)
    metrics = result.metrics
    row: dict[str, object] = {"rule": name, "status": result.status.value, "reason": ""}
    for key, value in metrics.items():
        if key == "by_resource":
            for resource, numbers in value.items():
                for sub, number in numbers.items():
                    row[metric_name(sub, resource)] = number
        elif isinstance(value, dict):
            for attribute, number in value.items():
                row[metric_name(key, attribute)] = number
        else:
            row[key] = value
    # NaN when utilitarian cannot meet the constraints: nothing to measure the price against
    row["price_of_fairness"] = price_of_fairness(metrics["total_value"], best_value)
    row["worst_price_of_fairness"] = worst_price_of_fairness(result.rule["name"], units)
    row["worst_price_applies"] = same_units and row["worst_price_of_fairness"] is not None
    row["atkinson_0.5"] = atkinson(rates, 0.5)
    row["atkinson_1"] = atkinson(rates, 1.0)
    row["theil"] = theil(rates)
    per_unit = result.allocations.groupby("unit", sort=False)["allocated"].sum()
    row["share_unserved"] = float((per_unit <= 0).mean()) if len(per_unit) else 0.0
    return row


def _plain(value):
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
