"""Recursive numerical integration (Armitage-McPherson-Rowe) of the canonical joint distribution.

Z_k is the z statistic at information fraction t_k; with drift ``delta`` (the mean of Z at t = 1)
B(t) = Z sqrt(t) is Brownian motion with drift delta.  Sub-densities of Z_k on the continuation
region are carried on Jennison & Turnbull's grid (chapter 19) with composite Simpson weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

GRID_R = 48
"""Jennison & Turnbull grid parameter r (about 12 r quadrature points per look)."""

_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class StageDensity:
    """Quadrature points ``z`` and weight * sub-density ``v`` of Z at ``t`` (trial running)."""

    t: float
    z: NDArray[np.float64]
    v: NDArray[np.float64]


def _phi(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def _grid(
    mean: float, lower: float, upper: float, r: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Simpson points and weights of J&T's grid around ``mean``, trimmed to (lower, upper)."""
    i = np.arange(1, 6 * r, dtype=float)
    x = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / i),
        np.where(
            i <= 5 * r, -3.0 + 3.0 * (i - r) / (2.0 * r), 3.0 + 4.0 * np.log(r / (6.0 * r - i))
        ),
    )
    x = x + mean
    pts = x[(x > lower) & (x < upper)]
    if lower > x[0]:
        pts = np.concatenate(([lower], pts))
    if upper < x[-1]:
        pts = np.concatenate((pts, [upper]))
    if pts.size < 2:
        return np.zeros(0), np.zeros(0)
    h = np.diff(pts)
    z = np.empty(2 * pts.size - 1)
    z[0::2] = pts
    z[1::2] = pts[:-1] + h / 2.0
    w = np.zeros_like(z)
    w[0:-1:2] += h / 6.0
    w[2::2] += h / 6.0
    w[1::2] = 4.0 * h / 6.0
    return z, w


def first_stage(
    t: float, drift: float, lower: float, upper: float, r: int = GRID_R
) -> StageDensity:
    """Sub-density of Z_1 restricted to the continuation region (lower, upper)."""
    z, w = _grid(drift * math.sqrt(t), lower, upper, r)
    return StageDensity(t, z, w * _phi(z - drift * math.sqrt(t)))


def _shifted(prev: StageDensity, t: float, drift: float) -> tuple[NDArray[np.float64], float]:
    dt = t - prev.t
    return prev.z * math.sqrt(prev.t) + drift * dt, math.sqrt(dt)


def prob_above(prev: StageDensity | None, t: float, drift: float, c: float) -> float:
    """P(trial reaches the look at ``t`` and Z_t > c)."""
    if prev is None:
        return float(ndtr(drift * math.sqrt(t) - c))
    u, s = _shifted(prev, t, drift)
    return float(np.dot(prev.v, ndtr((u - c * math.sqrt(t)) / s)))


def prob_below(prev: StageDensity | None, t: float, drift: float, a: float) -> float:
    """P(trial reaches the look at ``t`` and Z_t < a)."""
    if prev is None:
        return float(ndtr(a - drift * math.sqrt(t)))
    u, s = _shifted(prev, t, drift)
    return float(np.dot(prev.v, ndtr((a * math.sqrt(t) - u) / s)))


def next_stage(
    prev: StageDensity | None, t: float, drift: float, lower: float, upper: float, r: int = GRID_R
) -> StageDensity:
    """Sub-density of Z at ``t`` on (lower, upper) given the sub-density at the previous look."""
    if prev is None:
        return first_stage(t, drift, lower, upper, r)
    z, w = _grid(drift * math.sqrt(t), lower, upper, r)
    if z.size == 0 or prev.z.size == 0:
        return StageDensity(t, np.zeros(0), np.zeros(0))
    u, s = _shifted(prev, t, drift)
    kernel = _phi((z[:, None] * math.sqrt(t) - u[None, :]) / s) * (math.sqrt(t) / s)
    return StageDensity(t, z, w * (kernel @ prev.v))


def crossing_probabilities(
    fractions: list[float] | tuple[float, ...],
    lower: list[float] | tuple[float, ...],
    upper: list[float] | tuple[float, ...],
    drift: float,
    r: int = GRID_R,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-look probabilities of first crossing the upper and the lower boundary (may be inf)."""
    k_max = len(fractions)
    up = np.zeros(k_max)
    low = np.zeros(k_max)
    prev: StageDensity | None = None
    for k, t in enumerate(fractions):
        up[k] = prob_above(prev, t, drift, upper[k]) if math.isfinite(upper[k]) else 0.0
        low[k] = prob_below(prev, t, drift, lower[k]) if math.isfinite(lower[k]) else 0.0
        if k < k_max - 1:
            prev = next_stage(prev, t, drift, lower[k], upper[k], r)
    return up, low
