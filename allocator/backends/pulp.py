"""The portable backend: the same LP through PuLP, with CBC (bundled) or any solver PuLP knows.

``pulp`` uses CBC; ``pulp:GLPK_CMD``, ``pulp:HiGHS`` and the like pick another PuLP solver
by its PuLP name. PuLP has no ranged rows, so a row with two finite, different bounds
becomes two constraints; its dual is the sum of the two.
"""

from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np

from allocator.backends.base import LPSolution, SolverOptions, solve_without_coefficients
from allocator.core.errors import SolverUnavailableError, UsageError
from allocator.core.status import Status
from allocator.model.lp import LPModel

DEFAULT_SOLVER = "PULP_CBC_CMD"


def _pulp():
    try:
        import pulp
    except ImportError as exc:
        raise SolverUnavailableError("PuLP is not installed: run 'pip install pulp'") from exc
    return pulp


@contextlib.contextmanager
def _pulp_quiet():
    """PuLP 3.x warns about its own 4.0 API changes; the calls used here work on 2.8 to 3.x."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulp(\..*)?")
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*PuLP 4.0.*")
        yield


class PulpBackend:
    """Solve through PuLP with solver ``solver_name`` (default CBC)."""

    def __init__(self, solver_name: str | None = None):
        self.solver_name = solver_name or DEFAULT_SOLVER
        self.name = "pulp" if solver_name is None else f"pulp:{solver_name}"

    def is_available(self) -> bool:
        try:
            pulp = _pulp()
        except SolverUnavailableError:
            return False
        with _pulp_quiet():
            return self.solver_name in pulp.listSolvers(onlyAvailable=True)

    def check_name(self) -> None:
        """An unknown solver name is a usage error (exit 2); a known one not installed is a solver error."""
        pulp = _pulp()
        with _pulp_quiet():
            known = pulp.listSolvers()
        if self.solver_name not in known:
            raise UsageError(f"unknown PuLP solver {self.solver_name!r}; PuLP knows: {', '.join(known)}")

    def unavailable_reason(self) -> str:
        try:
            pulp = _pulp()
        except SolverUnavailableError as exc:
            return str(exc)
        with _pulp_quiet():
            available = ", ".join(pulp.listSolvers(onlyAvailable=True))
        return (f"PuLP solver {self.solver_name} is not available on this machine (install it, or use one "
                f"that is available: {available})")

    def version(self) -> str:
        return f"PuLP {_pulp().__version__} / {self.solver_name}"

    def build(self, model: LPModel):
        """The PuLP problem and, per LP row, the names of the PuLP constraints that carry it."""
        pulp = _pulp()
        prob = pulp.LpProblem("allocator", pulp.LpMaximize)
        names = model.column_names()
        lows = [None if not np.isfinite(v) else float(v) for v in model.col_lower]
        highs = [None if not np.isfinite(v) else float(v) for v in model.col_upper]
        new_variable = getattr(prob, "add_variable", None) or pulp.LpVariable
        columns = [new_variable(n, lo, hi) for n, lo, hi in zip(names, lows, highs)]
        if model.is_mip:
            for j in np.flatnonzero(model.integer):
                columns[j].cat = pulp.LpInteger
        nz = np.flatnonzero(model.cost)
        prob += pulp.LpAffineExpression([(columns[j], float(model.cost[j])) for j in nz])
        matrix = model.matrix
        row_names = model.row_names()
        carriers: list[list] = []
        for i in range(model.num_rows):
            start, stop = matrix.indptr[i], matrix.indptr[i + 1]
            expr = pulp.LpAffineExpression(
                [(columns[j], float(v)) for j, v in zip(matrix.indices[start:stop], matrix.data[start:stop])])
            lo, hi = model.row_lower[i], model.row_upper[i]
            parts = []
            if np.isfinite(lo) and np.isfinite(hi) and lo == hi:
                parts.append((f"{row_names[i]}_eq", pulp.LpConstraint(expr, pulp.LpConstraintEQ, rhs=float(lo))))
            else:
                if np.isfinite(lo):
                    parts.append((f"{row_names[i]}_lo", pulp.LpConstraint(expr, pulp.LpConstraintGE, rhs=float(lo))))
                if np.isfinite(hi):
                    parts.append((f"{row_names[i]}_hi", pulp.LpConstraint(expr, pulp.LpConstraintLE, rhs=float(hi))))
            for name, constraint in parts:
                prob.addConstraint(constraint, name)
            carriers.append([constraint for _, constraint in parts])
        return prob, columns, carriers

    def _solver(self, options: SolverOptions):
        pulp = _pulp()
        kwargs: dict[str, object] = {"msg": False}
        if options.time_limit is not None:
            kwargs["timeLimit"] = options.time_limit
        if options.threads:
            kwargs["threads"] = options.threads
        self.check_name()
        solver = pulp.getSolver(self.solver_name, **kwargs)
        if not solver.available():
            raise SolverUnavailableError(
                f"PuLP solver {self.solver_name} is not available on this machine; available: "
                f"{', '.join(pulp.listSolvers(onlyAvailable=True))}")
        return solver

    def solve(self, model: LPModel, options: SolverOptions) -> LPSolution:
        if model.matrix.nnz == 0:
            return solve_without_coefficients(model)
        with _pulp_quiet():
            return self._solve(model, options)

    def _solve(self, model: LPModel, options: SolverOptions) -> LPSolution:
        pulp = _pulp()
        solver = self._solver(options)
        prob, columns, carriers = self.build(model)
        start = time.perf_counter()
        code = prob.solve(solver)
        seconds = time.perf_counter() - start
        status = {1: Status.OPTIMAL, -1: Status.INFEASIBLE, -2: Status.UNBOUNDED}.get(code, Status.ERROR)
        if status is Status.OPTIMAL and prob.sol_status == pulp.LpSolutionIntegerFeasible:
            status = Status.TIME_LIMIT
        if status is Status.ERROR and options.time_limit is not None and seconds >= 0.95 * options.time_limit:
            status = Status.TIME_LIMIT  # CBC reports a stop at its time limit as "Not Solved"
        if status is not Status.OPTIMAL:
            return LPSolution(status, None, float("nan"), None, seconds, pulp.LpStatus.get(code, str(code)))
        x = np.array([v.varValue if v.varValue is not None else 0.0 for v in columns], dtype=float)
        duals = None
        pis = [[constraint.pi for constraint in row] for row in carriers]
        if all(p is not None for row in pis for p in row):
            duals = np.array([sum(row) for row in pis], dtype=float)
        return LPSolution(status, x, float(model.cost @ x), duals, seconds)

    def write(self, model: LPModel, path: str) -> None:
        """Write ``model`` as it is (names ``<block>_<index>``) as an LP or MPS file that every reader
        takes in the same sense (:mod:`allocator.model.lp_files`; PuLP's own MPS writer marks a maximisation
        only in a comment, so other readers minimise)."""
        from pathlib import Path

        from allocator.model.lp_files import layout, lp_text, mps_text

        plan = layout(model, model.column_names(), model.row_names())
        write = mps_text if str(path).lower().endswith(".mps") else lp_text
        Path(path).write_text(write(model, plan, [f"written by allocator's {self.name} backend, in the LP's units"]),
                              encoding="ascii")
