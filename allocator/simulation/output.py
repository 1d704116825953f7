"""The summary files of a finished simulation, written beside its shards (each file atomically).

``metrics.parquet`` (every draw x rule), ``metric_summary.csv`` (per rule and metric: mean, sd,
percentiles), ``groups.csv`` (group fill rates with bootstrap intervals), ``distributions.png``
and ``summary.json`` (the plan, statuses per rule and the metric summary). ``summary.json`` is
written last: its ``complete`` says whether the folder holds every draw of the plan (``false``,
with ``stopped``, after a time limit).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from allocator.core.precision import frame_records
from allocator.core.status import Status
from allocator.report.plots import png
from allocator.results.result import write_csv
from allocator.simulation.store import _write_atomic
from allocator.simulation.summary import distribution_figure


def simulation_summary(simulation, summary=None) -> dict:
    """The content of ``summary.json``: whether complete, the plan, statuses per rule, the metric summary."""
    metrics = simulation.metrics
    summary = simulation.metric_summary() if summary is None else summary
    statuses = {rule: part["status"].value_counts().sort_index().to_dict()
                for rule, part in metrics.groupby("rule", sort=False)}
    content = {"complete": simulation.status == Status.COMPLETE, "plan": simulation.plan.describe(),
               "statuses": statuses, "metrics": frame_records(summary)}
    if simulation.stopped is not None:  # the time ran out: the summaries cover the finished shards only
        content["stopped"] = simulation.stopped
    return content


def save_simulation(simulation, folder) -> Path:
    """Write the summaries of ``simulation`` (a :class:`~allocator.simulation.api.Simulation`) into ``folder``."""
    folder = Path(folder)
    metrics = simulation.metrics
    summary = simulation.metric_summary()
    _write_atomic(folder / "metrics.parquet", lambda path: metrics.to_parquet(path, index=False))
    _write_atomic(folder / "metric_summary.csv", functools.partial(write_csv, summary))
    _write_atomic(folder / "groups.csv", functools.partial(write_csv, simulation.group_intervals()))
    _write_atomic(folder / "distributions.png", lambda path: path.write_bytes(png(distribution_figure(metrics))))
    content = simulation_summary(simulation, summary)
    _write_atomic(folder / "summary.json", lambda path: path.write_text(
        json.dumps(content, indent=2) + "\n", encoding="utf-8"))
    return folder
