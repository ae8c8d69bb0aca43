"""Group sequential boundaries from alpha (and optional beta) spending, as rpact computes them.

Efficacy boundaries spend alpha under H0; futility boundaries (one-sided only) spend beta under the
drift that makes the last futility and efficacy boundaries meet (rpact's ``typeBetaSpending``).
Binding futility boundaries enter the H0 computation; non-binding ones do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from trialkit.design import integration as ig
from trialkit.design.spending import spend

Z_CAP = 8.0
"""Boundaries are searched in [-Z_CAP, Z_CAP]; a look that cannot spend anything gets +inf."""

_XTOL = 1e-12


@dataclass(frozen=True)
class GroupSequentialDesign:
    """Boundaries of a group sequential design, one entry per look."""

    information_fractions: tuple[float, ...]
    alpha: float
    sided: int
    spending: str
    gamma: float | None
    efficacy_z: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    beta: float = 0.2
    futility: str | None = None
    futility_gamma: float | None = None
    binding: bool = False
    futility_z: tuple[float, ...] | None = None
    beta_spent: tuple[float, ...] | None = None
    power: tuple[float, ...] | None = None
    drift: float | None = None

    @property
    def nominal_p(self) -> tuple[float, ...]:
        """One-sided nominal p-value of each efficacy boundary (rpact's ``stageLevels``)."""
        return tuple(float(ndtr(-c)) for c in self.efficacy_z)

    def table(self) -> pd.DataFrame:
        """The boundaries as a DataFrame, one row per look."""
        data: dict[str, object] = {
            "look": list(range(1, len(self.information_fractions) + 1)),
            "information_fraction": list(self.information_fractions),
            "efficacy_z": list(self.efficacy_z),
            "nominal_p": list(self.nominal_p),
            "cumulative_alpha": list(self.alpha_spent),
        }
        if self.futility_z is not None and self.beta_spent is not None:
            data["futility_z"] = list(self.futility_z)
            data["cumulative_beta"] = list(self.beta_spent)
        if self.power is not None:
            data["cumulative_power"] = list(self.power)
        return pd.DataFrame(data)


def _solve(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of the increasing-or-decreasing ``f`` on [lo, hi] (brentq, tight tolerance)."""
    return float(brentq(f, lo, hi, xtol=_XTOL, rtol=1e-15, maxiter=200))


def _efficacy_bound(prev: ig.StageDensity | None, t: float, target: float, sided: int) -> float:
    """Efficacy boundary at fraction ``t`` whose H0 crossing probability equals ``target``."""
    if prev is None:
        return float(-ndtri(target / sided)) if target > 0 else math.inf

    def excess(c: float) -> float:
        p = ig.prob_above(prev, t, 0.0, c)
        if sided == 2:
            p += ig.prob_below(prev, t, 0.0, -c)
        return p - target

    if excess(Z_CAP) >= 0.0:
        return math.inf
    if excess(0.0) <= 0.0:
        return 0.0
    return _solve(excess, 0.0, Z_CAP)


def _futility_bound(prev: ig.StageDensity | None, t: float, drift: float, target: float) -> float:
    """Futility boundary at ``t`` whose crossing probability under ``drift`` equals ``target``."""
    if prev is None:
        return float(ndtri(target)) + drift * math.sqrt(t) if target > 0 else -math.inf

    def excess(a: float) -> float:
        return ig.prob_below(prev, t, drift, a) - target

    lo, hi = -2 * Z_CAP, 2 * Z_CAP
    if excess(lo) >= 0.0:
        return lo
    if excess(hi) <= 0.0:
        return hi
    return _solve(excess, lo, hi)


def efficacy_boundaries(
    fractions: Sequence[float],
    cumulative_alpha: Sequence[float],
    sided: int = 1,
    futility_z: Sequence[float] | None = None,
    fixed: Sequence[float] = (),
    r: int = ig.GRID_R,
) -> tuple[list[float], list[float]]:
    """Efficacy boundaries spending ``cumulative_alpha`` at ``fractions``.

    Binding ``futility_z`` (if given) stop the trial under H0 too.

    The first ``len(fixed)`` boundaries are taken as given (boundaries already used at past looks).
    Returns the boundaries and the cumulative H0 crossing probabilities actually attained.
    """
    bounds: list[float] = []
    spent: list[float] = []
    total = 0.0
    prev: ig.StageDensity | None = None
    for k, t in enumerate(fractions):
        if k < len(fixed):
            c = float(fixed[k])
        else:
            c = _efficacy_bound(prev, t, cumulative_alpha[k] - total, sided)
        lower = -c if sided == 2 else (futility_z[k] if futility_z is not None else -math.inf)
        p = ig.prob_above(prev, t, 0.0, c) if math.isfinite(c) else 0.0
        if sided == 2 and math.isfinite(c):
            p += ig.prob_below(prev, t, 0.0, -c)
        total += p
        bounds.append(c)
        spent.append(total)
        if k < len(fractions) - 1:
            prev = ig.next_stage(prev, t, 0.0, lower, c, r)
    return bounds, spent


def beta_spending_pass(
    fractions: Sequence[float],
    cum_alpha: Sequence[float],
    cum_beta: Sequence[float],
    drift: float,
    binding: bool,
    efficacy: Sequence[float] | None,
    r: int,
    fixed: Sequence[float] = (),
) -> tuple[list[float], list[float]]:
    """Efficacy (recomputed if binding) and futility boundaries for one trial drift.

    The first ``len(fixed)`` efficacy boundaries are taken as given (already used at past looks).
    """
    eff: list[float] = []
    fut: list[float] = []
    h0: ig.StageDensity | None = None
    h1: ig.StageDensity | None = None
    alpha_total = beta_total = 0.0
    for k, t in enumerate(fractions):
        if k < len(fixed):
            c = float(fixed[k])
        elif binding or efficacy is None:
            c = _efficacy_bound(h0, t, cum_alpha[k] - alpha_total, 1)
        else:
            c = efficacy[k]
        a = _futility_bound(h1, t, drift, cum_beta[k] - beta_total)
        eff.append(c)
        fut.append(a)
        if k == len(fractions) - 1:
            break
        beta_total += ig.prob_below(h1, t, drift, a)
        if binding:
            alpha_total += ig.prob_above(h0, t, 0.0, c) if math.isfinite(c) else 0.0
            h0 = ig.next_stage(h0, t, 0.0, a, c, r)
        h1 = ig.next_stage(h1, t, drift, a, c, r)
    return eff, fut


def group_sequential_design(
    fractions: Sequence[float],
    alpha: float = 0.025,
    sided: int = 1,
    spending: str = "of",
    gamma: float | None = None,
    beta: float = 0.2,
    futility: str | None = None,
    futility_gamma: float | None = None,
    binding: bool = False,
    r: int = ig.GRID_R,
) -> GroupSequentialDesign:
    """Group sequential design with Lan-DeMets alpha spending and optional one-sided beta spending.

    Mirrors ``rpact::getDesignGroupSequential(typeOfDesign = "as..", typeBetaSpending = "bs..")``;
    ``alpha`` is the two-sided level when ``sided == 2``.
    """
    t = tuple(float(x) for x in fractions)
    if futility is not None and sided != 1:
        raise ValueError("futility (beta spending) boundaries need sided = 1")
    cum_alpha = [spend(spending, alpha, x, gamma, sided) for x in t]
    if futility is None:
        eff, spent = efficacy_boundaries(t, cum_alpha, sided, r=r)
        return GroupSequentialDesign(
            t, alpha, sided, spending, gamma, tuple(eff), tuple(spent), beta
        )

    cum_beta = [spend(futility, beta, x, futility_gamma, 1) for x in t]
    base = None if binding else efficacy_boundaries(t, cum_alpha, 1, r=r)[0]

    def gap(drift: float) -> float:
        eff, fut = beta_spending_pass(t, cum_alpha, cum_beta, drift, binding, base, r)
        return fut[-1] - eff[-1]

    drift = _solve(gap, 0.0, 2.0 * Z_CAP)
    eff, fut = beta_spending_pass(t, cum_alpha, cum_beta, drift, binding, base, r)
    fut[-1] = eff[-1]
    _, spent = efficacy_boundaries(
        t, cum_alpha, 1, futility_z=fut if binding else None, fixed=eff, r=r
    )
    up, low = ig.crossing_probabilities(t, fut, eff, drift, r)
    cum = 0.0
    power, beta_spent = [], []
    for k in range(len(t)):
        cum += float(up[k])
        power.append(cum)
        beta_spent.append(float(low[: k + 1].sum()))
    return GroupSequentialDesign(
        t,
        alpha,
        sided,
        spending,
        gamma,
        tuple(eff),
        tuple(spent),
        beta,
        futility,
        futility_gamma,
        binding,
        tuple(fut),
        tuple(beta_spent),
        tuple(power),
        drift,
    )
