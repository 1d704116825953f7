"""Solve statuses, shared by every backend and the result."""

from enum import StrEnum


class Status(StrEnum):
    """Outcome of one LP solve, of a whole rule, or of an analysis that makes many solves or draws.

    An analysis (a lottery's draws, bounds' samples, a simulation) is ``COMPLETE`` when it ran to
    the end and ``TIME_LIMIT`` when the time ran out first and it holds what was finished.
    """

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    ERROR = "error"
    COMPLETE = "complete"
