"""The solver protocol: every backend takes an :class:`~allocator.model.lp.LPModel` and returns an :class:`LPSolution`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from allocator.core.arguments import instance
from allocator.core.status import Status
from allocator.model.lp import LPModel


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
    #: a bound on the optimum the solver proved (a MIP's dual bound), when it gives one
    bound: float | None = None


def solve_without_coefficients(model: LPModel) -> LPSolution:
    """Solve an LP whose matrix has no entries (nothing can flow): every row's activity is 0.

    Solvers disagree on such models (HiGHS calls them empty, PuLP drops empty constraints),
    so both backends answer them here: infeasible if some row excludes 0, otherwise every
    column at its best bound.
    """
    if np.any(model.row_lower > 0) or np.any(model.row_upper < 0):
        return LPSolution(Status.INFEASIBLE, None, float("nan"), None, 0.0, "a row with no entries excludes 0")
    x = np.where(model.cost > 0, model.col_upper, np.where(model.cost < 0, model.col_lower, 0.0))
    x = np.clip(x, model.col_lower, model.col_upper)
    if not np.all(np.isfinite(x)):
        return LPSolution(Status.UNBOUNDED, None, float("nan"), None, 0.0)
    return LPSolution(Status.OPTIMAL, x, float(model.cost @ x), np.zeros(model.num_rows), 0.0)


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


#: a ``solver=`` argument of the library's functions: a backend, or its name
SolverLike = instance((str, Backend), "a solver name: 'highs', 'pulp' or 'pulp:<PuLP solver name>'")
