"""Covariance structures of the visit-by-visit residual covariance of an MMRM.

Each structure has two parameterisations:

* ``theta``: SAS PROC MIXED's own parameters (``us``: the sigma_ij; ``cs``: CS and
  Residual; heterogeneous ones: Var(k) and correlations). Degrees of freedom (Satterthwaite,
  Kenward-Roger) are computed in ``theta``, with first and second derivatives of Sigma,
  so that results match SAS (Kenward-Roger's second-order terms vanish for linear ones).
* ``phi``: unconstrained parameters for the optimiser (log variances, log-Cholesky for
  ``us``, correlations through ``phi / sqrt(1 + phi^2)``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from trialkit.errors import ModelSpecificationError
from trialkit.vocabulary import COVARIANCE_STRUCTURES


def _rho(phi: np.ndarray) -> np.ndarray:
    """Map the real line onto (-1, 1)."""
    return phi / np.sqrt(1.0 + phi * phi)


def _drho(phi: np.ndarray) -> np.ndarray:
    return (1.0 + phi * phi) ** -1.5


def _rho_inv(rho: np.ndarray) -> np.ndarray:
    rho = np.clip(rho, -0.95, 0.95)
    return rho / np.sqrt(1.0 - rho * rho)


class CovarianceStructure(ABC):
    """A parametric family of T x T covariance matrices."""

    name: str = ""
    #: Whether the family depends on the order of the visits (lags, neighbours).
    order_matters: bool = False

    def __init__(self, n_visits: int) -> None:
        self.T = n_visits

    @property
    @abstractmethod
    def n_params(self) -> int:
        """Number of covariance parameters."""

    @abstractmethod
    def param_names(self) -> list[str]:
        """SAS-style names of the ``theta`` parameters."""

    @abstractmethod
    def sigma(self, theta: np.ndarray) -> np.ndarray:
        """Covariance matrix at ``theta``."""

    @abstractmethod
    def dsigma(self, theta: np.ndarray) -> np.ndarray:
        """First derivatives d Sigma / d theta_k, shape (q, T, T)."""

    def d2sigma(self, theta: np.ndarray) -> np.ndarray | None:
        """Second derivatives, shape (q, q, T, T); ``None`` when Sigma is linear in theta."""
        return None

    @abstractmethod
    def theta_from_phi(self, phi: np.ndarray) -> np.ndarray:
        """Natural parameters from the optimiser's unconstrained ones."""

    @abstractmethod
    def dtheta_dphi(self, phi: np.ndarray) -> np.ndarray:
        """Jacobian d theta / d phi, shape (q, q)."""

    @abstractmethod
    def phi_from_theta(self, theta: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`theta_from_phi` (used for starting values)."""

    def curvature_phi(self, phi: np.ndarray, g_theta: np.ndarray) -> np.ndarray:
        """sum_k g_k d2 theta_k / d phi d phi' (central differences of the analytic Jacobian)."""
        q = len(phi)
        out = np.zeros((q, q))
        h = 1e-6
        for k in range(q):
            e = np.zeros(q)
            e[k] = h
            dJ = (self.dtheta_dphi(phi + e) - self.dtheta_dphi(phi - e)) / (2 * h)
            out[:, k] = g_theta @ dJ
        return 0.5 * (out + out.T)

    @abstractmethod
    def start_theta(self, S: np.ndarray) -> np.ndarray:
        """Starting ``theta`` from a positive definite empirical covariance ``S``."""


class Unstructured(CovarianceStructure):
    """``us``: all variances and covariances free; theta = lower triangle by rows (SAS UN(i,j))."""

    name = "us"

    def __init__(self, n_visits: int) -> None:
        super().__init__(n_visits)
        self.rows, self.cols = np.array([(i, j) for i in range(n_visits) for j in range(i + 1)]).T
        d = np.zeros((self.n_params, n_visits, n_visits))
        k = np.arange(self.n_params)
        d[k, self.rows, self.cols] = 1.0
        d[k, self.cols, self.rows] = 1.0
        self._d = d
        self.is_diag = self.rows == self.cols

    @property
    def n_params(self) -> int:
        return self.T * (self.T + 1) // 2

    def param_names(self) -> list[str]:
        return [f"UN({i + 1},{j + 1})" for i, j in zip(self.rows, self.cols, strict=True)]

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        s = np.zeros((self.T, self.T))
        s[self.rows, self.cols] = theta
        s[self.cols, self.rows] = theta
        return s

    def dsigma(self, theta: np.ndarray) -> np.ndarray:
        return self._d

    def _chol(self, phi: np.ndarray) -> np.ndarray:
        L = np.zeros((self.T, self.T))
        L[self.rows, self.cols] = np.where(self.is_diag, np.exp(phi), phi)
        return L

    def theta_from_phi(self, phi: np.ndarray) -> np.ndarray:
        L = self._chol(phi)
        S = L @ L.T
        return S[self.rows, self.cols]

    def dtheta_dphi(self, phi: np.ndarray) -> np.ndarray:
        # d(L L')/d L_ab = E_ab L' + L E_ba ; entry (i, j): delta_ia L_jb + L_ib delta_ja
        L = self._chol(phi)
        i, j = self.rows[:, None], self.cols[:, None]
        a, b = self.rows[None, :], self.cols[None, :]
        J = (i == a) * L[j, b] + L[i, b] * (j == a)
        scale = np.where(self.is_diag, np.exp(phi), 1.0)
        return J * scale[None, :]

    def curvature_phi(self, phi: np.ndarray, g_theta: np.ndarray) -> np.ndarray:
        """Analytic: d2 Sigma / d L_ab d L_cd = delta_bd (E_ac + E_ca), + exp() of the diagonal."""
        G = self.sigma(np.where(self.is_diag, g_theta, 0.5 * g_theta))  # d(-2l)/dSigma, symmetric
        L = self._chol(phi)
        c = np.where(self.is_diag, np.exp(phi), 1.0)
        a, b = self.rows, self.cols
        out = (b[:, None] == b[None, :]) * 2.0 * G[a[:, None], a[None, :]] * np.outer(c, c)
        # diagonal: d/dphi of exp(phi) again -> the first derivative term itself
        J = self.dtheta_dphi(phi)
        g_phi = g_theta @ J
        out[np.arange(len(phi)), np.arange(len(phi))] += np.where(self.is_diag, g_phi, 0.0)
        del L
        return out

    def phi_from_theta(self, theta: np.ndarray) -> np.ndarray:
        L = np.linalg.cholesky(self.sigma(theta))
        v = L[self.rows, self.cols]
        return np.where(self.is_diag, np.log(np.where(self.is_diag, v, 1.0)), v)

    def start_theta(self, S: np.ndarray) -> np.ndarray:
        return S[self.rows, self.cols]


class CompoundSymmetry(CovarianceStructure):
    """``cs``: theta = (CS, Residual), Sigma = CS * J + Residual * I (linear, as SAS)."""

    name = "cs"

    @property
    def n_params(self) -> int:
        return 2

    def param_names(self) -> list[str]:
        return ["CS", "Residual"]

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        return theta[0] * np.ones((self.T, self.T)) + theta[1] * np.eye(self.T)

    def dsigma(self, theta: np.ndarray) -> np.ndarray:
        return np.stack([np.ones((self.T, self.T)), np.eye(self.T)])

    # phi = (log total variance, transformed correlation)
    def theta_from_phi(self, phi: np.ndarray) -> np.ndarray:
        v, r = np.exp(phi[0]), _rho(phi[1:2])[0]
        return np.array([v * r, v * (1.0 - r)])

    def dtheta_dphi(self, phi: np.ndarray) -> np.ndarray:
        v, r, dr = np.exp(phi[0]), _rho(phi[1:2])[0], _drho(phi[1:2])[0]
        return np.array([[v * r, v * dr], [v * (1.0 - r), -v * dr]])

    def phi_from_theta(self, theta: np.ndarray) -> np.ndarray:
        v = theta[0] + theta[1]
        return np.array([np.log(v), _rho_inv(np.array([theta[0] / v]))[0]])

    def start_theta(self, S: np.ndarray) -> np.ndarray:
        v = float(np.mean(np.diag(S)))
        off = S[~np.eye(self.T, dtype=bool)]
        c = float(
            np.clip(np.mean(off) if off.size else 0.0, -0.5 * v / max(self.T - 1, 1), 0.9 * v)
        )
        return np.array([c, v - c])


class Toeplitz(CovarianceStructure):
    """``toep``: theta = (TOEP(2), ..., TOEP(T), Residual); Sigma_ij = sigma_|i-j| (linear)."""

    name = "toep"
    order_matters = True

    def __init__(self, n_visits: int) -> None:
        super().__init__(n_visits)
        idx = np.arange(n_visits)
        self.lag = np.abs(idx[:, None] - idx[None, :])

    @property
    def n_params(self) -> int:
        return self.T

    def param_names(self) -> list[str]:
        return [f"TOEP({k + 1})" for k in range(1, self.T)] + ["Residual"]

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        vals = np.concatenate([theta[-1:], theta[:-1]])
        return vals[self.lag]

    def dsigma(self, theta: np.ndarray) -> np.ndarray:
        d = np.zeros((self.T, self.T, self.T))
        for k in range(1, self.T):
            d[k - 1] = self.lag == k
        d[self.T - 1] = self.lag == 0
        return d

    # phi = (transformed lag correlations, log variance)
    def theta_from_phi(self, phi: np.ndarray) -> np.ndarray:
        v = np.exp(phi[-1])
        return np.concatenate([v * _rho(phi[:-1]), [v]])

    def dtheta_dphi(self, phi: np.ndarray) -> np.ndarray:
        v = np.exp(phi[-1])
        q = self.T
        J = np.zeros((q, q))
        J[np.arange(q - 1), np.arange(q - 1)] = v * _drho(phi[:-1])
        J[:-1, -1] = v * _rho(phi[:-1])
        J[-1, -1] = v
        return J

    def phi_from_theta(self, theta: np.ndarray) -> np.ndarray:
        v = theta[-1]
        return np.concatenate([_rho_inv(theta[:-1] / v), [np.log(v)]])

    def start_theta(self, S: np.ndarray) -> np.ndarray:
        v = float(np.mean(np.diag(S)))
        return np.concatenate([np.zeros(self.T - 1), [v]])


class AR1(CovarianceStructure):
    """``ar1``: theta = (AR(1), Residual); Sigma_ij = Residual * rho^|i-j|."""

    name = "ar1"
    order_matters = True

    def __init__(self, n_visits: int) -> None:
        super().__init__(n_visits)
        idx = np.arange(n_visits)
        self.lag = np.abs(idx[:, None] - idx[None, :]).astype(float)

    @property
    def n_params(self) -> int:
        return 2

    def param_names(self) -> list[str]:
        return ["AR(1)", "Residual"]

    def _pow(self, rho: float, k: float) -> np.ndarray:
        e = self.lag - k
        return np.where(e >= 0, rho ** np.maximum(e, 0.0), 0.0)

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        return theta[1] * self._pow(theta[0], 0)

    def dsigma(self, theta: np.ndarray) -> np.ndarray:
        r, v = theta
        return np.stack([v * self.lag * self._pow(r, 1), self._pow(r, 0)])

    def d2sigma(self, theta: np.ndarray) -> np.ndarray:
        r, v = theta
        d = np.zeros((2, 2, self.T, self.T))
        d[0, 0] = v * self.lag * (self.lag - 1) * self._pow(r, 2)
        d[0, 1] = d[1, 0] = self.lag * self._pow(r, 1)
        return d

    def theta_from_phi(self, phi: np.ndarray) -> np.ndarray:
        return np.array([_rho(phi[:1])[0], np.exp(phi[1])])

    def dtheta_dphi(self, phi: np.ndarray) -> np.ndarray:
        return np.diag([_drho(phi[:1])[0], np.exp(phi[1])])

    def phi_from_theta(self, theta: np.ndarray) -> np.ndarray:
        return np.array([_rho_inv(theta[:1])[0], np.log(theta[1])])

    def start_theta(self, S: np.ndarray) -> np.ndarray:
        return np.array([0.2, float(np.mean(np.diag(S)))])


class Heterogeneous(CovarianceStructure):
    """Sigma = D^(1/2) R(rho) D^(1/2), theta = (Var(1..T), correlation parameters)."""

    n_corr: int = 0

    @property
    def n_params(self) -> int:
        return self.T + self.n_corr

    @abstractmethod
    def corr(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """R, dR/drho (m, T, T) and d2R/drho^2 (m, m, T, T) or None if linear."""

    @abstractmethod
    def corr_names(self) -> list[str]:
        """SAS names of the correlation parameters."""

    def param_names(self) -> list[str]:
        return [f"Var({k + 1})" for k in range(self.T)] + self.corr_names()

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        s = np.sqrt(theta[: self.T])
        R, _, _ = self.corr(theta[self.T :])
        return np.outer(s, s) * R

    def _parts(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        T = self.T
        s = np.sqrt(theta[:T])
        # a[k] = d s / d v_k (vector), ds_outer[k] = d (s s') / d v_k
        a = np.zeros((T, T))
        a[np.arange(T), np.arange(T)] = 0.5 / s
        dss = a[:, :, None] * s[None, None, :] + s[None, :, None] * a[:, None, :]
        return s, a, dss

    def dsigma(self, theta: np.ndarray) -> np.ndarray:
        T = self.T
        s, _, dss = self._parts(theta)
        R, dR, _ = self.corr(theta[T:])
        return np.concatenate([dss * R[None], np.outer(s, s)[None] * dR], axis=0)

    def d2sigma(self, theta: np.ndarray) -> np.ndarray:
        T, m = self.T, self.n_corr
        s, a, dss = self._parts(theta)
        R, dR, d2R = self.corr(theta[T:])
        q = T + m
        d = np.zeros((q, q, T, T))
        # variances: d2 (s s') / dv_k dv_l = b_kl s' + a_k a_l' + a_l a_k' + s b_kl'
        for k in range(T):
            b = np.zeros(T)
            b[k] = -0.25 / s[k] ** 3
            for l_ in range(T):
                m2 = np.outer(a[k], a[l_]) + np.outer(a[l_], a[k])
                if k == l_:
                    m2 = m2 + np.outer(b, s) + np.outer(s, b)
                d[k, l_] = m2 * R
            for j in range(m):
                d[k, T + j] = d[T + j, k] = dss[k] * dR[j]
        if d2R is not None:
            d[T:, T:] = np.outer(s, s)[None, None] * d2R
        return d

    def theta_from_phi(self, phi: np.ndarray) -> np.ndarray:
        return np.concatenate([np.exp(phi[: self.T]), _rho(phi[self.T :])])

    def dtheta_dphi(self, phi: np.ndarray) -> np.ndarray:
        return np.diag(np.concatenate([np.exp(phi[: self.T]), _drho(phi[self.T :])]))

    def phi_from_theta(self, theta: np.ndarray) -> np.ndarray:
        return np.concatenate([np.log(theta[: self.T]), _rho_inv(theta[self.T :])])

    def start_theta(self, S: np.ndarray) -> np.ndarray:
        return np.concatenate([np.diag(S), np.full(self.n_corr, 0.2)])


class HeterogeneousCS(Heterogeneous):
    """``csh``: one common correlation, visit-specific variances."""

    name = "csh"
    n_corr = 1

    def corr_names(self) -> list[str]:
        return ["CSH"]

    def corr(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        off = np.ones((self.T, self.T)) - np.eye(self.T)
        return np.eye(self.T) + rho[0] * off, off[None], None


class HeterogeneousAR1(Heterogeneous):
    """``ar1h``: correlation rho^|i-j|, visit-specific variances."""

    name = "ar1h"
    order_matters = True
    n_corr = 1

    def __init__(self, n_visits: int) -> None:
        super().__init__(n_visits)
        idx = np.arange(n_visits)
        self.lag = np.abs(idx[:, None] - idx[None, :]).astype(float)

    def corr_names(self) -> list[str]:
        return ["ARH(1)"]

    def _pow(self, rho: float, k: float) -> np.ndarray:
        e = self.lag - k
        return np.where(e >= 0, rho ** np.maximum(e, 0.0), 0.0)

    def corr(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        r = float(rho[0])
        R = self._pow(r, 0)
        dR = (self.lag * self._pow(r, 1))[None]
        d2R = (self.lag * (self.lag - 1) * self._pow(r, 2))[None, None]
        return R, dR, d2R


class HeterogeneousToeplitz(Heterogeneous):
    """``toeph``: correlation rho_|i-j| by lag, visit-specific variances."""

    name = "toeph"
    order_matters = True

    def __init__(self, n_visits: int) -> None:
        super().__init__(n_visits)
        idx = np.arange(n_visits)
        self.lag = np.abs(idx[:, None] - idx[None, :])
        self.n_corr = n_visits - 1

    def corr_names(self) -> list[str]:
        return [f"TOEPH({k})" for k in range(1, self.T)]

    def corr(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        vals = np.concatenate([[1.0], rho])
        dR = np.stack([(self.lag == k).astype(float) for k in range(1, self.T)])
        return vals[self.lag], dR, None


class AnteDependence(Heterogeneous):
    """``adh``: first-order ante-dependence, corr_ij = prod of rho_k between visits i and j."""

    name = "adh"
    order_matters = True

    def __init__(self, n_visits: int) -> None:
        super().__init__(n_visits)
        self.n_corr = n_visits - 1

    def corr_names(self) -> list[str]:
        return [f"Rho({k})" for k in range(1, self.T)]

    def corr(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        T, m = self.T, self.n_corr
        R = np.eye(T)
        dR = np.zeros((m, T, T))
        d2R = np.zeros((m, m, T, T))
        for i in range(T):
            for j in range(i + 1, T):
                ks = list(range(i, j))
                R[i, j] = R[j, i] = float(np.prod(rho[ks]))
                for k in ks:
                    v = float(np.prod([rho[x] for x in ks if x != k]))
                    dR[k, i, j] = dR[k, j, i] = v
                    for l_ in ks:
                        if l_ != k:
                            w = float(np.prod([rho[x] for x in ks if x not in (k, l_)]))
                            d2R[k, l_, i, j] = d2R[k, l_, j, i] = w
        return R, dR, d2R


#: The structures by name (each class knows its own; a test keeps them the vocabulary's).
_STRUCTURES: dict[str, type[CovarianceStructure]] = {
    cls.name: cls
    for cls in (
        Unstructured, CompoundSymmetry, HeterogeneousCS, AR1, HeterogeneousAR1, Toeplitz,
        HeterogeneousToeplitz, AnteDependence,
    )
}  # fmt: skip


def make_structure(name: str, n_visits: int) -> CovarianceStructure:
    """Instantiate a structure by its SAS-like name (``us``, ``cs``, ``csh``, ``ar1``, ...)."""
    key = name.lower()
    if key not in _STRUCTURES:
        raise ModelSpecificationError(
            f"unknown covariance structure {name!r}; use one of {', '.join(COVARIANCE_STRUCTURES)}"
        )
    return _STRUCTURES[key](n_visits)
