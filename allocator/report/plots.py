"""Every chart allocator draws (matplotlib, headless), for ``allocator plot`` and the HTML report.

Each function takes computed results and returns a matplotlib ``Figure``; :func:`png` turns a
figure into bytes. PNGs carry no timestamp or software stamp, so the same results give
byte-identical files.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import sys
import tempfile
from typing import TYPE_CHECKING

import numpy as np

from allocator.core.status import Status

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from allocator.accountability.disparity import Disparity
    from allocator.tradeoffs.comparison import Comparison
    from allocator.tradeoffs.frontiers import Frontier

COLOURS = ["#1b6ca8", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666"]


def settle_matplotlib() -> None:
    """Give matplotlib a folder it can write before it is first imported.

    It keeps its settings and font cache under ``~/.config`` and ``~/.cache``. With ``HOME``
    unset, missing, read-only or not a folder it would create ``HOME`` (as root), or warn on
    every run and make a temporary folder; such a run gets one private temporary folder
    (``MPLCONFIGDIR``) instead, quietly, removed at exit.
    """
    if "matplotlib" in sys.modules or os.environ.get("MPLCONFIGDIR"):
        return
    home = os.path.expanduser("~")
    bases = (os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"),
             os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"))
    if home != "~" and all(_can_hold(os.path.join(base, "matplotlib")) for base in bases):
        return
    try:
        folder = tempfile.mkdtemp(prefix="allocator-matplotlib-")
    except OSError:  # no writable temporary folder either: matplotlib copes without a cache
        return
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["MPLCONFIGDIR"] = folder


def _can_hold(folder: str) -> bool:
    """Whether ``folder`` (``~/.config/matplotlib``) is a writable folder or can be made under one that exists
    (``~/.config`` or ``~``): the first of the three that exists decides; ``HOME`` itself is never made."""
    parent = os.path.dirname(folder)
    for path in (folder, parent, os.path.dirname(parent)):
        if os.path.lexists(path):
            return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)
    return False


def _figure(width: float = 7.0, height: float = 3.6) -> Figure:
    settle_matplotlib()
    from matplotlib.figure import Figure  # imported here: the CLI should not pay for matplotlib unless it draws

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return figure


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes, without metadata that would change between runs."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _note_infeasible(figure: Figure, comparison: Comparison) -> None:
    """Name the rules that could not meet the constraints, so a missing series is not mistaken for zero."""
    if comparison.infeasible:
        figure.text(0.01, 0.0, "infeasible, not drawn: " + ", ".join(comparison.infeasible), fontsize=8,
                    color="#c00000", ha="left", va="bottom")


def group_fill_rates(comparison: Comparison, attribute: str) -> Figure:
    """Bars: each group's fill rate (per resource) under each rule."""
    figure = _figure()
    axes = figure.subplots()
    rules = list(comparison.results)
    frames = {rule: r.groups[r.groups["attribute"] == attribute] for rule, r in comparison.results.items()}
    first = next(iter(frames.values()))
    labels = [f"{g}" if first["resource"].nunique() == 1 else f"{g} / {r}"
              for g, r in zip(first["group"], first["resource"])]
    width = 0.8 / max(len(rules), 1)
    positions = np.arange(len(labels))
    for k, rule in enumerate(rules):
        axes.bar(positions + k * width - 0.4 + width / 2, frames[rule]["fill_rate"].to_numpy(), width,
                 label=rule, color=COLOURS[k % len(COLOURS)])
    axes.set_xticks(positions, labels, rotation=30 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("group fill rate")
    axes.set_title(f"Group fill rates by {attribute}")
    axes.legend(fontsize=8, ncols=min(len(rules), 4))
    _note_infeasible(figure, comparison)
    return figure


def lorenz_curves(comparison: Comparison) -> Figure:
    """Lorenz curves of the (unit, resource) fill rates under each rule (the diagonal is equality)."""
    figure = _figure(5.0, 4.2)
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], color="#999999", linewidth=1, linestyle="--", label="equal")
    for k, (rule, result) in enumerate(comparison.results.items()):
        rates = np.sort(result.allocations["fill_rate"].to_numpy(dtype=float))
        total = rates.sum()
        share = np.concatenate([[0.0], np.cumsum(rates) / total]) if total > 0 else np.linspace(0, 1, len(rates) + 1)
        axes.plot(np.linspace(0, 1, len(share)), share, label=rule, color=COLOURS[k % len(COLOURS)])
    axes.set_xlabel("share of units (lowest fill rate first)")
    axes.set_ylabel("share of the sum of fill rates")
    axes.set_title("Lorenz curves of fill rates")
    axes.legend(fontsize=8)
    _note_infeasible(figure, comparison)
    return figure


def fill_rate_distribution(comparison: Comparison) -> Figure:
    """Box plots of the (unit, resource) fill rates under each rule."""
    figure = _figure()
    axes = figure.subplots()
    rules = list(comparison.results)
    data = [comparison.results[r].allocations["fill_rate"].to_numpy(dtype=float) for r in rules]
    axes.boxplot(data, tick_labels=rules, orientation="horizontal")
    axes.set_xlim(-0.02, 1.02)
    axes.set_xlabel("fill rate")
    axes.set_title("Distribution of fill rates")
    _note_infeasible(figure, comparison)
    return figure


def frontier_curve(frontier: Frontier) -> Figure:
    """Total value against the constraint's parameter; infeasible points marked on the axis."""
    figure = _figure(6.0, 3.6)
    axes = figure.subplots()
    table = frontier.table
    feasible = table["status"] == Status.OPTIMAL
    x = table[frontier.parameter].to_numpy(dtype=float)
    axes.plot(x[feasible], table["total_value"][feasible], marker="o", color=COLOURS[0], label="total value")
    if (~feasible).any():
        axes.plot(x[~feasible], np.zeros((~feasible).sum()), marker="x", linestyle="none", color="#c00000",
                  label="infeasible")
    if "total_allocated" in table and not np.allclose(table["total_allocated"][feasible], table["total_value"][feasible]):
        axes.plot(x[feasible], table["total_allocated"][feasible], marker=".", color=COLOURS[1],
                  label="total delivered")
    what = ", ".join(f"{k}={v}" for k, v in frontier.constraint.items() if k != "type")
    axes.set_xlabel(f"{frontier.parameter} ({frontier.constraint['type']}{', ' + what if what else ''})")
    axes.set_ylabel("total value")
    axes.set_title("What each step of equity costs")
    axes.legend(fontsize=8)
    return figure


def disparity_parts(disparity: Disparity) -> Figure:
    """Horizontal bars: each factor's part of the gap (Shapley), and what remains."""
    figure = _figure(6.0, 2.8)
    axes = figure.subplots()
    table = disparity.table
    colours = [COLOURS[0] if v >= 0 else COLOURS[1] for v in table["contribution"]]
    axes.barh(table["component"][::-1], table["contribution"][::-1], color=colours[::-1])
    axes.axvline(0, color="#444444", linewidth=0.8)
    axes.set_xlabel("contribution to the gap (fill-rate points)")
    axes.set_title(f"Where the {disparity.attribute} gap of {disparity.gap:.1%} under {disparity.rule} comes from")
    return figure


def network_flows(result) -> Figure | None:
    """The flow network: nodes (sites with stock larger), edges drawn wider with more flow, full ones in red."""
    import networkx as nx

    edges = result.edges
    if edges is None or not len(edges):
        return None
    graph = nx.DiGraph()
    graph.add_edges_from(zip(edges["from"], edges["to"]))
    positions = nx.spring_layout(graph, seed=1)  # seeded: the same drawing every run
    figure = _figure(6.5, 5.0)
    axes = figure.subplots()
    top = max(float(edges["flow"].max()), 1e-9)
    widths = 0.5 + 4.5 * edges["flow"].to_numpy() / top
    full = (edges["utilisation"] >= 1 - 1e-6).to_numpy()
    nx.draw_networkx_edges(graph, positions, edgelist=list(zip(edges["from"], edges["to"])), width=widths,
                           edge_color=[("#c00000" if f else COLOURS[0]) for f in full], arrows=True, ax=axes)
    nx.draw_networkx_nodes(graph, positions, node_size=120, node_color="#dddddd", edgecolors="#444444", ax=axes)
    nx.draw_networkx_labels(graph, positions, font_size=7, ax=axes)
    axes.set_title("Flows through the network (width: flow; red: at capacity)")
    axes.set_axis_off()
    return figure
