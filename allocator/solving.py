"""Run a rule on a compiled scenario and assemble the :class:`Result`."""

from __future__ import annotations

import time

from allocator.backends import SolverOptions, get_backend
from allocator.backends.base import Backend
from allocator.compiler import CompiledModel, compile
from allocator.diagnose import infeasibility
from allocator.errors import SolverUnavailableError
from allocator.metrics import allocation_table, clean_flows, compute_metrics, flow_table, group_table
from allocator.result import Result
from allocator.rules.stages import StageInfeasible, StageRunner
from allocator.scenario.model import Scenario
from allocator.status import Status


def solve(scenario: Scenario, rule=None, constraints=None, solver: str | Backend = "highs", *,
          time_limit: float | None = None) -> Result:
    """Allocate the scenario's supply by ``rule`` under ``constraints``.

    Parameters
    ----------
    scenario : Scenario
        From :func:`allocator.load_scenario` or :func:`allocator.scenario_from_dict`.
    rule : str, mapping or Rule, optional
        ``"maxmin"``, ``{"name": "leximin", "over": "region"}``...; default: the scenario's rule.
    constraints : list, optional
        Constraint specs (``{"type": "floor", "share": 0.2}``) or objects; default: the scenario's.
    solver : str
        ``"highs"`` (default), ``"pulp"`` (CBC) or ``"pulp:<PuLP solver name>"``.
    time_limit : float, optional
        Seconds allowed for each LP solve.

    Returns
    -------
    Result

    Raises
    ------
    InfeasibleError
        With a minimal set of conflicting constraints, explained.
    SolverError
        If the solver fails or stops early.

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "one-pool", "resources": [{"id": "food"}], "supply": {"food": 60},
    ...                         "units": [{"id": "a", "demand": 40}, {"id": "b", "demand": 60}]})
    >>> solve(s, "maxmin").allocations["fill_rate"].round(6).tolist()
    [0.6, 0.6]
    """
    return solve_compiled(compile(scenario, rule, constraints), solver, SolverOptions(time_limit=time_limit))


def solve_compiled(model: CompiledModel, solver: str | Backend = "highs",
                   options: SolverOptions | None = None) -> Result:
    """Run ``model.rule`` on an already compiled model (see :func:`allocator.compile`)."""
    options = options or SolverOptions()
    backend = get_backend(solver)
    if not backend.is_available():
        raise SolverUnavailableError(backend.unavailable_reason())
    runner = StageRunner(backend, options)
    start = time.perf_counter()
    try:
        outcome = model.rule.run(model, runner)
    except StageInfeasible:
        raise infeasibility(model, backend, options) from None
    seconds = time.perf_counter() - start
    problem = model.problem
    flows = clean_flows(problem, outcome.flows * problem.scale)
    return Result(
        status=Status.OPTIMAL,
        scenario=model.scenario.name,
        rule={"name": model.rule.key, **model.rule.params()},
        constraints=[{"type": c.key, **c.params()} for c in model.constraints],
        allocations=allocation_table(problem, flows),
        groups=group_table(problem, model.measures, flows),
        flows=flow_table(problem, flows) if problem.has_sites else None,
        metrics=compute_metrics(problem, model.measures, flows),
        equity=dict(outcome.equity),
        solver={
            "name": backend.name,
            "version": backend.version(),
            "seconds": seconds,
            "stages": [{"stage": r.stage, "status": r.status.value, "objective": r.objective,
                        "seconds": r.seconds, **({"note": r.note} if r.note else {})} for r in runner.records],
        },
        warnings=tuple(model.scenario.warnings) + tuple(problem.warnings),
    )
