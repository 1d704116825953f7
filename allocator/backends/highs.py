"""HiGHS through highspy: the default backend.

Algorithm choice (measured on the benchmark instance, see docs/performance.md): these
transport-like LPs are highly degenerate, and HiGHS's interior point method without
crossover is an order of magnitude faster than with crossover, and simplex is slower still.
The interior solution is optimal to HiGHS's tolerances (1e-7 relative), and its duals are
the *strictly complementary* ones that leximin's saturation test needs.

If the interior point method ends without a certified optimum, the backend re-solves with
crossover, then with dual simplex (the documented fallback), and records that it did.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time

import numpy as np

from allocator.backends.base import LPSolution, SolverOptions, solve_without_coefficients
from allocator.core.errors import SolverUnavailableError
from allocator.core.status import Status
from allocator.model.lp import LPModel

#: attempts in order: (label, options)
ATTEMPTS: tuple[tuple[str, dict[str, object]], ...] = (
    # 1e-10 (HiGHS default 1e-8): rows of small units carry small duals, and the interior point's
    # complementarity gap must be small against them for their rates to be exact to 1e-6 when
    # demands span six orders of magnitude (tests/test_scaling.py); costs ~5% on the benchmark
    ("ipm", {"solver": "ipm", "run_crossover": "off", "ipm_optimality_tolerance": 1e-10}),
    ("ipm+crossover", {"solver": "ipm", "run_crossover": "on"}),
    ("simplex", {"solver": "simplex"}),
)


#: HiGHS ``primal_solution_status`` of a feasible point (kSolutionStatusFeasible)
FEASIBLE_SOLUTION = 2
#: HiGHS ``simplex_strategy`` of the primal simplex method
PRIMAL_SIMPLEX = 4
#: relative gap at which branch and bound stops (HiGHS default 1e-4): whole-unit answers are exact
MIP_GAP = 1e-9


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C-level stdout: highspy prints a banner when the first Highs object is made."""
    if sys.stdout is not None:  # None: Python found descriptor 1 closed
        with contextlib.suppress(OSError, ValueError):  # a reader gone or a closed stream: nothing to keep in order
            sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # descriptor 1 is closed: the banner has nowhere to go
        saved = None
    if saved is None:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class HighsBackend:
    """Solve with HiGHS (``pip install highspy``)."""

    name = "highs"

    def is_available(self) -> bool:
        try:
            import highspy  # noqa: F401
        except ImportError:
            return False
        return True

    def unavailable_reason(self) -> str:
        return "HiGHS is not installed: run 'pip install highspy'"

    def version(self) -> str:
        import highspy

        with _quiet_stdout():
            h = highspy.Highs()
        return h.version()

    def _new(self, model: LPModel, options: SolverOptions):
        try:
            import highspy
        except ImportError as exc:
            raise SolverUnavailableError("HiGHS is not installed: run 'pip install highspy'") from exc
        with _quiet_stdout():
            h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        if options.threads:
            h.setOptionValue("threads", int(options.threads))
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = model.num_cols, model.num_rows
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.col_cost_ = model.cost
        lp.col_lower_, lp.col_upper_ = model.col_lower, model.col_upper
        lp.row_lower_, lp.row_upper_ = model.row_lower, model.row_upper
        csc = model.matrix.tocsc()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr
        lp.a_matrix_.index_ = csc.indices
        lp.a_matrix_.value_ = csc.data
        if model.is_mip:
            kinds = np.where(model.integer, int(highspy.HighsVarType.kInteger), int(highspy.HighsVarType.kContinuous))
            lp.integrality_ = [highspy.HighsVarType(int(k)) for k in kinds]
        h.passModel(lp)
        return h

    def _solve_mip(self, model: LPModel, options: SolverOptions) -> LPSolution:
        """Branch and bound (HiGHS MIP) to a relative gap of MIP_GAP; the gap reached is in the message."""
        h = self._new(model, options)
        h.setOptionValue("mip_rel_gap", MIP_GAP)
        status, seconds = _run_timed(h, options)
        info = h.getInfo()
        feasible = info.primal_solution_status == FEASIBLE_SOLUTION
        gap = float(info.mip_gap) if feasible else float("inf")
        message = f"mixed-integer: gap {gap:.2%}" if feasible else "mixed-integer"
        if status in (Status.OPTIMAL, Status.TIME_LIMIT) and feasible:
            x = np.asarray(h.getSolution().col_value, dtype=float)
            x = np.where(model.integer, np.round(x), x)  # whole numbers, without the solver's 1e-9 round-off
            bound = float(info.mip_dual_bound)  # the model's own sense (maximise): an upper bound
            return LPSolution(status, x, float(model.cost @ x), None, seconds, message,
                              bound=bound if np.isfinite(bound) else None)
        return LPSolution(status, None, float("nan"), None, seconds, message)

    def solve(self, model: LPModel, options: SolverOptions) -> LPSolution:
        if model.matrix.nnz == 0:
            return solve_without_coefficients(model)
        if model.is_mip:
            return self._solve_mip(model, options)
        h = self._new(model, options)
        start = time.perf_counter()
        notes = []
        status = Status.ERROR
        for label, settings in ATTEMPTS:
            for key, value in settings.items():
                h.setOptionValue(key, value)
            if options.time_limit is not None:
                remaining = options.time_limit - (time.perf_counter() - start)
                h.setOptionValue("time_limit", max(remaining, 0.0))
            h.run()
            status = _status_table().get(h.getModelStatus(), Status.ERROR)
            if status is not Status.ERROR:
                break
            notes.append(f"{label} ended with '{h.modelStatusToString(h.getModelStatus())}'")
            h.clearSolver()
        seconds = time.perf_counter() - start
        message = "; ".join(notes + ([f"fell back to {label}"] if notes and status is not Status.ERROR else []))
        if status is Status.TIME_LIMIT and h.getInfo().primal_solution_status == FEASIBLE_SOLUTION:
            # stopped early at a feasible point: worth keeping as the best allocation so far
            x = np.asarray(h.getSolution().col_value, dtype=float)
            return LPSolution(status, x, float(model.cost @ x), None, seconds, message)
        if status is not Status.OPTIMAL:
            return LPSolution(status, None, float("nan"), None, seconds, message)
        return _solved(h, status, seconds, message)

    def write(self, model: LPModel, path: str) -> None:
        h = self._new(model, SolverOptions())
        h.writeModel(str(path))


def _solved(h, status: Status, seconds: float, message: str = "") -> LPSolution:
    """The solution HiGHS holds after an optimal run: values, objective and (when valid) row duals."""
    solution = h.getSolution()
    return LPSolution(status, np.asarray(solution.col_value, dtype=float), float(h.getInfo().objective_function_value),
                      np.asarray(solution.row_dual, dtype=float) if solution.dual_valid else None, seconds, message)


def _run_timed(h, options: SolverOptions) -> tuple[Status, float]:
    """Run ``h`` within ``options.time_limit``: its status and the seconds it took."""
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    start = time.perf_counter()
    h.run()
    return _status_table().get(h.getModelStatus(), Status.ERROR), time.perf_counter() - start


@functools.cache
def _status_table() -> dict:
    """HiGHS model status -> :class:`Status` (built on first use: highspy is imported lazily)."""
    import highspy

    ms = highspy.HighsModelStatus
    return {
        ms.kOptimal: Status.OPTIMAL,
        ms.kInfeasible: Status.INFEASIBLE,
        ms.kUnboundedOrInfeasible: Status.INFEASIBLE,
        ms.kUnbounded: Status.UNBOUNDED,
        ms.kTimeLimit: Status.TIME_LIMIT,
        ms.kInterrupt: Status.TIME_LIMIT,
    }


class WarmHighs(HighsBackend):
    """HiGHS that starts each solve from the previous optimal basis (dual simplex).

    For sequences of LPs of the same shape that differ in a few bounds or coefficients, such as
    the points of a frontier: the previous basis is usually a few pivots from the next optimum,
    while the interior point method cannot be warm-started at all. Solves stay correct for any
    model; a basis of the wrong shape is simply not used.
    """

    name = "highs"

    def __init__(self) -> None:
        self._basis = None
        self._shape: tuple[int, int] | None = None
        self.warm_starts = 0

    def solve(self, model: LPModel, options: SolverOptions) -> LPSolution:
        if model.matrix.nnz == 0:
            return solve_without_coefficients(model)
        if model.is_mip:  # branch and bound to the 1e-9 gap, whole numbers rounded: as the cold backend
            return HighsBackend.solve(self, model, options)
        h = self._new(model, options)
        h.setOptionValue("solver", "simplex")
        if self._basis is not None and self._shape == (model.num_rows, model.num_cols):
            h.setBasis(self._basis)
            self.warm_starts += 1
        status, seconds = _run_timed(h, options)
        if status is not Status.OPTIMAL:
            self._basis = None
            return LPSolution(status, None, float("nan"), None, seconds, "simplex from the previous basis")
        self._basis, self._shape = h.getBasis(), (model.num_rows, model.num_cols)
        return _solved(h, status, seconds)


class ReusingHighs(WarmHighs):
    """HiGHS that keeps one loaded model per LP shape and only pushes what changed.

    For many solves of one compiled scenario with different numbers (simulation draws): when
    the next LP has the same rows, columns and sparsity pattern as the last one of its shape,
    only changed costs, column bounds, row bounds and coefficients are handed to the loaded
    model, and primal simplex starts from the basis it holds. A rule with several stages keeps
    one model per stage (stages differ in shape). Anything else is loaded afresh: from a basis
    exported by another instance (``bases``, by shape) with primal simplex, else by dual simplex
    from scratch.
    """

    def __init__(self, bases: dict | None = None) -> None:
        super().__init__()
        self._loaded: dict[tuple[int, int], tuple[object, LPModel]] = {}
        self._scales: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._initial = dict(bases or {})  # shape -> (column statuses, row statuses) to start a fresh model from
        self.reused = 0

    def export_bases(self) -> dict:
        """The basis of every loaded model as plain arrays (picklable), to start other instances from."""
        out = {}
        for shape, (h, _) in sorted(self._loaded.items()):
            basis = h.getBasis()
            out[shape] = (np.array([int(v) for v in basis.col_status], dtype=np.int8),
                          np.array([int(v) for v in basis.row_status], dtype=np.int8))
        return out

    def equilibrate(self, model: LPModel):
        """Equilibration factors of the first model of each shape, kept for the later ones."""
        from allocator.backends.scaling import Equilibrated

        shape = (model.num_rows, model.num_cols)
        if shape not in self._scales:
            first = Equilibrated.of(model)
            self._scales[shape] = (first.col_scale, first.row_scale)
            return first
        return Equilibrated.with_scales(model, *self._scales[shape])

    def solve(self, model: LPModel, options: SolverOptions) -> LPSolution:
        if model.matrix.nnz == 0 or model.is_mip:
            return super().solve(model, options)  # MIPs: HighsBackend's branch and bound (see WarmHighs.solve)
        shape = (model.num_rows, model.num_cols)
        held = self._loaded.get(shape)
        if held is not None and _same_pattern(held[1], model):
            h = held[0]
            _push_changes(h, held[1], model)
            # primal simplex from the held basis: on the draws of benchmarks/simulation.py it is as
            # fast as dual simplex where only bounds move and 3x faster where demand coefficients move
            h.setOptionValue("solver", "simplex")
            h.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
            self.reused += 1
        else:
            h = self._new(model, options)
            h.setOptionValue("solver", "simplex")
            if shape in self._initial:  # a basis of a neighbouring LP: primal simplex from it, as above
                h.setBasis(_basis_of(*self._initial[shape]))
                h.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
                self.warm_starts += 1
            # else dual simplex from scratch, for the basis the next ones start from (measured: as fast
            # as interior point with crossover for utilitarian stages, 2x faster for maxmin)
        status, seconds = _run_timed(h, options)
        if status is Status.OPTIMAL or status is Status.INFEASIBLE:
            self._loaded[shape] = (h, model)  # an infeasible draw leaves a sound basis to go on from
        else:
            self._loaded.pop(shape, None)  # start the next solve of this shape from scratch
        if status is not Status.OPTIMAL:
            return LPSolution(status, None, float("nan"), None, seconds, "HiGHS on the reused model")
        return _solved(h, status, seconds)


def _basis_of(col_status: np.ndarray, row_status: np.ndarray):
    import highspy

    basis = highspy.HighsBasis()
    kinds = highspy.HighsBasisStatus
    basis.col_status = [kinds(int(v)) for v in col_status]
    basis.row_status = [kinds(int(v)) for v in row_status]
    basis.valid = True
    return basis


def _same_pattern(old: LPModel, new: LPModel) -> bool:
    return (np.array_equal(old.matrix.indptr, new.matrix.indptr)
            and np.array_equal(old.matrix.indices, new.matrix.indices))


def _push_changes(h, old: LPModel, new: LPModel) -> None:
    """Hand the loaded HiGHS model ``h`` (holding ``old``) every number in which ``new`` differs."""
    cols = np.flatnonzero((old.col_lower != new.col_lower) | (old.col_upper != new.col_upper))
    if len(cols):
        h.changeColsBounds(len(cols), cols.astype(np.int32), new.col_lower[cols], new.col_upper[cols])
    cols = np.flatnonzero(old.cost != new.cost)
    if len(cols):
        h.changeColsCost(len(cols), cols.astype(np.int32), new.cost[cols])
    rows = np.flatnonzero((old.row_lower != new.row_lower) | (old.row_upper != new.row_upper))
    if len(rows):
        h.changeRowsBounds(len(rows), rows.astype(np.int32), new.row_lower[rows], new.row_upper[rows])
    changed = np.flatnonzero(old.matrix.data != new.matrix.data)
    if len(changed):
        rows = (np.searchsorted(new.matrix.indptr, changed, side="right") - 1).tolist()
        cols, values = new.matrix.indices[changed].tolist(), new.matrix.data[changed].tolist()
        change = h.changeCoeff
        for row, col, value in zip(rows, cols, values):  # highspy has no bulk coefficient change
            change(row, col, value)
