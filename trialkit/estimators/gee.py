"""GEE of counts (log link, negative binomial NB2 or Poisson variance), vectorised over subjects.

The estimating equations, their iteration and the sandwich covariance are statsmodels' ``GEE``
(``families.NegativeBinomial(alpha)`` or ``Poisson()``, ``cov_struct.Exchangeable()`` or
``Independence()``, ``cov_type="robust"``): one Fisher scoring step of the mean parameters at
the current working correlation, then the correlation's moment update, until the step is below
``tol``. statsmodels sums over subjects in a Python loop; here the exchangeable inverse
``R_i^-1 = (I - c_i J) / (1 - rho)`` turns every per-subject product into per-subject sums
(:class:`trialkit.models.clusters.Clusters`), so a fit is linear in rows. The fixed point is
statsmodels' (tests/analysis/test_gee.py checks it to 1e-8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialkit.errors import ConvergenceError, ModelSpecificationError
from trialkit.models.clusters import Clusters

#: Working correlations this module fits.
CORRELATIONS = ("exchangeable", "independence")


@dataclass(frozen=True)
class GeeFit:
    """A fitted count GEE: coefficients, robust covariance, working correlation, fitted means."""

    params: pd.Series
    cov_params: np.ndarray
    rho: float
    fittedvalues: np.ndarray
    endog: np.ndarray
    exog: np.ndarray
    iterations: int

    @property
    def bse(self) -> np.ndarray:
        """Robust (sandwich) standard errors."""
        return np.sqrt(np.diag(self.cov_params))


@dataclass(frozen=True)
class _Terms:
    """The per-row and per-subject pieces of the estimating equations at one parameter value."""

    mu: np.ndarray
    xt: np.ndarray  # rows of D = diag(mu) X, each divided by its sd
    rt: np.ndarray  # Pearson residuals (y - mu) / sd
    sx: np.ndarray  # per-subject sums of xt
    sr: np.ndarray  # per-subject sums of rt


def _terms(y: np.ndarray, X: np.ndarray, beta: np.ndarray, alpha: float, g: Clusters) -> _Terms:
    mu = np.exp(X @ beta)
    sd = np.sqrt(mu + alpha * mu**2)
    xt = X * (mu / sd)[:, None]
    rt = (y - mu) / sd
    return _Terms(mu=mu, xt=xt, rt=rt, sx=g.sums(xt), sr=g.sums(rt))


def _shrink(rho: float, sizes: np.ndarray) -> np.ndarray:
    """c_i of R_i^-1 = (I - c_i J) / (1 - rho) for each subject's size (statsmodels' c)."""
    return rho / (1.0 - rho) / (1.0 + rho * (sizes - 1))


def _bread_score(t: _Terms, rho: float, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sum D' V^-1 D and sum D' V^-1 (y - mu) over subjects."""
    bread = t.xt.T @ t.xt / (1.0 - rho) - (t.sx * c[:, None]).T @ t.sx
    score = t.xt.T @ t.rt / (1.0 - rho) - t.sx.T @ (c * t.sr)
    return bread, score


def _exchangeable_rho(t: _Terms, g: Clusters, ddof: int) -> float:
    """statsmodels' ``Exchangeable.update``: the within-subject pairs' mean Pearson product."""
    n = len(t.rt)
    scale = float(t.rt @ t.rt) / (n - ddof)
    ssr = g.sums(t.rt**2)
    pairs = float(np.sum(0.5 * g.sizes * (g.sizes - 1)))
    if pairs <= ddof:
        raise ModelSpecificationError(
            f"exchangeable GEE: {pairs:.0f} within-subject pairs of visits for {ddof} "
            "coefficients (too few subjects with two or more visits)"
        )
    return float(np.sum((t.sr**2 - ssr) / 2.0)) / scale / (pairs - ddof)


def fit_count_gee(
    y: np.ndarray,
    X: pd.DataFrame,
    subjects: np.ndarray | pd.Series,
    *,
    alpha: float,
    correlation: str = "exchangeable",
    start: GeeFit | None = None,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> GeeFit:
    """The GEE of counts ``y`` on design ``X`` clustered by ``subjects`` at NB2 dispersion
    ``alpha`` (0: Poisson), warm-started from ``start`` (its coefficients and correlation).

    Converged when the largest Fisher step is below ``tol`` x (1 + largest |coefficient|);
    ConvergenceError otherwise (or when the iteration leaves the finite numbers).
    """
    if correlation not in CORRELATIONS:
        raise ModelSpecificationError(
            f"GEE working correlation {correlation!r} is not one of {', '.join(CORRELATIONS)}"
        )
    g = Clusters.of(subjects)
    ys = np.asarray(y, dtype=float)[g.order]
    Xs = X.to_numpy(dtype=float)[g.order]
    p = Xs.shape[1]
    exchangeable = correlation == "exchangeable"
    if start is None:
        beta = np.linalg.lstsq(Xs, np.log(ys + 0.5), rcond=None)[0]
        rho = 0.0
    else:
        beta, rho = start.params.to_numpy(dtype=float).copy(), start.rho
    t = _terms(ys, Xs, beta, alpha, g)
    for iteration in range(1, max_iter + 1):
        bread, score = _bread_score(t, rho, _shrink(rho, g.sizes))
        step = np.linalg.solve(bread, score)
        beta = beta + step
        t = _terms(ys, Xs, beta, alpha, g)
        if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(t.mu))):
            break
        if exchangeable:
            rho = _exchangeable_rho(t, g, p)
        if np.max(np.abs(step)) <= tol * (1.0 + np.max(np.abs(beta))):
            return _result(ys, Xs, X.columns, beta, rho, t, g, iteration)
    raise ConvergenceError(
        f"GEE of counts ({correlation}, alpha {alpha:.6g}): no convergence in {max_iter} steps"
    )


def _result(
    y: np.ndarray,
    X: np.ndarray,
    names: pd.Index,
    beta: np.ndarray,
    rho: float,
    t: _Terms,
    g: Clusters,
    iterations: int,
) -> GeeFit:
    """The fit at ``beta``: robust covariance B^-1 (sum u_i u_i') B^-1, u_i each subject's score."""
    c = _shrink(rho, g.sizes)
    bread, _ = _bread_score(t, rho, c)
    u = g.sums(t.xt * t.rt[:, None]) / (1.0 - rho) - t.sx * (c * t.sr)[:, None]
    inv = np.linalg.inv(bread)
    cov = inv @ (u.T @ u) @ inv
    back = np.empty_like(g.order)
    back[g.order] = np.arange(len(g.order))  # rows in the caller's order again
    return GeeFit(
        params=pd.Series(beta, index=names),
        cov_params=cov,
        rho=rho,
        fittedvalues=t.mu[back],
        endog=y[back],
        exog=X[back],
        iterations=iterations,
    )


__all__ = ["CORRELATIONS", "GeeFit", "fit_count_gee"]
