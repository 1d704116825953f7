"""A simulation's plan: the checked request (rules, constraints, uncertainty, draws, shards) every engine runs.

Below :mod:`allocator.simulation.api` (the public entry) and imported by it, by the engines
(:mod:`allocator.simulation.engines`) and by the shard code (:mod:`allocator.simulation.draws`),
so that none of them imports the entry point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Sequence

from pydantic import ValidationError

from allocator.backends import get_backend
from allocator.core.budget import MAX_TABLE_ROWS, refuse_over
from allocator.core.errors import Message, Parameter, ScenarioError, UsageError
from allocator.core.registry import issues_from_validation
from allocator.model.compiler import resolve_constraints
from allocator.model.measures import MeasureSet
from allocator.model.problem import Problem
from allocator.rules.base import RuleMemory
from allocator.scenario.checks import check_references
from allocator.scenario.model import Scenario
from allocator.scenario.rules import RULES
from allocator.scenario.uncertainty import DemandNoise, Uncertainty
from allocator.simulation.draws import rule_label
from allocator.simulation.store import scenario_fingerprint


@dataclass(frozen=True, eq=False)
class SimulationPlan:
    """Everything a shard needs; picklable, shipped once to each worker (the processes engine sends
    the starting ``bases``, computed while its workers start, with every shard)."""

    scenario: Scenario
    rules: tuple
    constraints: tuple
    uncertainty: Uncertainty | None
    draws: int
    seed: int
    shard_size: int
    solver: str = "highs"
    reuse: bool = True  # HiGHS: keep loaded models between draws (False: every draw cold, for comparison)
    bases: dict | None = None  # rule label -> starting bases per LP shape (see warm_bases)
    #: rule label -> what the rule remembered of the nominal scenario (its RuleMemory, see warm_bases)
    memory: dict[str, RuleMemory] | None = None

    @property
    def num_shards(self) -> int:
        return math.ceil(self.draws / self.shard_size)

    def shard_draws(self, shard: int) -> range:
        return range(shard * self.shard_size, min((shard + 1) * self.shard_size, self.draws))

    def describe(self) -> dict:
        """The settings a resumed run must share (recorded in ``simulation.json``)."""
        return {"scenario": self.scenario.name, "fingerprint": scenario_fingerprint(self.scenario),
                "inputs": [digest for _, _, digest in self.scenario.inputs],
                "rules": [{"name": r.key, **r.params()} for r in self.rules],
                "constraints": [{"type": c.key, **c.params()} for c in self.constraints],
                "uncertainty": self.uncertainty.model_dump() if self.uncertainty is not None else None,
                "draws": self.draws, "seed": self.seed, "shard_size": self.shard_size, "solver": self.solver,
                "reuse": self.reuse}


def plan_simulation(scenario: Scenario, rules: Sequence = ("maxmin",), draws: int = 1000, seed: int = 1, *,
                    uncertainty: Uncertainty | dict | None = None, cv: float | None = None,
                    shard_size: int = 25, solver: str = "highs", reuse: bool = True) -> SimulationPlan:
    """Check the request and resolve rules, constraints and uncertainty (``cv`` overrides demand noise)."""
    if draws < 1:
        raise UsageError(f"draws must be at least 1, got {draws}")
    if seed < 0:
        raise UsageError(f"the seed must be a whole number >= 0, got {seed}")
    if shard_size < 1:
        raise UsageError(f"shard_size must be at least 1, got {shard_size}")
    resolved = RULES.many(rules, where="rules")
    if not resolved:
        raise UsageError("name at least one rule")
    if isinstance(uncertainty, Mapping):
        try:
            uncertainty = Uncertainty.model_validate(dict(uncertainty))
        except ValidationError as exc:
            raise UsageError("; ".join(str(i) for i in issues_from_validation(
                exc, file="<argument>", where="uncertainty"))) from None
    uncertainty = uncertainty if uncertainty is not None else scenario.uncertainty
    if cv is not None:
        if not (0 <= cv <= 10):
            raise UsageError(Message(Parameter("cv"), f" must be between 0 and 10, got {cv}"))
        base = uncertainty or Uncertainty()
        noise = base.demand.model_copy(update={"cv": cv}) if base.demand else DemandNoise(cv=cv)
        uncertainty = base.model_copy(update={"demand": noise})
    labels = [rule_label(r) for r in resolved]
    if len(set(labels)) < len(labels):
        raise UsageError(f"a rule is listed twice: {', '.join(sorted({x for x in labels if labels.count(x) > 1}))}")
    constraints = resolve_constraints(None, scenario)
    for rule in resolved:
        issues = check_references(scenario, rule, constraints, file="<argument>")
        if issues:
            raise ScenarioError(issues)
    get_backend(solver)  # an unknown name fails here, not in a worker
    _check_table_rows(scenario, int(draws), len(resolved))
    return SimulationPlan(scenario, resolved, constraints, uncertainty, int(draws), int(seed), int(shard_size), solver,
                          reuse)


def _check_table_rows(scenario: Scenario, draws: int, rules: int) -> None:
    """Refuse, before any work, more draws than the tables held in memory to summarise them allow."""
    problem = Problem.from_scenario(scenario)
    measures = MeasureSet(problem)
    groups = sum(len(measures.group(a, servable_only=False).denominator) for a in problem.groups)
    per_draw = rules * (1 + groups)
    refuse_over("draws", draws, MAX_TABLE_ROWS // per_draw,
                f"each draw adds {per_draw:,} rows ({rules} rule(s), each one metrics row and {groups:,} group "
                f"row(s)) to the tables a simulation holds in memory to summarise, limited to {MAX_TABLE_ROWS:,} rows")
