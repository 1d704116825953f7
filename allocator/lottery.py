"""Fair lotteries over whole units: a fractional allocation as the probabilities of integer ones.

Take any rule's fractional (divisible) solution ``x``: flows ``x_is`` from site ``s`` to unit ``i``
for each resource. With whole-number demands and stocks, the flows of one resource form a
bipartite graph whose two sides carry the demand and supply constraints, a *bihierarchy* in the
sense of Budish, Che, Kojima and Milgrom (AER 2013), so ``x`` is a convex combination of integer
allocations that meet every demand and every stock. The draws here come from **dependent
rounding** (Gandhi, Khuller, Parthasarathy and Srinivasan, JACM 2006), which realises such a
combination: repeatedly take a cycle, or a maximal path, of edges with fractional flow, and move
flow alternately up and down along it by ``alpha`` (probability ``beta / (alpha + beta)``) or down
and up by ``beta`` (otherwise), the largest steps that keep every edge in ``[floor, ceil]``. Each
step makes at least one edge whole, keeps every vertex's total within the floor and ceiling of
its fractional total, and keeps every edge's expectation. Hence every draw respects supply and
demand, and ``E[draw] = x`` exactly. Constraints that tie units together (floors, group
constraints) hold in expectation, not in every draw; exclusive sets are refused.

The exact decomposition enumerates both branches of every step (``decomposition``) when the
number of distinct outcomes stays small; draws sample one branch per step with a seeded
generator, so the same seed gives the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from allocator.errors import UsageError
from allocator.scenario.model import Scenario
from allocator.solving import solve

#: values this close to a whole number are whole
WHOLE = 1e-7
#: the exact decomposition is enumerated up to this many distinct integer allocations
MAX_OUTCOMES = 2000


@dataclass(frozen=True, eq=False)
class Lottery:
    """A fractional allocation and integer allocations realising it.

    Attributes
    ----------
    expected : DataFrame
        ``unit, resource, site, expected`` (the fractional flows: the probabilities' target).
    draws : DataFrame
        ``draw, unit, resource, site, quantity`` (positive quantities of each seeded draw).
    decomposition : DataFrame or None
        ``allocation, probability, unit, resource, site, quantity``: every integer allocation the
        rounding can produce with its exact probability, or ``None`` if there are too many.
    """

    rule: str
    seed: int
    expected: pd.DataFrame
    draws: pd.DataFrame
    decomposition: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    inputs: tuple[str, ...] = ()


def lottery(scenario: Scenario, rule="leximin", *, draws: int = 100, seed: int = 0, constraints=None,
            solver: str = "highs") -> Lottery:
    """Solve ``scenario`` fractionally under ``rule`` and draw whole-unit allocations with that expectation.

    Every resource is treated as divisible for the fractional solve; demands and stocks must be
    whole numbers (so that the rounded allocations can respect them).

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "one slot", "resources": [{"id": "slot", "divisible": False}],
    ...     "supply": {"slot": 1}, "units": [{"id": "a", "demand": 1}, {"id": "b", "demand": 1}]})
    >>> d = lottery(s, "maxmin", draws=0).decomposition
    >>> sorted(d.groupby("allocation")["probability"].first().round(6).tolist())
    [0.5, 0.5]
    """
    if draws < 0:
        raise UsageError(f"draws must be 0 or more, got {draws}")
    if seed < 0:  # numpy's generator refuses it with a bare ValueError
        raise UsageError(f"the seed must be a whole number >= 0, got {seed}")
    if scenario.exclusive:
        # rounding each (unit, resource) on its own could hand a unit two members of a set
        raise UsageError("a lottery over exclusive sets is not supported: the rounding could give a unit two "
                         "of its exclusive resources; solve whole units directly instead")
    _check_whole(scenario)
    fractional = scenario._derive(resources=tuple(r.model_copy(update={"divisible": True})
                                                  for r in scenario.resources))
    result = solve(fractional, rule, constraints, solver=solver)
    flows = _flow_frame(result, scenario)
    rng = np.random.default_rng(seed)
    values = flows["expected"].to_numpy()
    graph = _graph(flows)
    rows = []
    for k in range(draws):
        rounded = _dependent_round(values, graph, rng)
        for j in np.flatnonzero(rounded > 0.5):
            rows.append((k, flows["unit"].iat[j], flows["resource"].iat[j], flows["site"].iat[j], int(round(rounded[j]))))
    drawn = pd.DataFrame(rows, columns=["draw", "unit", "resource", "site", "quantity"])
    decomposition = _decompose(values, graph, flows)
    notes = [] if decomposition is not None else [f"more than {MAX_OUTCOMES} distinct allocations: no exact "
                                                  "decomposition listed (the draws still have the exact expectation)"]
    return Lottery(result.rule["name"], seed, flows, drawn, decomposition, notes,
                   inputs=scenario.input_paths)


def _check_whole(scenario: Scenario) -> None:
    demand = scenario.units.demand
    stocks = ([q for s in scenario.sites for q in s.supply.values()] if scenario.sites is not None
              else list((scenario.supply or {}).values()))
    bad = [f"demand of unit {scenario.units.ids[i]}" for i in np.flatnonzero(np.any(np.abs(demand - np.round(demand)) > WHOLE,
                                                                                   axis=1))[:3]]
    bad += ["a stock" for q in stocks if abs(q - round(q)) > WHOLE][:1]
    if bad:
        raise UsageError("a lottery over whole units needs whole-number demands and stocks; not whole: "
                         + ", ".join(bad))


def _flow_frame(result, scenario: Scenario) -> pd.DataFrame:
    if result.flows is not None:
        frame = result.flows.rename(columns={"quantity": "expected"})
    else:  # pooled supply: one site per resource
        frame = result.allocations[["unit", "resource", "allocated"]].rename(columns={"allocated": "expected"})
        frame = frame[frame["expected"] > 0].assign(site="(pool)")[["unit", "resource", "site", "expected"]]
    return frame.reset_index(drop=True)


def _graph(flows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Vertex ids of each flow's two ends: (unit, resource) and (site, resource) nodes."""
    units = pd.MultiIndex.from_frame(flows[["unit", "resource"]]).factorize()[0]
    sites = pd.MultiIndex.from_frame(flows[["site", "resource"]]).factorize()[0] + (units.max() + 1 if len(units) else 0)
    return units, sites


def _steps(x: np.ndarray, graph) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
    """The next rounding step: the edges of one cycle or maximal path of fractional edges, their signs, alpha, beta."""
    ends_a, ends_b = graph
    fractional = np.flatnonzero(np.abs(x - np.round(x)) > WHOLE)
    if not len(fractional):
        return []
    adjacency: dict[int, list[int]] = {}
    for e in fractional:
        adjacency.setdefault(int(ends_a[e]), []).append(int(e))
        adjacency.setdefault(int(ends_b[e]), []).append(int(e))
    start = next((v for v, es in adjacency.items() if len(es) == 1), next(iter(adjacency)))
    walk, seen, node, previous = [], {start: 0}, start, -1
    while True:
        choices = [e for e in adjacency[node] if e != previous]
        if not choices:
            break
        edge = choices[0]
        node = int(ends_b[edge]) if int(ends_a[edge]) == node else int(ends_a[edge])
        walk.append(edge)
        if node in seen:  # a cycle: keep only its edges
            walk = walk[seen[node]:]
            break
        seen[node] = len(walk)
        previous = edge
    edges = np.array(walk)
    signs = np.where(np.arange(len(edges)) % 2 == 0, 1.0, -1.0)
    frac = x[edges] - np.floor(x[edges])
    alpha = float(np.min(np.where(signs > 0, 1 - frac, frac)))
    beta = float(np.min(np.where(signs > 0, frac, 1 - frac)))
    return [(edges, signs, alpha, beta)]


def _dependent_round(values: np.ndarray, graph, rng: np.random.Generator) -> np.ndarray:
    x = values.astype(float).copy()
    while True:
        step = _steps(x, graph)
        if not step:
            return np.round(x)
        edges, signs, alpha, beta = step[0]
        if rng.random() < beta / (alpha + beta):
            x[edges] += alpha * signs
        else:
            x[edges] -= beta * signs


def _decompose(values: np.ndarray, graph, flows: pd.DataFrame) -> pd.DataFrame | None:
    """Every outcome of the rounding with its probability (both branches of every step), merged."""
    outcomes: dict[tuple, float] = {}
    stack = [(values.astype(float).copy(), 1.0)]
    while stack:
        x, probability = stack.pop()
        step = _steps(x, graph)
        if not step:
            key = tuple(np.round(x).astype(int))
            outcomes[key] = outcomes.get(key, 0.0) + probability
            if len(outcomes) > MAX_OUTCOMES:
                return None
            continue
        edges, signs, alpha, beta = step[0]
        up, down = x.copy(), x.copy()
        up[edges] += alpha * signs
        down[edges] -= beta * signs
        stack.append((up, probability * beta / (alpha + beta)))
        stack.append((down, probability * alpha / (alpha + beta)))
        if len(stack) > 50 * MAX_OUTCOMES:
            return None
    rows = []
    for k, (key, probability) in enumerate(sorted(outcomes.items(), key=lambda item: -item[1])):
        for j in np.flatnonzero(np.array(key) > 0):
            rows.append((k, probability, flows["unit"].iat[j], flows["resource"].iat[j], flows["site"].iat[j], key[j]))
    return pd.DataFrame(rows, columns=["allocation", "probability", "unit", "resource", "site", "quantity"])


def save_lottery(result: Lottery, folder, *, force: bool = False, inputs=()):
    """Write ``expected.csv``, ``draws.csv``, ``decomposition.csv`` (when small) and ``summary.json`` atomically."""
    inputs = tuple(inputs) or result.inputs  # never over a file the scenario was read from
    from allocator.result import save_tables

    tables = {"expected.csv": result.expected, "draws.csv": result.draws}
    if result.decomposition is not None:
        tables["decomposition.csv"] = result.decomposition
    summary = {"rule": result.rule, "seed": result.seed, "draws": int(result.draws["draw"].nunique()),
               "allocations_in_decomposition": None if result.decomposition is None
               else int(result.decomposition["allocation"].nunique()), "notes": result.notes}
    return save_tables(folder, tables, {"summary.json": summary}, force=force, inputs=inputs)
