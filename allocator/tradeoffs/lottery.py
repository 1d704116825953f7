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
from enum import Enum
from typing import Callable

import numpy as np
import pandas as pd

from allocator.backends.base import SolverLike
from allocator.core.arguments import Seconds, Whole, checked
from allocator.core.budget import MAX_TABLE_ROWS, Budget, refuse_over
from allocator.core.errors import UsageError
from allocator.core.status import Status
from allocator.model.problem import Problem
from allocator.results.analysis import Analysis
from allocator.scenario.load import ScenarioLike
from allocator.scenario.model import Scenario
from allocator.solving.api import solve

#: values this close to a whole number are whole
WHOLE = 1e-7
#: the exact decomposition is enumerated up to this many distinct integer allocations
MAX_OUTCOMES = 2000
#: draws made between two progress reports
DRAW_CHUNK = 1000


class Unlisted(Enum):
    """Why the exact decomposition is not listed."""

    TOO_MANY = "more than MAX_OUTCOMES distinct allocations"
    TIME = "the time limit ran out first"


@dataclass(frozen=True, eq=False)
class Lottery(Analysis):
    """A fractional allocation and integer allocations realising it.

    ``save`` writes ``expected.csv`` (the ``table``), ``draws.csv``, ``decomposition.csv`` (when
    listed) and ``summary.json``.

    Attributes
    ----------
    expected : DataFrame
        ``unit, resource, site, expected`` (the fractional flows: the probabilities' target).
    draws : DataFrame
        ``draw, unit, resource, site, quantity`` (positive quantities of each seeded draw; a draw
        that gives nobody anything has no row).
    decomposition : DataFrame or None
        ``allocation, probability, unit, resource, site, quantity``: every integer allocation the
        rounding can produce with its exact probability, or ``None`` if there are too many.
    count : int
        Draws made (fewer than asked when ``status`` is ``time_limit``).
    odds : tuple of float or None
        The probability of each allocation of ``decomposition``, in its order; an allocation that
        gives nobody anything is counted here although it has no row there.
    status : Status
        ``COMPLETE``, or ``TIME_LIMIT`` when the time ran out before every draw was made
        (``stopped`` says after how many).
    """

    rule: str
    seed: int
    expected: pd.DataFrame
    draws: pd.DataFrame
    decomposition: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    inputs: tuple[str, ...] = ()
    count: int = 0
    odds: tuple[float, ...] | None = None
    status: Status = Status.COMPLETE
    stopped: dict | None = None

    FILE = "expected.csv"

    @property
    def table(self) -> pd.DataFrame:
        """``unit, resource, site, expected``: the fractional flows the draws realise (``expected``)."""
        return self.expected

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {"expected.csv": self.expected, "draws.csv": self.draws}
        if self.decomposition is not None:
            tables["decomposition.csv"] = self.decomposition
        return tables

    def to_dict(self) -> dict:
        """Rule, seed, status, draws made, the decomposition's size and the notes (``summary.json``)."""
        summary = {"rule": self.rule, "seed": self.seed, "status": self.status.value, "draws": self.count,
                   "allocations_in_decomposition": None if self.odds is None else len(self.odds), "notes": self.notes}
        if self.stopped is not None:
            summary["stopped"] = self.stopped
        return summary


@checked
def lottery(scenario: ScenarioLike, *, rule=None, draws: Whole = 100, seed: Whole = 0, constraints=None,
            solver: SolverLike = "highs", time_limit: Seconds | None = None,
            progress: Callable[[int, int], None] | None = None) -> Lottery:
    """Solve ``scenario`` fractionally under ``rule`` and draw whole-unit allocations with that expectation.

    Every resource is treated as divisible for the fractional solve; demands and stocks must be
    whole numbers (so that the rounded allocations can respect them).

    Parameters
    ----------
    scenario : Scenario
    rule : rule, optional
        Whose fractional allocation gives the odds; default: the scenario's rule.
    constraints : constraint or list, optional
        Default: the scenario's.
    draws : int
        Seeded draws to make. The draws table is held in memory: ``draws`` times the flows the
        scenario allows may not exceed :data:`allocator.core.budget.MAX_TABLE_ROWS`, checked before
        anything is solved.
    time_limit : float, optional
        Seconds for the draws and the decomposition, from the call: checked after each draw (so
        at least one is made; the fractional solve is not cut short) and during the
        decomposition. When they run out, the draws made so far are kept, ``status`` is
        ``time_limit`` and ``stopped`` says after how many.
    progress : callable, optional
        Called with (draws made, draws asked) as the draws are made, in chunks.

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "one slot", "resources": [{"id": "slot", "divisible": False}],
    ...     "supply": {"slot": 1}, "units": [{"id": "a", "demand": 1}, {"id": "b", "demand": 1}]})
    >>> d = lottery(s, rule="maxmin", draws=0).decomposition
    >>> sorted(d.groupby("allocation")["probability"].first().round(6).tolist())
    [0.5, 0.5]
    """
    budget = Budget(time_limit)
    _check_request(scenario, draws, seed)
    fractional = scenario._derive(resources=tuple(r.model_copy(update={"divisible": True})
                                                  for r in scenario.resources))
    result = solve(fractional, rule=rule, constraints=constraints, solver=solver, withheld=False)
    flows = _flow_frame(result, scenario)
    values = flows["expected"].to_numpy()
    graph = _graph(flows)
    drawn, count = _drawn(flows, list(_draw_chunks(values, graph, np.random.default_rng(seed), draws, budget,
                                                   progress)))
    found = Unlisted.TIME if budget.expired() else _decompose(values, graph, budget)
    decomposition, odds = _outcome_table(found, flows) if isinstance(found, dict) else (None, None)
    stopped = budget.stopped(count, draws, "draws") if count < draws or found is Unlisted.TIME else None
    if stopped is not None and count == draws:  # every draw made: what the time cut short is the decomposition
        stopped["note"] = (f"the time limit ({budget.time_limit:g} s) ran out after all {draws:,} draws, before "
                           "the exact decomposition: the draws are complete, the odds table is not listed")
    return Lottery(result.rule["name"], seed, flows, drawn, decomposition,
                   _notes(result.rule["name"], values, found), inputs=scenario.input_paths,
                   count=count, odds=odds, status=Status.COMPLETE if stopped is None else Status.TIME_LIMIT, stopped=stopped)


def _check_request(scenario: Scenario, draws: int, seed: int) -> None:
    """Everything refused before any work (counts and seeds are checked by ``@checked``): exclusive
    sets, fractional demands or stocks."""
    if scenario.exclusive:
        # rounding each (unit, resource) on its own could hand a unit two members of a set
        raise UsageError("a lottery over exclusive sets is not supported: the rounding could give a unit two "
                         "of its exclusive resources; solve whole units directly instead")
    _check_whole(scenario)
    problem = Problem.from_scenario(scenario)
    # a row is a flow of at least one whole unit: no more rows than flows, nor than whole units can move
    movable = np.minimum(np.bincount(problem.pair_resource, weights=problem.pair_demand,
                                     minlength=len(problem.resource_ids)), problem.supply.sum(axis=0))
    rows = max(1, int(min(len(problem.flow_pair), np.floor(movable + 1e-9).sum())))
    refuse_over("draws", int(draws), MAX_TABLE_ROWS // rows,
                f"each draw may have up to {rows:,} row(s) (one per flow the scenario allows, each at least one "
                "whole unit), and the draws "
                f"table, held in memory and written whole, is limited to {MAX_TABLE_ROWS:,} rows; the exact "
                "decomposition gives the odds without drawing")


def _draw_chunks(values: np.ndarray, graph, rng: np.random.Generator, count: int, budget: Budget,
                 progress=None, chunk: int = DRAW_CHUNK):
    """The draws as compact arrays ``(draw, flow, quantity)`` and the draws made so far, ``chunk``
    draws at a time (so that only the compact arrays are held, not a row object per flow); stops
    early when ``budget`` runs out (checked after each draw)."""
    done = 0
    if progress is not None:
        progress(0, count)
    while done < count:
        numbers, flows, quantities = [], [], []
        for k in range(done, min(done + chunk, count)):
            rounded = _dependent_round(values, graph, rng)
            positive = np.flatnonzero(rounded > 0.5)
            numbers.append(np.full(len(positive), k))
            flows.append(positive)
            quantities.append(np.round(rounded[positive]).astype(np.int64))
            done = k + 1
            if budget.expired():
                break
        yield np.concatenate(numbers), np.concatenate(flows), np.concatenate(quantities), done
        if progress is not None:
            progress(done, count)
        if budget.expired():
            return


def _drawn(flows: pd.DataFrame, chunks: list) -> tuple[pd.DataFrame, int]:
    """The draws table from :func:`_draw_chunks`'s arrays, and how many draws were made."""
    numbers, index, quantities = (np.concatenate([np.zeros(0, np.int64), *(c[i] for c in chunks)]).astype(np.int64)
                                  for i in range(3))
    table = pd.DataFrame({"draw": numbers, **{c: flows[c].to_numpy()[index] for c in ("unit", "resource", "site")},
                          "quantity": quantities})
    return table, chunks[-1][3] if chunks else 0


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


def _decompose(values: np.ndarray, graph, budget: Budget) -> dict | Unlisted:
    """Every outcome of the rounding with its probability (both branches of every step), merged;
    ``Unlisted.TOO_MANY`` past :data:`MAX_OUTCOMES`, ``Unlisted.TIME`` when ``budget`` runs out."""
    outcomes: dict[tuple, float] = {}
    stack = [(values.astype(float).copy(), 1.0)]
    while stack:
        if budget.expired():
            return Unlisted.TIME
        x, probability = stack.pop()
        step = _steps(x, graph)
        if not step:
            key = tuple(np.round(x).astype(int))
            outcomes[key] = outcomes.get(key, 0.0) + probability
            if len(outcomes) > MAX_OUTCOMES:
                return Unlisted.TOO_MANY
            continue
        edges, signs, alpha, beta = step[0]
        up, down = x.copy(), x.copy()
        up[edges] += alpha * signs
        down[edges] -= beta * signs
        stack.append((up, probability * beta / (alpha + beta)))
        stack.append((down, probability * alpha / (alpha + beta)))
        if len(stack) > 50 * MAX_OUTCOMES:
            return Unlisted.TOO_MANY
    return outcomes


def _outcome_table(outcomes: dict, flows: pd.DataFrame) -> tuple[pd.DataFrame, tuple[float, ...]]:
    """The decomposition's rows (most likely allocation first) and the probability of each allocation."""
    ranked = sorted(outcomes.items(), key=lambda item: -item[1])
    rows = []
    for k, (key, probability) in enumerate(ranked):
        for j in np.flatnonzero(np.array(key) > 0):
            rows.append((k, probability, flows["unit"].iat[j], flows["resource"].iat[j], flows["site"].iat[j], key[j]))
    table = pd.DataFrame(rows, columns=["allocation", "probability", "unit", "resource", "site", "quantity"])
    return table, tuple(probability for _, probability in ranked)


def _notes(rule: str, values: np.ndarray, found) -> list[str]:
    """Plain sentences for what the numbers alone would not say (never a NaN: see docs/solving.md)."""
    notes = []
    if not (values > WHOLE).any():
        notes.append(f"nothing to draw: the {rule} allocation gives nobody anything (no supply, no demand or no "
                     "access), so every draw is the empty allocation")
    elif np.all(np.abs(values - np.round(values)) <= WHOLE):
        notes.append(f"no randomness: the {rule} allocation is already in whole units, so every draw is that "
                     "allocation (probability 1)")
    if found is Unlisted.TOO_MANY:
        notes.append(f"more than {MAX_OUTCOMES} distinct allocations: no exact decomposition listed (the draws "
                     "still have the exact expectation)")
    elif found is Unlisted.TIME:
        notes.append("the time limit ran out before the exact decomposition was listed")
    return notes
