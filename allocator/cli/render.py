"""All terminal rendering for the CLI (rich). Nothing else in allocator prints."""

from __future__ import annotations

import contextlib

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from allocator.cli.streams import standard
from allocator.core.errors import InfeasibleError, ScenarioError, inert
from allocator.results.analysis import metric_name
from allocator.results.metrics import METRICS
from allocator.results.result import Result
from allocator.rules.stages import Solved


class InertConsole(Console):
    """A console that prints control characters as text (``\\x1b``): ids and names come from users' files."""

    def render_str(self, text: str, **kwargs):
        # every str printed, table cells and titles included, passes here before markup and styling; line
        # breaks are allocator's own (a message listing problems), and a new line commands no terminal
        return super().render_str("\n".join(inert(line) for line in text.split("\n")), **kwargs)


# markup off by default: ids, names and group labels come from users and may contain "[" and "]"; the
# streams are tolerant: a closed stdout, a reader gone or an ASCII terminal never stops a command
out = InertConsole(file=standard("stdout"), highlight=False, soft_wrap=True, markup=False)
err = InertConsole(file=standard("stderr"), stderr=True, highlight=False, soft_wrap=True, markup=False)


def raw(text: str) -> None:
    """``text`` to stdout as it is (``solve --json``): no markup, no wrapping."""
    out.file.write(text)
    out.file.flush()


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return str(value)


def _labelled(console: Console, label: str, style: str, text: str) -> None:
    """``label:`` in ``style``, then ``text`` printed as is (ids and names may contain ``[`` ``]``)."""
    console.print(f"[{style}]{label}:[/] ", markup=True, end="")
    console.print(text, markup=False, highlight=False)


def warnings(issues) -> None:
    for issue in issues:
        _labelled(err, "warning", "yellow", str(issue))


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
    if equity.get("relative_gap") is not None:  # nash, alpha: the proven distance from the optimum
        table.add_row("welfare within (relative)", f"{equity['relative_gap']:.2e} of the optimum")
    for key in METRICS:
        value = summary["metrics"][key]
        if isinstance(value, dict):
            for attribute, number in value.items():
                table.add_row(metric_name(key, attribute), _fmt(number))
        else:
            table.add_row(key, _fmt(value))
    out.print(table)
    stopped = res.solver.get("stopped")
    if stopped:
        _labelled(out, "stopped", "yellow", f"{stopped['note']} (time limit {stopped['time_limit']} ran out in "
                  f"stage '{stopped['stage']}'; allocation from stage '{stopped['allocation_from']}')")
    for note in res.solver.get("fallbacks", []):
        _labelled(out, "fallback", "yellow", note)
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
    stages = res.trace.stages if res.trace is not None else ()  # the records solver["stages"] was written from
    skipped = [stage.how is Solved.SKIPPED for stage in stages]
    names = ", ".join(stage.stage + (" skipped" if skip else "") for stage, skip in zip(stages, skipped))
    out.print(f"solver: {res.solver['name']} {res.solver['version']}, {skipped.count(False)} LP(s) "
              f"({names}) in {res.solver['seconds']:.3f} s")
    for stage, skip in zip(stages, skipped):
        if skip:
            out.print(f"  {stage.stage} {stage.note}")
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
    _labelled(err, kind, "red bold", message)


def validated(path: str, scenario, warns) -> None:
    _labelled(out, "ok", "green", f"{path}: scenario '{scenario.name}', {len(scenario.units)} units, "
              f"{len(scenario.resources)} resource(s), "
              + (f"{len(scenario.sites)} site(s)" if scenario.sites is not None else "pooled supply")
              + f", rule {scenario.rule.describe()}, {len(scenario.constraints)} constraint(s)")
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


@contextlib.contextmanager
def progress(total: int, label: str):
    """A progress bar on a terminal (quiet when piped); yields ``step(description)``."""
    if not out.is_terminal or total <= 1:
        yield lambda description: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        started = [False]

        def step(description: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=f"{label} {description}")

        yield step


#: comparison columns shown on the terminal (all are in the CSV and JSON)
COMPARISON_COLUMNS = ("total_value", "price_of_fairness", "worst_price_of_fairness", "min_fill_rate",
                      "mean_fill_rate", "gini", "atkinson_0.5", "theil", "share_unserved")


def comparison(result) -> None:
    """The rule comparison: one column per rule, one row per metric (all of them are in the CSV and JSON)."""
    frame = result.table
    rows = [c for c in COMPARISON_COLUMNS if c in frame.columns]
    rows += [c for c in frame.columns if c.startswith(("max_group_gap[", "min_group_ratio["))]
    table = Table(title="rule comparison", header_style="bold")
    table.add_column("metric", no_wrap=True)
    for name in frame.index:
        table.add_column(str(name), justify="right")
    for metric in rows:
        cells = [frame.at[name, metric] for name in frame.index]
        table.add_row(metric, *("-" if v is None or v != v else _fmt(v) for v in cells))
    out.print(table)
    out.print("price of fairness: share of total value given up against utilitarian; worst: the bound of "
              "Bertsimas, Farias and Trichakis (2011) for this many units")
    infeasible_rules(result.infeasible)


def infeasible_rules(infeasible: dict) -> None:
    """The compared rules that cannot meet the constraints, and why."""
    for rule, reason in infeasible.items():
        _labelled(out, "infeasible", "red", f"{rule}: {reason}")


def frontier(result) -> None:
    """The frontier's points: parameter, status, total value and what it costs."""
    frame = result.table
    describe = ", ".join(f"{k}={v}" for k, v in result.constraint.items() if k != "type")
    table = Table(title=f"frontier: {result.constraint['type']}({describe}) over {result.parameter}",
                  header_style="bold")
    columns = [c for c in frame.columns]
    for column in columns:
        table.add_column(column.replace("_", " "), justify="left" if column == "status" else "right")
    for _, row in frame.iterrows():
        table.add_row(*(str(row[c]) if c == "status" else ("-" if row[c] != row[c] else _fmt(row[c])) for c in columns))
    out.print(table)
    out.print(f"{result.warm_starts} of {len(frame)} points started from the previous point's basis")


def report_written(path, report) -> None:
    out.print(f"wrote {path}: {len(report.comparison.results)} rules compared, {len(report.frontiers)} frontier(s), "
              f"{len(report.findings)} finding(s), {len(report.levelling_down)} levelling-down warning(s)")
    for warning in report.levelling_down:
        _labelled(out, "levelling down", "yellow", warning)
    infeasible_rules(report.comparison.infeasible)


def verification(outcome) -> None:
    """What ``allocator verify`` found: each input file, each kept file (with the summary fields that differ)."""
    for role, path, state in outcome.inputs:
        _labelled(out, state, "green" if state == "unchanged" else "red", f"{role} {path}")
    for name, state in outcome.files:
        differ = f" ({', '.join(outcome.fields)})" if name == "summary.json" and outcome.fields else ""
        _labelled(out, state, "green" if state == "identical" else "red", name + differ)
    if outcome.note:
        _labelled(out, "cannot verify", "red", outcome.note)
    verdict = ("verified: the same inputs give byte-identical tables and the same summary" if outcome.ok else
               "NOT verified: an input changed or is missing, or a kept file differs")
    _labelled(out, "result", "green" if outcome.ok else "red", verdict)


def disparity(result) -> None:
    """The gap's parts and the plain-language summary."""
    table = Table(title=f"gap between {result.attribute} groups under {result.rule}: {result.gap:.4f}",
                  header_style="bold")
    for column in ("component", "contribution", "share of gap", "what"):
        table.add_column(column, justify="right" if column in ("contribution", "share of gap") else "left")
    for row in result.table.itertuples(index=False):
        share = "-" if row.share != row.share else f"{row.share:.0%}"
        table.add_row(row.component, f"{row.contribution:+.4f}", share, row.what)
    out.print(table)
    for sentence in result.summary:
        out.print(sentence)


def explanation(result, unit: str | None = None) -> None:
    """Per-unit reasons (all, or one unit's), then what binds and what supply is worth."""
    units = result.units if unit is None else result.units[result.units["unit"] == unit]
    table = Table(title="why each unit got what it got", header_style="bold")
    for column in ("unit", "resource", "allocated", "demand", "fill rate", "sites", "reason"):
        table.add_column(column, justify="right" if column in ("allocated", "demand", "fill rate") else "left",
                         no_wrap=column == "unit")
    for row in units.itertuples(index=False):
        table.add_row(str(row.unit), str(row.resource), _fmt(row.allocated), _fmt(row.demand), f"{row.fill_rate:.4f}",
                      row.sites or "-", f"{row.reason} [{row.reason_code}]")
    out.print(table)
    if unit is None:
        for sentence in result.sentences:
            out.print(sentence)


def diagnosis(found) -> None:
    """Feasible or not (with the conflict), then the strictest value each constraint can take."""
    if found.feasible:
        _labelled(out, "feasible", "green", "the constraints can hold together under the rule")
    else:
        _labelled(out, "infeasible", "red bold", "; ".join(found.conflicting) or "the constraints conflict")
        for line in found.explanation:
            out.print(f"  {line}")
    table = Table(title="the strictest value each constraint can take (the others kept)", header_style="bold")
    for column in ("constraint", "parameter", "given", "strictest that holds"):
        table.add_column(column, justify="left" if column in ("constraint", "parameter") else "right")
    for row in found.limits.itertuples(index=False):
        table.add_row(row.constraint, row.parameter, "-" if row.given is None or row.given != row.given else f"{row.given:g}",
                      "none holds" if row.limit is None or row.limit != row.limit else f"{row.limit:.6f}")  # to 1e-6
    out.print(table)


def lottery(result) -> None:
    """The lottery: how many draws, the decomposition's size, and the first allocations with their odds."""
    out.print(f"lottery over the {result.rule} allocation, seed {result.seed}: {result.count} draw(s)")
    if result.odds:  # counted by the library: an allocation that gives nobody anything has no row
        out.print(f"exact decomposition: {len(result.odds)} whole-unit allocation(s); the most likely has "
                  f"probability {max(result.odds):.4f}")
    for note in result.notes:
        _labelled(out, "note", "yellow", note)
    stopped(result.stopped)


def stopped(details: dict | None) -> None:
    """The ``stopped:`` line of a run its time limit cut short (nothing without one)."""
    if details:
        _labelled(out, "stopped", "yellow", details["note"])


@contextlib.contextmanager
def draws_progress(total: int, label: str = "draws"):
    """A bar of draws (or other ``label``) done, their rate and the time left (quiet when stderr is not a
    terminal); yields ``update(done, total)``."""
    if not err.is_terminal:  # the bar is drawn on stderr
        yield lambda done, total: None
        return
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(label, total=total, rate="")

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done)
            speed = bar.tasks[0].speed
            bar.update(task, rate=f"{speed:.1f} {label}/s" if speed else "")

        yield update


#: metrics shown per rule after a simulation (all are in metric_summary.csv)
SIMULATION_METRICS = ("total_value", "min_fill_rate", "mean_fill_rate", "gini", "units_unserved")


def simulation(sim) -> None:
    """Per rule: mean and 5th-95th percentile of the main metrics over the draws, and draw statuses."""
    summary = sim.metric_summary()
    names = [m for m in SIMULATION_METRICS if m in set(summary["metric"])]
    names += sorted(m for m in set(summary["metric"]) if m.startswith("max_group_gap["))
    done = f"{sim.draws_done} of {sim.plan.draws}" if sim.draws_done < sim.plan.draws else f"{sim.plan.draws}"
    table = Table(title=f"simulation: {done} draws, seed {sim.plan.seed}"
                        + (f" ({sim.resumed_draws} resumed)" if sim.resumed_draws else ""), header_style="bold")
    table.add_column("metric", no_wrap=True)
    rules = list(dict.fromkeys(sim.metrics["rule"]))
    for rule in rules:
        table.add_column(f"{rule}\nmean [p05, p95]", justify="right")
    for name in names:
        cells = []
        for rule in rules:
            row = summary[(summary["rule"] == rule) & (summary["metric"] == name)]
            cells.append("-" if row.empty else f"{_fmt(row['mean'].iloc[0])} [{_fmt(row['p05'].iloc[0])}, "
                                                f"{_fmt(row['p95'].iloc[0])}]")
        table.add_row(name, *cells)
    statuses = sim.metrics.groupby("rule", sort=False)["status"].apply(lambda s: ", ".join(
        f"{k} {v}" for k, v in s.value_counts().sort_index().items()))
    table.add_row("draws solved", *[statuses.get(rule, "") for rule in rules])
    out.print(table)


def bounds(table) -> None:
    """The fairness bounds: per setting and metric, nominal, worst, best and how each was found."""
    view = Table(title="fairness bounds over the demand intervals", header_style="bold")
    for column in ("setting", "metric", "nominal", "worst", "best", "method"):
        view.add_column(column, justify="right" if column in ("nominal", "worst", "best") else "left")
    for row in table.itertuples(index=False):
        view.add_row(row.setting, row.metric, _fmt(row.nominal), _fmt(row.worst), _fmt(row.best), row.method)
    out.print(view)
    if table["method"].str.startswith("sampled").any():
        out.print("sampled: the rule solved at every demand_low, every demand_high, nominal demand and uniform "
                  "draws; the true range may be wider. exact: proven extremes (docs/simulation.md).")
