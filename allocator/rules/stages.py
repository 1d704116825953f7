"""Building blocks shared by the rules: equity stages, held levels, the value stage.

Every rule is a short, explicit sequence of LP solves over the compiled feasible set
``base`` (flows, demand and supply rows, scenario constraints). Each solve is recorded as
a :class:`StageRecord`, which is the audit trail of how the answer was reached.

Tolerances
----------
``LEVEL_TOLERANCE``: a level ``t*`` found by one stage is held in later stages as
``F_k >= t* (1 - LEVEL_TOLERANCE)``, so that solver round-off in the stage that found it
cannot make the next stage infeasible. Rates that are *saturated* at ``t*`` (tight in every
optimum, read off the duals) are also held from above at ``t* (1 + LEVEL_TOLERANCE)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from allocator.backends.base import Backend, LPSolution, SolverOptions
from allocator.backends.scaling import solve_equilibrated
from allocator.core.errors import SolverError, StageInfeasible, StageTimeLimit  # the signals: raised here, importable from here
from allocator.core.sparse import sparse as sp
from allocator.core.status import Status
from allocator.core.tolerance import HELD_LEVEL
from allocator.model.lp import LPBuilder, LPModel
from allocator.model.measures import FillMeasure
from allocator.model.problem import Problem

if TYPE_CHECKING:
    from allocator.model.compiler import CompiledModel
    from allocator.rules.base import RuleMemory

LEVEL_TOLERANCE = HELD_LEVEL  # the solver's feasibility tolerance (allocator.core.tolerance)
#: a level row counts as saturated when its dual weight |y_k| D_k exceeds this share of the largest one ...
SATURATION_DUAL = 1e-6
#: ... and its fill rate is within this of the level (both must hold)
SATURATION_SLACK = 1e-6


#: column blocks that count quantities: in the LP they are in units of ``Problem.scale``; every other
#: column (levels, rates, welfare) has no unit
QUANTITY_BLOCKS = ("flow", "edge")


class Solved(Enum):
    """How a stage's record came about: what code reads, where the note is what a planner reads."""

    #: solved by the runner's backend (:meth:`StageRunner.run` or :meth:`StageRunner.attempt`)
    BACKEND = "backend"
    #: the runner's backend failed on it, so it was solved again with the fallback backend (whatever its status)
    FALLBACK = "fallback"
    #: found without the LP backend (max-flow, or a step of the rule), recorded by :meth:`StageRunner.record`
    WITHOUT_LP = "without LP"
    #: not needed (:meth:`StageRunner.skip`): the note says why
    SKIPPED = "skipped"
    #: not started, or the fallback not started, because the time limit ran out
    NOT_STARTED = "not started"


@dataclass(frozen=True)
class StageRecord:
    """One LP solve of a rule: its name, status, objective (in the scenario's units) and time.

    ``how`` says how the record came about (:class:`Solved`); ``note`` is for people and may say it in
    any words.
    """

    stage: str
    status: Status
    objective: float
    seconds: float
    note: str = ""
    how: Solved = Solved.BACKEND

    @property
    def fell_back(self) -> bool:
        """Whether the stage was solved again with the fallback backend."""
        return self.how is Solved.FALLBACK


class StageRunner:
    """Solves stage LPs on one backend and keeps the trace.

    ``options.time_limit`` is the budget of the whole rule: each stage gets what is left.
    Every stage LP contains the compiled feasible set, so the flows of any solved stage are
    a feasible allocation; the runner keeps the latest (:attr:`best`) for a time-limited
    result. A stage the backend fails on (status ``error``, after the backend's own
    algorithm fallbacks, or ``infeasible`` after an earlier stage succeeded: its holds were met
    by that stage's solution, so only round-off can make it infeasible) is solved again with
    ``fallback`` when one is given. Every stage is solved through the equilibration reduction
    (:mod:`allocator.backends.scaling`). ``unit`` is what one LP unit of a quantity column stands
    for (``Problem.scale``): the records give objectives in the scenario's own units.
    """

    def __init__(self, backend: Backend, options: SolverOptions, fallback: Backend | None = None,
                 memory: RuleMemory | None = None, *, unit: float = 1.0):
        self.backend = backend
        self.unit = unit
        self.options = options
        self.fallback = fallback
        #: what a rule may keep from one solve to the next of the same compiled scenario with other
        #: numbers (the draws of one simulation shard; the rule's own :class:`~allocator.rules.base.RuleMemory`,
        #: from its ``new_memory()``); ``None`` for a single solve
        self.memory = memory
        self.records: list[StageRecord] = []
        self.best: tuple[str, np.ndarray] | None = None  # (stage, flows in LP units)
        self.last: tuple[str, LPModel, LPSolution] | None = None  # the latest stage solved to optimality
        self.deadline = None if options.time_limit is None else time.perf_counter() + options.time_limit

    def record(self, stage: str, objective: float, seconds: float, note: str) -> None:
        """Record a stage solved without the LP backend (e.g. by max-flow); ``objective`` in the scenario's units."""
        self.records.append(StageRecord(stage, Status.OPTIMAL, objective, seconds, note, Solved.WITHOUT_LP))

    def skip(self, stage: str, reason: str) -> None:
        """Record a stage that was not needed, and why."""
        self.records.append(StageRecord(stage, Status.OPTIMAL, float("nan"), 0.0, f"skipped: {reason}", Solved.SKIPPED))

    def _budget(self, stage: str, seconds: float = 0.0, why: str = "not started: no time left") -> SolverOptions:
        """The options for the next solve, with what is left of the time limit (none left: recorded, raised)."""
        if self.deadline is None:
            return self.options
        remaining = self.deadline - time.perf_counter()
        if remaining <= 0:
            self.records.append(StageRecord(stage, Status.TIME_LIMIT, float("nan"), seconds, why, Solved.NOT_STARTED))
            raise StageTimeLimit(stage)
        return replace(self.options, time_limit=remaining)

    def _keep(self, stage: str, lp: LPModel, solution: LPSolution) -> LPSolution:
        """Make an optimal stage solution the latest and best one."""
        self.best = (stage, flows_of(solution, lp))
        self.last = (stage, lp, solution)
        return solution

    def attempt(self, stage: str, lp: LPModel, note: str, accept=None) -> LPSolution | None:
        """Solve ``lp`` and keep it like :meth:`run` if it is optimal (and ``accept(solution)`` holds,
        when given); otherwise record why and return ``None``.

        For a shortcut the rule can do without: no fallback backend, and an infeasible ``lp`` is an
        answer, not an error.
        """
        solution = solve_equilibrated(self.backend, lp, self._budget(stage))
        refused = solution.status is Status.OPTIMAL and accept is not None and not accept(solution)
        if solution.status is not Status.OPTIMAL or refused:
            why = "its check failed" if refused else solution.message or solution.status.value
            self.records.append(StageRecord(stage, solution.status, float("nan"), solution.seconds,
                                            f"not kept ({note}): {why}"))
            return None
        self.records.append(StageRecord(stage, solution.status, planner_objective(lp, solution, self.unit),
                                        solution.seconds, note))
        return self._keep(stage, lp, solution)

    def run(self, stage: str, lp: LPModel) -> LPSolution:
        solution = solve_equilibrated(self.backend, lp, self._budget(stage))
        # a later stage only adds holds that an earlier solution met: if it is infeasible, that is
        # round-off, so it counts as a numerical failure too
        numerical = solution.status is Status.ERROR or (solution.status is Status.INFEASIBLE and self.best is not None)
        how = Solved.BACKEND
        if numerical and self.fallback is not None:
            first = f"{self.backend.name} failed ({solution.message or solution.status.value})"
            # what the first backend left of the budget
            options = self._budget(stage, solution.seconds, f"{first}; no time left for the fallback")
            solution = solve_equilibrated(self.fallback, lp, options)
            solution = replace(solution, message=f"{first}; solved again with {self.fallback.name}"
                               + (f": {solution.message}" if solution.message else ""))
            how = Solved.FALLBACK
        self.records.append(StageRecord(stage, solution.status, planner_objective(lp, solution, self.unit),
                                        solution.seconds, solution.message, how))
        if solution.status is Status.INFEASIBLE:
            raise StageInfeasible(stage)
        if solution.status is Status.TIME_LIMIT:
            if solution.x is not None:  # the solver stopped at a feasible, not yet optimal, point
                self.best = (f"{stage} (stopped before optimal)", flows_of(solution, lp))
            raise StageTimeLimit(stage)
        if solution.status is not Status.OPTIMAL:
            detail = f": {solution.message}" if solution.message else ""
            raise SolverError(f"{self.backend.name} stopped at stage '{stage}' with status "
                              f"{solution.status.value}{detail}")
        return self._keep(stage, lp, solution)


def planner_objective(lp: LPModel, solution: LPSolution, unit: float) -> float:
    """The objective of ``solution`` in the scenario's units: its part on quantity columns times ``unit``.

    The LP counts quantities in units of ``unit`` (``Problem.scale``), so an objective on flows
    (total value) is ``unit`` times smaller there; one on levels or rates has no unit.
    """
    if unit == 1.0 or solution.x is None or not np.isfinite(solution.objective):
        return solution.objective
    on_quantity = np.zeros(lp.num_cols, dtype=bool)
    for block in QUANTITY_BLOCKS:
        if block in lp.col_blocks:
            on_quantity[lp.cols(block)] = True
    counted = lp.cost != 0
    if not (counted & on_quantity).any():
        return solution.objective
    if not (counted & ~on_quantity).any():
        return solution.objective * unit  # a power of two: exact
    part = float(lp.cost[on_quantity] @ solution.x[on_quantity])
    return solution.objective + (unit - 1.0) * part


def objective_unit(lp: LPModel, unit: float) -> float:
    """What one unit of ``lp``'s objective is in the scenario's units: ``unit`` when the objective
    has a quantity column (total value), 1 when it counts only levels or rates.

    A dual of a row whose bound is a quantity is then ``dual * objective_unit / unit`` per unit of
    that bound in the scenario's units.
    """
    on_quantity = [lp.cost[lp.cols(block)] for block in QUANTITY_BLOCKS if block in lp.col_blocks]
    return unit if any(np.any(cost != 0) for cost in on_quantity) else 1.0


def hold(lp: LPModel, measure: FillMeasure, index: np.ndarray, levels: np.ndarray, name: str,
         *, saturated: np.ndarray | None = None, below: float = LEVEL_TOLERANCE) -> LPModel:
    """Hold ``F_k >= level_k (1 - below)`` (``below`` = ``LEVEL_TOLERANCE`` unless given) for the
    entries ``index`` of ``measure``.

    Entries flagged in ``saturated`` (equal to their level in every optimum of the stage that
    found it) are also held from above, ``F_k <= level_k (1 + LEVEL_TOLERANCE)``: otherwise a
    later value stage could collect the tolerance of every held row and hand it to one unit.
    """
    index = np.asarray(index, dtype=np.int64)
    if not len(index):
        return lp
    levels = np.asarray(levels, dtype=float)
    denominator = measure.lp_denominator[index]
    lower = levels * (1 - below) * denominator
    upper = np.where(saturated, levels * (1 + LEVEL_TOLERANCE) * denominator, np.inf) \
        if saturated is not None else np.full(len(index), np.inf)
    if measure.demand_rows:
        rows = np.arange(lp.num_rows)[lp.rows("demand")][index]
        return lp.with_row_bounds("demand", index, lower=np.maximum(lp.row_lower[rows], lower),
                                  upper=np.minimum(lp.row_upper[rows], upper))
    builder = LPBuilder(lp)
    builder.add_rows(f"hold:{name}", {"flow": measure.subset(index)}, lower=lower, upper=upper)
    return builder.build()


def saturated_rows(solution: LPSolution, lp: LPModel, measure: FillMeasure, index: np.ndarray,
                   level: float) -> np.ndarray:
    """Which ``level`` rows of a solved :func:`level_lp` are saturated (see :mod:`allocator.rules.leximin`).

    A row is saturated when its dual weight ``|y_k| D_k`` exceeds ``SATURATION_DUAL`` of the largest
    weight *and* its fill rate is within ``SATURATION_SLACK`` of the level. If no row passes, the
    row with the largest weight is taken, so the answer is never empty.
    """
    if not len(index):
        return np.zeros(0, dtype=bool)
    assert solution.row_dual is not None and solution.x is not None  # a solved stage, with duals
    weight = np.abs(solution.row_dual[lp.rows("level")]) * measure.lp_denominator[index]
    fill = measure.subset(index) @ solution.x[lp.cols("flow")] / measure.lp_denominator[index]
    tight = at_level(fill, level)
    saturated = tight & (weight > SATURATION_DUAL * weight.max())
    if not saturated.any():
        saturated[np.argmax(weight)] = True
    return saturated


def level_slack(level):
    """How far a rate may sit from ``level`` and still count as at it (``SATURATION_SLACK``, relative)."""
    return SATURATION_SLACK * np.maximum(level, 1e-9) + 1e-12


def at_level(rates: np.ndarray, level) -> np.ndarray:
    """Rates that cannot be told apart from ``level`` from above (at most ``level_slack`` over it)."""
    return rates <= level + level_slack(level)


def pins_every_pair(measure: FillMeasure, flows: np.ndarray, levels: np.ndarray) -> bool:
    """True when ``measure`` is the pair measure and ``flows`` hold every pair at its level.

    Then the amounts every unit receives are fixed, so total value is fixed too and the value
    stage has nothing left to choose (``VALUE_STAGE_SKIPPED``).
    """
    if not measure.demand_rows or np.isnan(levels).any():
        return False
    fill = measure.lp_rates(flows)
    return bool(np.all(np.abs(fill - levels) <= level_slack(levels)))


VALUE_STAGE_SKIPPED = "every fill rate is saturated at its level, so the amounts and the total value are fixed"


def level_lp(lp: LPModel, measure: FillMeasure, index: np.ndarray, *, equal: bool = False) -> LPModel:
    """Add level ``t`` in [0, 1] with rows ``(E x)_k - D_k t >= 0`` (``= 0`` if ``equal``); maximise ``t``.

    The rows are the block ``"level"``, in the order of ``index``.
    """
    index = np.asarray(index, dtype=np.int64)
    builder = LPBuilder(lp)
    builder.add_columns("t", 1, lower=0.0, upper=1.0)
    column = sp.csr_array(-measure.lp_denominator[index].reshape(-1, 1))
    builder.add_rows("level", {"flow": measure.subset(index), "t": column},
                     lower=0.0, upper=0.0 if equal else np.inf)
    return builder.build().with_objective({"t": 1.0})


def equity_lp(model: CompiledModel, over: str | None) -> LPModel:
    """First stage of maxmin and leximin: maximise the lowest fill rate (of pairs, or of groups of ``over``)."""
    measure = model.measures.over(over)
    return level_lp(model.base, measure, np.arange(len(measure)))


def value_lp(lp: LPModel, problem: Problem) -> LPModel:
    """Maximise total value: ``sum_k value[pair(k)] x_k`` (minus transport cost, when a flow network asks)."""
    objective = {"flow": problem.pair_value[problem.flow_pair]}
    network = problem.network
    if network is not None and network.net_of_cost:
        objective["edge"] = -np.repeat(network.cost, len(problem.resource_ids))
    return lp.with_objective(objective)


def level_of(solution: LPSolution, lp: LPModel) -> float | None:
    """The level ``t`` found, or ``None`` when there were no rates to rank (``t`` was unconstrained)."""
    if lp.rows("level").stop == lp.rows("level").start:
        return None
    assert solution.x is not None  # a solved stage
    return float(solution.x[lp.cols("t")][0])


def flows_of(solution: LPSolution, lp: LPModel) -> np.ndarray:
    """The flow columns of a solution, in the LP's units."""
    assert solution.x is not None  # a solved stage, or one stopped at a feasible point
    return solution.x[lp.cols("flow")]
