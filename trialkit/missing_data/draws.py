"""Draws of the imputation model's parameters: the MMRM refitted on resampled subjects.

The imputation model is an MMRM (REML, ``rbmi``'s default) of the values the strategies leave
to it (:attr:`LongData.fit_mask`). Each method resamples subjects as ``rbmi`` does:

- conditional mean, jackknife: the full data, then each subject left out in turn;
- conditional mean, bootstrap: the full data, then ``samples`` bootstrap samples;
- approximate Bayes: ``samples`` bootstrap samples whose parameters impute the original data;
- bootstrapped ML (von Hippel and Bartlett): ``samples`` bootstrap samples, each imputed
  ``imputations`` times.

Bootstrap samples are drawn within arms. Every sample's random numbers come from its own
``SeedSequence(seed, spawn_key=(k,))``, fixed before any fit, so results do not depend on how
many workers fit them; a sample whose fit fails is replaced by the next spare one, at most
:data:`~trialkit.missing_data.plan.FAILURE_FRACTION` of them. Refits start from the full fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from trialkit.errors import ConvergenceError
from trialkit.missing_data.data import LongData
from trialkit.missing_data.plan import FAILURE_FRACTION, Method
from trialkit.models import MMRM
from trialkit.models.formula import DesignInfo
from trialkit.models.likelihood import PaddedData
from trialkit.models.refit import Refit, refit
from trialkit.numerics import deterministic_blas

FitBatch = Callable[[list[np.ndarray]], list[Refit]]
#: Runs a batch function over tasks and returns the results in task order
#: (:func:`trialkit.parallel.run_batches` with its options bound, or :func:`in_process`).
Runner = Callable[[FitBatch, Sequence[np.ndarray]], list[Refit]]


def in_process(func: FitBatch, tasks: Sequence[np.ndarray]) -> list[Refit]:
    """Run every task here, in one batch."""
    return func(list(tasks))


@dataclass(frozen=True)
class Sample:
    """One draw: the subjects it imputes (indices; repeated in a bootstrap sample) and the
    imputation model's fixed effects and covariance; ``seed`` feeds its random imputation."""

    ids: np.ndarray
    beta: np.ndarray
    sigma: np.ndarray
    seed: np.random.SeedSequence | None


@dataclass(frozen=True)
class Draws:
    """The samples of a method, the data and the imputation model's design (``X``: n, T, p)."""

    data: LongData
    method: Method
    design: DesignInfo
    X: np.ndarray
    samples: tuple[Sample, ...]
    failures: int


@dataclass(frozen=True)
class FitProblem:
    """What a worker needs to refit the imputation model on some subjects (picklable)."""

    X: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    theta0: np.ndarray
    covariance: str

    def fit(self, ids: np.ndarray) -> Refit:
        """The REML fit on subjects ``ids``, warm-started from the full fit."""
        data = PaddedData(
            X=self.X[ids], y=self.y[ids], mask=self.mask[ids],
            group=np.zeros(len(ids), dtype=np.int64), n_groups=1,
        )  # fmt: skip
        return refit(data, self.theta0, self.covariance)


def fit_batch(problem: FitProblem, batch: list[np.ndarray]) -> list[Refit]:
    """Refits of one batch of subject index sets (a top-level function: picklable), with one
    BLAS thread (small matrices: faster, and the same bits whoever runs the batch)."""
    with deterministic_blas():
        return [problem.fit(ids) for ids in batch]


def full_fit(data: LongData, formula: str, covariance: str = "us") -> tuple[DesignInfo, np.ndarray]:
    """The imputation model's design and covariance parameters fitted on all subjects (the
    general optimiser: the start of every refit)."""
    mask = data.fit_mask
    rows = data.grid.loc[mask.reshape(-1)].reset_index(drop=True)
    model = MMRM.from_formula(
        formula, rows, subject=data.subject, visit=data.visit, covariance=covariance,
        visit_order=list(data.visits), reference={data.group: data.control},
    )  # fmt: skip
    res = model.fit(method="reml", df="residual")
    if not res.converged:
        raise ConvergenceError(f"imputation model: {res.convergence.message}")
    return model.design_info, np.asarray(res.theta, dtype=float)


def _bootstrap_ids(arm: np.ndarray, seed: np.random.SeedSequence) -> np.ndarray:
    """Subjects drawn with replacement within each arm (as many as the arm has)."""
    rng = np.random.default_rng(seed)
    parts = []
    for a in np.unique(arm):
        members = np.flatnonzero(arm == a)
        parts.append(rng.choice(members, size=len(members), replace=True))
    return np.concatenate(parts)


def draws(
    data: LongData,
    formula: str,
    method: Method,
    covariance: str = "us",
    runner: Runner = in_process,
) -> Draws:
    """Fit the imputation model (``formula``, e.g. ``"CHG ~ ARMCD*AVISIT + BASE*AVISIT"``)
    on the samples of ``method``; ``runner`` spreads the refits over workers."""
    design, theta = full_fit(data, formula, covariance)
    n, T = data.y.shape
    X = design.build(data.grid).reshape(n, T, -1)
    mask = data.fit_mask
    # the likelihood wants zero rows at the visits left out (padding)
    problem = FitProblem(X * mask[:, :, None], np.where(mask, data.y, 0.0), mask, theta, covariance)
    func = partial(fit_batch, problem)
    everyone = np.arange(n)
    if method.pooling == "jackknife":
        tasks = [np.delete(everyone, i) for i in range(n)]
        fits = runner(func, [everyone, *tasks])
        for i, f in enumerate(fits[1:]):
            if not f.converged:
                raise ConvergenceError(
                    f"imputation model: the fit without subject {data.subjects[i]!r} "
                    "did not converge"
                )
        samples = [
            Sample(ids, f.beta, f.sigma, None)
            for ids, f in zip([everyone, *tasks], fits, strict=True)
        ]
        return Draws(data, method, design, X, tuple(samples), 0)
    boot, failures = _bootstrap(data, method, func, runner)
    if method.pooling == "bootstrap":
        first = runner(func, [everyone])[0]
        boot = [Sample(everyone, first.beta, first.sigma, None), *boot]
    return Draws(data, method, design, X, tuple(boot), failures)


def _bootstrap(
    data: LongData, method: Method, func: FitBatch, runner: Runner
) -> tuple[list[Sample], int]:
    """``method.samples`` converged bootstrap fits, failed ones replaced by spare samples."""
    assert method.seed is not None
    limit = math.ceil(FAILURE_FRACTION * method.samples)
    seeds = [
        np.random.SeedSequence(method.seed, spawn_key=(k,)) for k in range(method.samples + limit)
    ]
    draws_, noise = zip(*(s.spawn(2) for s in seeds), strict=True)
    candidates = [_bootstrap_ids(data.arm, s) for s in draws_]
    keep_ids = method.name == "bootstrap_ml" or method.pooling == "bootstrap"
    done: list[Sample] = []
    failures = 0
    start = 0
    while len(done) < method.samples:
        wanted = method.samples - len(done)
        if start + wanted > len(candidates):
            raise ConvergenceError(
                f"imputation model: more than {limit} of {method.samples} bootstrap fits "
                "failed to converge"
            )
        batch = list(range(start, start + wanted))
        fits = runner(func, [candidates[k] for k in batch])
        for k, f in zip(batch, fits, strict=True):
            if not f.converged:
                failures += 1
                continue
            ids = candidates[k] if keep_ids else np.arange(data.n_subjects)
            done.append(
                Sample(
                    ids, f.beta, f.sigma, None if method.name == "conditional_mean" else noise[k]
                )
            )
        start += wanted
    return done, failures


__all__ = [
    "Draws",
    "FitProblem",
    "Runner",
    "Sample",
    "draws",
    "fit_batch",
    "full_fit",
    "in_process",
]
