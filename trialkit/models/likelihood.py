"""Batched (restricted) Gaussian log-likelihood of an MMRM, with analytic derivatives.

Every subject is padded to all T visits: X and y are zero at missing visits and the
covariance block there is the identity, which leaves log-determinants and quadratic forms
unchanged. Cholesky factors are computed once per (covariance group, missingness pattern)
and applied to all subjects with numpy's batched matrix products: no n x n matrices.

Derivatives are taken with respect to the entries of each group's T x T covariance
matrix Sigma_g; the chain rule to any parameterisation is done by the caller:

* ``G[g]``: d(-2 l)/d Sigma_g (the matrix such that d(-2 l) = sum(G * dSigma)),
* ``H4``: the bilinear form of second derivatives, (G*T*T, G*T*T), such that
  d2(-2 l)/dtheta_k dtheta_l = vec(dSigma_k)' H4 vec(dSigma_l) + sum(G * d2Sigma_kl).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass
class PaddedData:
    """Design, response and visit mask padded to (subjects, visits)."""

    X: np.ndarray  # (n, T, p), zero rows at missing visits
    y: np.ndarray  # (n, T), zero at missing visits
    mask: np.ndarray  # (n, T) bool, observed visits
    group: np.ndarray  # (n,) int, covariance group of each subject
    n_groups: int

    def __post_init__(self) -> None:
        # one integer per (group, mask) row, ordered as the rows lexicographically (group, then
        # the first visit's bit as the most significant): np.unique of rows, without its sort of
        # a structured view
        T = self.mask.shape[1]
        bits = self.mask.astype(np.int64) @ (1 << np.arange(T - 1, -1, -1, dtype=np.int64))
        code = self.group.astype(np.int64) * (1 << T) + bits
        uniq, inv, counts = np.unique(code, return_inverse=True, return_counts=True)
        self.key_group = uniq >> T
        self.key_mask = ((uniq[:, None] >> np.arange(T - 1, -1, -1)) & 1).astype(bool)
        self.key_index = inv.reshape(-1)
        self.key_count = counts.astype(float)
        self.n_obs = int(self.mask.sum())
        self.n_subjects, self.n_visits, self.n_fixed = self.X.shape
        self.group_subjects = [np.flatnonzero(self.group == g) for g in range(self.n_groups)]


@dataclass
class Evaluation:
    """Value and (optionally) derivatives of -2 log-likelihood at one set of covariances."""

    ok: bool
    value: float
    beta: np.ndarray | None = None
    A: np.ndarray | None = None  # X' V^-1 X
    Ainv: np.ndarray | None = None
    G: np.ndarray | None = None  # (n_groups, T, T)
    H4: np.ndarray | None = None  # (n_groups*T*T, n_groups*T*T)
    Vinv_keys: np.ndarray | None = None  # (K, T, T) padded with zeros
    U: np.ndarray | None = None  # (n, T, p) = V_i^-1 X_i
    w: np.ndarray | None = None  # (n, T) = V_i^-1 r_i
    UA: np.ndarray | None = None  # (n, T, p) = V_i^-1 X_i A^-1
    B: np.ndarray | None = None  # (n_groups*T*T, p, p): X' V^-1 dV/dSigma_ab V^-1 X


class Likelihood:
    """-2 REML or ML log-likelihood as a function of the group covariance matrices."""

    def __init__(self, data: PaddedData, reml: bool = True) -> None:
        self.data = data
        self.reml = reml

    def evaluate(self, sigmas: np.ndarray, order: int = 1) -> Evaluation:
        """Evaluate at ``sigmas`` (n_groups, T, T); ``order``: 0 value, 1 +gradient, 2 +Hessian."""
        d = self.data
        T = d.n_visits
        km = d.key_mask
        S = sigmas[d.key_group] * (km[:, :, None] & km[:, None, :])
        S[:, np.arange(T), np.arange(T)] += ~km
        try:
            L = np.linalg.cholesky(S)
        except np.linalg.LinAlgError:
            return Evaluation(ok=False, value=np.inf)
        diagL = np.diagonal(L, axis1=1, axis2=2)
        if not np.all(diagL > 0) or not np.all(np.isfinite(L)):
            return Evaluation(ok=False, value=np.inf)
        logdet = 2.0 * np.log(diagL).sum(axis=1)
        Linv = np.linalg.inv(L)  # lower triangular, block structure kept at missing visits
        Li = Linv[d.key_index]
        Xt = Li @ d.X  # (n, T, p)
        yt = (Li @ d.y[:, :, None])[:, :, 0]
        p = d.n_fixed
        Xf = Xt.reshape(-1, p)
        A = Xf.T @ Xf
        b = Xf.T @ yt.reshape(-1)
        try:
            cA = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            return Evaluation(ok=False, value=np.inf)
        Ainv_half = np.linalg.inv(cA)
        Ainv = Ainv_half.T @ Ainv_half
        beta = Ainv @ b
        rt = yt - Xt @ beta
        value = float(d.key_count @ logdet + np.sum(rt * rt))
        if self.reml:
            value += 2.0 * float(np.log(np.diagonal(cA)).sum()) + (d.n_obs - p) * LOG_2PI
        else:
            value += d.n_obs * LOG_2PI
        ev = Evaluation(ok=True, value=value, beta=beta, A=A, Ainv=Ainv)
        if order < 1:
            return ev
        LiT = np.swapaxes(Li, 1, 2)
        U = LiT @ Xt  # V_i^-1 X_i (zero rows at missing visits)
        w = (LiT @ rt[:, :, None])[:, :, 0]  # V_i^-1 r_i
        Vinv_k = np.swapaxes(Linv, 1, 2) @ Linv * (km[:, :, None] & km[:, None, :])
        UA = U @ Ainv
        G = np.zeros((d.n_groups, T, T))
        for g in range(d.n_groups):
            sel_k = d.key_group == g
            G[g] = np.tensordot(d.key_count[sel_k], Vinv_k[sel_k], axes=1)
            idx = d.group_subjects[g] if d.n_groups > 1 else slice(None)
            wg = w[idx]
            G[g] -= wg.T @ wg
            if self.reml:
                G[g] -= np.tensordot(UA[idx], U[idx], axes=([0, 2], [0, 2]))
        ev.G, ev.U, ev.w, ev.Vinv_keys, ev.UA = G, U, w, Vinv_k, UA
        if order >= 2:
            self.add_hessian(ev)
        return ev

    def add_hessian(self, ev: Evaluation) -> None:
        """Fill ``ev.H4`` and ``ev.B`` (needs an order-1 evaluation)."""
        if ev.H4 is None:
            ev.H4, ev.B = self._hessian_entries(ev)

    def expected_hessian(self, ev: Evaluation) -> np.ndarray:
        """Expected second derivatives of -2 l (the information, times 2) in entry form."""
        return self._hessian_entries(ev, expected=True)[0]

    def _hessian_entries(
        self, ev: Evaluation, expected: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Second derivatives of -2 l with respect to covariance entries, as a bilinear form.

        Observed: -t1 + 2 t2 - t3 + 2 (q1 - q2); expected: t1 - 2 t2 + t3, where
        t1 - 2 t2 + t3 = tr(P dV P dV) and q1 - q2 = r'V^-1 dV P dV V^-1 r.
        """
        sgn = -1.0 if expected else 1.0
        quad = 0.0 if expected else 2.0
        d = self.data
        T, p, ng = d.n_visits, d.n_fixed, d.n_groups
        T2 = T * T
        assert ev.U is not None and ev.w is not None and ev.Vinv_keys is not None
        assert ev.Ainv is not None and ev.UA is not None
        U, w, Vk, Ainv, UA = ev.U, ev.w, ev.Vinv_keys, ev.Ainv, ev.UA
        Bs: list[np.ndarray] = []
        H = np.zeros((ng * T2, ng * T2))
        Cs: list[np.ndarray] = []
        ss: list[np.ndarray] = []
        for g in range(ng):
            sel_k = d.key_group == g
            idx = d.group_subjects[g] if ng > 1 else slice(None)
            Vkg = Vk[sel_k].reshape(-1, T2)
            cnt = d.key_count[sel_k]
            # term1[a,b,c,d] = sum_i Vinv[b,c] Vinv[d,a]
            t1 = ((Vkg * cnt[:, None]).T @ Vkg).reshape(T, T, T, T).transpose(3, 0, 1, 2)
            Ug, wg = U[idx], w[idx]
            Vi = Vk[d.key_index[idx]].reshape(-1, T2)
            # quad1[a,b,c,d] = sum_i Vinv[a,c] w[b] w[d]
            ww = (wg[:, :, None] * wg[:, None, :]).reshape(-1, T2)
            q1 = (Vi.T @ ww).reshape(T, T, T, T).transpose(0, 2, 1, 3)
            block = sgn * -t1 + quad * q1
            if self.reml:
                # term2[a,b,c,d] = sum_i Q_i[d,a] Vinv_i[b,c], Q_i = U_i A^-1 U_i'
                Q = (UA[idx] @ np.swapaxes(Ug, 1, 2)).reshape(-1, T2)
                t2 = (Q.T @ Vi).reshape(T, T, T, T).transpose(1, 2, 3, 0)
                block += sgn * 2.0 * t2
            sl = slice(g * T2, (g + 1) * T2)
            H[sl, sl] += block.reshape(T2, T2)
            # B_ab = sum_i U_i[a]' U_i[b] (p x p); s_ab = sum_i U_i[a] w_i[b]
            Uf = Ug.reshape(Ug.shape[0], T * p)
            B = (Uf.T @ Uf).reshape(T, p, T, p).transpose(0, 2, 1, 3).reshape(T2, p, p)
            Bs.append(B)
            Cs.append(Ainv @ B)
            ss.append((Uf.T @ wg).reshape(T, p, T).transpose(0, 2, 1).reshape(T2, p))
        for g in range(ng):
            for h in range(ng):
                sg, sh = slice(g * T2, (g + 1) * T2), slice(h * T2, (h + 1) * T2)
                H[sg, sh] -= quad * (ss[g] @ Ainv @ ss[h].T)
                if self.reml:
                    Cg = Cs[g].reshape(T2, p * p)
                    Ch = np.swapaxes(Cs[h], 1, 2).reshape(T2, p * p)
                    H[sg, sh] -= sgn * (Cg @ Ch.T)
        return H, np.concatenate(Bs, axis=0)
