"""Solver backends behind one protocol; :func:`get_backend` picks one by name."""

from __future__ import annotations

from allocator.backends.base import Backend, LPSolution, SolverOptions
from allocator.backends.highs import HighsBackend
from allocator.backends.pulp import PulpBackend
from allocator.core.errors import UsageError

__all__ = ["Backend", "LPSolution", "SolverOptions", "get_backend", "fallback_for", "BACKEND_NAMES"]

BACKEND_NAMES = ("highs", "pulp", "pulp:<PuLP solver name>")


def get_backend(name: str | Backend = "highs") -> Backend:
    """Return the backend for ``"highs"``, ``"pulp"`` or ``"pulp:<PuLP solver name>"``.

    Examples
    --------
    >>> get_backend("pulp:GLPK_CMD").name
    'pulp:GLPK_CMD'
    """
    if not isinstance(name, str):
        return name
    kind, _, detail = name.partition(":")
    if kind == "highs" and not detail:
        return HighsBackend()
    if kind == "pulp":
        backend = PulpBackend(detail or None)
        backend.check_name()
        return backend
    raise UsageError(f"unknown solver {name!r}; expected one of: {', '.join(BACKEND_NAMES)}")


def fallback_for(backend: Backend) -> Backend | None:
    """The backend to retry a numerically failed stage on: PuLP/CBC after HiGHS, HiGHS after anything else.

    ``None`` when that backend is not installed.
    """
    other: Backend = PulpBackend(None) if backend.name == "highs" else HighsBackend()
    return other if other.is_available() else None
