"""Result tables and fairness metrics, computed from flows with the measures the LP used.

Every metric is a plain function of the flows; :data:`METRICS` lists them with their meaning
(the terminal summary shows them in this order, and a test checks docs/rules.md explains each).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from allocator.core.inequality import gini, jain
from allocator.model.measures import MeasureSet, max_gap, min_ratio
from allocator.model.problem import Problem

#: name -> meaning, in summary.json order
METRICS: dict[str, str] = {
    "total_allocated": "sum of allocated over all units and resources",
    "total_value": "sum of value x allocated",
    "utilization": "total_allocated / total supply",
    "min_fill_rate": "lowest fill rate of any (unit, resource) pair with demand",
    "mean_fill_rate": "mean pair fill rate",
    "max_fill_rate": "highest pair fill rate",
    "gini": "Gini coefficient of the pair fill rates (0 = all equal)",
    "jain": "Jain's index of the pair fill rates, (sum f)^2 / (n sum f^2) (1 = all equal)",
    "units_unserved": "units with demand that receive nothing",
    "max_group_gap": "per attribute: largest difference between group fill rates of one resource",
    "min_group_ratio": "per attribute: smallest lowest/highest group fill rate of one resource",
    "max_benefit_gap": "per attribute: largest difference between group benefit rates (benefit over potential)",
}

#: flows below this share of their unit's demand (or of their resource's whole supply, if smaller)
#: are reported as exactly 0
ZERO_TOLERANCE = 1e-9


def clean_flows(problem: Problem, flows: np.ndarray) -> np.ndarray:
    """Clip solver round-off: negative flows, and flows below ``ZERO_TOLERANCE`` x their pair's demand, become 0.

    The share is of the smaller of the pair's demand and the resource's whole supply: a unit asking
    far more than there is (demand 1e9 beside a supply of 1) can rightly get a rate below 1e-9, and
    that amount is the supply, not round-off.
    """
    resource = problem.pair_resource[problem.flow_pair]
    scale = np.minimum(problem.pair_demand[problem.flow_pair], problem.supply.sum(axis=0)[resource])
    return np.where(flows > ZERO_TOLERANCE * scale, flows, 0.0)


def allocation_table(problem: Problem, flows: np.ndarray) -> pd.DataFrame:
    """One row per (unit, resource) with demand: ``unit, resource, allocated, demand, fill_rate``."""
    allocated = problem.pair_allocation(flows)
    return pd.DataFrame({
        "unit": problem.unit_ids[problem.pair_unit],
        "resource": np.asarray(problem.resource_ids, dtype=object)[problem.pair_resource],
        "allocated": allocated,
        "demand": problem.pair_demand,
        "fill_rate": allocated / problem.pair_demand,
    })


def flow_table(problem: Problem, flows: np.ndarray) -> pd.DataFrame:
    """One row per positive flow: ``unit, resource, site, quantity``."""
    on = flows > 0
    pairs = problem.flow_pair[on]
    return pd.DataFrame({
        "unit": problem.unit_ids[problem.pair_unit[pairs]],
        "resource": np.asarray(problem.resource_ids, dtype=object)[problem.pair_resource[pairs]],
        "site": np.asarray(problem.site_ids, dtype=object)[problem.flow_site[on]],
        "quantity": flows[on],
    })


def group_table(problem: Problem, measures: MeasureSet, flows: np.ndarray) -> pd.DataFrame:
    """``attribute, group, resource, units, allocated, demand, fill_rate`` for every attribute."""
    frames = []
    for attribute, codes in problem.groups.items():
        measure = measures.group(attribute, servable_only=False)
        num_res = len(problem.resource_ids)
        cells, num_cells = problem.group_cells(attribute)
        counts = np.bincount(cells, minlength=num_cells)
        cell_of_row = (pd.Index(codes.labels).get_indexer(pd.Index(measure.labels["group"])) * num_res + measure.resource)
        allocated = measure.matrix @ flows
        frame = measure.labels.copy()
        frame["units"] = counts[cell_of_row]
        frame["allocated"] = allocated
        frame["demand"] = measure.denominator
        frame["fill_rate"] = allocated / measure.denominator
        frames.append(frame)
    columns = ["attribute", "group", "resource", "units", "allocated", "demand", "fill_rate"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def compute_metrics(problem: Problem, measures: MeasureSet, flows: np.ndarray) -> dict:
    """Every metric of :data:`METRICS`, plus ``by_resource`` totals."""
    allocated = problem.pair_allocation(flows)
    fill = allocated / problem.pair_demand if problem.num_pairs else np.zeros(0)
    total_supply = float(problem.supply.sum())
    per_unit = np.bincount(problem.pair_unit, weights=allocated, minlength=len(problem.unit_ids))
    has_demand = np.bincount(problem.pair_unit, minlength=len(problem.unit_ids)) > 0
    metrics: dict[str, Any] = {
        "total_allocated": float(allocated.sum()),
        "total_value": float(problem.pair_value @ allocated),
        "utilization": float(allocated.sum() / total_supply) if total_supply > 0 else 0.0,
        "min_fill_rate": float(fill.min()) if len(fill) else 1.0,
        "mean_fill_rate": float(fill.mean()) if len(fill) else 1.0,
        "max_fill_rate": float(fill.max()) if len(fill) else 1.0,
        "gini": gini(fill),
        "jain": jain(fill),
        "units_unserved": int((has_demand & (per_unit <= 0)).sum()),
        "max_group_gap": {},
        "min_group_ratio": {},
        "max_benefit_gap": {},
    }
    for attribute in problem.groups:
        measure = measures.group(attribute, servable_only=False)
        rates = measure.rates(flows)
        metrics["max_group_gap"][attribute] = max_gap(rates, measure.resource)
        metrics["min_group_ratio"][attribute] = min_ratio(rates, measure.resource)
        benefit = measures.benefit(attribute, servable_only=False)
        metrics["max_benefit_gap"][attribute] = max_gap(benefit.rates(flows), benefit.resource)
    by_resource = {}
    for r, resource in enumerate(problem.resource_ids):
        mine = problem.pair_resource == r
        supply = float(problem.supply[:, r].sum())
        given = float(allocated[mine].sum())
        by_resource[resource] = {
            "supply": supply, "demand": float(problem.pair_demand[mine].sum()), "allocated": given,
            "utilization": given / supply if supply > 0 else 0.0,
            "min_fill_rate": float(fill[mine].min()) if mine.any() else 1.0,
        }
    metrics["by_resource"] = by_resource
    return metrics
