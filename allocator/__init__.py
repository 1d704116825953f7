"""allocator: fair allocation of scarce resources.

Scenario files in, fair allocations out::

    import allocator
    scenario = allocator.load_scenario("scenarios/tutorial/scenario.yaml")
    result = allocator.solve(scenario, rule="leximin")
    result.allocations        # unit, resource, allocated, demand, fill_rate
    result.metrics["min_fill_rate"]
"""

import allocator.accountability.explain  # noqa: F401  (registers Result.explain's explainer)
import allocator.constraints  # noqa: F401  (registers each constraint's rows for its spec)
import allocator.rules  # noqa: F401  (registers each rule's algorithm for its spec)
from allocator._version import __version__  # noqa: E402
from allocator.accountability.explain import Explanation, explain
from allocator.core.errors import (
    AllocatorError,
    InfeasibleError,
    Issue,
    OutputExistsError,
    ScenarioError,
    SolverError,
    SolverUnavailableError,
    UsageError,
)
from allocator.core.status import Status
from allocator.model.compiler import CompiledModel
from allocator.model.validation import validate
from allocator.results.result import Result
from allocator.scenario import Scenario, load_scenario, scenario_from_dict
from allocator.scenario.constraints import CONSTRAINTS
from allocator.scenario.rules import RULES
from allocator.solving.api import solve, solve_compiled
from allocator.solving.compile import compile
from allocator.solving.diagnose import Diagnosis, diagnose
from allocator.tradeoffs.comparison import Comparison, compare
from allocator.tradeoffs.frontiers import Frontier, frontier

#: imported on first use, so that `import allocator` (and every CLI command) does not pay for the
#: simulation engines (about 0.1 s) and the analyses only one command each needs
_LAZY = {"simulate": "allocator.simulation.api", "Simulation": "allocator.simulation.api",
         "lottery": "allocator.tradeoffs.lottery", "Lottery": "allocator.tradeoffs.lottery",
         "disparity": "allocator.accountability.disparity", "Disparity": "allocator.accountability.disparity",
         "export": "allocator.accountability.export", "verify": "allocator.accountability.verify",
         "Verification": "allocator.accountability.verify",
         "bounds": "allocator.simulation.bounds", "Bounds": "allocator.simulation.bounds",
         "Uncertainty": "allocator.scenario.uncertainty"}
#: names of an earlier release: they still work, with a DeprecationWarning naming the new spelling
_RENAMED = {"compare_rules": ("compare", "compare(scenario, rules=...) returns the Comparison"),
            "run_simulation": ("simulate", "simulate(scenario, rules=...) returns the Simulation")}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _RENAMED:
        import warnings

        new, how = _RENAMED[name]
        warnings.warn(f"allocator.{name} is now allocator.{new}: {how}", DeprecationWarning, stacklevel=2)
        return __getattr__(new) if new in _LAZY else globals()[new]
    raise AttributeError(f"module 'allocator' has no attribute {name!r}")


__all__ = [
    # errors and statuses
    "AllocatorError", "InfeasibleError", "Issue", "OutputExistsError", "ScenarioError", "SolverError",
    "SolverUnavailableError", "Status", "UsageError",
    # scenarios
    "CONSTRAINTS", "RULES", "Scenario", "Uncertainty", "load_scenario", "scenario_from_dict", "validate",
    # solving
    "CompiledModel", "Result", "compile", "solve", "solve_compiled",
    # analyses: verb(scenario, *, rule=None, constraints=None, solver=...) -> a result with .table, .to_dict(), .save()
    "Bounds", "Comparison", "Diagnosis", "Disparity", "Explanation", "Frontier", "Lottery", "Simulation",
    "Verification", "bounds", "compare", "diagnose", "disparity", "explain", "export", "frontier", "lottery",
    "simulate", "verify",
    "__version__",
]
