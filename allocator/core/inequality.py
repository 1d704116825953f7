"""Inequality indices of a vector of fill rates (0 = all equal unless said otherwise).

By hand for the rates (0.5, 0.5, 1, 0), mean 0.5: Atkinson(0.5) = 1 - ((2 sqrt 0.5 + 1) / 4)^2 / 0.5
= 0.2714; Theil = (2 ln 2) / 4 = 0.3466.

Examples
--------
>>> rates = np.array([0.5, 0.5, 1.0, 0.0])
>>> round(gini(rates), 4), round(atkinson(rates, 0.5), 4), round(theil(rates), 4)
(0.375, 0.2714, 0.3466)
"""

from __future__ import annotations

import numpy as np


def gini(values: np.ndarray) -> float:
    """Gini coefficient: mean absolute difference over twice the mean (0 when all are 0)."""
    values = np.sort(np.asarray(values, dtype=float))
    n, total = len(values), values.sum()
    if n == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * values).sum()) / (n * total) - (n + 1) / n)


def jain(values: np.ndarray) -> float | None:
    """Jain's fairness index ``(sum f)^2 / (n sum f^2)`` (1 = all equal); ``None`` when every value is 0."""
    values = np.asarray(values, dtype=float)
    square = float((values**2).sum())
    return float(values.sum() ** 2 / (len(values) * square)) if square > 0 else None


def atkinson(values: np.ndarray, epsilon: float) -> float | None:
    """Atkinson index ``1 - (mean f^(1-e))^(1/(1-e)) / mean f``; at ``e = 1`` the geometric mean.

    ``epsilon`` is the aversion to inequality. At ``e >= 1`` a single 0 makes the index 1 (the
    equally distributed equivalent is 0). ``None`` when every value is 0.
    """
    values = np.asarray(values, dtype=float)
    mean = values.mean() if len(values) else 0.0
    if mean <= 0:
        return None
    if epsilon == 1:
        if (values <= 0).any():
            return 1.0
        equivalent = float(np.exp(np.log(values).mean()))
    else:
        if epsilon > 1 and (values <= 0).any():
            return 1.0
        equivalent = float(np.mean(values ** (1 - epsilon)) ** (1 / (1 - epsilon)))
    return float(1 - equivalent / mean)


def theil(values: np.ndarray) -> float | None:
    """Theil T index ``mean((f/mu) ln(f/mu))`` with ``0 ln 0 = 0``; ``None`` when every value is 0."""
    values = np.asarray(values, dtype=float)
    mean = values.mean() if len(values) else 0.0
    if mean <= 0:
        return None
    share = values / mean
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(share > 0, share * np.log(share), 0.0)
    return float(terms.mean())


def price_of_fairness(value: float, best: float | None) -> float:
    """``1 - value / best``: the share of the most total value (``best``, the utilitarian optimum
    under the constraints held fixed) that a rule or a constraint gives up.

    NaN when there is no ``best`` (utilitarian cannot meet the constraints), 0 when ``best`` is
    0, and a solver's round-off above ``best`` (``-1e-7 < price < 0``) reads 0.

    Examples
    --------
    >>> round(price_of_fairness(12.0, 14.0), 6), price_of_fairness(14.0000001, 14.0), price_of_fairness(3.0, None)
    (0.142857, 0.0, nan)
    """
    if best is None or not np.isfinite(best) or not np.isfinite(value):
        return float("nan")
    price = 1 - value / best if best > 0 else 0.0
    return 0.0 if -1e-7 < price < 0 else float(price)
