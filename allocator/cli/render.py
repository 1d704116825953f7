"""All terminal rendering for the CLI (rich). Nothing else in allocator prints."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from allocator.errors import InfeasibleError, ScenarioError
from allocator.metrics import METRICS
from allocator.result import Result

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return str(value)


def warnings(issues) -> None:
    for issue in issues:
        err.print("[yellow]warning:[/] ", markup=True, end="")
        err.print(str(issue), markup=False)


def result(res: Result) -> None:
    """Summary of a solve: headline metrics, group fill rates, stages, warnings."""
    title = f"{res.scenario} — rule {res.rule['name']}" + (
        f" over {res.rule['over']}" if res.rule.get("over") else "")
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("status", res.status.value)
    summary = res.summary()
    equity = summary["equity"]
    if equity.get("level") is not None:
        table.add_row("equity level", _fmt(equity["level"]))
    if len(equity.get("levels", [])) > 1:
        table.add_row("distinct leximin levels", str(len(equity["levels"])))
    for key in METRICS:
        value = summary["metrics"][key]
        if isinstance(value, dict):
            for attribute, number in value.items():
                table.add_row(f"{key} [{attribute}]", _fmt(number))
        else:
            table.add_row(key, _fmt(value))
    out.print(table)
    if len(res.groups):
        groups = Table(title="group fill rates", header_style="bold")
        for column in ("attribute", "group", "resource", "units", "allocated", "demand", "fill_rate"):
            groups.add_column(column, justify="right" if column in ("units", "allocated", "demand", "fill_rate") else "left")
        for row in res.groups.itertuples(index=False):
            groups.add_row(row.attribute, row.group, row.resource, str(row.units), _fmt(row.allocated),
                           _fmt(row.demand), f"{row.fill_rate:.4f}")
        out.print(groups)
    if res.constraints:
        out.print("constraints: " + "; ".join(
            f"{c['type']}(" + ", ".join(f"{k}={v}" for k, v in c.items() if k != "type" and v is not None) + ")"
            for c in res.constraints))
    stages = res.solver["stages"]
    solved = [s for s in stages if not s.get("note", "").startswith("skipped")]
    names = ", ".join(s["stage"] + (" skipped" if s not in solved else "") for s in stages)
    out.print(f"solver: {res.solver['name']} {res.solver['version']}, {len(solved)} LP(s) "
              f"({names}) in {res.solver['seconds']:.3f} s")
    for stage in stages:
        if stage not in solved:
            out.print(f"  {stage['stage']} {stage['note']}")
    warnings(res.warnings)


def scenario_error(exc: ScenarioError) -> None:
    count = len(exc.issues)
    err.print(f"[red bold]error:[/] {count} problem{'s' if count != 1 else ''} in the scenario:", markup=True)
    for issue in exc.issues:
        err.print(f"  - {issue}", markup=False)
    warnings(exc.warnings)


def infeasible(exc: InfeasibleError) -> None:
    err.print("[red bold]infeasible:[/] the constraints cannot all hold at once.", markup=True)
    if exc.conflicting:
        err.print("  conflicting: " + "; ".join(exc.conflicting), markup=False)
    for line in exc.explanation:
        err.print(f"  {line}", markup=False)


def failure(kind: str, message: str) -> None:
    err.print(f"[red bold]{kind}:[/] ", markup=True, end="")
    err.print(message, markup=False)


def validated(path: str, scenario, warns) -> None:
    out.print(f"[green]ok:[/] {path}: scenario '{scenario.name}', {len(scenario.units)} units, "
              f"{len(scenario.resources)} resource(s), "
              + (f"{len(scenario.sites)} site(s)" if scenario.sites is not None else "pooled supply")
              + f", rule {scenario.rule.describe()}, {len(scenario.constraints)} constraint(s)", markup=True)
    warnings(warns)


def catalogue(rules, constraints) -> None:
    table = Table(title="rules", header_style="bold")
    table.add_column("name")
    table.add_column("parameters")
    table.add_column("what it does")
    for cls in rules:
        table.add_row(cls.key, ", ".join(cls.model_fields) or "-", cls.summary)
    out.print(table)
    table = Table(title="constraints", header_style="bold")
    table.add_column("type")
    table.add_column("parameters")
    table.add_column("what it requires")
    for cls in constraints:
        table.add_row(cls.key, ", ".join(cls.model_fields), cls.summary)
    out.print(table)


def written(path) -> None:
    out.print(f"wrote {path}")
