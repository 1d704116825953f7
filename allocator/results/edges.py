"""What a flow network carried: per edge (and per throughput-limited node) flow, limit, use and price."""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.model.problem import Problem
from allocator.rules.stages import objective_unit

#: an edge or node is a bottleneck when it is this full and its limit has a nonzero price
FULL = 1 - 1e-6


def _prices(lp, solution, block: str, count: int, scale: float) -> np.ndarray:
    """The duals of row block ``block`` (zeros without duals), in the stage objective per unit of the
    limit, both in the scenario's units (the LP counts quantities in units of ``scale``)."""
    if solution.row_dual is None or block not in lp.row_blocks:
        return np.zeros(count)
    price = np.asarray(solution.row_dual[lp.rows(block)], dtype=float)
    return np.where(np.abs(price) > 1e-9, price, 0.0) * (objective_unit(lp, scale) / scale)


def _use(flow: np.ndarray, limit: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(limit) & (limit > 0), flow / limit, np.nan)


def edge_table(problem: Problem, last) -> pd.DataFrame | None:
    """``from, to, flow, capacity, utilisation, cost, transport_cost, shadow_price`` per edge, or None.

    Read off the rule's last stage (``last`` = ``(stage, lp, solution)``): the flows on every edge
    (summed over resources) and the dual of its capacity row, in that stage's objective per unit
    of capacity (for value stages: total value). With per-resource capacities, each such
    resource ``r`` adds ``flow:r, capacity:r, utilisation:r, shadow_price:r``.
    """
    edges = problem.network
    if edges is None or last is None:
        return None
    _, lp, solution = last
    num_res = len(problem.resource_ids)
    by_resource = np.asarray(solution.x[lp.cols("edge")], dtype=float).reshape(len(edges.tail), num_res)
    by_resource = np.where(by_resource > 1e-9, by_resource, 0.0) * problem.scale
    shipped = by_resource.sum(axis=1)
    price = np.zeros(len(edges.tail))
    price[np.isfinite(edges.capacity)] = _prices(lp, solution, "edge_capacity", int(np.isfinite(edges.capacity).sum()),
                                               problem.scale)
    names = np.asarray(problem.site_ids, dtype=object)
    table = pd.DataFrame({
        "from": names[edges.tail], "to": names[edges.head], "flow": shipped, "capacity": edges.capacity,
        "utilisation": _use(shipped, edges.capacity), "cost": edges.cost, "transport_cost": edges.cost * shipped,
        "shadow_price": price,
    })
    if edges.resource_capacity is not None:
        limited = np.isfinite(edges.resource_capacity)
        prices = np.zeros(edges.resource_capacity.shape)
        prices.ravel()[np.flatnonzero(limited.ravel())] = _prices(lp, solution, "edge_resource_capacity",
                                                                  int(limited.sum()), problem.scale)
        for r, resource in enumerate(problem.resource_ids):
            if limited[:, r].any():
                cap = edges.resource_capacity[:, r]
                table[f"flow:{resource}"] = by_resource[:, r]
                table[f"capacity:{resource}"] = cap
                table[f"utilisation:{resource}"] = _use(by_resource[:, r], cap)
                table[f"shadow_price:{resource}"] = prices[:, r]
    return table


def node_table(problem: Problem, last) -> pd.DataFrame | None:
    """``node, handled, throughput, utilisation, shadow_price`` for every throughput-limited node, or None.

    ``handled`` is what the node delivered to its own units plus what it shipped on (all resources).
    """
    edges = problem.network
    if edges is None or edges.throughput is None or last is None:
        return None
    _, lp, solution = last
    num_nodes = len(problem.site_ids)
    sent = np.asarray(solution.x[lp.cols("edge")], dtype=float).reshape(len(edges.tail), -1).sum(axis=1)
    handled = (np.bincount(edges.tail, weights=sent, minlength=num_nodes)
               + np.bincount(problem.flow_site, weights=np.asarray(solution.x[lp.cols("flow")], dtype=float),
                             minlength=num_nodes)) * problem.scale
    limited = np.flatnonzero(np.isfinite(edges.throughput))
    handled = np.where(handled[limited] > 1e-9, handled[limited], 0.0)
    return pd.DataFrame({
        "node": np.asarray(problem.site_ids, dtype=object)[limited], "handled": handled,
        "throughput": edges.throughput[limited], "utilisation": _use(handled, edges.throughput[limited]),
        "shadow_price": _prices(lp, solution, "node_throughput", len(limited), problem.scale),
    })


def bottlenecks(table: pd.DataFrame) -> pd.DataFrame:
    """The edges that limit the answer: full, with a positive price on their capacity (total or per resource).

    Column ``resource`` is empty for the total capacity, else the resource whose own capacity binds.
    """
    parts = [table[(table["utilisation"] >= FULL) & (table["shadow_price"] > 0)]
             .assign(resource="")[["from", "to", "resource", "shadow_price"]]]
    for column in [c for c in table.columns if c.startswith("shadow_price:")]:
        resource = column.split(":", 1)[1]
        full = (table[f"utilisation:{resource}"] >= FULL) & (table[column] > 0)
        parts.append(table[full].assign(resource=resource, shadow_price=table[column][full])
                     [["from", "to", "resource", "shadow_price"]])
    return pd.concat(parts, ignore_index=True)


def node_bottlenecks(table: pd.DataFrame) -> pd.DataFrame:
    """The throughput-limited nodes that limit the answer: full, with a positive price."""
    return table[(table["utilisation"] >= FULL) & (table["shadow_price"] > 0)]
