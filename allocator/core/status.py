"""Solve statuses, shared by every backend and the result."""

from enum import StrEnum


class Status(StrEnum):
    """Outcome of one LP solve or of a whole rule."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    ERROR = "error"
