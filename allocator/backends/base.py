"""The solver protocol: every backend takes an :class:`~allocator.lp.LPModel` and returns an :class:`LPSolution`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from allocator.lp import LPModel
from allocator.status import Status


@dataclass(frozen=True)
class SolverOptions:
    """Options every backend understands.

    Attributes
    ----------
    time_limit : float or None
        Seconds for one LP solve; ``None`` for no limit.
    threads : int or None
        Solver threads (``None``: the solver's default).
    """

    time_limit: float | None = None
    threads: int | None = None


@dataclass(frozen=True, eq=False)
class LPSolution:
    """What a backend returns for one LP.

    ``row_dual[i]`` is the marginal change of the optimal objective per unit increase of
    row ``i``'s binding bound (its shadow price), in the maximisation sense: a row that
    limits the objective at its upper bound has a non-negative dual, one that limits it at
    its lower bound a non-positive dual. ``None`` when the backend cannot provide duals.
    """

    status: Status
    x: np.ndarray | None
    objective: float
    row_dual: np.ndarray | None
    seconds: float
    message: str = ""


@runtime_checkable
class Backend(Protocol):
    """A solver backend. Never imports its solver at ``import allocator``."""

    name: str

    def is_available(self) -> bool: ...

    def unavailable_reason(self) -> str:
        """What to install (and what is available instead) when :meth:`is_available` is false."""
        ...

    def version(self) -> str: ...

    def solve(self, model: LPModel, options: SolverOptions) -> LPSolution: ...

    def write(self, model: LPModel, path: str) -> None: ...
