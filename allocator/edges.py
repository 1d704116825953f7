"""What a flow network carried: flow, capacity, utilisation, cost and the price of each edge's capacity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.problem import Problem

#: an edge is a bottleneck when it is this full and its capacity row has a nonzero price
FULL = 1 - 1e-6


def edge_table(problem: Problem, last) -> pd.DataFrame | None:
    """``from, to, flow, capacity, utilisation, cost, transport_cost, shadow_price`` per edge, or None.

    Read off the rule's last stage (``last`` = ``(stage, lp, solution)``): the flows on every edge
    (summed over resources) and the dual of its capacity row, in that stage's objective per unit
    of capacity (for value stages: total value).
    """
    edges = problem.network
    if edges is None or last is None:
        return None
    _, lp, solution = last
    num_res = len(problem.resource_ids)
    shipped = np.asarray(solution.x[lp.cols("edge")], dtype=float).reshape(len(edges.tail), num_res).sum(axis=1)
    shipped = np.where(shipped > 1e-9, shipped, 0.0) * problem.scale
    price = np.zeros(len(edges.tail))
    limited = np.flatnonzero(np.isfinite(edges.capacity))
    if solution.row_dual is not None and "edge_capacity" in lp.row_blocks:
        price[limited] = solution.row_dual[lp.rows("edge_capacity")]
    names = np.asarray(problem.site_ids, dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(np.isfinite(edges.capacity) & (edges.capacity > 0), shipped / edges.capacity, np.nan)
    return pd.DataFrame({
        "from": names[edges.tail], "to": names[edges.head], "flow": shipped, "capacity": edges.capacity,
        "utilisation": utilisation, "cost": edges.cost, "transport_cost": edges.cost * shipped,
        "shadow_price": np.where(np.abs(price) > 1e-9, price, 0.0),
    })


def bottlenecks(table: pd.DataFrame) -> pd.DataFrame:
    """The edges that limit the answer: full, with a positive price on their capacity."""
    return table[(table["utilisation"] >= FULL) & (table["shadow_price"] > 0)]
