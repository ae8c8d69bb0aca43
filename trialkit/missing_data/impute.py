"""Imputation of each sample's missing values under each subject's strategy.

A subject's joint distribution over the visits is N(mu, Sigma) with mu built from its own arm's
mean (``mu_a``) and its reference arm's (``mu_r``) by its strategy, from the first visit ``k``
after its intercurrent event (Carpenter, Roger and Kenward 2013; ``rbmi``'s strategies):

- MAR: mu = mu_a;  J2R: mu_t = mu_r,t for t >= k;  CR: mu = mu_r at every visit;
- CIR: mu_t = mu_a,k-1 + (mu_r,t - mu_r,k-1) for t >= k;  LMCF: mu_t = mu_a,k-1 for t >= k.

The arms share one covariance (the imputation model has one unstructured Sigma), so Sigma is
the same under every strategy. Missing values y_m given the observed y_o are then normal with
mean mu_m + S_mo S_oo^-1 (y_o - mu_o) and covariance S_mm - S_mo S_oo^-1 S_om: conditional mean
imputation takes the mean, the random methods draw from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from trialkit.errors import ModelSpecificationError
from trialkit.missing_data.draws import Draws, Sample
from trialkit.vocabulary import REFERENCE_BASED


@dataclass(frozen=True)
class ImputedSample:
    """The completed outcomes of one sample: ``values`` (D, n_s, T) for subjects ``ids``."""

    ids: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class Imputation:
    """Every sample completed, with the draws they came from."""

    draws: Draws
    references: dict[str, str]
    samples: tuple[ImputedSample, ...]


def strategy_means(
    mu_arm: np.ndarray, mu_ref: np.ndarray, strategy: np.ndarray, ice: np.ndarray
) -> np.ndarray:
    """Per subject (rows) and visit, the mean of the strategy (see the module docstring)."""
    n, T = mu_arm.shape
    after = np.arange(T)[None, :] >= ice[:, None]
    last = np.clip(ice - 1, 0, T - 1)
    rows = np.arange(n)
    mu = mu_arm.copy()
    j2r = (strategy == "J2R")[:, None] & after
    mu[j2r] = mu_ref[j2r]
    cr = strategy == "CR"
    mu[cr] = mu_ref[cr]
    # CIR with the event before the first visit has no increment to copy: the reference mean
    cir_from = np.where(
        (ice > 0)[:, None], mu_arm[rows, last][:, None] - mu_ref[rows, last][:, None], 0
    )
    cir = (strategy == "CIR")[:, None] & after
    mu[cir] = (mu_ref + cir_from)[cir]
    lmcf = (strategy == "LMCF")[:, None] & after
    mu[lmcf] = np.broadcast_to(mu_arm[rows, last][:, None], (n, T))[lmcf]
    return mu


def conditional(
    mu: np.ndarray, sigma: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, dict[tuple[bool, ...], np.ndarray]]:
    """Conditional means of the missing values (filled into a copy of ``y``) and, per pattern of
    observed visits, the Cholesky factor of the missing values' conditional covariance."""
    out = y.copy()
    observed = ~np.isnan(y)
    factors: dict[tuple[bool, ...], np.ndarray] = {}
    patterns, which = np.unique(observed, axis=0, return_inverse=True)
    for p, pattern in enumerate(patterns):
        if pattern.all():
            continue
        rows = np.flatnonzero(which.reshape(-1) == p)
        o, m = pattern, ~pattern
        if o.any():
            A = np.linalg.solve(sigma[np.ix_(o, o)], sigma[np.ix_(o, m)])  # S_oo^-1 S_om
            out[np.ix_(rows, m)] = (
                mu[np.ix_(rows, m)] + (y[np.ix_(rows, o)] - mu[np.ix_(rows, o)]) @ A
            )
            cond = sigma[np.ix_(m, m)] - sigma[np.ix_(m, o)] @ A
        else:
            out[np.ix_(rows, m)] = mu[np.ix_(rows, m)]
            cond = sigma[np.ix_(m, m)]
        factors[tuple(bool(b) for b in pattern)] = np.linalg.cholesky(0.5 * (cond + cond.T))
    return out, factors


def _reference_design(draws: Draws, references: Mapping[str, str]) -> np.ndarray:
    """The imputation design with each subject's arm set to its reference arm."""
    d = draws.data
    grid = d.grid.assign(**{d.group: d.grid[d.group].map(lambda a: references.get(a, a))})
    return draws.design.build(grid).reshape(draws.X.shape)


def impute(draws: Draws, references: Mapping[str, str] | None = None) -> Imputation:
    """Complete every sample of ``draws``; ``references`` maps an arm to the arm its subjects'
    reference-based strategies copy (every arm named must be an arm of the data)."""
    d = draws.data
    refs = {str(k): str(v) for k, v in (references or {}).items()}
    for k, v in refs.items():
        for arm in (k, v):
            if arm not in d.arms:
                raise ModelSpecificationError(f"references: {arm!r} is not an arm of the data")
    needs = np.isin(d.strategy, REFERENCE_BASED)
    if needs.any():
        unset = sorted({d.arms[a] for a in d.arm[needs]} - set(refs))
        if unset:
            raise ModelSpecificationError(
                f"references: arm {unset[0]!r} has reference-based strategies but no reference"
            )
    lmcf = (d.strategy == "LMCF") & (d.ice == 0)
    if lmcf.any():
        raise ModelSpecificationError(
            f"subject {d.subjects[int(np.flatnonzero(lmcf)[0])]!r}: LMCF needs a value before "
            "its intercurrent event (it is at the first visit)"
        )
    X_ref = _reference_design(draws, refs)
    copies = draws.method.imputations
    done = tuple(_impute_sample(draws, X_ref, s, copies) for s in draws.samples)
    return Imputation(draws, refs, done)


def _impute_sample(draws: Draws, X_ref: np.ndarray, sample: Sample, copies: int) -> ImputedSample:
    d = draws.data
    ids = sample.ids
    mu = strategy_means(draws.X[ids] @ sample.beta, X_ref[ids] @ sample.beta,
                        d.strategy[ids], d.ice[ids])  # fmt: skip
    y = d.y[ids]
    mean, factors = conditional(mu, sample.sigma, y)
    if sample.seed is None:
        return ImputedSample(ids, mean[None, :, :])
    rng = np.random.default_rng(sample.seed)
    values = np.repeat(mean[None, :, :], copies, axis=0)
    observed = ~np.isnan(y)
    for pattern, L in sorted(factors.items()):
        rows = np.flatnonzero((observed == np.array(pattern)).all(axis=1))
        m = ~np.array(pattern)
        z = rng.standard_normal((copies, len(rows), int(m.sum())))
        values[:, rows[:, None], np.flatnonzero(m)[None, :]] += z @ L.T
    return ImputedSample(ids, values)


__all__ = ["Imputation", "ImputedSample", "conditional", "impute", "strategy_means"]
