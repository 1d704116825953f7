"""Leximin by the bottleneck decomposition of a flow network (one resource, no group constraints).

With one resource held at sites, links, and no constraint beyond supply and demand, the
allocations ``a`` form a polymatroid: ``a(S) <= q(N(S))`` for every set ``S`` of units, with
``N(S)`` the sites they link to, and ``0 <= a <= d``. Its fill-rate leximin point is Fujishige's
lexicographically optimal base (Fujishige 1980), found by peeling off bottlenecks:

.. math::

    t_1 = \\min\\Big(1, \\min_{S} \\frac{q(N(S))}{d(S)}\\Big)

Every unit of the largest minimising set ``S_1`` gets fill rate ``t_1``; ``S_1`` uses up the sites
``N(S_1)``, so both are removed and the rest is decomposed the same way. Each ``t`` is found by
Newton (Dinkelbach) steps on minimum cuts of the network source -> unit (capacity ``t d_i``) ->
linked site -> sink (capacity ``q_s``): a cut smaller than ``t d(U)`` names a set ``S`` whose
ratio ``q(N(S))/d(S)`` is the next, lower, ``t``. The largest minimising set is the source side of
a minimum cut at ``t (1 + 1e-9)``. A final maximum flow with capacities ``t_i d_i`` gives the flows.

Max-flows run in igraph (double-precision capacities, push-relabel in C). On such networks the
leximin point also maximises the total delivered (Megiddo 1974), and with one resource every
optimal allocation gives each unit the same amount, so total value is fixed too.
"""

from __future__ import annotations

import functools
import importlib.util
import time

import numpy as np

from allocator.core.sparse import sparse as sp
from allocator.core.tolerance import BINARY_ROUNDOFF, FLOAT_ROUNDOFF
from allocator.model.problem import Problem

#: relative step above a level at which the largest bottleneck set is read off a minimum cut (not a
#: feasibility verdict: it picks which cut is read, see docs/solving.md, "Tolerance policy")
TIE = 1e-9
MAX_NEWTON_STEPS = 200
#: the largest relative shave of unit capacities a final flow may need (:meth:`FlowNetwork.flows_for`):
#: 100 times below the policy's tolerance, and far below the reported precision (1e-6)
MAX_SHAVE = 1e-9


def _shaves(n: int):
    """No shave, then ``4 n`` machine epsilons doubling up to ``MAX_SHAVE``."""
    yield 0.0
    shave = 4 * max(n, 1) * np.finfo(float).eps
    while shave < MAX_SHAVE:
        yield shave
        shave *= 2
    yield MAX_SHAVE


def certified(net: "FlowNetwork", edge_flow: np.ndarray, caps: np.ndarray) -> bool:
    """Whether link flows give every unit its capacity and keep every site within its supply.

    Checked on the sums the outputs report: each unit's amount at least ``caps`` less
    ``BINARY_ROUNDOFF`` (relative), each site's shipments at most its supply plus ``FLOAT_ROUNDOFF``
    (relative). A unit cannot get more than its capacity: the source edge caps its inflow.
    """
    problem = net.problem
    delivered = np.bincount(net.unit_of_link, weights=edge_flow, minlength=net.n)
    shipped = np.bincount(problem.flow_site[net.links], weights=edge_flow, minlength=net.m)
    return bool(np.all(delivered >= caps * (1 - BINARY_ROUNDOFF))
                and np.all(shipped <= net.supply * (1 + FLOAT_ROUNDOFF)))



def applies(model, over: str | None) -> bool:
    """One divisible resource, unit (not group) rates, no constraints, and igraph installed."""
    return (len(model.problem.resource_ids) == 1 and over is None and not model.constraints
            and model.problem.all_divisible and model.problem.network is None and has_igraph())


@functools.cache
def has_igraph() -> bool:
    """Whether igraph can be imported (looked up once: simulations ask on every draw)."""
    return importlib.util.find_spec("igraph") is not None


def solve_by_bottlenecks(model, runner) -> tuple[np.ndarray, dict] | None:
    """Flows (in the LP's units) and equity levels by the decomposition, recorded as one stage.

    ``None`` if the final flow fell short of the levels (the caller then uses the LP method).
    """
    problem = model.problem
    start = time.perf_counter()
    found = leximin_by_bottlenecks(problem, np.flatnonzero(problem.pair_reachable))
    seconds = time.perf_counter() - start
    if found is None:
        runner.record("bottleneck decomposition", float("nan"), seconds, "final max-flow fell short; LP method used")
        return None
    levels, flows = found
    distinct = sorted({float(level) for level in levels})
    runner.record("bottleneck decomposition", float(problem.pair_value[problem.flow_pair] @ flows), seconds,
                  f"max-flow (igraph), {len(distinct)} levels")
    return flows / problem.scale, {"level": distinct[0] if distinct else None, "levels": distinct}


class FlowNetwork:
    """source -> units -> sites -> sink, one igraph graph reused with new capacities."""

    def __init__(self, problem: Problem, units: np.ndarray):
        import igraph

        self.problem = problem
        self.units = units  # pair index of every unit node
        n, m = len(units), len(problem.site_ids)
        node_of_pair = np.full(problem.num_pairs, -1)
        node_of_pair[units] = 2 + np.arange(n)
        links = np.flatnonzero(node_of_pair[problem.flow_pair] >= 0)
        self.links = links
        self.unit_of_link = np.searchsorted(units, problem.flow_pair[links])  # unit node of every link
        self.site_node = 2 + n + np.arange(m)
        edges = np.concatenate([
            np.stack([np.zeros(n, dtype=np.int64), 2 + np.arange(n)], axis=1),
            np.stack([node_of_pair[problem.flow_pair[links]], self.site_node[problem.flow_site[links]]], axis=1),
            np.stack([self.site_node, np.ones(m, dtype=np.int64)], axis=1),
        ])
        self.graph = igraph.Graph(n=2 + n + m, edges=edges, directed=True)
        self.n, self.m = n, m
        # unit x site incidence, to read N(S) off a set of units
        self.adjacency = sp.csr_array((np.ones(len(links)), (self.unit_of_link, problem.flow_site[links])),
                                      shape=(n, m))
        self.demand = problem.pair_demand[units]
        self.supply = problem.supply[:, 0].astype(float)
        self.unbounded = float(self.supply.sum() + self.demand.sum()) * 2 + 1.0

    def max_flow(self, unit_caps: np.ndarray, site_caps: np.ndarray, link_caps: np.ndarray | None = None):
        """Maximum flow; links are uncapacitated unless ``link_caps`` is given (cuts then cross no link)."""
        if link_caps is None:
            link_caps = np.full(len(self.links), self.unbounded)
        caps = np.concatenate([unit_caps, link_caps, site_caps])
        return self.graph.maxflow(0, 1, capacity=caps.tolist())

    def flows_for(self, levels: np.ndarray) -> np.ndarray | None:
        """Flows (real units, one per problem flow) giving every unit ``levels * demand``, certified.

        A max-flow in floating point may leave the round-off of a full site's sum on one unit: at
        2,000,000 units the last one came out 5e-5 below the level while the total was right to
        2e-11. So the answer is certified unit by unit (:func:`certified`); if it fails, the unit
        capacities are shaved by a relative amount (about the round-off of a sum of every
        unit's amount, ``n`` x machine epsilon, doubled up to ``MAX_SHAVE``), so that no site is
        full to the last bit and every unit gets its whole capacity. ``None`` if no shave passes
        (the caller then uses the LP method).
        """
        target = levels * self.demand
        for shave in _shaves(self.n):
            caps = target * (1 - shave)
            # each link capped at its unit's amount: the same flows, but igraph reads a link's flow as
            # capacity minus residual, which loses ulp(capacity): with a huge stand-in for
            # "uncapacitated" that was 1e-8 of the unit's amount at 2,000,000 units
            final = self.max_flow(caps, self.supply, caps[self.unit_of_link])
            edge_flow = np.maximum(np.asarray(final.flow, dtype=float)[self.n:self.n + len(self.links)], 0.0)
            if certified(self, edge_flow, caps):
                flows = np.zeros(self.problem.num_flows)
                flows[self.links] = edge_flow
                return flows
        return None

    def neighbours(self, units: np.ndarray) -> np.ndarray:
        """Sites linked to any unit in the mask ``units``."""
        return np.asarray(self.adjacency[np.flatnonzero(units)].sum(axis=0)).ravel() > 0

    def ratio(self, units: np.ndarray, sites_left: np.ndarray) -> float:
        """``q(N(S)) / d(S)`` for the set ``S`` = ``units``, counting only sites still in play."""
        return float(self.supply[self.neighbours(units) & sites_left].sum() / self.demand[units].sum())

    def source_side_units(self, flow) -> np.ndarray:
        side = np.asarray(flow.partition[0])
        side = side[(side >= 2) & (side < 2 + self.n)] - 2
        mask = np.zeros(self.n, dtype=bool)
        mask[side] = True
        return mask


def leximin_by_bottlenecks(problem: Problem, units: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Leximin fill rates of the pairs ``units`` (one resource) and the flows realising them.

    Returns ``(levels, flows)`` with ``flows`` in real units, or ``None`` if the final flow does
    not realise the levels (a numerical failure the caller answers with the LP method).
    """
    net = FlowNetwork(problem, units)
    levels = np.full(net.n, np.nan)
    active = np.ones(net.n, dtype=bool)
    sites_left = np.ones(net.m, dtype=bool)
    while active.any():
        level, tight = _next_bottleneck(net, active, sites_left)
        levels[tight] = level
        active &= ~tight
        sites_left &= ~net.neighbours(tight)
    flows = net.flows_for(levels)
    return None if flows is None else (levels, flows)


def lowest_bottleneck(problem: Problem, units: np.ndarray) -> tuple[float, np.ndarray, FlowNetwork]:
    """The max-min level of the pairs ``units`` and which of them are held at it in every optimum."""
    net = FlowNetwork(problem, units)
    level, tight = _next_bottleneck(net, np.ones(net.n, dtype=bool), np.ones(net.m, dtype=bool))
    return level, tight, net


def _next_bottleneck(net: FlowNetwork, active: np.ndarray, sites_left: np.ndarray):
    """The lowest level among ``active`` units and the largest set of them held at it."""
    site_caps = np.where(sites_left, net.supply, 0.0)
    level = min(1.0, net.ratio(active, sites_left))
    for _ in range(MAX_NEWTON_STEPS):
        flow = net.max_flow(np.where(active, level * net.demand, 0.0), site_caps)
        wanted = float((level * net.demand[active]).sum())
        if flow.value >= wanted * (1 - BINARY_ROUNDOFF):
            break
        short = net.source_side_units(flow) & active
        if not short.any():
            break
        lower = net.ratio(short, sites_left)
        if lower >= level:
            break
        level = lower
    if level >= 1.0:  # everyone left can be served in full
        return 1.0, active.copy()
    above = net.max_flow(np.where(active, level * (1 + TIE) * net.demand, 0.0), site_caps)
    tight = net.source_side_units(above) & active
    if not tight.any():  # numerically everyone can rise: they all stop here
        tight = active.copy()
    return level, tight
