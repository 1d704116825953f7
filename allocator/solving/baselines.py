"""The baselines that constraints compare with, solved with the run's own solver and time limit.

``no_harm`` holds every reachable pair at what a baseline rule gives it on the scenario's supply,
links and demand *without* the other constraints. The model layer cannot run a rule, so
:func:`allocator.compile` solves each baseline here first and the rows are built from the amounts.
"""

from __future__ import annotations

import numpy as np

from allocator.backends import SolverOptions, get_backend
from allocator.model.compiler import Baselines, CompiledModel, feasible_set
from allocator.model.measures import MeasureSet
from allocator.model.problem import Problem
from allocator.rules.base import algorithm
from allocator.rules.stages import StageRunner
from allocator.scenario.constraints import Constraint


def solve_baselines(problem: Problem, measures: MeasureSet, constraints: tuple[Constraint, ...], solver="highs",
                    options: SolverOptions | None = None) -> Baselines:
    """What each constraint's baseline rule gives each reachable pair, in the scenario's units.

    Each distinct baseline is solved once, on the feasible set without constraints.
    """
    found: dict[Constraint, np.ndarray] = {}
    backend = get_backend(solver)
    for constraint in constraints:
        rule = constraint.baseline_rule()
        if rule is None or constraint in found:
            continue
        model = CompiledModel(None, problem, measures, rule, (), feasible_set(problem, measures, ()))
        outcome = algorithm(rule).run(model, StageRunner(backend, options or SolverOptions()))
        found[constraint] = (measures.pair.matrix @ outcome.flows) * problem.scale
    return found
