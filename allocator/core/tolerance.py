"""The tolerance policy: when a constraint holds, and how far solver round-off may reach.

Every feasibility verdict (solve, diagnose, frontier, simulate, bounds, whole units, every
backend) uses these numbers; docs/solving.md ("Tolerance policy") states the policy. This
module imports nothing from allocator, so anything may import it.

Shares, ratios and gaps are rates in [0, 1], so one *absolute* tolerance fits them all:

* the solver judges feasibility to ``SOLVER_FEASIBILITY`` absolute on the equilibrated LP,
  whose columns are shares of demand and whose rows have largest coefficient 1: that is
  about ``SOLVER_FEASIBILITY`` in fill-rate units (:mod:`allocator.backends.scaling`);
* a constraint holds when it holds with its parameter loosened by ``PARAMETER_TOLERANCE``,
  which is larger than the solver's tolerance (so verdicts do not flip with round-off) and
  half the reported precision: a value reported as ``p`` (rounded to ``REPORTED_RATE``) is
  within it of ``p``, so a floor at the reported max-min level holds.
"""

from __future__ import annotations

import math

#: primal feasibility tolerance of HiGHS and CBC (their default), absolute on the equilibrated LP
SOLVER_FEASIBILITY = 1e-7
#: rates, shares, ratios and gaps are reported to this (absolute; result.REPORT_PRECISION)
REPORTED_RATE = 1e-6
#: a constraint with parameter ``p`` holds iff it holds with ``p`` loosened by this
PARAMETER_TOLERANCE = 5e-7
#: at a boundary, a group_gap or group_ratio is imposed loosened by the first of these that is feasible
#: (the last is ``PARAMETER_TOLERANCE``): the less it is loosened, the closer the reported value is to it
BOUNDARY_STEPS = (1e-7, 2.5e-7, 5e-7)
#: a level found by one stage is held in the next at ``level (1 - HELD_LEVEL)`` (relative): the
#: solver's own round-off in the stage that found it must not make the next stage infeasible
HELD_LEVEL = SOLVER_FEASIBILITY
#: binary round-off of a few products and sums of doubles (a check of a rate against a level)
BINARY_ROUNDOFF = 1e-12
#: an exact algorithm in floating point (max-flow) reaches a target when it is short by at most
#: this share of it: round-off of sums of many terms, not a modelling tolerance
FLOAT_ROUNDOFF = 1e-9

assert SOLVER_FEASIBILITY < PARAMETER_TOLERANCE <= REPORTED_RATE / 2 and BOUNDARY_STEPS[-1] == PARAMETER_TOLERANCE


def loosened(value: float, stricter_up: bool, by: float = PARAMETER_TOLERANCE) -> float:
    """``value`` loosened by ``by`` (down if raising it is stricter), kept in [0, 1].

    Examples
    --------
    >>> loosened(0.6, True), loosened(0.0, True), loosened(1.0, False)
    (0.5999995, 0.0, 1.0)
    """
    if stricter_up:
        return max(0.0, round(value - by, 15))
    return min(1.0, round(value + by, 15))


def holds(reached: float, asked: float, stricter_up: bool) -> bool:
    """Whether a parameter ``asked`` holds when the strictest exact value that can hold is ``reached``.

    Examples
    --------
    >>> holds(0.59999999, 0.6, True), holds(0.5999, 0.6, True), holds(0.2000001, 0.2, False)
    (True, False, True)
    """
    return asked <= reached + PARAMETER_TOLERANCE if stricter_up else asked >= reached - PARAMETER_TOLERANCE


def reported_limit(limit: float, stricter_up: bool) -> float:
    """The strictest value, to the reported precision, of a parameter whose loosened form holds up to ``limit``.

    ``limit`` is a value whose loosened form (:func:`loosened`) holds; it is rounded to
    ``REPORTED_RATE`` towards the loose side, so the value reported holds too.

    Examples
    --------
    >>> reported_limit(0.6000004, True), reported_limit(0.3999996, False)
    (0.6, 0.4)
    """
    steps = limit / REPORTED_RATE
    # the round() absorbs the binary round-off of the division (0.6 / 1e-6 = 599999.9999999999)
    steps = math.floor(round(steps, 6)) if stricter_up else math.ceil(round(steps, 6))
    return min(1.0, max(0.0, round(steps * REPORTED_RATE, 6)))


def shown(value: float) -> str:
    """A parameter as the explanation prints it: to the reported precision, no trailing zeros.

    Examples
    --------
    >>> shown(0.6), shown(0.599999), shown(0.25)
    ('0.6', '0.599999', '0.25')
    """
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"
