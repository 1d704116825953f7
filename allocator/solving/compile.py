"""``compile``: a scenario with a rule and constraints, as a :class:`~allocator.model.compiler.CompiledModel`."""

from __future__ import annotations

from allocator.backends.base import SolverLike, SolverOptions
from allocator.core.arguments import Seconds, checked
from allocator.model.compiler import CompiledModel, feasible_set, prepare
from allocator.scenario.load import ScenarioLike
from allocator.solving.baselines import solve_baselines


@checked
def compile(scenario: ScenarioLike, *, rule=None, constraints=None, solver: SolverLike = "highs",
            time_limit: Seconds | None = None) -> CompiledModel:  # noqa: A001  (mirrors cvxpy's vocabulary)
    """Compile ``scenario`` with ``rule`` and ``constraints`` into a :class:`CompiledModel`.

    Parameters
    ----------
    scenario : Scenario
    rule : str, mapping or Rule, optional
        ``"maxmin"``, ``"maxmin:over=region"``, ``{"name": "maxmin", "over": "region"}`` or an
        object; default: the scenario's rule.
    constraints : constraint or list, optional
        One constraint or a list: objects, mappings (``{"type": "floor", "share": 0.2}``) or the
        CLI's strings (``"floor:share=0.2"``); default: the scenario's constraints. ``[]`` for none.
    solver, time_limit
        What solves the baselines that constraints compare with (``no_harm``), if any.

    Examples
    --------
    >>> from allocator import scenario_from_dict
    >>> s = scenario_from_dict({"name": "x", "resources": [{"id": "food"}], "supply": {"food": 5},
    ...                         "units": [{"id": "a", "demand": 4}, {"id": "b", "demand": 6}]})
    >>> compile(s).base.num_cols
    2
    """
    rule, constraints, problem, measures = prepare(scenario, rule, constraints)
    baselines = solve_baselines(problem, measures, constraints, solver, SolverOptions(time_limit=time_limit))
    return CompiledModel(scenario, problem, measures, rule, constraints,
                         feasible_set(problem, measures, constraints, baselines), baselines)
