"""Bounded work: a time budget checked between units of work, and counts refused above a stated limit.

A run that repeats one unit of work many times (a lottery draw, a simulation shard, a bounds
sample) either holds what it makes in memory up to a limit stated up front (:func:`refuse_over`),
or is cut short by its time budget (:class:`Budget`): the budget is checked between units (after
each draw or sample; before each simulation shard starts, since shards run in parallel), so a unit
that has started finishes, at least one is done, and the result says how far it got.
"""

from __future__ import annotations

import math
import time

from allocator.core.errors import UsageError

#: rows a draws or simulation table may hold: kept in memory and written at the end (about 40
#: bytes a row in memory, 30 to 100 in a CSV), so a run asking for more is refused before it starts
MAX_TABLE_ROWS = 2_000_000
#: points of one frontier, and why no more
MAX_FRONTIER_POINTS = 1000
FRONTIER_POINTS_WHY = ("each point is one solve, and a chart of the frontier shows no more (between computed points "
                       "it is drawn as straight lines)")


def check_time_limit(value, name: str = "time_limit") -> float | None:
    """``value`` as seconds (``None``: no limit); refused unless a positive finite number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0 and math.isfinite(value)):
        raise UsageError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def refuse_over(name: str, value: int, limit: int, why: str) -> None:
    """Raise :class:`UsageError` naming ``name``, ``value`` and ``limit`` when ``value > limit``."""
    if value > limit:
        raise UsageError(f"{name}: {value:,} is more than the limit of {limit:,}: {why}")


class Budget:
    """``time_limit`` seconds from its creation (``None``: unlimited), for one run's units of work."""

    def __init__(self, time_limit: float | None, name: str = "time_limit"):
        self.time_limit = check_time_limit(time_limit, name)
        self._end = None if self.time_limit is None else time.monotonic() + self.time_limit

    def expired(self) -> bool:
        """Whether the time has run out (never, without a limit)."""
        return self._end is not None and time.monotonic() >= self._end

    def stopped(self, done: int, total: int, units: str) -> dict:
        """What a run cut short reports: ``reason``, ``time_limit``, ``done``, ``total`` and a sentence."""
        return {"reason": "time_limit", "time_limit": self.time_limit, "done": done, "total": total,
                "note": f"the time limit ({self.time_limit:g} s) ran out after {done:,} of {total:,} {units}"}
