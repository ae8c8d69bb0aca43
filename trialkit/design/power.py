"""Drift, inflation factor, maximum information and conditional power of a group sequential design.

The drift is the mean of the final z statistic under the alternative (rpact's ``sqrt(shift)``);
the inflation factor is (drift / fixed-design drift)^2, as ``getDesignCharacteristics`` reports.
Conditional power is the probability of crossing an efficacy boundary at any later look given the
z statistic now (rpact's ``getConditionalPower`` for group sequential designs): the B-value process
(Lan & Wittes; Jennison & Turnbull ch. 10) is integrated from a point mass at the current look.
Predictive power averages it over the flat-prior posterior of the drift (Spiegelhalter, Freedman
and Blackburn 1986; Jennison & Turnbull sec. 10.3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from trialkit.design import integration as ig
from trialkit.design.boundaries import GroupSequentialDesign


def fixed_design_drift(alpha: float, beta: float, sided: int = 1) -> float:
    """Drift a single-look test needs for power ``1 - beta``: z_{1-alpha/sided} + z_{1-beta}."""
    return float(-ndtri(alpha / sided) - ndtri(beta))


def rejection_probabilities(design: GroupSequentialDesign, drift: float) -> list[float]:
    """Probability of crossing the upper efficacy boundary at each look under ``drift``.

    Futility boundaries, binding or not, stop the trial here (as rpact's power does); a two-sided
    design continues between -c and c and only the upper side counts.
    """
    eff = list(design.efficacy_z)
    if design.sided == 2:
        lower = [-c for c in eff]
    elif design.futility_z is not None:
        lower = list(design.futility_z)
    else:
        lower = [-math.inf] * len(eff)
    up, _ = ig.crossing_probabilities(design.information_fractions, lower, eff, drift)
    return [float(p) for p in up]


def design_drift(design: GroupSequentialDesign) -> float:
    """Drift giving the design power ``1 - beta`` (sqrt of rpact's characteristics ``shift``)."""
    target = 1.0 - design.beta
    hi = 2.0 * fixed_design_drift(design.alpha, design.beta, design.sided)
    return float(
        brentq(
            lambda d: sum(rejection_probabilities(design, d)) - target,
            0.0,
            hi,
            xtol=1e-12,
            rtol=1e-15,
        )
    )


def inflation_factor(design: GroupSequentialDesign) -> float:
    """Maximum information relative to a fixed design with the same alpha and power."""
    return (design_drift(design) / fixed_design_drift(design.alpha, design.beta, design.sided)) ** 2


def max_information(design: GroupSequentialDesign, effect: float) -> float:
    """Information (1 / var of the estimate) needed at the last look to detect ``effect``."""
    return (design_drift(design) / effect) ** 2


def max_subjects(
    design: GroupSequentialDesign, effect: float, sd: float, ratio: float = 1.0
) -> float:
    """Total subjects at the last look of a two-arm comparison of means, ``ratio`` active
    subjects per control subject: var = sd^2 (1/n1 + 1/n2) = sd^2 (1 + ratio)^2 / (ratio N)."""
    if not ratio > 0:
        raise ValueError("allocation ratio must be positive")
    return sd * sd * (1.0 + ratio) ** 2 / ratio * max_information(design, effect)


def comparison_information(subjects: float, sd: float, share: float, versus_share: float) -> float:
    """Information (1 / var) of a difference of two arm means among ``subjects`` in all, the
    arms taking ``share`` and ``versus_share`` of them (allocation / sum of allocations)."""
    if not (subjects > 0 and sd > 0 and share > 0 and versus_share > 0):
        raise ValueError("subjects, sd and allocation shares must be positive")
    return subjects / (sd * sd * (1.0 / share + 1.0 / versus_share))


def conditional_power(z: float, fraction: float, final_z: float, drift: float) -> float:
    """P(Z(1) > ``final_z`` | Z = ``z`` at ``fraction``) under ``drift`` (B-value formula).

    B(t) = z sqrt(t); B(1) - B(t) ~ N(drift (1 - t), 1 - t).  Intermediate looks are ignored.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError("fraction must be in (0, 1)")
    rest = 1.0 - fraction
    return float(ndtr((z * math.sqrt(fraction) + drift * rest - final_z) / math.sqrt(rest)))


def conditional_rejection(
    z: float,
    fraction: float,
    later_fractions: Sequence[float],
    later_efficacy_z: Sequence[float],
    drift: float,
) -> float:
    """P(crossing an efficacy boundary at any later look | Z = ``z`` at ``fraction``) under
    ``drift``: rpact's conditional power of a group sequential design (futility ignored)."""
    if not 0.0 < fraction < 1.0 or not later_fractions or min(later_fractions) <= fraction:
        raise ValueError("later looks must follow the current fraction, in (0, 1)")
    prev = ig.StageDensity(fraction, np.array([float(z)]), np.array([1.0]))
    total = 0.0
    last = len(later_fractions) - 1
    for k, (t, c) in enumerate(zip(later_fractions, later_efficacy_z, strict=True)):
        if math.isfinite(c):
            total += ig.prob_above(prev, t, drift, c)
        if k < last:
            prev = ig.next_stage(prev, t, drift, -math.inf, c)
    return total


#: Gauss-Hermite (probabilists') nodes and weights for averaging over the drift's posterior.
_HERMITE = np.polynomial.hermite_e.hermegauss(64)


def predictive_power(
    z: float, fraction: float, later_fractions: Sequence[float], later_efficacy_z: Sequence[float]
) -> float:
    """Conditional rejection averaged over the drift's flat-prior posterior N(z/sqrt(t), 1/t);
    with one later look it is Phi((z - c sqrt(t)) / sqrt(1 - t))."""
    nodes, weights = _HERMITE
    centre, spread = trend_drift(z, fraction), 1.0 / math.sqrt(fraction)
    values = [
        conditional_rejection(z, fraction, later_fractions, later_efficacy_z, centre + spread * x)
        for x in nodes
    ]
    return float(np.dot(weights, values) / math.sqrt(2.0 * math.pi))


def trend_drift(z: float, fraction: float) -> float:
    """Drift estimated from the current trend: the observed z projected to t = 1 (z / sqrt(t))."""
    return z / math.sqrt(fraction)


def conditional_power_design(design: GroupSequentialDesign, z: float, fraction: float) -> float:
    """Conditional power under the effect the design was powered for."""
    drift = design.drift if design.drift is not None else design_drift(design)
    return conditional_power(z, fraction, design.efficacy_z[-1], drift)


def conditional_power_trend(design: GroupSequentialDesign, z: float, fraction: float) -> float:
    """Conditional power under the current trend (the effect estimated at this look)."""
    return conditional_power(z, fraction, design.efficacy_z[-1], trend_drift(z, fraction))
