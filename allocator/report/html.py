"""A self-contained HTML report a planner can email or print: the scenario, the rules compared, the charts.

:func:`build_report` solves (the comparison, one frontier per group attribute, the levelling-down
checks) and :func:`render_html` turns the outcome into one HTML file: inline CSS, every chart a
PNG embedded as a data URI, no script and no network access needed to view it.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from allocator.accountability.disparity import Disparity, disparity
from allocator.core.errors import InfeasibleError, UsageError
from allocator.core.precision import round_frame
from allocator.core.status import Status
from allocator.report import plots
from allocator.scenario.model import Scenario
from allocator.scenario.rules import RULES
from allocator.solving.api import solve
from allocator.tradeoffs.comparison import DEFAULT_RULES, Comparison, compare
from allocator.tradeoffs.frontiers import Frontier, frontier

#: the report traces each attribute's group_gap frontier at these values
FRONTIER_GAPS = tuple(np.round(np.linspace(0.3, 0.0, 11), 10))
#: a two-sided constraint "levels down" when a one-sided alternative delivers this much more (relative)
LEVELLING_DOWN = 1e-3


@dataclass(frozen=True, eq=False)
class Report:
    """Everything the report shows (all computed, nothing rendered)."""

    scenario: Scenario
    chosen: str
    comparison: Comparison
    frontiers: dict[str, Frontier] = field(default_factory=dict)
    levelling_down: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    disparities: dict[str, Disparity] = field(default_factory=dict)


def build_report(scenario: Scenario, rules: Sequence | None = None, constraints=None, solver: str = "highs", *,
                 progress: Callable[[str], None] | None = None) -> Report:
    """Solve what the report needs: every rule, each attribute's gap frontier, the levelling-down checks.

    ``rules`` defaults to the scenario's own rule plus utilitarian, proportional, maxmin,
    leximin and nash; the scenario's rule is highlighted as the chosen one.
    """
    chosen = scenario.rule.label()
    specs = [scenario.rule] + [r for r in RULES.many(rules or DEFAULT_RULES, where="rules") if r.label() != chosen]
    comparison = compare(scenario, rules=specs, constraints=constraints, solver=solver, progress=progress)
    if chosen in comparison.infeasible:  # the report is about the scenario's rule: without it, say why
        solve(scenario, rule=scenario.rule, constraints=constraints, solver=solver)
    frontiers = {}
    for attribute in scenario.groups:
        if progress is not None:
            progress(f"frontier {attribute}")
        frontiers[attribute] = frontier(scenario, "group_gap", FRONTIER_GAPS, attribute=attribute, solver=solver)
    levelling = levelling_down(scenario, comparison, constraints, solver)
    disparities = {}
    for attribute in scenario.groups:
        if progress is not None:
            progress(f"disparity {attribute}")
        try:
            disparities[attribute] = disparity(scenario, attribute, rule=scenario.rule, solver=solver)
        except UsageError:  # a counterfactual variant cannot hold the scenario's constraints: leave it out
            continue
    return Report(scenario, chosen, comparison, frontiers, levelling, findings(comparison, chosen), disparities)


def levelling_down(scenario: Scenario, comparison: Comparison, constraints=None, solver: str = "highs") -> list[str]:
    """Warnings for group_gap constraints that leave supply undelivered a one-sided alternative would deliver.

    A gap bound is two-sided: it can be met by lowering the best-served group. For each rule
    solved under a ``group_gap``, the same rule is solved with the gap replaced by a
    ``group_floor`` at the lowest group fill rate the gap gave (no group worse off than under the
    gap), and for maxmin and leximin also ``leximin`` over the attribute; if one delivers more,
    the amount is named. (A rule that under-delivers by itself, like ``proportional``, does so
    with the floor as well, and is not flagged.)
    """
    from allocator.model.compiler import resolve_constraints

    active = resolve_constraints(constraints, scenario)
    warnings = []
    for gap in (c for c in active if c.key == "group_gap"):
        attribute = gap.params()["attribute"]
        others = [c for c in active if c is not gap]
        for name, result in comparison.results.items():
            delivered = result.metrics["total_allocated"]
            groups = result.groups[result.groups["attribute"] == attribute]
            low = float(groups["fill_rate"].min()) if len(groups) else 0.0
            rule = {k: v for k, v in result.rule.items() if v is not None}
            alternatives = {}
            try:
                alternatives[f"a group_floor of {low:.1%} on {attribute}"] = solve(
                    scenario, rule=rule, constraints=[*others, {"type": "group_floor", "attribute": attribute, "share": low}],
                    solver=solver, withheld=False).metrics["total_allocated"]
            except InfeasibleError:
                pass
            if rule["name"] in ("maxmin", "leximin"):  # an equity rule's one-sided counterpart
                try:
                    alternatives[f"leximin over {attribute}"] = solve(
                        scenario, rule={"name": "leximin", "over": attribute}, constraints=others, solver=solver,
                        withheld=False).metrics["total_allocated"]
                except InfeasibleError:
                    pass
            if not alternatives:
                continue
            best_name, best = max(alternatives.items(), key=lambda item: item[1])
            if best > delivered * (1 + LEVELLING_DOWN):
                warnings.append(f"{name} under {gap.describe()} delivers {delivered:,.0f}; {best_name} delivers "
                                f"{best:,.0f} ({best - delivered:,.0f} more, {(best - delivered) / best:.1%} of it) "
                                f"without lowering any group below the gap's lowest group ({low:.1%}). The gap is "
                                "met partly by holding supply back from better-served groups.")
    return warnings


def findings(comparison: Comparison, chosen: str) -> list[str]:
    """Plain-language sentences on the trade-offs the comparison shows."""
    table = comparison.table[comparison.table["status"] != Status.INFEASIBLE]
    out = [f"{rule} cannot meet the constraints ({reason}); it is left out of the charts."
           for rule, reason in comparison.infeasible.items()]
    if "utilitarian" in table.index:
        base = table.loc["utilitarian"]
        unserved = int(base["units_unserved"])
        if unserved:
            out.append(f"Maximising total value (utilitarian) leaves {unserved} unit(s) with nothing.")
        for rule in table.index:
            if rule == "utilitarian":
                continue
            row = table.loc[rule]
            if row["min_fill_rate"] > base["min_fill_rate"] + 1e-6:
                out.append(f"{rule} raises the lowest fill rate from {base['min_fill_rate']:.0%} to "
                           f"{row['min_fill_rate']:.0%} of need at a cost of {max(row['price_of_fairness'], 0):.1%} "
                           "of total value.")
    for column in (c for c in table.columns if c.startswith("max_group_gap[")):
        attribute = column[len("max_group_gap["):-1]
        best = table[column].astype(float).idxmin()
        worst = table[column].astype(float).idxmax()
        if table[column].notna().any() and table.at[worst, column] - table.at[best, column] > 0.01:
            out.append(f"The gap between {attribute} groups ranges from {table.at[best, column]:.1%} ({best}) to "
                       f"{table.at[worst, column]:.1%} ({worst}).")
    if chosen in table.index:
        row = table.loc[chosen]
        out.append(f"The scenario's rule, {chosen}, delivers {row['total_allocated']:,.0f} "
                   f"({row['utilization']:.0%} of supply) with a lowest fill rate of {row['min_fill_rate']:.0%}.")
    return out


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    scenario, comparison = report.scenario, report.comparison
    parts = [f"<h1>{_e(scenario.name)}: allocation report</h1>"]
    if scenario.description:
        parts.append(f"<p>{_e(scenario.description)}</p>")
    parts.append(_section("At a glance", _glance(scenario, comparison)))
    parts.append(_section("Findings", "<ul>" + "".join(f"<li>{_e(f)}</li>" for f in report.findings) + "</ul>"))
    if report.levelling_down:
        parts.append(_section("Levelling down", '<div class="warning">' + "".join(
            f"<p>{_e(w)}</p>" for w in report.levelling_down) + "</div>"))
    parts.append(_section("Rules compared", _comparison_table(comparison, report.chosen)))
    charts = [_image(plots.group_fill_rates(comparison, attribute), f"Group fill rates by {attribute}")
              for attribute in scenario.groups]
    parts.append(_section("Group fill rates", "".join(charts) or "<p>The scenario has no group attributes.</p>"))
    drawing = plots.network_flows(comparison.results[report.chosen]) if report.chosen in comparison.results else None
    if drawing is not None:
        chosen = comparison.results[report.chosen]
        parts.append(_section("The network", _image(drawing, f"Flows under {report.chosen}")
                              + _table(round_frame(chosen.edges))
                              + (_table(round_frame(chosen.nodes)) if chosen.nodes is not None else "")))
    parts.append(_section("Inequality between units", _image(plots.lorenz_curves(comparison), "Lorenz curves")
                          + _image(plots.fill_rate_distribution(comparison), "Distribution of fill rates")))
    frontier_parts = []
    for attribute, traced in report.frontiers.items():
        frontier_parts.append(_image(plots.frontier_curve(traced), f"Frontier of the group gap on {attribute}"))
        frontier_parts.append(_table(round_frame(traced.table)))
    parts.append(_section("The cost of equity", "".join(frontier_parts)
                          or "<p>No group attributes: no gap frontier to trace.</p>"))
    origin = []
    for attribute, d in report.disparities.items():
        origin.append(_image(plots.disparity_parts(d), f"Where the {attribute} gap comes from (Shapley parts)"))
        origin.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in d.summary) + "</ul>")
        origin.append(_table(round_frame(d.table)))
    if origin:
        parts.append(_section("Where the gaps come from", "".join(origin)))
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(scenario.name)} report</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}"
            "<footer>Made by allocator. Rates are shares of demand; value is the scenario's value per unit "
            "allocated (1 unless given).</footer></body></html>\n")


STYLE = """
body{font-family:Helvetica,Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.25rem .5rem;
text-align:right}th:first-child,td:first-child{text-align:left}tr.chosen{background:#fff3c4;font-weight:bold}
.warning{background:#fdecea;border-left:4px solid #c00000;padding:.2rem 1rem}figure{margin:1rem 0}
figcaption{font-size:.85rem;color:#555}img{max-width:100%}.wide{overflow-x:auto}footer{margin-top:3rem;font-size:.8rem;color:#777}
@media print{body{max-width:none}section{page-break-inside:avoid}}
"""


def _glance(scenario: Scenario, comparison: Comparison) -> str:
    any_result = next(iter(comparison.results.values()))
    rows = [{"resource": r, "supply": v["supply"], "demand": v["demand"],
             "supply / demand": v["supply"] / v["demand"] if v["demand"] else float("nan")}
            for r, v in any_result.metrics["by_resource"].items()]
    facts = [f"{len(scenario.units):,} units", f"{len(scenario.resources)} resource(s)",
             f"{len(scenario.sites)} sites" if scenario.sites is not None else "one pool of supply per resource",
             "groups: " + (", ".join(scenario.groups) or "none"),
             f"constraints: {', '.join(c.describe() for c in scenario.constraints) or 'none'}"]
    return "<ul>" + "".join(f"<li>{_e(f)}</li>" for f in facts) + "</ul>" + _table(round_frame(pd.DataFrame(rows)))


def _comparison_table(comparison: Comparison, chosen: str) -> str:
    columns = ["total_allocated", "total_value", "price_of_fairness", "worst_price_of_fairness", "min_fill_rate",
               "mean_fill_rate", "gini", "atkinson_0.5", "theil", "share_unserved"]
    columns += [c for c in comparison.table.columns if c.startswith(("max_group_gap[", "min_group_ratio["))]
    head = ("<tr><th>rule</th><th>status</th>" + "".join(f"<th>{_e(c.replace('_', ' '))}</th>" for c in columns)
            + "</tr>")
    body = []
    for name, row in round_frame(comparison.table).iterrows():  # solver round-off (a gini of 1e-12) reads as 0
        cells = "".join(f"<td>{_number(row[c])}</td>" for c in columns)
        marker = ' class="chosen"' if name == chosen else ""
        body.append(f"<tr{marker}><td>{_e(name)}{' (chosen)' if name == chosen else ''}</td>"
                    f"<td>{_e(row['status'])}</td>{cells}</tr>")
    reasons = "".join(f"<li>{_e(rule)} is infeasible: {_e(reason)}</li>" for rule, reason in comparison.infeasible.items())
    return (f'<div class="wide"><table>{head}{"".join(body)}</table></div>'
            + (f'<div class="warning"><ul>{reasons}</ul></div>' if reasons else ""))


def _table(frame: pd.DataFrame) -> str:
    head = "<tr>" + "".join(f"<th>{_e(str(c))}</th>" for c in frame.columns) + "</tr>"
    rows = ["<tr>" + "".join(f"<td>{_number(v)}</td>" for v in row) + "</tr>" for row in frame.itertuples(index=False)]
    return f'<div class="wide"><table>{head}{"".join(rows)}</table></div>'


def _number(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, float, np.integer, np.floating)):
        value = float(value)
        if 0 < abs(value) < 5e-5:  # a small quantity (a shadow price of 3e-7) is not 0.0000
            return f"{value:.3g}"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4f}"
    return _e(str(value))


def _image(figure, caption: str) -> str:
    data = base64.b64encode(plots.png(figure)).decode("ascii")
    return (f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{body}</section>"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def charts(report: Report) -> dict[str, object]:
    """Every chart of the report by file name."""
    out = {f"group_fill_rates_{attribute}.png": plots.group_fill_rates(report.comparison, attribute)
           for attribute in report.scenario.groups}
    out["lorenz.png"] = plots.lorenz_curves(report.comparison)
    out["fill_rates.png"] = plots.fill_rate_distribution(report.comparison)
    out.update({f"frontier_{attribute}.png": plots.frontier_curve(traced) for attribute, traced in report.frontiers.items()})
    out.update({f"disparity_{attribute}.png": plots.disparity_parts(d) for attribute, d in report.disparities.items()})
    chosen = report.comparison.results.get(report.chosen)
    drawing = plots.network_flows(chosen) if chosen is not None else None
    if drawing is not None:
        out["network.png"] = drawing
    return out


def save_charts(report: Report, folder, *, force: bool = False):
    """Write :func:`charts` as PNG files, with a ``summary.json`` listing them, atomically into ``folder``."""
    import json

    from allocator.io.atomic import atomic_folder

    figures = charts(report)
    with atomic_folder(folder, force=force, inputs=report.scenario.input_paths) as staging:
        for name, figure in figures.items():
            (staging / name).write_bytes(plots.png(figure))
        (staging / "summary.json").write_text(json.dumps({"scenario": report.scenario.name, "charts": list(figures),
                                                          "infeasible": report.comparison.infeasible},
                                                         indent=2) + "\n", encoding="utf-8")
    return folder
