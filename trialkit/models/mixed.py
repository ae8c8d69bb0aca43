"""Linear mixed model with random effects by subject (REML), vectorised over subjects.

statsmodels MixedLM's profile REML criterion and optimisation (packed lower Cholesky factor of
cov_re / scale; fixed effects and scale profiled out; L-BFGS-B on -loglike / n from cov_re = I,
statsmodels' default), with the per-subject products summed by numpy through the Woodbury
identity (:class:`trialkit.models.clusters.Clusters`) instead of statsmodels' Python loop
over subjects: linear in rows. The estimates at the optimum are statsmodels' (fe_params, scale,
cov_re, llf); the covariance of the fixed effects is lme4's ``vcov``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from trialkit.errors import ConvergenceError
from trialkit.models.clusters import Clusters


@dataclass(frozen=True)
class MixedFit:
    """A REML fit: fixed effects, random-effect covariance, residual variance, REML log-lik."""

    fe_params: pd.Series
    cov_re: np.ndarray
    scale: float
    llf: float
    cov_fe: np.ndarray  # (sum X_i' V_i^-1 X_i)^-1
    method: str  # the optimiser that converged


class _SingularCovariance(ArithmeticError):
    """The random-effects covariance is (near) singular: statsmodels' pseudo-inverse branch."""


@dataclass(frozen=True)
class _Solution:
    """The GLS pieces at one packed covariance parameter."""

    psi: np.ndarray  # cov_re / scale
    K: np.ndarray  # (Psi^-1 + Z_i'Z_i)^-1 by subject
    KZX: np.ndarray
    XWX: np.ndarray
    beta: np.ndarray
    Zr: np.ndarray
    KZr: np.ndarray
    qf: float


class RemlProfile:
    """statsmodels MixedLM's profile REML criterion of one model, summed by subject at once.

    Same value and score as ``MixedLM.loglike`` / ``MixedLM.score`` (including the score's
    Cholesky re-factorisation), from per-subject cross products.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, Z: np.ndarray, g: Clusters) -> None:
        """Per-subject cross products of the rows (sorted by subject)."""
        y, X, Z = y[g.order], X[g.order], Z[g.order]
        self.g, self.y, self.X, self.Z = g, y, X, Z
        self.ZZ = g.sums(Z[:, :, None] * Z[:, None, :])
        self.ZX = g.sums(Z[:, :, None] * X[:, None, :])
        self.Zy = g.sums(Z * y[:, None])
        self.XX = X.T @ X
        self.Xy = X.T @ y
        self._cache: tuple[bytes, float, np.ndarray] | None = None

    @property
    def df(self) -> int:
        """Residual degrees of freedom n - p (REML)."""
        return self.X.shape[0] - self.X.shape[1]

    def solve(self, packed: np.ndarray) -> _Solution:
        """GLS fixed effects and the quadratic form at ``packed``."""
        q = self.Z.shape[1]
        L = np.zeros((q, q))
        L[np.tril_indices(q)] = packed
        psi = L @ L.T
        if np.linalg.eigvalsh(psi).min() < 1e-10:
            raise _SingularCovariance("random-effects covariance is singular")
        K = np.linalg.inv(np.linalg.inv(psi) + self.ZZ)
        KZX = K @ self.ZX
        XWX = self.XX - np.einsum("gap,gaq->pq", self.ZX, KZX)
        XWy = self.Xy - np.einsum("gap,ga->p", KZX, self.Zy)
        beta = np.linalg.solve(XWX, XWy)
        r = self.y - self.X @ beta
        Zr = self.g.sums(self.Z * r[:, None])
        KZr = np.einsum("gab,gb->ga", K, Zr)
        qf = float(r @ r - np.einsum("ga,ga->", Zr, KZr))
        return _Solution(psi=psi, K=K, KZX=KZX, XWX=XWX, beta=beta, Zr=Zr, KZr=KZr, qf=qf)

    def evaluate(self, packed: np.ndarray) -> tuple[float, np.ndarray]:
        """Profile REML log-likelihood and its score at ``packed`` (cached for the last point)."""
        key = np.asarray(packed, dtype=float).tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        s = self.solve(packed)
        df = self.df
        ld_psi = np.linalg.slogdet(s.psi)[1]
        ld_m = np.linalg.slogdet(np.linalg.inv(s.K))[1]
        ld_xwx = np.linalg.slogdet(s.XWX)[1]
        value = float(
            -0.5 * (self.g.count * ld_psi + ld_m.sum())
            - df * np.log(s.qf) / 2.0
            - ld_xwx / 2.0
            - df * np.log(2 * np.pi) / 2.0
            + df * np.log(df) / 2.0
            - df / 2.0
        )
        ZWZ = self.ZZ - self.ZZ @ s.K @ self.ZZ
        u = s.Zr - np.einsum("gab,gb->ga", self.ZZ, s.KZr)
        ZWX = self.ZX - self.ZZ @ s.KZX
        gradient = (
            -0.5 * ZWZ.sum(axis=0)
            + df / (2.0 * s.qf) * np.einsum("ga,gb->ab", u, u)
            + 0.5 * np.einsum("gap,pq,gbq->ab", ZWX, np.linalg.inv(s.XWX), ZWX)
        )
        score = (2.0 * gradient @ np.linalg.cholesky(s.psi))[np.tril_indices(len(s.psi))]
        self._cache = (key, value, score)
        return value, score

    def fixed_effects_cov(self, cov_re: np.ndarray, scale: float) -> np.ndarray:
        """(sum X_i' V_i^-1 X_i)^-1 with V_i = s I + Z_i G Z_i' (lme4's ``vcov``).

        V_i^-1 = (I - Z_i G (s I + Z_i'Z_i G)^-1 Z_i') / s (Woodbury, valid for a singular G);
        statsmodels' ``cov_params`` inverts the joint observed information instead.
        """
        K = cov_re @ np.linalg.inv(scale * np.eye(len(cov_re)) + self.ZZ @ cov_re)
        info = (self.XX - np.einsum("gap,gab,gbq->pq", self.ZX, K, self.ZX)) / scale
        return np.asarray(np.linalg.inv(info))


def _optimise(reml: RemlProfile, method: str) -> np.ndarray | None:
    """Packed REML estimate by one optimiser (``lbfgs`` is statsmodels' default fit: L-BFGS-B,
    default tolerances, from cov_re = I); None when it fails or meets a singular covariance."""
    q = reml.Z.shape[1]
    start = np.eye(q)[np.tril_indices(q)]
    n = len(reml.y)

    def fun(x: np.ndarray) -> float:
        return -reml.evaluate(x)[0] / n

    def jac(x: np.ndarray) -> np.ndarray:
        return -reml.evaluate(x)[1] / n

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "lbfgs":
                xopt, _, info = optimize.fmin_l_bfgs_b(
                    fun, start, fprime=jac, maxiter=100, bounds=[(None, None)] * len(start)
                )
                ok = info["warnflag"] == 0
            else:
                bfgs = method == "bfgs"
                res = optimize.minimize(
                    fun, start, jac=jac if bfgs else None, method="BFGS" if bfgs else "Nelder-Mead"
                )
                xopt, ok = res.x, bool(res.success)
    except (_SingularCovariance, np.linalg.LinAlgError, FloatingPointError):
        return None
    return xopt if ok and np.all(np.isfinite(xopt)) else None


#: Optimisers tried in turn (statsmodels' names): L-BFGS-B first, as ``MixedLM.fit``.
METHODS = ("lbfgs", "bfgs", "nm")


def fit_mixed(
    y: np.ndarray, X: pd.DataFrame, Z: np.ndarray, subjects: np.ndarray | pd.Series, what: str
) -> MixedFit:
    """REML fit of ``y = X beta + Z b_i + e`` with b_i ~ N(0, G) by subject (G unstructured).

    ConvergenceError naming ``what`` when no optimiser converges.
    """
    reml = RemlProfile(
        np.asarray(y, dtype=float), X.to_numpy(dtype=float), Z, Clusters.of(subjects)
    )
    for method in METHODS:
        packed = _optimise(reml, method)
        if packed is None:
            continue
        s = reml.solve(packed)
        scale = s.qf / reml.df
        cov_re = s.psi * scale
        return MixedFit(
            fe_params=pd.Series(s.beta, index=X.columns),
            cov_re=cov_re,
            scale=scale,
            llf=reml.evaluate(packed)[0],
            cov_fe=reml.fixed_effects_cov(cov_re, scale),
            method=method,
        )
    raise ConvergenceError(f"{what}: did not converge")


__all__ = ["METHODS", "MixedFit", "fit_mixed"]
