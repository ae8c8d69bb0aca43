"""Deterministic multivariate normal and t rectangle probabilities (up to three dimensions).

Used for Dunnett's test. Everything is fixed-node quadrature, so a result is reproducible bit
for bit on the same platform and accurate to far better than 1e-5 (checked against R
``mvtnorm::pmvt`` / ``qmvt`` in ``tests/analysis/test_multiplicity*.py``). Hand-written because
scipy's ``multivariate_t.cdf`` is a randomised quasi-Monte Carlo estimate good to about 1e-4 at
its defaults, too coarse and not reproducible for adjusted p-values and critical values:

- one dimension: the normal CDF;
- two dimensions: Genz's ``bvnu`` (Drezner-Wesolowsky with Gauss-Legendre nodes, absolute
  error about 1e-15), combined by inclusion-exclusion;
- three dimensions: condition on the first variable and integrate the bivariate
  probability of the other two over it with composite Gauss-Legendre;
- multivariate t: T = Z / S with S = sqrt(chi2_df / df); the normal probability with bounds
  scaled by S is integrated over log S (whose density is smooth and unimodal for any df,
  integer or not) with composite Gauss-Legendre on the range holding all but ~1e-17 of it, in
  panels a few SDs of log S wide (few for large df), every bound of a family at once.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

MAX_DIMENSION = 3
_CLIP = 9.0  # |bounds| are clipped here: Phi(-9) ~ 1e-19
_TWO_PI = 2.0 * math.pi
#: Composite Gauss-Legendre over log S of the t mixture, on the range where the density of log S
#: is within exp(-S_RANGE) of its peak: panels about S_PANEL_SDS standard deviations of log S
#: (1 / sqrt(2 df)) wide, 2 to S_PANELS of them, S_NODES_PER_PANEL nodes each. Chosen against
#: the mvtnorm fixtures (3.5e-13) and 150 random trivariate cases (2.5e-11 from 10 panels).
S_PANELS = 10
S_NODES_PER_PANEL = 16
S_PANEL_SDS = 4.0
S_RANGE = 40.0
#: Composite Gauss-Legendre (panels, nodes per panel) over the first variable of a trivariate
#: normal rectangle (half of them for a centrally symmetric one).
Z_NODES = (2, 16)


@lru_cache(maxsize=8)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


@lru_cache(maxsize=8)
def _composite(panels: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of composite Gauss-Legendre on [0, 1]."""
    x, w = _gauss_legendre(n)
    edges = np.linspace(0.0, 1.0, panels + 1)
    half = np.diff(edges) / 2.0
    mid = (edges[:-1] + edges[1:]) / 2.0
    nodes = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    weights = (half[:, None] * w[None, :]).ravel()
    return nodes, weights


def _phi_cdf(x: np.ndarray) -> np.ndarray:
    return np.asarray(special.ndtr(x))


def bvn_upper(h: np.ndarray, k: np.ndarray, r: float) -> np.ndarray:
    """P(X > h, Y > k) for a standard bivariate normal with correlation ``r`` (Genz's bvnu).

    ``h`` and ``k`` are arrays (broadcast together); ``r`` is one number in [-1, 1].
    """
    h, k = np.broadcast_arrays(np.asarray(h, dtype=float), np.asarray(k, dtype=float))
    h = np.clip(h, -_CLIP, _CLIP)
    k = np.clip(k, -_CLIP, _CLIP)
    if r == 0.0:
        return np.asarray(_phi_cdf(-h) * _phi_cdf(-k))
    ar = abs(r)
    n = 6 if ar < 0.3 else (12 if ar < 0.75 else 20)
    x, w = _gauss_legendre(n)
    xg = 1.0 + x  # nodes on [0, 2]
    hk = h * k
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        if ar < 0.925:
            hs = (h * h + k * k) / 2.0
            asr = math.asin(r) / 2.0
            sn = np.sin(asr * xg)
            terms = np.exp((sn * hk[..., None] - hs[..., None]) / (1.0 - sn * sn))
            bvn = (terms @ w) * asr / _TWO_PI + _phi_cdf(-h) * _phi_cdf(-k)
        else:
            if r < 0:
                k = -k
                hk = -hk
            bvn = np.zeros_like(h)
            if ar < 1.0:
                as_ = 1.0 - r * r
                a = math.sqrt(as_)
                bs = (h - k) ** 2
                asr = -(bs / as_ + hk) / 2.0
                c = (4.0 - hk) / 8.0
                d = (12.0 - hk) / 80.0
                first = (
                    a
                    * np.exp(np.maximum(asr, -700.0))
                    * (1.0 - c * (bs - as_) * (1.0 - d * bs) / 3.0 + c * d * as_ * as_)
                )
                bvn = np.where(asr > -100.0, first, 0.0)
                b = np.sqrt(bs)
                sp = math.sqrt(_TWO_PI) * _phi_cdf(-b / a)
                second = np.exp(-hk / 2.0) * sp * b * (1.0 - c * bs * (1.0 - d * bs) / 3.0)
                bvn = np.where(hk > -100.0, bvn - second, bvn)
                a2 = a / 2.0
                xs = (a2 * xg) ** 2
                asr2 = -(bs[..., None] / xs + hk[..., None]) / 2.0
                sp2 = 1.0 + c[..., None] * xs * (1.0 + 5.0 * d[..., None] * xs)
                rs = np.sqrt(1.0 - xs)
                ep = np.exp(-(hk[..., None] / 2.0) * xs / (1.0 + rs) ** 2) / rs
                inner = np.where(asr2 > -100.0, np.exp(np.maximum(asr2, -700.0)) * (sp2 - ep), 0.0)
                bvn = (a2 * (inner @ w) - bvn) / _TWO_PI
            if r > 0:
                bvn = bvn + _phi_cdf(-np.maximum(h, k))
            else:
                span = np.where(h < 0, _phi_cdf(k) - _phi_cdf(h), _phi_cdf(-h) - _phi_cdf(-k))
                bvn = np.where(h >= k, -bvn, span - bvn)
    return np.asarray(np.clip(bvn, 0.0, 1.0))


def mvn_rectangle(lower: np.ndarray, upper: np.ndarray, corr: np.ndarray) -> np.ndarray:
    """P(lower < Z < upper), Z ~ N(0, corr), for each row of ``lower``/``upper`` (shape (m, k))."""
    lower = np.clip(np.atleast_2d(np.asarray(lower, dtype=float)), -_CLIP, _CLIP)
    upper = np.clip(np.atleast_2d(np.asarray(upper, dtype=float)), -_CLIP, _CLIP)
    corr = np.asarray(corr, dtype=float)
    dim = lower.shape[1]
    if dim == 1:
        return np.asarray(np.maximum(_phi_cdf(upper[:, 0]) - _phi_cdf(lower[:, 0]), 0.0))
    if dim == 2:
        r = float(corr[0, 1])
        a1, a2, b1, b2 = lower[:, 0], lower[:, 1], upper[:, 0], upper[:, 1]
        p = bvn_upper(a1, a2, r) - bvn_upper(b1, a2, r) - bvn_upper(a1, b2, r)
        p = p + bvn_upper(b1, b2, r)
        return np.asarray(np.clip(p, 0.0, 1.0))
    if dim > MAX_DIMENSION:
        raise ValueError(f"mvn_rectangle: at most {MAX_DIMENSION} dimensions, got {dim}")
    # condition on Z1: Z_rest | z1 ~ N(rho z1, C)
    rho = corr[1:, 0]
    cond = corr[1:, 1:] - np.outer(rho, rho)
    sd = np.sqrt(np.diag(cond))
    pcorr = cond / np.outer(sd, sd)
    t, wt = _composite(*Z_NODES)
    if np.array_equal(lower, -upper):
        # centrally symmetric rectangles: the inner probability at z1 equals that at -z1, so
        # the nodes of the lower half (doubled weights) suffice
        half = len(t) // 2
        t, wt = t[:half], wt[:half] + wt[::-1][:half]
    a1, b1 = lower[:, 0], upper[:, 0]
    width = np.maximum(b1 - a1, 0.0)
    z = a1[:, None] + width[:, None] * t[None, :]  # (m, nodes)
    weight = width[:, None] * wt[None, :] * np.exp(-z * z / 2.0) / math.sqrt(_TWO_PI)
    lo = (lower[:, None, 1:] - z[..., None] * rho) / sd  # (m, nodes, dim-1)
    hi = (upper[:, None, 1:] - z[..., None] * rho) / sd
    inner = mvn_rectangle(lo.reshape(-1, dim - 1), hi.reshape(-1, dim - 1), pcorr)
    p = (weight * inner.reshape(z.shape)).sum(axis=1)
    return np.asarray(np.clip(p, 0.0, 1.0))


@lru_cache(maxsize=64)
def _log_chi_nodes(df: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes s and weights for E[g(S)], S = sqrt(chi2_df / df), integrating over v = log S."""
    nu = float(df)
    log_norm = (nu / 2.0) * math.log(nu) - (nu / 2.0 - 1.0) * math.log(2.0) - math.lgamma(nu / 2.0)

    def log_density(v: np.ndarray | float) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        return np.asarray(log_norm + nu * v - nu * np.exp(2.0 * v) / 2.0)

    peak = float(log_density(0.0))

    def drop(v: float) -> float:
        return float(log_density(v)) - peak + S_RANGE

    lo_bracket = -1.0
    while drop(lo_bracket) > 0:
        lo_bracket *= 2.0
    hi_bracket = 1.0
    while drop(hi_bracket) > 0:
        hi_bracket *= 2.0
    v_lo = optimize.brentq(drop, lo_bracket, 0.0, xtol=1e-12)
    v_hi = optimize.brentq(drop, 0.0, hi_bracket, xtol=1e-12)
    panels = min(S_PANELS, max(2, math.ceil((v_hi - v_lo) * math.sqrt(2.0 * nu) / S_PANEL_SDS)))
    t, w = _composite(panels, S_NODES_PER_PANEL)
    v = v_lo + (v_hi - v_lo) * t
    weights = (v_hi - v_lo) * w * np.exp(log_density(v))
    return np.exp(v), weights


def mvt_rectangle(lower: np.ndarray, upper: np.ndarray, corr: np.ndarray, df: float) -> float:
    """P(lower < T < upper) for a central multivariate t with correlation ``corr``.

    ``df`` may be non-integer; ``math.inf`` gives the multivariate normal.
    """
    lower = np.asarray(lower, dtype=float).ravel()
    upper = np.asarray(upper, dtype=float).ravel()
    if lower.shape != upper.shape or corr.shape != (lower.size, lower.size):
        raise ValueError("mvt_rectangle: bounds and correlation do not match")
    return float(mvt_rectangles(lower[None, :], upper[None, :], corr, df)[0])


def mvt_rectangles(lower: np.ndarray, upper: np.ndarray, corr: np.ndarray, df: float) -> np.ndarray:
    """:func:`mvt_rectangle` of each row of ``lower``/``upper`` (shape (m, k)), in one
    quadrature: the rows share the nodes over S."""
    if math.isinf(df):
        return mvn_rectangle(lower, upper, corr)
    if not df > 0:
        raise ValueError(f"mvt_rectangle: df must be positive, got {df}")
    s, w = _log_chi_nodes(float(df))
    m, k = lower.shape
    lo = (s[:, None, None] * lower[None, :, :]).reshape(-1, k)
    hi = (s[:, None, None] * upper[None, :, :]).reshape(-1, k)
    p = mvn_rectangle(lo, hi, corr).reshape(len(s), m)
    return np.asarray(np.clip(w @ p, 0.0, 1.0))


def two_sided_mvt(c: float, corr: np.ndarray, df: float) -> float:
    """P(max |T_i| <= c)."""
    return float(two_sided_mvt_many(np.array([c]), corr, df)[0])


def two_sided_mvt_many(c: np.ndarray, corr: np.ndarray, df: float) -> np.ndarray:
    """P(max |T_i| <= c_j) for each c_j of ``c``, in one quadrature."""
    c = np.asarray(c, dtype=float).reshape(-1, 1)
    bounds = np.repeat(c, corr.shape[0], axis=1)
    return mvt_rectangles(-bounds, bounds, corr, df)


def two_sided_mvt_quantile(level: float, corr: np.ndarray, df: float) -> float:
    """The c with P(max |T_i| <= c) = ``level`` (equicoordinate quantile, as ``qmvt``).

    Bracketed by the one-comparison t quantile and the Bonferroni one, then solved by Brent's
    method to 1e-12.
    """
    k = corr.shape[0]
    dist = stats.norm if math.isinf(df) else stats.t(df)
    lo = float(dist.ppf(0.5 + level / 2.0)) - 1e-9
    hi = float(dist.ppf(1.0 - (1.0 - level) / (2.0 * k))) + 1e-9
    if k == 1:
        return float(dist.ppf(0.5 + level / 2.0))
    return float(optimize.brentq(lambda c: two_sided_mvt(c, corr, df) - level, lo, hi, xtol=1e-12))


__all__ = [
    "MAX_DIMENSION",
    "bvn_upper",
    "mvn_rectangle",
    "mvt_rectangle",
    "mvt_rectangles",
    "two_sided_mvt",
    "two_sided_mvt_many",
    "two_sided_mvt_quantile",
]
