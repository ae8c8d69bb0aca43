"""Boundaries at the information actually observed, and t statistics on the z scale.

At an interim cutoff the spending functions are evaluated at the fractions actually reached
(information / planned maximum information); boundaries of past looks stay as they were used.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from scipy.special import ndtri, stdtr

from trialkit.design import integration as ig
from trialkit.design.boundaries import (
    GroupSequentialDesign,
    beta_spending_pass,
    efficacy_boundaries,
)
from trialkit.design.spending import spend


def information_from_variance(variance: float) -> float:
    """Statistical information of an estimate: 1 / its variance."""
    if not variance > 0:
        raise ValueError("variance must be positive")
    return 1.0 / variance


def information_fraction(observed: float, planned_max: float) -> float:
    """Fraction of the planned maximum information (or subjects) reached: observed / planned."""
    if not planned_max > 0 or observed < 0:
        raise ValueError("information must be non-negative and the planned maximum positive")
    return observed / planned_max


def t_to_z(t: float, df: float) -> float:
    """Map a t statistic with ``df`` degrees of freedom to the z with the same one-sided p-value."""
    if math.isinf(df):
        return t
    if t > 0:
        return float(-ndtri(stdtr(df, -t)))
    return float(ndtri(stdtr(df, t)))


def update_design(
    design: GroupSequentialDesign,
    observed_fractions: Sequence[float],
    final: bool = False,
    used_efficacy_z: Sequence[float] = (),
) -> GroupSequentialDesign:
    """Recompute the design's boundaries for the information fractions actually observed so far.

    ``observed_fractions`` are the looks done, the last one being the current cutoff; planned looks
    beyond it are kept.  ``final=True`` (or a fraction >= 1) makes the current look the last one:
    it spends all remaining alpha.  ``used_efficacy_z`` fixes boundaries already used at past looks.
    Futility boundaries (if any) spend beta at the observed fractions under the design's drift.
    """
    obs = [float(x) for x in observed_fractions]
    if not obs or any(b <= a for a, b in itertools.pairwise(obs)) or obs[0] <= 0:
        raise ValueError("observed fractions must be positive and increasing")
    if final or obs[-1] >= 1.0:
        fractions = obs
        spend_at = [min(x, 1.0) for x in obs[:-1]] + [1.0]
    else:
        fractions = obs + [x for x in design.information_fractions[len(obs) :] if x > obs[-1]]
        spend_at = list(fractions)
    t = tuple(fractions)
    cum_alpha = [
        spend(design.spending, design.alpha, x, design.gamma, design.sided) for x in spend_at
    ]
    fixed = list(used_efficacy_z)[: len(obs) - 1]
    if design.futility is None or design.drift is None:
        eff, spent = efficacy_boundaries(t, cum_alpha, design.sided, fixed=fixed)
        return GroupSequentialDesign(
            t,
            design.alpha,
            design.sided,
            design.spending,
            design.gamma,
            tuple(eff),
            tuple(spent),
            design.beta,
        )
    cum_beta = [spend(design.futility, design.beta, x, design.futility_gamma, 1) for x in spend_at]
    base = None if design.binding else efficacy_boundaries(t, cum_alpha, 1, fixed=fixed)[0]
    eff, fut = beta_spending_pass(
        t, cum_alpha, cum_beta, design.drift, design.binding, base, ig.GRID_R, fixed
    )
    fut[-1] = eff[-1]
    _, spent = efficacy_boundaries(
        t, cum_alpha, 1, futility_z=fut if design.binding else None, fixed=eff
    )
    up, low = ig.crossing_probabilities(t, fut, eff, design.drift)
    power = [float(up[: k + 1].sum()) for k in range(len(t))]
    beta_spent = [float(low[: k + 1].sum()) for k in range(len(t))]
    return GroupSequentialDesign(
        t,
        design.alpha,
        design.sided,
        design.spending,
        design.gamma,
        tuple(eff),
        tuple(spent),
        design.beta,
        design.futility,
        design.futility_gamma,
        design.binding,
        tuple(fut),
        tuple(beta_spent),
        tuple(power),
        design.drift,
    )
