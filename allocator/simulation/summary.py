"""What many draws say: metric distributions per rule, and group fill rates with their uncertainty.

:func:`group_intervals` gives, per rule and group, the mean over draws of the group's fill
rate with a **bootstrap confidence interval** for that mean (resampling draws with
replacement, percentile interval; Efron and Tibshirani 1993), and the 5th and 95th
percentiles of the per-draw rates: the range one planning period's rate will fall in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.core.budget import refuse_over
from allocator.core.errors import UsageError
from allocator.core.status import Status
from allocator.report.plots import settle_matplotlib

#: metric columns that are not metrics
KEYS = ("draw", "rule", "status")
#: indices drawn at a time by :func:`bootstrap_mean_interval` (8 MB)
BOOTSTRAP_BLOCK = 1_000_000
#: bootstrap resamples at most
MAX_RESAMPLES = 100_000


def metric_columns(metrics: pd.DataFrame) -> list[str]:
    return [c for c in metrics.columns if c not in KEYS and pd.api.types.is_numeric_dtype(metrics[c])]


def metric_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """``rule, metric, draws, mean, sd, p05, p50, p95`` over the draws each rule solved.

    Examples
    --------
    >>> m = pd.DataFrame({"draw": [0, 1, 0, 1], "rule": ["a", "a", "b", "b"], "status": ["optimal"] * 4,
    ...                   "gini": [0.1, 0.3, 0.2, 0.2]})
    >>> metric_summary(m)[["rule", "metric", "mean"]].round(6).values.tolist()
    [['a', 'gini', 0.2], ['b', 'gini', 0.2]]
    """
    rows = []
    solved = metrics[metrics["status"] == Status.OPTIMAL] if "status" in metrics else metrics
    for rule in pd.unique(metrics["rule"]):
        mine = solved[solved["rule"] == rule]
        for column in metric_columns(metrics):
            values = mine[column].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if not len(values):
                continue
            rows.append({"rule": rule, "metric": column, "draws": len(values), "mean": values.mean(),
                         "sd": values.std(ddof=1) if len(values) > 1 else 0.0,
                         "p05": np.quantile(values, 0.05), "p50": np.quantile(values, 0.5),
                         "p95": np.quantile(values, 0.95)})
    return pd.DataFrame(rows, columns=["rule", "metric", "draws", "mean", "sd", "p05", "p50", "p95"])


def bootstrap_mean_interval(values: np.ndarray, rng: np.random.Generator, *, level: float = 0.95,
                            resamples: int = 2000) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of ``values``."""
    if len(values) < 2:
        return (float(values[0]), float(values[0])) if len(values) else (np.nan, np.nan)
    # in blocks of about a million indices, not one resamples x draws matrix (16 GB for 2,000 x 1,000,000):
    # the generator's stream is the same either way, so the interval does not depend on the block size
    block = max(1, BOOTSTRAP_BLOCK // len(values))
    means = np.concatenate([values[rng.integers(0, len(values), (min(block, resamples - start), len(values)))]
                            .mean(axis=1) for start in range(0, resamples, block)])
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def group_intervals(groups: pd.DataFrame, *, level: float = 0.95, resamples: int = 2000,
                    seed: int = 0) -> pd.DataFrame:
    """The single-solve group table with uncertainty, per rule.

    Columns: ``rule, attribute, group, resource, units, allocated, demand, fill_rate`` (means over
    draws), ``fill_rate_ci_low, fill_rate_ci_high`` (bootstrap interval of the mean at ``level``),
    ``fill_rate_p05, fill_rate_p95`` (spread of the per-draw rates) and ``draws``.
    """
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise UsageError(f"resamples must be a whole number, 1 or more, got {resamples!r}")
    refuse_over("resamples", int(resamples), MAX_RESAMPLES, "a percentile interval settles within a few thousand "
                "resamples, and each costs a pass over every draw of every group")
    keys = ["rule", "attribute", "group", "resource"]
    columns = [*keys, "units", "allocated", "demand", "fill_rate", "fill_rate_ci_low", "fill_rate_ci_high",
               "fill_rate_p05", "fill_rate_p95", "draws"]
    if groups.empty:
        return pd.DataFrame(columns=columns)
    rng = np.random.default_rng(seed)
    rows = []
    for key, part in groups.groupby(keys, sort=False):
        rates = part["fill_rate"].to_numpy(dtype=float)
        rates = rates[np.isfinite(rates)]
        low, high = bootstrap_mean_interval(rates, rng, level=level, resamples=resamples)
        rows.append({**dict(zip(keys, key)), "units": part["units"].iloc[0],
                     "allocated": part["allocated"].mean(), "demand": part["demand"].mean(),
                     "fill_rate": rates.mean() if len(rates) else np.nan,
                     "fill_rate_ci_low": low, "fill_rate_ci_high": high,
                     "fill_rate_p05": np.quantile(rates, 0.05) if len(rates) else np.nan,
                     "fill_rate_p95": np.quantile(rates, 0.95) if len(rates) else np.nan, "draws": len(rates)})
    return pd.DataFrame(rows, columns=columns)




def distribution_figure(metrics: pd.DataFrame):
    """A matplotlib figure: one panel per metric (all of them), one box per rule (the distribution over draws).

    Write it with :func:`allocator.report.plots.png` (no run-dependent metadata).
    """
    settle_matplotlib()  # a usable config folder, whatever HOME is
    # imported here, after settle_matplotlib (matplotlib reads its config folder on import), and
    # only when a figure is drawn: matplotlib takes a noticeable part of a second to import
    from matplotlib.figure import Figure

    solved = metrics[metrics["status"] == Status.OPTIMAL]
    names = metric_columns(metrics)  # every metric, in the order of summary.json
    rules = list(pd.unique(metrics["rule"]))
    cols = min(4, len(names)) or 1
    rows = -(-len(names) // cols) or 1
    figure = Figure(figsize=(4.2 * cols, 3.2 * rows), dpi=100, layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        data = [solved.loc[solved["rule"] == r, name].dropna().to_numpy(dtype=float) for r in rules]
        ax.boxplot(data, tick_labels=rules, showfliers=True)
        ax.set_title(name, fontsize=10)
        ax.ticklabel_format(axis="y", useOffset=False)  # 1.0 +- 1e-12 reads as 1.0, not as an offset
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    figure.suptitle(f"Distribution over {metrics['draw'].nunique()} draws")
    return figure
