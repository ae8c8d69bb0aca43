"""Multiplicity adjustment of the active-versus-reference comparisons at the primary visit.

Methods (``analysis.multiplicity``):

- ``dunnett``: single-step, two-sided, from the multivariate t with the correlation of the
  contrasts' covariance matrix (Kenward-Roger adjusted when the fit is) and one df, the
  smallest of the family's (not rounded). Adjusted p-value of comparison i is
  ``1 - P(max_j |T_j| <= |t_i|)``; simultaneous CIs use the critical value ``c`` with
  ``P(max_j |T_j| <= c) = 1 - alpha``. Deterministic quadrature (:mod:`trialkit.estimators.mvt`),
  up to three comparisons.
- ``holm``: step-down Bonferroni adjusted p-values.
- ``fixed_sequence``: hypotheses tested in ``analysis.multiplicity_order``, each at full alpha
  while all earlier ones were rejected; adjusted p-value is the running maximum.
- ``none``: adjusted = unadjusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from trialkit.errors import DefinitionError
from trialkit.estimators.mvt import MAX_DIMENSION, two_sided_mvt_many, two_sided_mvt_quantile
from trialkit.vocabulary import MULTIPLICITY_METHODS


@dataclass(frozen=True)
class MultiplicityResult:
    """Adjusted p-values (family order), rejections and, for Dunnett, simultaneous CIs."""

    method: str
    alpha: float
    arms: tuple[str, ...]
    p_adjusted: tuple[float, ...]
    rejected: tuple[bool, ...]
    order: tuple[str, ...]
    df: float | None = None
    critical_value: float | None = None
    correlation: tuple[tuple[float, ...], ...] | None = None
    simultaneous_lower: tuple[float, ...] | None = None
    simultaneous_upper: tuple[float, ...] | None = None


def holm(p: npt.ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values, in the order given."""
    p_arr = np.asarray(p, dtype=float)
    m = p_arr.size
    order = np.argsort(p_arr, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_arr[idx]))
        adj[idx] = running
    return adj


def fixed_sequence(p: npt.ArrayLike, order: Sequence[int]) -> np.ndarray:
    """Fixed-sequence adjusted p-values: the running maximum of p along ``order`` (indices)."""
    p_arr = np.asarray(p, dtype=float)
    if sorted(order) != list(range(p_arr.size)):
        raise ValueError("fixed_sequence: order must list every hypothesis once")
    adj = np.empty(p_arr.size)
    running = 0.0
    for idx in order:
        running = max(running, float(p_arr[idx]))
        adj[idx] = running
    return adj


def correlation_from_covariance(cov: np.ndarray) -> np.ndarray:
    """The correlation matrix of a covariance matrix."""
    cov = np.asarray(cov, dtype=float)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    return corr


def dunnett_p(t: npt.ArrayLike, corr: np.ndarray, df: float) -> np.ndarray:
    """Two-sided single-step adjusted p-values ``1 - P(max |T| <= |t_i|)`` (one quadrature for
    the whole family)."""
    return 1.0 - two_sided_mvt_many(np.abs(np.asarray(t, dtype=float)), corr, df)


def dunnett_critical_value(alpha: float, corr: np.ndarray, df: float) -> float:
    """Two-sided simultaneous critical value: ``P(max |T| <= c) = 1 - alpha``."""
    return two_sided_mvt_quantile(1.0 - alpha, corr, df)


def check_supported(method: str, n_active: int) -> None:
    """Refuse a plan the implementation cannot carry out (before any model runs)."""
    if method not in MULTIPLICITY_METHODS:
        raise DefinitionError(
            f"analysis.multiplicity: {method!r} is not one of {MULTIPLICITY_METHODS}"
        )
    if method == "dunnett" and n_active > MAX_DIMENSION:
        raise DefinitionError(
            f"analysis.multiplicity: dunnett is supported for up to {MAX_DIMENSION} active arms "
            f"(the trial has {n_active}); use holm or fixed_sequence"
        )


def adjust(
    method: str,
    arms: Sequence[str],
    estimate: npt.ArrayLike,
    se: npt.ArrayLike,
    df: npt.ArrayLike,
    t: npt.ArrayLike,
    p: npt.ArrayLike,
    cov: np.ndarray,
    alpha: float,
    order: Sequence[str] = (),
    simultaneous: bool = True,
) -> MultiplicityResult:
    """Adjust the family of comparisons ``arms`` (active arm codes, all vs the reference).

    ``cov`` is the covariance matrix of the family's estimates (rows in ``arms`` order);
    ``order`` is the testing order for ``fixed_sequence`` (default: ``arms``);
    ``simultaneous=False`` skips Dunnett's critical value and simultaneous CIs (a simulation
    needs only the adjusted p-values; the quantile costs as much as they do).
    """
    check_supported(method, len(arms))
    p_arr = np.asarray(p, dtype=float)
    arms_t = tuple(arms)
    seq = tuple(order) if order else arms_t
    if method == "none":
        adj = p_arr.copy()
        return _result(method, alpha, arms_t, adj, adj <= alpha, arms_t)
    if method == "holm":
        adj = holm(p_arr)
        return _result(method, alpha, arms_t, adj, adj <= alpha, arms_t)
    if method == "fixed_sequence":
        adj = fixed_sequence(p_arr, [arms_t.index(a) for a in seq])
        return _result(method, alpha, arms_t, adj, adj <= alpha, seq)
    corr = correlation_from_covariance(np.asarray(cov))
    df_one = float(np.min(np.asarray(df, dtype=float)))
    adj = dunnett_p(t, corr, df_one)
    result = MultiplicityResult(
        method=method,
        alpha=alpha,
        arms=arms_t,
        p_adjusted=tuple(float(v) for v in adj),
        rejected=tuple(bool(v <= alpha) for v in adj),
        order=arms_t,
        df=df_one,
        correlation=tuple(tuple(float(v) for v in row) for row in corr),
    )
    if not simultaneous:
        return result
    c = dunnett_critical_value(alpha, corr, df_one)
    est = np.asarray(estimate, dtype=float)
    se_arr = np.asarray(se, dtype=float)
    return replace(
        result,
        critical_value=c,
        simultaneous_lower=tuple(float(v) for v in est - c * se_arr),
        simultaneous_upper=tuple(float(v) for v in est + c * se_arr),
    )


def _result(
    method: str,
    alpha: float,
    arms: tuple[str, ...],
    adj: np.ndarray,
    rejected: np.ndarray,
    order: tuple[str, ...],
) -> MultiplicityResult:
    return MultiplicityResult(
        method=method,
        alpha=alpha,
        arms=arms,
        p_adjusted=tuple(float(v) for v in adj),
        rejected=tuple(bool(v) for v in rejected),
        order=order,
    )


__all__ = [
    "MultiplicityResult",
    "adjust",
    "check_supported",
    "correlation_from_covariance",
    "dunnett_critical_value",
    "dunnett_p",
    "fixed_sequence",
    "holm",
]
