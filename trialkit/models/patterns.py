"""REML likelihood of a one-group MMRM from sufficient statistics per missingness pattern.

Subjects who saw the same visits share V_i^-1 (the inverse of Sigma on those visits), so every
term of -2 l and of its first and second derivatives with respect to Sigma is a sum over the few
patterns of V^-1-weighted cross products accumulated once per dataset: C_k[u, v] = sum_i
X_i[u]' X_i[v], D_k[u, v] = sum_i X_i[u]' y_i[v] and E_k[u, v] = sum_i y_i[u] y_i[v] over the
subjects i of pattern k. An evaluation then costs the same for 300 subjects as for 3000. The
value, gradient ``G`` and Hessian ``H4`` (entry form) are those of
:class:`~trialkit.models.likelihood.Likelihood` with ``reml=True`` and one covariance group, so
the optimiser of :mod:`trialkit.models.fit` runs on either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trialkit.models.likelihood import LOG_2PI, Evaluation


@dataclass(frozen=True)
class PatternStats:
    """Per pattern k (visits seen ``mask[k]``, ``count[k]`` subjects) the cross products over
    the pairs of visits (u, v) it saw, one row per pair: ``pairs`` are their flat indices
    k*T*T + u*T + v (the other pairs' products are zero, so they are not kept)."""

    count: np.ndarray  # (K,)
    mask: np.ndarray  # (K, T) bool
    pairs: np.ndarray  # (N,) int
    C: np.ndarray  # (N, p*p): sum_i X_i[u]' X_i[v]
    D: np.ndarray  # (N, p): sum_i X_i[u]' y_i[v]
    E: np.ndarray  # (N,): sum_i y_i[u] y_i[v]

    @property
    def n_visits(self) -> int:
        return int(self.mask.shape[1])

    @property
    def n_fixed(self) -> int:
        return int(self.D.shape[1])

    @property
    def n_obs(self) -> int:
        return int(self.count @ self.mask.sum(axis=1))

    def ols(self) -> tuple[np.ndarray, np.ndarray]:
        """X'X and X'y of the observed rows (the sums of C and D over patterns at u = v)."""
        T, p = self.n_visits, self.n_fixed
        diag = (self.pairs // T) % T == self.pairs % T
        return self.C[diag].sum(axis=0).reshape(p, p), self.D[diag].sum(axis=0)

    def full(self, values: np.ndarray) -> np.ndarray:
        """Values of the kept pairs as (K, T, T), zero at the pairs a pattern did not see."""
        K, T = len(self.count), self.n_visits
        out = np.zeros(K * T * T)
        out[self.pairs] = values
        return out.reshape(K, T, T)

    def residual_cross(self, beta: np.ndarray) -> np.ndarray:
        """sum_i r_i r_i' per pattern, (K, T, T), of the residuals r_i = y_i - X_i beta."""
        Db = self.full(self.D @ beta)
        R = self.full(self.E + self.C @ np.outer(beta, beta).reshape(-1))
        return R - Db - np.swapaxes(Db, 1, 2)

    def pair_counts(self) -> np.ndarray:
        """Subjects seen at both visits of each pair, (T, T)."""
        m = self.mask.astype(float)
        return (m.T * self.count) @ m


class AffineStatistics:
    """Pattern statistics of a design whose row for arm a at visit t is sum_j f_j rows[a, j, t],
    f = (1, the subject's covariates): sums of f f', f y' and y y' per pattern and arm, mapped
    through the rows' products once per design instead of building each dataset's design."""

    def __init__(self, rows: np.ndarray) -> None:
        A, J = rows.shape[:2]
        self.rows = rows
        self._products = np.einsum("ajup,alvq->ajluvpq", rows, rows).reshape(A * J * J, -1)

    def stats(
        self, arm: np.ndarray, covariates: np.ndarray, response: np.ndarray, observed: np.ndarray
    ) -> PatternStats:
        """The statistics of one dataset: per subject its arm index, covariates (n, J - 1),
        response and observed visits (n, T); subjects without a visit left out."""
        A, J, T, p = self.rows.shape
        bits = observed.astype(np.int64) @ (1 << np.arange(T - 1, -1, -1, dtype=np.int64))
        seen = bits > 0
        codes, key, count = np.unique(bits[seen], return_inverse=True, return_counts=True)
        K, n = len(codes), int(seen.sum())
        mask = ((codes[:, None] >> np.arange(T - 1, -1, -1)) & 1).astype(bool)
        f = np.column_stack([np.ones(n), covariates[seen]])
        y = np.where(observed, response, 0.0)[seen]
        by_cell = np.zeros((n, K * A))
        by_cell[np.arange(n), key.reshape(-1) * A + arm[seen]] = 1.0
        ff = by_cell.T @ (f[:, :, None] * f[:, None, :]).reshape(n, J * J)
        fy = by_cell.T @ (f[:, :, None] * y[:, None, :]).reshape(n, J * T)
        yy = by_cell.reshape(n, K, A).sum(axis=2).T @ (y[:, :, None] * y[:, None, :]).reshape(n, -1)
        pairs = np.flatnonzero(mask[:, :, None] & mask[:, None, :])
        C = (ff.reshape(K, A * J * J) @ self._products).reshape(K * T * T, p * p)
        D = np.einsum("ajup,kajv->kuvp", self.rows, fy.reshape(K, A, J, T), optimize=True)
        return PatternStats(
            count=count.astype(float),
            mask=mask,
            pairs=pairs,
            C=C[pairs],
            D=D.reshape(K * T * T, p)[pairs],
            E=yy.reshape(-1)[pairs],
        )


@dataclass
class PatternEvaluation(Evaluation):
    """An evaluation with the per-pattern pieces its derivatives and Kenward-Roger reuse."""

    Vinv: np.ndarray | None = None  # (K, T, T), zero outside the pattern's visits
    W: np.ndarray | None = None  # (K, T, T): sum_i V^-1 r_i r_i' V^-1
    Q: np.ndarray | None = None  # (K, T, T): sum_i V^-1 X_i A^-1 X_i' V^-1


class PatternLikelihood:
    """-2 REML log-likelihood of one covariance group from :class:`PatternStats`."""

    def __init__(self, stats: PatternStats) -> None:
        self.stats = stats
        m = stats.mask
        self._pair = m[:, :, None] & m[:, None, :]
        self._unseen = ~m

    def evaluate(self, sigmas: np.ndarray, order: int = 1) -> PatternEvaluation:
        """Evaluate at ``sigmas`` (1, T, T); ``order``: 0 value, 1 +gradient, 2 +Hessian."""
        st = self.stats
        T, p = st.n_visits, st.n_fixed
        S = sigmas[0] * self._pair
        S[:, np.arange(T), np.arange(T)] += self._unseen
        try:
            L = np.linalg.cholesky(S)
        except np.linalg.LinAlgError:
            return PatternEvaluation(ok=False, value=np.inf)
        diagL = np.diagonal(L, axis1=1, axis2=2)
        if not np.all(diagL > 0) or not np.all(np.isfinite(L)):
            return PatternEvaluation(ok=False, value=np.inf)
        logdet = 2.0 * np.log(diagL).sum(axis=1)
        Linv = np.linalg.inv(L)
        Vinv = np.swapaxes(Linv, 1, 2) @ Linv * self._pair
        vf = Vinv.reshape(-1)[st.pairs]
        A = (vf @ st.C).reshape(p, p)
        b = vf @ st.D
        try:
            cA = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            return PatternEvaluation(ok=False, value=np.inf)
        Ainv_half = np.linalg.inv(cA)
        Ainv = Ainv_half.T @ Ainv_half
        beta = Ainv @ b
        quad = float(vf @ st.E - b @ beta)
        value = float(st.count @ logdet) + quad + 2.0 * float(np.log(np.diagonal(cA)).sum())
        value += (st.n_obs - p) * LOG_2PI
        ev = PatternEvaluation(ok=True, value=value, beta=beta, A=A, Ainv=Ainv, Vinv=Vinv)
        if order < 1:
            return ev
        M = st.full(st.C @ Ainv.reshape(-1))
        ev.W = Vinv @ st.residual_cross(beta) @ Vinv
        ev.Q = Vinv @ M @ Vinv
        G = np.tensordot(st.count, Vinv, axes=1) - ev.W.sum(axis=0) - ev.Q.sum(axis=0)
        ev.G = G[None]
        if order >= 2:
            self.add_hessian(ev)
        return ev

    def add_hessian(self, ev: Evaluation) -> None:
        """Fill ``ev.H4`` and ``ev.B`` (needs an order-1 evaluation of this likelihood)."""
        assert isinstance(ev, PatternEvaluation)
        if ev.H4 is None:
            ev.H4, ev.B = self._hessian_entries(ev)

    def _hessian_entries(self, ev: PatternEvaluation) -> tuple[np.ndarray, np.ndarray]:
        """Observed second derivatives of -2 l in entry form, and B (as Likelihood's).

        With E = e_a e_b', F = e_c e_d' and per pattern P = V^-1: sum_k P[d, a] Z_k[b, c],
        Z_k = -n_k P + 2 W_k + 2 Q_k (the trace terms and r'V^-1 dV V^-1 dV V^-1 r), minus
        2 s_ab' A^-1 s_cd and tr(A^-1 B_ab A^-1 B_cd), where B_ab = sum_i U_i[a]' U_i[b] and
        s_ab = sum_i U_i[a]' w_i[b] are pattern sums of P[a, u] P[b, v] C_k[u, v] (D_k - C_k beta).
        """
        st = self.stats
        assert ev.Vinv is not None and ev.W is not None and ev.Q is not None
        assert ev.Ainv is not None and ev.beta is not None
        T, p, K = st.n_visits, st.n_fixed, len(st.count)
        T2 = T * T
        P = ev.Vinv
        Z = 2.0 * (ev.W + ev.Q) - st.count[:, None, None] * P
        H = (P.reshape(K, T2).T @ Z.reshape(K, T2)).reshape(T, T, T, T).transpose(0, 2, 3, 1)
        H = np.ascontiguousarray(H).reshape(T2, T2)
        kron = np.einsum("kau,kbv->abkuv", P, P).reshape(T2, K * T2)[:, st.pairs]
        B = (kron @ st.C).reshape(T2, p, p)
        Dr = st.D - st.C.reshape(-1, p, p) @ ev.beta
        s = kron @ Dr
        H -= 2.0 * (s @ ev.Ainv @ s.T)
        AB = ev.Ainv @ B
        H -= AB.reshape(T2, p * p) @ np.swapaxes(AB, 1, 2).reshape(T2, p * p).T
        return H, B

    def kenward_roger_q(self, ev: PatternEvaluation, D: np.ndarray, W: np.ndarray) -> np.ndarray:
        """sum_kl W_kl Q_kl = sum_i X_i' V^-1 (sum_kl W_kl D_k V^-1 D_l) V^-1 X_i, ``D`` the
        derivatives of Sigma (q, T, T) and ``W`` the covariance parameters' covariance."""
        assert ev.Vinv is not None
        P = ev.Vinv
        F = np.tensordot(W, D, axes=1)
        M = np.einsum("jab,kbc,jcd->kad", D, P, F, optimize=True)
        p = self.stats.n_fixed
        return ((P @ M @ P).reshape(-1)[self.stats.pairs] @ self.stats.C).reshape(p, p)


__all__ = ["AffineStatistics", "PatternEvaluation", "PatternLikelihood", "PatternStats"]
