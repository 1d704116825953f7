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
from allocator.tradeoffs.comparison import Comparison, compare, compare_rules
from allocator.tradeoffs.frontiers import Frontier, frontier

#: imported on first use, so that `import allocator` (and every CLI command) does not pay for them
# (bounds is not among them: `allocator.simulation.bounds` is the module, use `from allocator.simulation.bounds import bounds`)
_LAZY = {"simulate": "allocator.simulation.api", "run_simulation": "allocator.simulation.api",
         "Uncertainty": "allocator.scenario.uncertainty"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'allocator' has no attribute {name!r}")

__all__ = [
    "AllocatorError", "CONSTRAINTS", "Comparison", "CompiledModel", "Frontier", "InfeasibleError", "Issue",
    "OutputExistsError", "RULES", "Result", "Scenario", "ScenarioError", "SolverError", "SolverUnavailableError",
    "Status", "UsageError", "compare", "compare_rules", "compile", "frontier", "load_scenario", "scenario_from_dict",
    "solve", "solve_compiled", "validate", "__version__", "simulate", "run_simulation", "Uncertainty",
]
