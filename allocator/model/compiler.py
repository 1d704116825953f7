"""The compiled model: a scenario's indices, measures and feasible-set LP, apart from solving it.

:func:`allocator.compile` (:mod:`allocator.solving.compile`) does everything that depends only on
the scenario; ``solve_compiled()`` runs a rule on it, so simulations that change only the rule
compile once. Constraints add their rows through :data:`CONSTRAINT_ROWS`, where the
``constraints`` layer registers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from allocator.core.errors import ScenarioError
from allocator.core.registry import Implementations
from allocator.core.sparse import sparse as sp
from allocator.model.lp import LPBuilder, LPModel
from allocator.model.measures import MeasureSet
from allocator.model.problem import Problem
from allocator.scenario.checks import check_references
from allocator.scenario.constraints import CONSTRAINTS, Constraint
from allocator.scenario.model import Scenario
from allocator.scenario.rules import RULES, Rule

if TYPE_CHECKING:  # the layer above, which registers them (a type only: nothing is imported upwards)
    from allocator.constraints.base import ConstraintRows

#: constraint spec class -> the rows that make it hold (:class:`allocator.constraints.base.ConstraintRows`,
#: registered by the ``constraints`` layer)
CONSTRAINT_ROWS: Implementations[ConstraintRows] = Implementations("constraint")

#: what a baseline rule gives each reachable pair (``measures.pair`` order), in the scenario's units,
#: for each constraint that compares with one (``no_harm``)
Baselines = Mapping[Constraint, np.ndarray]


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """A scenario, a rule and constraints, compiled.

    Attributes
    ----------
    base : LPModel
        The feasible set, in units of ``problem.scale`` (every quantity is divided by it, so
        the LP is well scaled whatever unit the scenario counts in). Columns: ``flow`` (one per
        unit-resource-site link) and any helper
        columns of constraints. Rows: ``demand`` (one per reachable pair,
        ``floor <= sum_s x <= demand``), ``supply`` (one per site and resource held,
        ``sum_i x <= supply``), then one block per constraint.
    baselines : mapping
        What the baseline rule of each ``no_harm`` constraint gives each reachable pair, in the
        scenario's units (:mod:`allocator.solving.baselines`).
    """

    scenario: Scenario | None  # None for a model that only runs a baseline rule (allocator.solving.baselines)
    problem: Problem
    measures: MeasureSet
    rule: Rule
    constraints: tuple[Constraint, ...]
    base: LPModel
    baselines: Baselines = field(default_factory=dict)


def resolve_rule(rule, scenario: Scenario) -> Rule:
    """The rule object for ``rule``: an object, a mapping, a name or a CLI string; ``None`` = the scenario's."""
    return scenario.rule if rule is None else RULES.one(rule, where="rule")


def resolve_constraints(constraints, scenario: Scenario) -> tuple[Constraint, ...]:
    """Constraint objects for ``constraints``: one or a list (see :meth:`Registry.many`); ``None`` = the
    scenario's own, ``[]`` or ``"none"`` = none."""
    if constraints is None:
        return scenario.constraints
    if isinstance(constraints, str) and constraints.strip() == "none":
        return ()
    return CONSTRAINTS.many(constraints, where="constraints")


def prepare(scenario: Scenario, rule=None, constraints=None) -> tuple[Rule, tuple[Constraint, ...], Problem, MeasureSet]:
    """The rule and constraints resolved and checked against ``scenario``, and its problem and measures."""
    rule = resolve_rule(rule, scenario)
    constraints = resolve_constraints(constraints, scenario)
    issues = check_references(scenario, rule, constraints, file="<argument>")
    if issues:
        raise ScenarioError(issues)
    problem = Problem.from_scenario(scenario)
    return rule, constraints, problem, MeasureSet(problem)


def feasible_set(problem: Problem, measures: MeasureSet, constraints: tuple[Constraint, ...],
                 baselines: Baselines | None = None) -> LPModel:
    """The LP of every allocation allowed by supply, demand, links and ``constraints``.

    ``baselines`` holds what each ``no_harm`` constraint's baseline rule gives (see :class:`CompiledModel`).
    """
    builder = LPBuilder()
    builder.add_columns("flow", problem.num_flows, lower=0.0, upper=np.inf, integer=problem.flow_integer)
    pair = measures.pair
    # lower bound -inf, not 0: flows are non-negative anyway, and ranged rows slow the interior point method
    builder.add_rows("demand", {"flow": pair.matrix}, lower=-np.inf, upper=pair.lp_denominator)
    cell = problem.flow_site * len(problem.resource_ids) + problem.pair_resource[problem.flow_pair]
    if problem.network is not None:
        _network_rows(builder, problem, cell)
    else:
        cells, row_of_flow = np.unique(cell, return_inverse=True)
        supply_matrix = sp.csr_array((np.ones(problem.num_flows), (row_of_flow, np.arange(problem.num_flows))),
                                     shape=(len(cells), problem.num_flows))
        builder.add_rows("supply", {"flow": supply_matrix}, lower=-np.inf,
                         upper=problem.supply.ravel()[cells] / problem.scale)
    for k, members in enumerate(problem.exclusive):
        # one row per unit: what it gets of the set's resources, in total, is at most one unit
        mine = np.flatnonzero(np.isin(problem.pair_resource[problem.flow_pair], members))
        units, row_of_flow = np.unique(problem.pair_unit[problem.flow_pair[mine]], return_inverse=True)
        matrix = sp.csr_array((np.ones(len(mine)), (row_of_flow, mine)), shape=(len(units), problem.num_flows))
        builder.add_rows(f"exclusive:{k}", {"flow": matrix}, lower=-np.inf, upper=1.0 / problem.scale)
    for constraint, block in constraint_blocks(constraints):
        baseline = (baselines or {}).get(constraint)
        CONSTRAINT_ROWS.of(constraint).apply(builder, measures, block,
                                             None if baseline is None else baseline / problem.scale)
    return builder.build()


def constraint_blocks(constraints) -> list[tuple[Constraint, str]]:
    """Each constraint with the name of its row block: its ``row_block``, numbered ``#2``, ``#3``... when repeated."""
    used: dict[str, int] = {}
    named = []
    for constraint in constraints:
        name = constraint.row_block
        used[name] = used.get(name, 0) + 1
        named.append((constraint, name if used[name] == 1 else f"{name}#{used[name]}"))
    return named


def _network_rows(builder: LPBuilder, problem: Problem, cell: np.ndarray) -> None:
    """Flow mode: one column per (edge, resource); each node's stock bounds what it delivers and ships on.

    ``supply`` rows, one per (node, resource): deliveries at the node + shipped out - shipped in
    <= its stock. ``edge_capacity`` rows: the total over resources on an edge <= its capacity.
    ``edge_resource_capacity`` rows: one resource on an edge <= its own capacity. ``node_throughput``
    rows: what a node delivers plus what it ships on, over resources, <= its throughput.
    ``budget``: sum of cost x quantity over edges <= the budget.
    """
    edges = problem.network
    assert edges is not None  # flow mode
    num_res, num_nodes = len(problem.resource_ids), len(problem.site_ids)
    count = len(edges.tail)
    builder.add_columns("edge", count * num_res, lower=0.0, upper=np.inf)  # column e * num_res + r
    cells = num_nodes * num_res
    deliveries = sp.csr_array((np.ones(problem.num_flows), (cell, np.arange(problem.num_flows))),
                              shape=(cells, problem.num_flows))
    columns = np.arange(count * num_res)
    edge_of, resource_of = columns // num_res, columns % num_res
    rows = np.concatenate([edges.tail[edge_of] * num_res + resource_of, edges.head[edge_of] * num_res + resource_of])
    values = np.concatenate([np.ones(len(columns)), -np.ones(len(columns))])
    shipping = sp.csr_array((values, (rows, np.concatenate([columns, columns]))), shape=(cells, count * num_res))
    # a node keeps at most its own stock; with a rebate (negative cost) somewhere it must also pass on
    # everything it receives (>= 0), or shipping surplus back and forth would earn the rebate
    builder.add_rows("supply", {"flow": deliveries, "edge": shipping},
                     lower=0.0 if (edges.cost < 0).any() else -np.inf, upper=problem.supply.ravel() / problem.scale)
    limited = np.flatnonzero(np.isfinite(edges.capacity))
    if len(limited):
        pick = sp.csr_array((np.ones(len(limited) * num_res),
                             (np.repeat(np.arange(len(limited)), num_res),
                              (limited[:, None] * num_res + np.arange(num_res)).ravel())),
                            shape=(len(limited), count * num_res))
        builder.add_rows("edge_capacity", {"edge": pick}, lower=-np.inf, upper=edges.capacity[limited] / problem.scale)
    if edges.resource_capacity is not None:
        limited = np.flatnonzero(np.isfinite(edges.resource_capacity.ravel()))  # column e * num_res + r
        pick = sp.csr_array((np.ones(len(limited)), (np.arange(len(limited)), limited)),
                            shape=(len(limited), count * num_res))
        builder.add_rows("edge_resource_capacity", {"edge": pick}, lower=-np.inf,
                         upper=edges.resource_capacity.ravel()[limited] / problem.scale)
    if edges.throughput is not None:
        # what a node delivers to its units plus what it ships on, over all resources
        limited = np.flatnonzero(np.isfinite(edges.throughput))
        row_of_node = np.full(num_nodes, -1)
        row_of_node[limited] = np.arange(len(limited))
        delivered_at = row_of_node[problem.flow_site]
        sent_from = row_of_node[edges.tail[edge_of]]
        keep_flow, keep_edge = np.flatnonzero(delivered_at >= 0), np.flatnonzero(sent_from >= 0)
        shape = (len(limited),)
        builder.add_rows("node_throughput", {
            "flow": sp.csr_array((np.ones(len(keep_flow)), (delivered_at[keep_flow], keep_flow)),
                                 shape=shape + (problem.num_flows,)),
            "edge": sp.csr_array((np.ones(len(keep_edge)), (sent_from[keep_edge], keep_edge)),
                                 shape=shape + (count * num_res,)),
        }, lower=-np.inf, upper=edges.throughput[limited] / problem.scale)
    if edges.budget is not None:
        cost = np.repeat(edges.cost, num_res)[None, :]
        builder.add_rows("budget", {"edge": sp.csr_array(cost)}, lower=-np.inf, upper=edges.budget / problem.scale)
