"""Run a rule on a compiled scenario and assemble the :class:`Result`."""

from __future__ import annotations

import datetime
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from allocator._version import __version__
from allocator.backends import SolverOptions, fallback_for, get_backend
from allocator.backends.base import SolverLike
from allocator.core.arguments import Flag, Seconds, checked, instance
from allocator.core.budget import check_time_limit
from allocator.core.errors import (
    InternalError,
    Message,
    Parameter,
    SolverError,
    SolverUnavailableError,
    StageInfeasible,
    StageTimeLimit,
)
from allocator.core.status import Status
from allocator.core.tolerance import PARAMETER_TOLERANCE
from allocator.model.compiler import CompiledModel
from allocator.model.validation import rule_issues
from allocator.results.edges import edge_table, node_table
from allocator.results.metrics import allocation_table, clean_flows, compute_metrics, flow_table, group_table
from allocator.results.result import Result, SolveTrace
from allocator.rules.stages import StageRunner
from allocator.scenario.load import ScenarioLike
from allocator.scenario.model import Scenario
from allocator.solving.boundary import run_rule
from allocator.solving.compile import compile
from allocator.solving.diagnose import infeasibility
from allocator.solving.withheld import withheld_supply, withheld_warnings

if TYPE_CHECKING:  # the type checker sees the classes; at run time the arguments are checked
    CompiledArg: TypeAlias = CompiledModel
    OptionsArg: TypeAlias = SolverOptions
else:
    CompiledArg = instance(CompiledModel, "a CompiledModel (allocator.compile)")
    OptionsArg = instance(SolverOptions, "a SolverOptions")


@checked
def solve(scenario: ScenarioLike, *, rule=None, constraints=None, solver: SolverLike = "highs",
          time_limit: Seconds | None = None, withheld: Flag = True) -> Result:
    """Allocate the scenario's supply by ``rule`` under ``constraints``.

    Parameters
    ----------
    scenario : Scenario or path
        From :func:`allocator.load_scenario` or :func:`allocator.scenario_from_dict`, or the path
        of a scenario file (loaded as ``load_scenario`` does).
    rule : str, mapping or Rule, optional
        ``"maxmin"``, ``"leximin:over=region"``, ``{"name": "leximin", "over": "region"}`` or an
        object; default: the scenario's rule.
    constraints : constraint or list, optional
        One constraint or a list of them: objects, mappings (``{"type": "floor", "share": 0.2}``)
        or CLI strings (``"floor:share=0.2"``); default: the scenario's; ``[]`` for none.
    solver : str
        ``"highs"`` (default), ``"pulp"`` (CBC) or ``"pulp:<PuLP solver name>"``.
    time_limit : float, optional
        Seconds for the whole solve, shared by the rule's stages. When it runs out, the result
        has status ``time_limit`` and holds the best feasible allocation found so far (see
        ``Result.solver["stopped"]``).
    withheld : bool
        Measure and explain supply left while units it can reach still need it (a few LPs, only
        when some is left: see :func:`solve_compiled`); ``False`` where only the numbers are read.

    Returns
    -------
    Result

    Raises
    ------
    InfeasibleError
        With a minimal set of conflicting constraints, explained.
    SolverError
        If the solver fails (on both backends), or the time limit runs out before any
        feasible allocation was found.

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "one-pool", "resources": [{"id": "food"}], "supply": {"food": 60},
    ...                         "units": [{"id": "a", "demand": 40}, {"id": "b", "demand": 60}]})
    >>> solve(s, rule="maxmin").allocations["fill_rate"].round(6).tolist()
    [0.6, 0.6]
    """
    model = compile(scenario, rule=rule, constraints=constraints, solver=solver, time_limit=time_limit)
    return solve_compiled(model, solver=solver, options=SolverOptions(time_limit=time_limit), withheld=withheld)


@checked
def solve_compiled(model: CompiledArg, *, solver: SolverLike = "highs",
                   options: OptionsArg | None = None, fallback: Flag = True, withheld: Flag = True) -> Result:
    """Run ``model.rule`` on an already compiled model (see :func:`allocator.compile`).

    With ``fallback``, a stage the chosen backend fails on numerically is solved again on the
    other backend (PuLP/CBC for HiGHS, HiGHS otherwise); the stage's note says so. With
    ``withheld``, supply left while units it can reach still need it is measured and explained
    (:mod:`allocator.solving.withheld`); ``False`` skips those LPs where only the metrics are read.
    """
    options = options or SolverOptions()
    check_time_limit(options.time_limit, "time_limit")  # a SolverOptions is built without checks
    noted = rule_issues(model.rule, model.problem)  # before any solve: a formula with no index is refused
    backend = get_backend(solver)
    if not backend.is_available():
        raise SolverUnavailableError(backend.unavailable_reason())
    def fresh() -> StageRunner:
        return StageRunner(backend, options, fallback_for(backend) if fallback else None, unit=model.problem.scale)

    runner = fresh()
    start = time.perf_counter()
    status, stopped = Status.OPTIMAL, None
    solved = model  # the model the answer comes from: at the constraints' boundary, if they are there
    try:
        # a constraint at its boundary holds to the tolerance policy (allocator.solving.boundary)
        solved, runner, outcome = run_rule(model, runner, fresh)
        lp_flows, equity, rule_warnings = outcome.flows, dict(outcome.equity), outcome.warnings
    except StageInfeasible:
        raise infeasibility(model, backend, options) from None
    except StageTimeLimit as exc:
        if runner.best is None:
            raise SolverError(Message(f"the time limit ({_seconds(options.time_limit)}) ran out in stage '{exc.stage}' "
                                      "before any feasible allocation was found; allow more time with a larger ",
                                      Parameter("time_limit"))) from None
        status, (best_stage, lp_flows), equity, rule_warnings = Status.TIME_LIMIT, runner.best, {}, ()
        stopped = {"reason": "time_limit", "time_limit": _seconds(options.time_limit), "stage": exc.stage,
                   "allocation_from": best_stage,
                   "note": "the time limit ran out before the rule finished: the allocation is feasible "
                           "but is not the rule's answer"}
    seconds = time.perf_counter() - start
    problem = model.problem
    assert model.scenario is not None  # compile() keeps the scenario it compiled
    flows = clean_flows(problem, lp_flows * problem.scale)
    check_promised_level(solved, flows / problem.scale, equity.get("level"))  # on the numbers reported
    stages: list[dict[str, Any]]  # one record per stage: texts and numbers
    stages = [{"stage": r.stage, "status": r.status.value, "objective": r.objective,
               "seconds": r.seconds, **({"note": r.note} if r.note else {})} for r in runner.records]
    fallbacks = [f"{r.stage}: {r.note}" for r in runner.records if r.fell_back]  # read off the record, not its note
    # supply left while units it can reach still need it: say how much and what holds it back
    withheld = (withheld_supply(solved, flows, backend, _remaining(options, seconds))
                if withheld and status is Status.OPTIMAL and _remaining(options, seconds) is not None else [])
    return Result(
        status=status,
        scenario=model.scenario.name,
        rule={"name": model.rule.key, **model.rule.params()},
        constraints=[{"type": c.key, **c.params()} for c in model.constraints],
        allocations=allocation_table(problem, flows),
        groups=group_table(problem, model.measures, flows),
        flows=flow_table(problem, flows) if problem.has_sites else None,
        edges=edge_table(problem, runner.last),
        nodes=node_table(problem, runner.last),
        metrics=compute_metrics(problem, model.measures, flows),
        equity=equity,
        solver={
            "name": backend.name,
            "version": backend.version(),
            "seconds": seconds,
            "stages": stages,
            **({"stopped": stopped} if stopped else {}),
            **({"fallbacks": fallbacks} if fallbacks else {}),
        },
        warnings=(*model.scenario.warnings, *problem.warnings, *noted, *rule_warnings,
                  *withheld_warnings(solved, withheld)),
        withheld=tuple(withheld),
        audit=audit_record(model.scenario, options),
        trace=SolveTrace(solved, runner.last, tuple(runner.records)),
    )


def check_promised_level(model: CompiledModel, lp_flows, level) -> None:
    """Refuse to report an allocation that breaks the level the rule certified.

    Every engine's answer passes through here (the LP stages, max-flow, and any engine added
    later): each rate the rule ranks must reach ``level`` to the tolerance policy
    (``PARAMETER_TOLERANCE``, docs/solving.md). A failure is a defect of allocator, not of the
    scenario, so it is an :class:`InternalError` that says so, never a silently wrong number.
    """
    if level is None:
        return
    rates = model.measures.over(getattr(model.rule, "over", None)).lp_rates(lp_flows)
    lowest = float(rates.min(initial=np.inf))
    if lowest < level - PARAMETER_TOLERANCE:
        raise InternalError(f"allocator's own check failed: rule {model.rule.describe()} certified every fill rate "
                            f"at least {level:.9g}, but its allocation gives one {lowest:.9g}; nothing was written "
                            "(please report this with the scenario)")


def audit_record(scenario: Scenario, options: SolverOptions) -> dict:
    """What ``summary.json`` records so that ``allocator verify`` can redo the run: version, inputs, options, time.

    Input paths are absolute here (as read); :meth:`Result.save` writes them relative to its folder
    (:func:`allocator.io.audit.relative_inputs`).
    """
    return {
        "allocator_version": __version__,
        "inputs": [{"role": role, "path": path, "sha256": digest} for role, path, digest in scenario.inputs],
        "solver_options": {"time_limit": options.time_limit, "threads": options.threads},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _remaining(options: SolverOptions, spent: float) -> SolverOptions | None:
    """``options`` with what is left of the whole solve's time limit; ``None`` if nothing is left."""
    if options.time_limit is None:
        return options
    left = options.time_limit - spent
    return replace(options, time_limit=left) if left > 0 else None


def _seconds(limit: float | None) -> str:
    return f"{limit:g} s" if limit is not None else "the solver's own"
