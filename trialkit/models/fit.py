"""Optimisation of the MMRM likelihood over the covariance parameters.

The optimiser works in the unconstrained ``phi`` parameterisation (log-Cholesky for
``us``) with the analytic gradient and Hessian: a trust-region Newton method
(``trust-exact``) first, BFGS followed by a Newton polish as the fallback. Convergence is
judged on three checks reported with the results: optimiser success, gradient norm, and a
positive definite covariance with a positive definite information matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy import optimize

from trialkit.models.covariance import CovarianceStructure
from trialkit.models.likelihood import Evaluation, PaddedData

GRADIENT_TOL = 1e-3  # on d(-2 l)/d phi, phi being log-scale / correlation-scale parameters


class LikelihoodFunction(Protocol):
    """What the optimiser needs of a likelihood: subject by subject
    (:class:`~trialkit.models.likelihood.Likelihood`) or from per-pattern statistics
    (:class:`~trialkit.models.patterns.PatternLikelihood`)."""

    def evaluate(self, sigmas: np.ndarray, order: int = 1) -> Evaluation:
        """Value (order 0), gradient (1) and Hessian entries (2) at ``sigmas``."""
        ...

    def add_hessian(self, ev: Evaluation) -> None:
        """Fill ``ev.H4`` and ``ev.B`` of an order-1 evaluation."""
        ...


class CovarianceModel:
    """One covariance structure per group, their parameters stacked group after group."""

    def __init__(self, structures: list[CovarianceStructure]) -> None:
        self.structures = structures
        self.n_groups = len(structures)
        self.T = structures[0].T
        sizes = [s.n_params for s in structures]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.n_params = int(self.offsets[-1])

    def slices(self) -> list[slice]:
        """Where each group's parameters sit in the stacked ``theta`` (and ``phi``)."""
        return [slice(int(self.offsets[g]), int(self.offsets[g + 1])) for g in range(self.n_groups)]

    def theta_from_phi(self, phi: np.ndarray) -> np.ndarray:
        """Natural parameters of all groups."""
        return np.concatenate(
            [
                s.theta_from_phi(phi[sl])
                for s, sl in zip(self.structures, self.slices(), strict=True)
            ]
        )

    def phi_from_theta(self, theta: np.ndarray) -> np.ndarray:
        """Unconstrained parameters of all groups."""
        return np.concatenate(
            [
                s.phi_from_theta(theta[sl])
                for s, sl in zip(self.structures, self.slices(), strict=True)
            ]
        )

    def sigmas(self, theta: np.ndarray) -> np.ndarray:
        """Covariance matrix of each group, shape (n_groups, T, T)."""
        return np.stack(
            [s.sigma(theta[sl]) for s, sl in zip(self.structures, self.slices(), strict=True)]
        )

    def jac_theta(self, theta: np.ndarray) -> np.ndarray:
        """d vec(Sigma_all) / d theta, shape (q, n_groups*T*T)."""
        T2 = self.T * self.T
        J = np.zeros((self.n_params, self.n_groups * T2))
        for g, (s, sl) in enumerate(zip(self.structures, self.slices(), strict=True)):
            J[sl, g * T2 : (g + 1) * T2] = s.dsigma(theta[sl]).reshape(s.n_params, T2)
        return J

    def d2_term(self, theta: np.ndarray, G: np.ndarray) -> np.ndarray:
        """sum(G * d2Sigma/dtheta_k dtheta_l), the second-derivative part of the Hessian."""
        out = np.zeros((self.n_params, self.n_params))
        for g, (s, sl) in enumerate(zip(self.structures, self.slices(), strict=True)):
            d2 = s.d2sigma(theta[sl])
            if d2 is not None:
                out[sl, sl] = np.tensordot(d2, G[g], axes=([2, 3], [0, 1]))
        return out

    def d2_weighted(self, theta: np.ndarray, W: np.ndarray) -> np.ndarray | None:
        """sum_kl W_kl d2Sigma_kl per group, (n_groups, T, T); ``None`` if all are linear."""
        out = np.zeros((self.n_groups, self.T, self.T))
        any_ = False
        for g, (s, sl) in enumerate(zip(self.structures, self.slices(), strict=True)):
            d2 = s.d2sigma(theta[sl])
            if d2 is not None:
                any_ = True
                out[g] = np.tensordot(W[sl, sl], d2, axes=([0, 1], [0, 1]))
        return out if any_ else None

    def jac_phi(self, phi: np.ndarray) -> np.ndarray:
        """Block-diagonal d theta / d phi."""
        J = np.zeros((self.n_params, self.n_params))
        for s, sl in zip(self.structures, self.slices(), strict=True):
            J[sl, sl] = s.dtheta_dphi(phi[sl])
        return J

    def gradient_theta(self, theta: np.ndarray, ev: Evaluation) -> np.ndarray:
        """d(-2 l)/d theta."""
        assert ev.G is not None
        return self.jac_theta(theta) @ ev.G.reshape(-1)

    def hessian_theta(self, theta: np.ndarray, ev: Evaluation) -> np.ndarray:
        """Observed d2(-2 l)/d theta^2 (needs ``ev.H4``)."""
        assert ev.H4 is not None and ev.G is not None
        J = self.jac_theta(theta)
        H = J @ ev.H4 @ J.T + self.d2_term(theta, ev.G)
        return 0.5 * (H + H.T)

    def start_theta(self, S: np.ndarray) -> np.ndarray:
        """Starting values from each group's empirical covariance."""
        return np.concatenate([s.start_theta(S[g]) for g, s in enumerate(self.structures)])


@dataclass
class Convergence:
    """The three convergence checks of a fit and a one-line message."""

    optimizer_success: bool
    gradient_ok: bool
    positive_definite: bool
    gradient_norm: float
    iterations: int
    method: str
    message: str = ""

    @property
    def converged(self) -> bool:
        """All three checks pass."""
        return self.optimizer_success and self.gradient_ok and self.positive_definite


@dataclass
class FitOutcome:
    """Optimum of the likelihood: parameters, evaluation with derivatives, convergence."""

    phi: np.ndarray
    theta: np.ndarray
    evaluation: Evaluation
    hessian_theta: np.ndarray
    convergence: Convergence
    n_evaluations: int = 0
    history: list[str] = field(default_factory=list)


class _Objective:
    """Memoised value / gradient / Hessian of -2 l in ``phi``."""

    def __init__(self, lik: LikelihoodFunction, cov: CovarianceModel) -> None:
        self.lik, self.cov = lik, cov
        self.key: bytes | None = None
        self.ev: Evaluation | None = None
        self.n_eval = 0

    def _get(self, phi: np.ndarray) -> Evaluation:
        key = phi.tobytes()
        if key != self.key or self.ev is None:
            theta = self.cov.theta_from_phi(phi)
            self.ev = self.lik.evaluate(self.cov.sigmas(theta), order=1)
            self.key = key
            self.n_eval += 1
        return self.ev

    def evaluation(self, phi: np.ndarray) -> Evaluation:
        """The evaluation at ``phi`` (order 1; memoised, so the optimum is not recomputed)."""
        return self._get(phi)

    def fun(self, phi: np.ndarray) -> float:
        v = self._get(phi).value
        return v if np.isfinite(v) else 1e300

    def grad(self, phi: np.ndarray) -> np.ndarray:
        ev = self._get(phi)
        if not ev.ok:
            return np.zeros_like(phi)
        theta = self.cov.theta_from_phi(phi)
        return self.cov.jac_phi(phi).T @ self.cov.gradient_theta(theta, ev)

    def hess(self, phi: np.ndarray) -> np.ndarray:
        ev = self._get(phi)
        if not ev.ok:
            return np.eye(len(phi))
        self.lik.add_hessian(ev)
        theta = self.cov.theta_from_phi(phi)
        Jp = self.cov.jac_phi(phi)
        H = Jp.T @ self.cov.hessian_theta(theta, ev) @ Jp
        # second derivatives of theta(phi), times the gradient in theta
        gt = self.cov.gradient_theta(theta, ev)
        extra = np.zeros((len(phi), len(phi)))
        for st, sl in zip(self.cov.structures, self.cov.slices(), strict=True):
            extra[sl, sl] = st.curvature_phi(phi[sl], gt[sl])
        H = H + 0.5 * (extra + extra.T)
        return 0.5 * (H + H.T)


def optimise(
    lik: LikelihoodFunction, cov: CovarianceModel, theta0: np.ndarray, max_iter: int = 200
) -> FitOutcome:
    """Minimise -2 l over the covariance parameters, trust-region Newton then BFGS fallback."""
    obj = _Objective(lik, cov)
    phi0 = cov.phi_from_theta(theta0)
    history: list[str] = []
    res = optimize.minimize(
        obj.fun,
        phi0,
        jac=obj.grad,
        hess=obj.hess,
        method="trust-exact",
        options={"gtol": 1e-7, "maxiter": max_iter},
    )
    method = "trust-exact"
    history.append(f"trust-exact: {res.message}")
    success = bool(res.success) or _stationary(obj, res.x)
    if not success:
        res_b = optimize.minimize(
            obj.fun,
            phi0,
            jac=obj.grad,
            method="BFGS",
            options={"gtol": 1e-5, "maxiter": 10 * max_iter},
        )
        history.append(f"BFGS: {res_b.message}")
        res = optimize.minimize(
            obj.fun,
            res_b.x,
            jac=obj.grad,
            hess=obj.hess,
            method="trust-exact",
            options={"gtol": 1e-7, "maxiter": max_iter},
        )
        history.append(f"trust-exact polish: {res.message}")
        method = "BFGS + trust-exact"
        success = bool(res.success) or _stationary(obj, res.x)
    phi = np.asarray(res.x, dtype=float)
    theta = cov.theta_from_phi(phi)
    ev = obj.evaluation(phi)
    if ev.ok:
        lik.add_hessian(ev)
    gnorm = float(np.max(np.abs(obj.grad(phi)))) if ev.ok else float("inf")
    H = cov.hessian_theta(theta, ev) if ev.ok else np.full((cov.n_params, cov.n_params), np.nan)
    pd_ok = bool(ev.ok) and _is_pd(H)
    if ev.ok:
        pd_ok = pd_ok and all(_is_pd(S) for S in cov.sigmas(theta))
    msgs = []
    if not success:
        msgs.append(f"optimiser did not report success ({history[-1]})")
    if not gnorm < GRADIENT_TOL:
        msgs.append(f"gradient norm {gnorm:.3g} above {GRADIENT_TOL:g}")
    if not pd_ok:
        msgs.append("covariance or its information matrix is not positive definite")
    conv = Convergence(
        optimizer_success=success,
        gradient_ok=gnorm < GRADIENT_TOL,
        positive_definite=pd_ok,
        gradient_norm=gnorm,
        iterations=int(getattr(res, "nit", 0)),
        method=method,
        message="; ".join(msgs) if msgs else "converged",
    )
    return FitOutcome(
        phi=phi,
        theta=theta,
        evaluation=ev,
        hessian_theta=H,
        convergence=conv,
        n_evaluations=obj.n_eval,
        history=history,
    )


#: SAS's relative Hessian convergence criterion (GCONV, its default): g' H^-1 g / |f|.
RELATIVE_GCONV = 1e-8


def _stationary(obj: _Objective, phi: np.ndarray) -> bool:
    """Is ``phi`` an optimum the optimiser stopped at without saying so (rounding)?

    The gradient is small (1e-5), or SAS's relative criterion holds: -2 l and its gradient
    are sums over subjects, so with many subjects rounding keeps the absolute gradient above
    any fixed bound while g' H^-1 g / |f| still shows the optimum (H positive definite).
    """
    ev = obj._get(phi)
    if not ev.ok:
        return False
    g = obj.grad(phi)
    if float(np.max(np.abs(g))) < 1e-5:
        return True
    H = obj.hess(phi)
    if not _is_pd(H):
        return False
    return float(g @ np.linalg.solve(H, g)) / max(abs(ev.value), 1e-300) < RELATIVE_GCONV


def _is_pd(M: np.ndarray) -> bool:
    if not np.all(np.isfinite(M)):
        return False
    try:
        np.linalg.cholesky(0.5 * (M + M.T))
    except np.linalg.LinAlgError:
        return False
    return True


def empirical_covariance(data: PaddedData, resid: np.ndarray) -> np.ndarray:
    """Pairwise-complete covariance of residuals by visit and group, made positive definite."""
    T = data.n_visits
    out = np.zeros((data.n_groups, T, T))
    for g in range(data.n_groups):
        idx = data.group_subjects[g]
        r = resid[idx] * data.mask[idx]
        m = data.mask[idx].astype(float)
        out[g] = pairwise_covariance(r.T @ r, m.T @ m)
    return out


def pairwise_covariance(cross: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """The covariance from residual cross products ``cross`` over ``cnt`` subjects seen at both
    visits of each pair, made positive definite (the starting values' covariance)."""
    T = cross.shape[0]
    S = cross / np.maximum(cnt, 1.0)
    S[cnt == 0] = 0.0
    d = np.diag(S).copy()
    fallback = float(np.mean(d[d > 0])) if np.any(d > 0) else 1.0
    d[d <= 0] = fallback
    S[np.arange(T), np.arange(T)] = d
    vals, vecs = np.linalg.eigh(S)
    vals = np.maximum(vals, 0.05 * float(np.mean(d)))
    return (vecs * vals) @ vecs.T
