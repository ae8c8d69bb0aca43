"""Denominator degrees of freedom: residual, Satterthwaite and Kenward-Roger.

Notation follows Kenward & Roger (1997): Phi = (X' V^-1 X)^-1, P_k = -X' V^-1 V_k V^-1 X,
Q_kl = X' V^-1 V_k V^-1 V_l V^-1 X, R_kl = X' V^-1 V_kl V^-1 X, with V_k the derivatives of
the covariance in SAS's parameterisation and W the asymptotic covariance of the covariance
parameters (twice the inverse Hessian of -2 l). Multi-row Satterthwaite tests use the
eigen-decomposition method of Fai & Cornelius (1996) as lmerTest and SAS do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trialkit.models.fit import CovarianceModel
from trialkit.models.likelihood import Evaluation, PaddedData


@dataclass
class DofContext:
    """What the df computations need from a fitted model."""

    Phi: np.ndarray  # unadjusted Cov(beta)
    P: np.ndarray  # (q, p, p)
    W: np.ndarray  # (q, q)
    n_obs: int
    rank: int
    PhiA: np.ndarray | None = None  # Kenward-Roger adjusted Cov(beta)


def make_context(
    theta: np.ndarray, ev: Evaluation, cov: CovarianceModel, W: np.ndarray, n_obs: int
) -> DofContext:
    """P_k from the entry-wise cross products stored in the evaluation."""
    assert ev.B is not None and ev.Ainv is not None
    p = ev.Ainv.shape[0]
    J = cov.jac_theta(theta)
    P = -(J @ ev.B.reshape(ev.B.shape[0], p * p)).reshape(-1, p, p)
    return DofContext(Phi=ev.Ainv, P=P, W=W, n_obs=n_obs, rank=p)


def kenward_roger_adjust(
    ctx: DofContext,
    theta: np.ndarray,
    ev: Evaluation,
    cov: CovarianceModel,
    data: PaddedData,
    second_order: bool = False,
) -> np.ndarray:
    """Phi_A = Phi + 2 Phi [sum_kl W_kl (Q_kl - P_k Phi P_l - R_kl / 4)] Phi.

    The R_kl term (second derivatives of the covariance) is included only if ``second_order``.
    """
    assert ev.U is not None and ev.Vinv_keys is not None and ev.B is not None
    W = ctx.W
    p = ctx.Phi.shape[0]
    T = cov.T
    U, Vk = ev.U, ev.Vinv_keys
    M = np.zeros_like(Vk)
    for g, (st, sl) in enumerate(zip(cov.structures, cov.slices(), strict=True)):
        D = st.dsigma(theta[sl])  # (q_g, T, T)
        F = np.tensordot(W[sl, sl], D, axes=1)  # F_k = sum_l W_kl D_l
        sel = data.key_group == g
        E = np.einsum("kab,Kbc->Kkac", D, Vk[sel])
        M[sel] = np.einsum("Kkac,kcd->Kad", E, F)
    MU = M[data.key_index] @ U
    Qsum = np.tensordot(U, MU, axes=([0, 1], [0, 1]))
    d2 = cov.d2_weighted(theta, W) if second_order else None
    Rsum = None
    if d2 is not None:
        T2 = T * T
        Rsum = np.tensordot(d2.reshape(-1), ev.B.reshape(-1, p, p)[: cov.n_groups * T2], axes=1)
    return kenward_roger_phi(ctx, Qsum, Rsum)


def kenward_roger_phi(
    ctx: DofContext, Qsum: np.ndarray, Rsum: np.ndarray | None = None
) -> np.ndarray:
    """Phi_A from the data's sum_kl W_kl Q_kl (and sum_kl W_kl R_kl), shared by the
    subject-wise and the pattern-wise (:mod:`trialkit.models.patterns`) computations."""
    Phi, P, W = ctx.Phi, ctx.P, ctx.W
    PPsum = np.einsum("kl,kab,bc,lcd->ad", W, P, Phi, P, optimize=True)
    inner = Qsum - PPsum
    if Rsum is not None:
        inner = inner - 0.25 * Rsum
    inner = 0.5 * (inner + inner.T)
    PhiA = Phi + 2.0 * Phi @ inner @ Phi
    return 0.5 * (PhiA + PhiA.T)


def satterthwaite_1d(ctx: DofContext, c: np.ndarray) -> float:
    """df = 2 (c' Phi c)^2 / (g' W g), g_k = d(c' Phi c)/d theta_k = -c' Phi P_k Phi c."""
    v = float(c @ ctx.Phi @ c)
    a = ctx.Phi @ c
    g = -np.einsum("a,kab,b->k", a, ctx.P, a)
    den = float(g @ ctx.W @ g)
    if den <= 0 or not np.isfinite(den):
        return float("inf")
    return 2.0 * v * v / den


def satterthwaite_f(ctx: DofContext, L: np.ndarray, tol: float = 1e-8) -> float:
    """Denominator df of an F test (Fai & Cornelius eigen-decomposition, as lmerTest)."""
    if L.shape[0] == 1:
        return satterthwaite_1d(ctx, L[0])
    vals, vecs = np.linalg.eigh(L @ ctx.Phi @ L.T)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    keep = vals > tol * max(vals[0], 1e-300)
    rows = vecs[:, keep].T @ L
    nu = np.array([satterthwaite_1d(ctx, r) for r in rows])
    if np.all(np.abs(nu - nu[0]) < tol):
        return float(nu[0])
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2.0)))
    q = len(nu)
    return 2.0 * E / (E - q) if q < E else float("inf")


def kenward_roger_f(ctx: DofContext, L: np.ndarray) -> tuple[float, float]:
    """Kenward-Roger (df, F scaling) for H0: L beta = 0 (as pbkrtest / SAS DDFM=KR)."""
    assert ctx.PhiA is not None
    Phi, P, W = ctx.Phi, ctx.P, ctx.W
    q = np.linalg.matrix_rank(L)
    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    ThetaPhi = Theta @ Phi
    u = np.einsum("ab,kbc,cd->kad", ThetaPhi, P, Phi, optimize=True)  # Theta Phi P_k Phi
    tr = np.einsum("kaa->k", u)
    A1 = float(tr @ W @ tr)
    A2 = float(np.einsum("kl,kab,lba->", W, u, u, optimize=True))
    B = (A1 + 6.0 * A2) / (2.0 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    den = 3.0 * q + 2.0 * (1.0 - g)
    c1, c2, c3 = g / den, (q - g) / den, (q + 2 - g) / den
    V0, V1, V2 = 1.0 + c1 * B, 1.0 - c2 * B, 1.0 - c3 * B
    if abs(V0) < 1e-10:
        V0 = 0.0
    rho = (1.0 / q) * ((1.0 - A2 / q) / V1) ** 2 * V0 / V2
    df = 4.0 + (q + 2.0) / (q * rho - 1.0)
    scale = 1.0 if abs(df - 2.0) < 1e-2 else df * (1.0 - A2 / q) / (df - 2.0)
    return float(df), float(scale)


def kenward_roger_rows(ctx: DofContext, M: np.ndarray) -> np.ndarray:
    """Kenward-Roger df of each row of ``M`` (one-row tests), all rows at once.

    For one row c, Theta = c c' / (c' Phi c), so Theta Phi P_k Phi has trace
    t_k = a' P_k a / v (a = Phi c, v = c' Phi c) and A1 = A2 = t' W t; the rest is
    :func:`kenward_roger_f` with q = 1. Rows must have c' Phi c > 0.
    """
    P, W = ctx.P, ctx.W
    a = M @ ctx.Phi
    v = np.einsum("ia,ia->i", a, M)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.einsum("ia,kab,ib->ik", a, P, a, optimize=True) / v[:, None]
        A1 = np.einsum("ik,kl,il->i", t, W, t)
        A2 = A1
        q = 1.0
        B = (A1 + 6.0 * A2) / (2.0 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        den = 3.0 * q + 2.0 * (1.0 - g)
        c1, c2, c3 = g / den, (q - g) / den, (q + 2 - g) / den
        V0, V1, V2 = 1.0 + c1 * B, 1.0 - c2 * B, 1.0 - c3 * B
        V0 = np.where(np.abs(V0) < 1e-10, 0.0, V0)
        rho = (1.0 / q) * ((1.0 - A2 / q) / V1) ** 2 * V0 / V2
        df = 4.0 + (q + 2.0) / (q * rho - 1.0)
    return np.asarray(df, dtype=float)
