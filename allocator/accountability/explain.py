"""Explain an allocation: why each unit got what it got, which constraints bind and what they cost.

Everything is read off the solution and the duals of the rule's **last stage** (the value stage
of maxmin and leximin, with every equity level held; the only stage of utilitarian; the
equal-share stage of proportional...). A dual is the rate at which that stage's objective would
change if the constraint or stock moved: for a value stage, total value per unit of supply or per
unit of a constraint parameter, *with the equity levels held*; for proportional's stage, the
common fill rate. Where a rule found its answer by max-flow (no LP), the explanation re-solves
with its LP method first.

Reasons, per (unit, resource) with demand, checked in this order:

============== ====================================================================
code           meaning
============== ====================================================================
unreachable    no site it links to holds the resource
demand_met     it gets all it asks for
group_capped   a group constraint caps its group (the cap row binds, dual != 0)
held_at_level  it sits at an equity level of the rule and every site it reaches is used up
sites_used_up  every site it can reach is used up (others there count as much or more)
rule           it could get more from a site with stock left; the rule holds it here
============== ====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from allocator.constraints.base import GroupCap, rows_of
from allocator.core.arguments import checked
from allocator.core.errors import UsageError
from allocator.core.status import Status
from allocator.model.compiler import constraint_blocks
from allocator.results.analysis import Analysis
from allocator.results.result import EXPLAINERS, Result, ResultArg

#: a supply row is used up, or a rate at a level, within this relative tolerance
TIGHT = 1e-6
#: duals below this (relative to the largest) count as 0
DUAL_ZERO = 1e-9

WORDS = {
    "unreachable": "no site it can reach holds {resource}",
    "demand_met": "its demand is met",
    "group_capped": "its group {group} is capped by {constraint}",
    "held_at_level": "it is held at the equity level {level:.1%}: every site it can reach is used up",
    "sites_used_up": "every site it can reach is used up",
    "rule": "sites it can reach have stock left, but the rule ({rule}) holds it here",
}


@dataclass(frozen=True, eq=False)
class Explanation(Analysis):
    """The explanation of one result; ``save`` writes ``units.csv`` (the ``table``), ``sites.csv``,
    ``constraints.csv`` and ``summary.json``.

    Attributes
    ----------
    units : DataFrame
        ``unit, resource, demand, allocated, fill_rate, sites, reason_code, reason``.
    sites : DataFrame
        ``site, resource, supply, used, unused, marginal_value, unused_reason``: ``marginal_value``
        is the last stage's objective gained per extra unit of supply there.
    constraints : DataFrame
        ``constraint, binding, shadow_price, meaning``: ``shadow_price`` is the objective gained per
        unit increase of the constraint's parameter (``max_gap``, ``share``, ``min_ratio``).
    objective : str
        What the duals are measured in.
    sentences : list of str
    """

    units: pd.DataFrame
    sites: pd.DataFrame
    constraints: pd.DataFrame
    objective: str
    sentences: list[str] = field(default_factory=list)
    inputs: tuple[str, ...] = ()

    FILE = "units.csv"

    @property
    def table(self) -> pd.DataFrame:
        """One row per (unit, resource) and why it got what it got (``units``)."""
        return self.units

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"units.csv": self.units, "sites.csv": self.sites, "constraints.csv": self.constraints}

    def to_dict(self) -> dict:
        """What the duals are measured in, and the sentences (``summary.json``)."""
        return {"objective": self.objective, "sentences": self.sentences}


@checked
@EXPLAINERS.register
def explain(result: ResultArg) -> Explanation:
    """Why each unit of ``result`` (from :func:`allocator.solve`) got what it got, what binds, what
    supply is worth; see the module docstring. Also ``result.explain()``.

    Examples
    --------
    >>> from allocator import scenario_from_dict, solve
    >>> s = scenario_from_dict({"name": "pool", "resources": [{"id": "food"}], "supply": {"food": 6},
    ...     "units": [{"id": "a", "demand": 4}, {"id": "b", "demand": 4}]})
    >>> explain(solve(s, rule="maxmin")).table[["unit", "reason_code"]].values.tolist()
    [['a', 'held_at_level'], ['b', 'held_at_level']]
    """
    from allocator.solving.api import solve_compiled

    trace = result.trace
    if trace is None:
        raise ValueError("this result carries no solve trace (was it built by allocator.solve?)")
    if result.status is not Status.OPTIMAL:
        raise UsageError(f"only an optimal result can be explained; this one ended with status "
                         f"{result.status.value} (its allocation is not the rule's answer)")
    model, last = trace.model, trace.last
    resolved = last is None or "method" in model.rule.params() and model.rule.params()["method"] != "lp"
    if resolved:
        lp_rule = model.rule.model_copy(update={"method": "lp"}) if "method" in model.rule.params() else model.rule
        result = solve_compiled(_with_rule(model, lp_rule), solver=result.solver["name"], withheld=False)
        model, last = result.trace.model, result.trace.last
    stage, lp, solution = last
    problem = model.problem
    flow_cost = lp.cost[lp.cols("flow")]
    on_flows = bool(np.any(flow_cost != 0))  # an objective in amounts (value, priority weights...)
    value_like = on_flows and np.allclose(flow_cost, problem.pair_value[problem.flow_pair]) and \
        not np.any(np.delete(lp.cost, np.arange(lp.num_cols)[lp.cols("flow")]))
    objective_scale = problem.scale if on_flows else 1.0
    if not value_like:
        objective = f"the objective of the rule's '{stage}' stage (not total value)"
    elif model.rule.key in ("maxmin", "leximin"):
        objective = f"total value ({stage} stage, equity levels held)"
    else:
        objective = f"total value ({stage} stage)"
    flows = _flows_from(result, problem)
    priced = solution.row_dual is not None  # mixed-integer solves give none
    duals = solution.row_dual if priced else np.zeros(lp.num_rows)
    largest = max(float(np.abs(duals).max()) if len(duals) else 0.0, 1e-300)
    sites = _site_table(problem, lp, flows, duals, objective_scale, largest)
    caps = _group_caps(model, lp, duals, largest)
    units = _unit_table(result, model, flows, sites, caps)
    constraints = _constraint_table(model, lp, solution, duals, objective_scale, largest)
    if not priced:
        constraints["binding"] = None
        constraints["shadow_price"] = None
        sites["marginal_value"] = np.nan
    sites = _unused_reasons(sites, units, problem, caps)
    words = _objective_words(model, value_like)
    sentences = _sentences(units, sites, constraints, objective, words)
    if not priced:
        sentences.insert(1, "No prices: a whole-unit (mixed-integer) solve gives no duals, so which constraints "
                            "bind and what supply is worth are not known from it.")
    if resolved:
        sentences.insert(1, "Explained through the rule's LP method (the answer it gave has no duals): the amounts "
                            "are the same, the routes through sites may differ from the result's flows.")
    return Explanation(units, sites, constraints, objective, sentences, inputs=result.input_paths)


def _with_rule(model, rule):
    from dataclasses import replace

    return replace(model, rule=rule)


def _flows_from(result: Result, problem) -> np.ndarray:
    """Flow amounts in scenario units, in the problem's flow order."""
    flows = np.zeros(problem.num_flows)
    if result.flows is None or not len(result.flows):
        allocated = result.allocations["allocated"].to_numpy()
        pair_first = np.full(problem.num_pairs, -1)
        pair_first[problem.flow_pair[::-1]] = np.arange(problem.num_flows)[::-1]
        mine = pair_first >= 0
        flows[pair_first[mine]] = allocated[mine]  # pooled: one flow per pair
        return flows
    key = pd.MultiIndex.from_arrays([problem.unit_ids[problem.pair_unit[problem.flow_pair]],
                                     np.asarray(problem.resource_ids, dtype=object)[problem.pair_resource[problem.flow_pair]],
                                     np.asarray(problem.site_ids, dtype=object)[problem.flow_site]])
    given = pd.Series(result.flows["quantity"].to_numpy(),
                      index=pd.MultiIndex.from_frame(result.flows[["unit", "resource", "site"]]))
    return given.reindex(key).fillna(0.0).to_numpy()


def _site_table(problem, lp, flows, duals, objective_scale, largest) -> pd.DataFrame:
    num_res = len(problem.resource_ids)
    cell = problem.flow_site * num_res + problem.pair_resource[problem.flow_pair]
    cells = np.unique(cell)
    used = np.bincount(np.searchsorted(cells, cell), weights=flows, minlength=len(cells))
    supply = problem.supply.ravel()[cells]
    supply_duals = duals[lp.rows("supply")]
    marginal = np.where(np.abs(supply_duals) > DUAL_ZERO * largest, supply_duals, 0.0) * objective_scale / problem.scale
    return pd.DataFrame({
        "site": np.asarray(problem.site_ids, dtype=object)[cells // num_res],
        "resource": np.asarray(problem.resource_ids, dtype=object)[cells % num_res],
        "supply": supply, "used": used,
        "unused": np.where(supply - used > TIGHT * np.maximum(supply, 1e-300), supply - used, 0.0),
        "marginal_value": marginal, "cell": cells,
    })


def _group_caps(model, lp, duals, largest) -> dict[GroupCap, str]:
    """``{group cap: constraint}`` for every group whose cap row binds (the constraints' rows name them)."""
    caps = {}
    for constraint, block in constraint_blocks(model.constraints):
        for cap in rows_of(constraint).binding_caps(lp, duals, model.measures, block, DUAL_ZERO * largest):
            caps[cap] = constraint.describe()
    return caps


def _unit_table(result: Result, model, flows, sites: pd.DataFrame, caps) -> pd.DataFrame:
    """The allocation table with each pair's serving sites and reason (the first that holds, in ``WORDS`` order)."""
    problem = model.problem
    table = result.allocations.copy()
    num_pairs, num_res = problem.num_pairs, len(problem.resource_ids)
    resource = table["resource"].to_numpy(dtype=object)
    rate = table["fill_rate"].to_numpy(dtype=float)
    # a pair's sites are used up when every cell (site, resource) it can draw from has nothing unused
    flow_cell = problem.flow_site * num_res + problem.pair_resource[problem.flow_pair]
    exhausted = (sites["unused"].to_numpy() <= 0)[np.searchsorted(sites["cell"].to_numpy(), flow_cell)]
    reachable = problem.pair_reachable
    all_used = reachable & (np.bincount(problem.flow_pair, weights=~exhausted, minlength=num_pairs) == 0)
    levels = [float(v) for v in (result.equity.get("levels") or ([result.equity["level"]]
                                                                  if result.equity.get("level") is not None else []))]
    level = np.full(num_pairs, np.nan)
    for v in reversed(levels):  # the first matching level wins
        level[np.abs(rate - v) <= TIGHT * max(v, 1e-9) + 1e-9] = v
    cap = np.full(num_pairs, "", dtype=object)  # the words of the first group cap that matches
    for capped, constraint in reversed(list(caps.items())):
        codes = problem.groups[capped.attribute]
        in_group = np.asarray(codes.labels, dtype=object)[codes.codes[problem.pair_unit]] == capped.group
        matches = in_group & ((resource == capped.resource) | (capped.resource == "(benefit)"))
        cap[matches] = WORDS["group_capped"].format(group=f"{capped.attribute}={capped.group}", constraint=constraint)
    code = np.select([~reachable, rate >= 1 - TIGHT, cap != "", ~np.isnan(level) & all_used, all_used],
                     ["unreachable", "demand_met", "group_capped", "held_at_level", "sites_used_up"], "rule")
    words = np.full(num_pairs, WORDS["rule"].format(rule=model.rule.label()), dtype=object)
    for fixed in ("demand_met", "sites_used_up"):
        words[code == fixed] = WORDS[fixed]
    words[code == "group_capped"] = cap[code == "group_capped"]
    unreachable, held = np.flatnonzero(code == "unreachable"), np.flatnonzero(code == "held_at_level")
    words[unreachable] = [WORDS["unreachable"].format(resource=r) for r in resource[unreachable]]
    words[held] = [WORDS["held_at_level"].format(level=v) for v in level[held]]
    on = flows > 0
    serving = (pd.DataFrame({"pair": problem.flow_pair[on],
                             "site": np.asarray(problem.site_ids, dtype=object)[problem.flow_site[on]]})
               .sort_values(["pair", "site"], kind="stable").groupby("pair")["site"].agg(";".join))
    table["sites"] = serving.reindex(np.arange(num_pairs), fill_value="").to_numpy(dtype=object)
    table["reason_code"] = code.astype(object)
    table["reason"] = words
    return table


def _constraint_table(model, lp, solution, duals, objective_scale, largest) -> pd.DataFrame:
    rows = []
    for constraint, block in constraint_blocks(model.constraints):
        # what the duals say the constraint's parameter is worth, as its rows read them
        priced = rows_of(constraint).parameter_price(lp, solution.x, duals, model.measures, block)
        parameter, price = (None, None) if priced is None else (priced.parameter, priced.price)
        if price is not None:
            price *= objective_scale
            # per unit of the parameter (a whole 0 -> 1 of a share): below 1e-6 of the objective is round-off
            binding = abs(price) > 1e-6 * max(abs(solution.objective) * objective_scale, 1.0)
        else:
            binding = None
        rows.append({"constraint": constraint.describe(), "parameter": parameter, "binding": binding,
                     "shadow_price": price if binding else (0.0 if price is not None else None)})
    return pd.DataFrame(rows, columns=["constraint", "parameter", "binding", "shadow_price"])


def _unused_reasons(sites: pd.DataFrame, units: pd.DataFrame, problem, caps) -> pd.DataFrame:
    sites = sites.copy()
    num_res = len(problem.resource_ids)
    flow_cell = problem.flow_site * num_res + problem.pair_resource[problem.flow_pair]
    reasons = []
    for row in sites.itertuples(index=False):
        if row.unused <= 0:
            reasons.append("")
            continue
        pairs = np.unique(problem.flow_pair[flow_cell == row.cell])
        wanting = units.iloc[pairs][units.iloc[pairs]["reason_code"] != "demand_met"]
        if wanting.empty:
            reasons.append("every unit that can reach it has its demand met")
        elif (wanting["reason_code"] == "group_capped").any():
            capped = sorted(set(wanting.loc[wanting["reason_code"] == "group_capped", "reason"]))
            reasons.append("; ".join(r.replace("its group", "group") for r in capped))
        else:
            reasons.append(f"the rule holds the units it serves where they are ({', '.join(sorted(set(wanting['reason_code'])))})")
    sites["unused_reason"] = reasons
    return sites.drop(columns=["cell"])


def _objective_words(model, value_like: bool) -> str:
    """How to name an amount of the objective: in the resource's own unit when values are all 1."""
    if not value_like:
        return "of that objective"
    scenario = model.scenario
    if np.all(model.problem.pair_value == 1) and scenario is not None and len(scenario.resources) == 1:
        resource = scenario.resources[0]
        return f"{resource.unit + ' ' if resource.unit else ''}of delivered {resource.id}"
    return "of total value"


def _sentences(units, sites, constraints, objective, words: str) -> list[str]:
    out = [f"Shadow prices and marginal values are in {objective}."]
    counts = units["reason_code"].value_counts()
    out.append("Reasons: " + ", ".join(f"{code} {int(n)}" for code, n in counts.items()) + ".")
    for row in constraints.itertuples(index=False):
        if row.binding:
            step = 0.01
            out.append(f"{row.constraint} binds: making {row.parameter} {step:g} stricter costs "
                       f"{abs(row.shadow_price) * step:,.4g} {words}.")
        elif row.binding is not None:
            out.append(f"{row.constraint} does not bind.")
    for row in sites.itertuples(index=False):
        if row.unused_reason:
            out.append(f"{row.unused:,.4g} of {row.resource} at {row.site} unused: {row.unused_reason}.")
        elif row.marginal_value == row.marginal_value and row.marginal_value > 0:
            out.append(f"One more unit of {row.resource} at {row.site} adds {row.marginal_value:,.4g} {words}.")
    return out
