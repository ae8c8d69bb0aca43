"""Pooling of the per-dataset estimates, as ``rbmi``'s ``pool``:

- jackknife: the full-data estimate, SE sqrt((n-1)/n sum (e_i - mean)^2), normal CI and p;
- bootstrap: the full-data estimate with percentile CI (type 6 quantiles) and p (the level at
  which the quantile crosses 0), or with the bootstrap SD as SE (normal);
- Rubin's rules (approximate Bayes) with Barnard and Rubin's df from the ANCOVA's df;
- bootstrapped ML: von Hippel and Bartlett's random-effects ANOVA of B samples x D imputations.

p-values are two-sided.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from trialkit.missing_data.analyse import Estimates


@dataclass(frozen=True)
class Pooled:
    """One pooled effect: estimate, SE (NaN for percentile intervals), df (inf: normal),
    confidence limits and p."""

    estimate: float
    se: float
    df: float
    lower: float
    upper: float
    p: float


def parametric(point: float, se: float, alpha: float, df: float = np.inf) -> Pooled:
    """Point +- t (or z) quantile times SE; two-sided p of point / SE."""
    dist = stats.norm if not np.isfinite(df) else stats.t(df)
    q = float(dist.ppf(1.0 - alpha / 2.0))
    z = point / se
    p = 2.0 * float(min(dist.cdf(z), dist.sf(z)))
    return Pooled(point, se, df, point - q * se, point + q * se, p)


def jackknife(est: np.ndarray, alpha: float) -> Pooled:
    """``est[0]`` on the full data, ``est[1:]`` with one subject left out each."""
    jack = est[1:]
    n = len(jack)
    se = float(np.sqrt((n - 1) / n * np.sum((jack - jack.mean()) ** 2)))
    return parametric(float(est[0]), se, alpha)


def percentile_p(est: np.ndarray) -> float:
    """Two-sided p of a percentile bootstrap: twice the level where the type 6 quantile is 0."""
    x = np.sort(est)
    n = len(x)
    if np.all(x == 0):
        return 1.0
    if x[0] > 0 or x[-1] < 0:
        return 0.0
    levels = np.arange(1, n + 1) / (n + 1)
    if np.any(x == 0):
        zero = np.flatnonzero(x == 0)
        greater, less = levels[zero[0]], 1.0 - levels[zero[-1]]
    else:
        j = int(np.searchsorted(x, 0.0)) - 1  # x[j] < 0 < x[j + 1]
        level = levels[j] + (0.0 - x[j]) / (x[j + 1] - x[j]) * (levels[j + 1] - levels[j])
        greater, less = level, 1.0 - level
    return float(min(2.0 * min(greater, less), 1.0))


def bootstrap(est: np.ndarray, alpha: float, interval: str) -> Pooled:
    """``est[0]`` on the full data, ``est[1:]`` on bootstrap samples."""
    boot = est[1:]
    if interval == "normal":
        return parametric(float(est[0]), float(np.std(boot, ddof=1)), alpha)
    lower, upper = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0], method="weibull")
    return Pooled(float(est[0]), np.nan, np.inf, float(lower), float(upper), percentile_p(boot))


def rubin(est: np.ndarray, se: np.ndarray, df_complete: float, alpha: float) -> Pooled:
    """Rubin's rules with Barnard and Rubin's (1999) small-sample df."""
    M = len(est)
    var_w = float(np.mean(se**2))
    var_b = float(np.var(est, ddof=1))
    var_t = var_w + var_b + var_b / M
    lam = (1.0 + 1.0 / M) * var_b / var_t
    v_obs = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - lam)
    if lam == 0:
        df = v_obs
    else:
        v_old = (M - 1) / lam**2
        df = v_old * v_obs / (v_old + v_obs)
    return parametric(float(np.mean(est)), float(np.sqrt(var_t)), alpha, df)


def bmlmi(est: np.ndarray, imputations: int, alpha: float) -> Pooled:
    """Bootstrapped ML pooling (von Hippel and Bartlett 2021) of B x D estimates."""
    D = imputations
    e = est.reshape(-1, D)
    B = e.shape[0]
    point = float(e.mean())
    msw = float(np.sum((e - e.mean(axis=1, keepdims=True)) ** 2)) / (B * (D - 1))
    msb = D * float(np.sum((e.mean(axis=1) - point) ** 2)) / (B - 1)
    var = (1.0 + 1.0 / B) * (msb - msw) / D + msw / (B * D)
    df = var**2 / (((B + 1) / (B * D)) ** 2 * msb**2 / (B - 1) + msw**2 / (B * D**2 * (D - 1)))
    return parametric(point, float(np.sqrt(var)), alpha, max(3.0, df))


def pool_one(
    pooling: str,
    est: np.ndarray,
    se: np.ndarray,
    df: np.ndarray,
    alpha: float,
    interval: str = "percentile",
    imputations: int = 1,
) -> Pooled:
    """Pool the estimates of one effect at one visit by the method's rule."""
    if pooling == "jackknife":
        return jackknife(est, alpha)
    if pooling == "bootstrap":
        return bootstrap(est, alpha, interval)
    if pooling == "rubin":
        return rubin(est, se, float(df[0]), alpha)
    return bmlmi(est, imputations, alpha)


def pool(
    estimates: Estimates,
    pooling: str,
    alpha: float = 0.05,
    interval: str = "percentile",
    imputations: int = 1,
) -> list[list[Pooled]]:
    """Pooled effect of every arm (outer list) at every visit (inner list)."""
    _, A, T = estimates.est.shape
    return [
        [
            pool_one(
                pooling,
                estimates.est[:, a, t],
                estimates.se[:, a, t],
                estimates.df,
                alpha,
                interval,
                imputations,
            )
            for t in range(T)
        ]
        for a in range(A)
    ]


__all__ = [
    "Pooled",
    "bmlmi",
    "bootstrap",
    "jackknife",
    "parametric",
    "percentile_p",
    "pool",
    "pool_one",
    "rubin",
]
