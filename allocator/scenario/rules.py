"""Rules as a scenario states them: small frozen parameter specs, registered by name.

A rule here says *what* is wanted (its parameters, validated, and its math in its docstring);
how it is computed is its algorithm in :mod:`allocator.rules`, registered for the spec's class.
YAML (``rule:``), the CLI (``--rule maxmin:over=region``) and the API (``MaxMin(over="region")``)
all name rules by the registry keys below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from allocator.core.errors import Issue, Severity
from allocator.core.registry import Registry, Spec
from allocator.core.scalars import Count, Identifier, Number

if TYPE_CHECKING:
    pass


class Rule(Spec):
    """Base class of allocation rules: parameters only (see :mod:`allocator.rules` for the algorithms)."""


RULES: Registry[Rule] = Registry("rule", name_field="name")


@RULES.register
class Alpha(Rule):
    """Maximise the alpha-fair welfare of the fill rates (Mo and Walrand 2000).

    .. math::

        \\max_x \\sum_{(i,r) \\text{ reachable}} u_\\alpha(F_{ir}(x)), \\qquad
        u_\\alpha(f) = \\frac{f^{1-\\alpha} - 1}{1-\\alpha} \\;(\\alpha \\ne 1), \\quad u_1(f) = \\log f

    ``alpha = 0`` maximises the sum of fill rates, ``alpha = 1`` is :class:`~allocator.rules.nash.Nash`,
    and as ``alpha`` grows the optimum tends to the max-min fill rates (``alpha`` of 5 to 10 is
    already close). **On fill rates, not amounts**: so that the family runs between the same
    rates the other equity rules rank, and so that ``alpha = 1`` is exactly Nash (on amounts it
    would be too, but large ``alpha`` would then equalise absolute amounts, giving a unit asking
    for 10 the same as one asking for 1000). The price: ``alpha = 0`` is utilitarian only when
    demands and values are equal; the ``utilitarian`` rule is the one that maximises total value.
    Solved by tangent cuts with a proven bound (:mod:`allocator.rules.concave`).

    Examples
    --------
    >>> Alpha(alpha=2).describe()
    'alpha(alpha=2.0, tolerance=1e-06, max_rounds=30)'
    """

    key: ClassVar[str] = "alpha"
    summary: ClassVar[str] = "alpha-fair welfare of fill rates: 0 sum of rates, 1 nash, large -> maxmin"
    alpha: Number = Field(ge=0, le=50, allow_inf_nan=False)
    tolerance: Number = Field(1e-6, gt=0, le=0.1)
    max_rounds: Count = Field(30, ge=1, le=200)


@RULES.register
class Formula(Rule):
    """Shares proportional to a weighted index of unit columns, capped at demand, excess passed on.

    The status-quo rules planners live under. For the federal TEFAP commodity formula,
    ``weights: {poverty: 0.6, unemployed: 0.4}``: a unit's share is 60% of its share of people
    in poverty plus 40% of its share of the unemployed,

    .. math::

        s_i = \\sum_c w_c \\frac{x_{ic}}{\\sum_j x_{jc}} \\Big/ \\sum_c w_c, \\qquad
        a_{ir} = \\min(d_{ir}, \\lambda_r s_i)

    with ``lambda_r`` as large as the supply of ``r`` allows, so what a capped unit does not need
    is passed on to the others in proportion to their shares (water-filling). Shares are taken
    among the units that can be reached for ``r``: an unreachable unit's share is passed on too.
    With sites, the targets ``a_ir`` are computed on the pooled supply of each resource; one LP
    then delivers as much of every target as the links and site stocks allow (maximise the total
    delivered with each unit capped at its target), so what a formula cannot route is visible as
    supply left undelivered.

    Examples
    --------
    >>> Formula(weights={"poverty": 0.6, "unemployed": 0.4}).describe()
    "formula(weights={'poverty': 0.6, 'unemployed': 0.4})"
    """

    key: ClassVar[str] = "formula"
    summary: ClassVar[str] = "shares from a weighted index of unit columns (e.g. TEFAP: 60% poverty, 40% unemployed)"
    #: relative weights; at most 1e100 each, so that their sum never overflows (two of 1e308 sum to inf)
    weights: dict[Identifier, Annotated[Number, Field(le=1e100)]] = Field(min_length=1)

    def columns(self):
        return tuple(self.weights)

    def model_post_init(self, _context) -> None:
        if any(not (w > 0 and np.isfinite(w)) for w in self.weights.values()):
            raise ValueError("every weight must be a positive number")

    def index(self, problem) -> tuple[np.ndarray, list[str]]:
        """Each unit's index ``sum_c w_c x_ic / sum_j x_jc / sum_c w_c`` among the units that take part
        (reachable for some resource), and the weighted columns that are 0 for all of them."""
        taking_part = np.zeros(len(problem.unit_ids), dtype=bool)
        taking_part[problem.pair_unit[problem.pair_reachable]] = True
        total_weight = sum(self.weights.values())
        index = np.zeros(len(problem.unit_ids))
        empty = []
        for column, weight in self.weights.items():
            values = np.where(taking_part, problem.unit_numbers(column), 0.0)
            column_total = values.sum()
            if column_total > 0:
                index += weight / total_weight * values / column_total
            else:
                empty.append(column)
        return index, empty

    def data_issues(self, problem) -> list[Issue]:
        """An index that is 0 for every unit gives no shares at all: refused. A weighted column that is
        0 for every unit drops out of the index (its weight counts for nothing): said."""
        if not problem.pair_reachable.any():
            return []
        _, empty = self.index(problem)
        columns = ", ".join(empty)
        if len(empty) == len(self.weights):
            return [Issue(problem.source, "rule.weights",
                          f"the formula's index is 0 for every unit that can be served ({columns} "
                          f"{'is' if len(empty) == 1 else 'are'} 0 for all of them), so it gives nobody a share",
                          "a weighted column with a value above 0 for some unit, or another rule")]
        return [Issue(problem.source, "rule.weights",
                      f"{columns} {'is' if len(empty) == 1 else 'are'} 0 for every unit that can be served, so "
                      f"{'its weight counts' if len(empty) == 1 else 'their weights count'} for nothing: the shares "
                      f"come from {', '.join(c for c in self.weights if c not in empty)} alone",
                      severity=Severity.WARNING)] if empty else []


@RULES.register
class Leximin(Rule):
    """Lexicographically maximise the sorted vector of fill rates, then total value.

    Iterated max-min with saturation detection. Let ``free`` be all fill rates ``F_k``
    (pairs, or groups with ``over:``). Repeat until ``free`` is empty:

    .. math::

        t^{(j)} = \\max_{x,t}\\; t \\quad\\text{s.t.}\\quad F_k(x) \\ge t \\;\\; (k \\in free),\\quad
        F_k(x) \\ge \\ell_k \\;\\; (k \\notin free)

    then fix ``l_k = t^(j)`` for every ``k`` in ``free`` that is *saturated*: equal to ``t^(j)``
    in every optimal solution. By complementary slackness a row with a positive dual in any
    optimal dual solution is tight in every optimal primal one; the interior point method
    (without crossover) ends at a strictly complementary pair, so its positive duals mark the
    saturated rows, and one LP per distinct level is typical. Fixed rates are held from both
    sides (``l_k (1 -/+ 1e-7)``): they cannot rise in any optimum. A row is fixed only if its dual
    weight ``|y_k| D_k`` is positive *and* its fill rate equals the level (a double check
    against round-off); if no row passes, the one with the largest weight is fixed, so every
    round fixes at least one rate. Backends without duals fall back to one probe LP per free
    rate (``max F_k`` with the others held), which is exact but slow.

    Approximate leximin: with ``max_rounds: K`` at most ``K`` level LPs are solved (plus the value
    stage). If rates are still free after round ``K``, all of them are held at ``>= t_K``, the level
    of that round, and the result reports ``equity.approximation``: how many rates were fixed
    exactly (``exact_rates``: the lowest positions of the sorted profile, equal to the exact leximin
    vector's) and ``max_profile_gap = 1 - t_K``, a bound on how far any position of the sorted fill
    profile can be from the exact one (both profiles put the remaining rates in ``[t_K, 1]``).

    A last stage maximises total value with every level held; for pair rates it is skipped when
    the last level LP already holds every pair at its level (the amounts are then fixed). The
    leximin vector of fill rates is unique (the feasible set is convex); the flows need not be.
    """

    key: ClassVar[str] = "leximin"
    summary: ClassVar[str] = "lexicographically maximise the sorted fill rates (lowest first), then total value"
    over: Identifier | None = None
    max_rounds: Annotated[Count, Field(ge=1)] | None = None
    method: Literal["auto", "lp", "flow"] = "auto"


@RULES.register
class MaxMin(Rule):
    """Maximise the lowest fill rate, then total value with that level held.

    Stage 1 (equity):

    .. math::

        t^* = \\max_{x,t}\\; t \\quad\\text{s.t.}\\quad F_k(x) \\ge t \\;\\;\\forall k,\\qquad 0 \\le t \\le 1

    where ``F_k`` are the fill rates of the reachable (unit, resource) pairs, or with
    ``over: <attribute>`` the group fill rates ``sum_{i in g} a_ir / sum_{i in g} d_ir`` of
    every (group, resource). Stage 2 (efficiency): maximise total value subject to
    ``F_k >= t* (1 - 1e-7)`` for all ``k``; rates saturated at ``t*`` (positive dual in stage 1:
    at ``t*`` in every optimum) are also held below ``t* (1 + 1e-7)``. When every pair rate is
    saturated the amounts are fixed, so stage 2 is skipped (and recorded as skipped).

    With one resource, no constraints, unit rates and equal values, both stages are answered by
    max-flow instead (:mod:`allocator.rules.bottleneck`): the leximin allocation reaches the max-min
    level and delivers the largest total (Megiddo 1974), so it is a maxmin optimum. With differing
    values the level and its tight set come from max-flow and only the value stage is an LP.
    ``method: auto`` does this from ``FLOW_MIN_LINKS`` links up; ``method: lp`` and ``method: flow``
    force one way.

    Examples
    --------
    >>> MaxMin(over="region").describe()
    'maxmin(over=region, method=auto)'
    """

    key: ClassVar[str] = "maxmin"
    summary: ClassVar[str] = "maximise the lowest fill rate (of units, or of groups with over:), then total value"
    over: Identifier | None = None
    method: Literal["auto", "lp", "flow"] = "auto"


@RULES.register
class Nash(Rule):
    """Maximise the sum of the logarithms of what each (unit, resource) pair receives.

    .. math::

        \\max_x \\sum_{(i,r) \\text{ reachable}} \\log a_{ir}(x)
        \\;=\\; \\sum \\log d_{ir} + \\max_x \\sum \\log F_{ir}(x)

    Amounts or fill rates give the same optimum (they differ by the constant ``sum log d``).
    Proportional fairness (Nash 1950; Kelly 1997): any other allocation's relative gains
    sum to at most 0 against it. The fill rates of the optimum are unique. Solved as LPs of
    tangent cuts with a proven bound on the distance to the optimum
    (:mod:`allocator.rules.concave`); the result's ``equity`` reports ``gap`` and
    ``relative_gap`` of ``sum log F``, which stop below ``tolerance`` unless ``max_rounds`` runs out.

    Examples
    --------
    >>> Nash().describe()
    'nash(tolerance=1e-06, max_rounds=30)'
    """

    key: ClassVar[str] = "nash"
    summary: ClassVar[str] = "maximise the sum of log(allocated) over units: proportional fairness"
    tolerance: Number = Field(1e-6, gt=0, le=0.1)
    max_rounds: Count = Field(30, ge=1, le=200)


@RULES.register
class Priority(Rule):
    """Serve units one after another in the order of a score column, each as fully as possible.

    First-come-first-served (``score: arrival``, ``order: ascending``) or by vulnerability
    (``score: vulnerability``, ``order: descending``, the default). Units with equal scores
    are ordered by a lottery drawn from ``seed``, so the same seed gives the same order.

    The order is lexicographic: the first unit gets all it can, then the second all it can
    given that, and so on. With one resource, the amounts the network can deliver form a
    polymatroid, on which the greedy order is optimal for every objective with strictly
    decreasing weights (Edmonds 1970). So one LP finds it:

    .. math::

        \\max_x \\sum_{i,r} c_i\\, a_{ir}(x), \\qquad c_i = 1 + \\frac{n - \\text{rank}_i}{n}

    Resources do not interact, so this holds per resource. Constraints that couple units
    (floors, group constraints) break the polymatroid: the LP then gives the best
    priority-weighted allocation they allow, which need not be strictly lexicographic.

    Examples
    --------
    >>> Priority(score="vulnerability").describe()
    'priority(score=vulnerability, order=descending, seed=0)'
    """

    key: ClassVar[str] = "priority"
    summary: ClassVar[str] = "serve units in the order of a score column (ties by a seeded lottery)"
    score: Identifier
    order: Literal["descending", "ascending"] = "descending"
    seed: Count = Field(0, ge=0)

    def columns(self):
        return (self.score,)

    def ranks(self, problem) -> np.ndarray:
        """Each unit's place in the serving order (0 is served first)."""
        score = problem.unit_numbers(self.score)
        lottery = np.random.default_rng(self.seed).permutation(len(score))
        key = -score if self.order == "descending" else score
        order = np.lexsort((lottery, key))  # by score, then by lottery number
        ranks = np.empty(len(score), dtype=np.int64)
        ranks[order] = np.arange(len(score))
        return ranks


@RULES.register
class Proportional(Rule):
    """Every (unit, resource) pair gets the same fill rate, as high as possible.

    .. math::

        \\max_{x,t}\\; t \\quad\\text{s.t.}\\quad a_{ir}(x) = t\\, d_{ir}
        \\;\\;\\forall (i, r) \\text{ reachable},\\qquad 0 \\le t \\le 1

    Equal shares of demand. With the fill rates all fixed at ``t*`` the amounts are fixed, so
    there is no value stage (total value cannot change). Pairs no site can reach are left out
    (they get 0 and would force ``t = 0``); the scenario warns about them.
    """

    key: ClassVar[str] = "proportional"
    summary: ClassVar[str] = "same fill rate for every unit and resource, as high as possible"


@RULES.register
class Reserve(Rule):
    """Allocate one resource by the scenario's ``reserves:`` section (see :mod:`allocator.scenario.reserves`).

    Each unit asks for one unit. The reserve system decides who is served, ``sequential`` or
    ``smart``; one LP then routes the served units' doses through the links (maximise the total
    delivered with each unit capped at what it was granted), so with sites a grant the links
    cannot honour shows up as undelivered. Other resources get nothing from this rule.

    .. math::

        a_i = 1 \\text{ if unit } i \\text{ is placed in a category, else } 0

    Examples
    --------
    >>> Reserve().describe()
    'reserve()'
    """

    key: ClassVar[str] = "reserve"
    summary: ClassVar[str] = "a reserve system: categories with eligibility and priorities (scenario 'reserves:')"


@RULES.register
class Utilitarian(Rule):
    """Maximise total value.

    .. math::

        \\max_x \\sum_{i,r} v_{ir}\\, a_{ir}(x) \\quad \\text{over the feasible set}

    where ``a_ir(x) = sum_s x_irs`` is what unit ``i`` receives of resource ``r`` and
    ``v_ir`` its value per unit (default 1, so by default: deliver as much as possible).
    One stage.

    Examples
    --------
    >>> Utilitarian().describe()
    'utilitarian()'
    """

    key: ClassVar[str] = "utilitarian"
    summary: ClassVar[str] = "maximise total value (sum of value x allocated)"


__all__ = ["RULES", "Rule", "Alpha", "Formula", "Leximin", "MaxMin", "Nash", "Priority", "Proportional",
           "Reserve", "Utilitarian"]
