"""Reserve systems for rationing whole units (vaccines, ventilators): categories, eligibility, priorities.

After Pathak, Sonmez, Unver and Yenmez (2021, *Fair allocation of vaccines, ventilators and
antiviral treatments*). The supply of one resource is split into **categories** (e.g. 20% for
essential workers, 10% for disadvantaged areas, the rest **open**), each with an eligibility rule
(membership of groups) and a priority order over its eligible units (a score column, ties by a
seeded lottery). Every unit asks for one unit of the resource.

``sequential`` processes the categories in the given order (``order:``, default: as listed, then
open): each gives its places, one by one, to its highest-priority eligible units not yet served.
Places a reserve cannot fill revert to the open category (``unused: open``, soft reserves; given
when open is processed, or at the end if open came first) or are lost (``unused: lost``, hard
reserves).

``smart`` serves the most units any assignment of units to category places can serve (a maximum
matching, found by max-flow; unused places are never wasted on a category that cannot use them),
and among such assignments respects every category's priorities in the processing order: going
through the categories in order and through each category's priority list, a unit is given a
place in the category whenever the maximum number can still be served with it there. With hard
reserves this can serve more units than sequential processing, which may hand a unit a place it
could have done without while a later reserve finds nobody eligible left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from allocator.core.scalars import Count, Identifier, Number

OPEN = "open"


class Priority(BaseModel):
    """A priority order: by a numeric units column, highest first unless ``order: ascending``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    score: Identifier
    order: Literal["descending", "ascending"] = "descending"


class Category(BaseModel):
    """A reserve category: a share of the supply, who is eligible, and in which order."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: Identifier
    share: Number = Field(gt=0, le=1)
    attribute: Identifier
    groups: tuple[Identifier, ...] = Field(min_length=1)
    priority: Priority | None = None  # default: the reserve system's baseline priority


class Reserves(BaseModel):
    """The ``reserves:`` section of a scenario (see docs/rules.md, "Reserve systems")."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    resource: Identifier | None = None
    categories: tuple[Category, ...] = Field(min_length=1)
    priority: Priority  # the baseline order, used by the open category and by categories without their own
    method: Literal["sequential", "smart"] = "sequential"
    seed: Count = Field(0, ge=0)
    #: processing order of the category ids, ``open`` included (default: as listed, then open)
    order: tuple[Identifier, ...] | None = None
    #: where unused reserve places go: to the open category (soft reserves) or nowhere (hard reserves)
    unused: Literal["open", "lost"] = "open"

    def processing_order(self) -> list[str]:
        names = [c.id for c in self.categories] + [OPEN]
        if self.order is None:
            return names
        if sorted(self.order) != sorted(names):
            raise ValueError(f"order must list every category once, open included: {', '.join(names)}")
        return list(self.order)


@dataclass(frozen=True)
class Placement:
    """Who is served, by which category (``None``: not served)."""

    category: list[str | None]


def rank(values: np.ndarray, order: str, lottery: np.ndarray) -> np.ndarray:
    """Unit indices from first to last served: by score, ties by the lottery numbers."""
    key = -values if order == "descending" else values
    return np.lexsort((lottery, key))


def places(reserves: Reserves, supply: int) -> dict[str, int]:
    """Whole places per category: each reserve gets ``floor(share x supply)``, the open category the rest."""
    out = {c.id: int(np.floor(c.share * supply + 1e-9)) for c in reserves.categories}
    out[OPEN] = supply - sum(out.values())
    if out[OPEN] < 0:
        raise ValueError("the reserve shares add up to more than the supply")
    return out


def allocate(reserves: Reserves, supply: int, eligible: dict[str, np.ndarray], orders: dict[str, np.ndarray],
             wanting: np.ndarray) -> Placement:
    """Place units (``wanting``: those asking for one) into categories by ``reserves.method``."""
    capacity = places(reserves, supply)
    names = reserves.processing_order()
    if reserves.method == "sequential":
        return _sequential(names, capacity, eligible, orders, wanting, reserves.unused == "open")
    placed = _smart(names, capacity, eligible, orders, wanting)
    if reserves.unused == "open":  # soft reserves: places the matching left empty go to the open category
        left = sum(capacity[name] for name in names) - sum(c is not None for c in placed.category)
        served = list(placed.category)
        for i in orders[OPEN]:
            if left == 0:
                break
            if wanting[i] and served[i] is None:
                served[i], left = OPEN, left - 1
        placed = Placement(served)
    return placed


def _sequential(names, capacity, eligible, orders, wanting, revert: bool) -> Placement:
    served: list[str | None] = [None] * len(wanting)

    def fill(name: str, room: int) -> int:
        for i in orders[name]:
            if room == 0:
                break
            if wanting[i] and served[i] is None and eligible[name][i]:
                served[i] = name
                room -= 1
        return room

    left, open_done = 0, False
    for name in names:
        room = fill(name, capacity[name] + (left if name == OPEN else 0))
        if name == OPEN:
            open_done, left = True, 0
        elif revert:
            left += room  # unused reserve places revert to the open category
    if revert and open_done and left:  # reserves processed after open: their unused places are given last
        fill(OPEN, left)
    return Placement(served)


def _smart(names, capacity, eligible, orders, wanting) -> Placement:
    n = len(wanting)
    fixed: dict[int, str] = {}
    best = _max_served(names, capacity, eligible, wanting, fixed)
    for name in names:
        for i in orders[name]:
            if not wanting[i] or i in fixed or not eligible[name][i]:
                continue
            if sum(1 for c in fixed.values() if c == name) >= capacity[name]:
                break
            fixed[i] = name
            if _max_served(names, capacity, eligible, wanting, fixed) < best:
                del fixed[i]
    served: list[str | None] = [fixed.get(i) for i in range(n)]
    return Placement(served)


def _max_served(names, capacity, eligible, wanting, fixed: dict[int, str]) -> int:
    """The most units servable with the ``fixed`` placements kept (max-flow units -> categories)."""
    import igraph

    n = len(wanting)
    edges, caps = [], []
    source, sink = 0, 1
    for i in range(n):
        if not wanting[i]:
            continue
        edges.append((source, 2 + i))
        caps.append(1.0)
        for k, name in enumerate(names):
            if (i in fixed and fixed[i] == name) or (i not in fixed and eligible[name][i]):
                edges.append((2 + i, 2 + n + k))
                caps.append(1.0)
    for k, name in enumerate(names):
        edges.append((2 + n + k, sink))
        caps.append(float(capacity[name]))
    graph = igraph.Graph(n=2 + n + len(names), edges=edges, directed=True)
    return int(round(graph.maxflow(source, sink, capacity=caps).value))
