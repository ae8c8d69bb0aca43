"""Fit the MMRM of one design to many datasets of its shape, the design built once.

A simulation analyses thousands of trials that differ only in each subject's arm, subject-level
covariates (baseline), response and which visits were seen. :class:`SameShapeMMRM` builds the
design's rows once from the formula (:func:`~trialkit.models.formula.make_design` on a template
of every arm at every visit, covariates at 0 and at 1: the rows are affine in each covariate) and
per dataset only sums each missingness pattern's cross products
(:class:`~trialkit.models.patterns.AffineStatistics`): no data frame, formula, design matrix or
LS-means grid per fit. The REML likelihood and its derivatives come from those sums
(:class:`~trialkit.models.patterns.PatternLikelihood`); the optimiser, the df context and the
inference (:func:`~trialkit.models.results.combination_rows`) are those of :meth:`MMRM.fit`, so
a result equals that of ``MMRM.from_formula(...).fit(...)`` on the same data to rounding.

The engine takes the common case only: every arm observed at every visit, a full-rank design,
and for ``us`` more subjects than visits with every pair of visits seen together. Anything else
is a :class:`~trialkit.errors.ModelSpecificationError`, after which the caller uses the general
path, which names the problem or fits what is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialkit.errors import ConvergenceError, ModelSpecificationError
from trialkit.models.covariance import CovarianceStructure, make_structure
from trialkit.models.dof import DofContext, kenward_roger_phi, make_context
from trialkit.models.fit import CovarianceModel, FitOutcome, optimise, pairwise_covariance
from trialkit.models.formula import DesignInfo, make_design, parse_formula
from trialkit.models.lsmeans import lsmeans_matrix
from trialkit.models.patterns import (
    AffineStatistics,
    PatternEvaluation,
    PatternLikelihood,
    PatternStats,
)
from trialkit.models.results import combination_rows
from trialkit.numerics import deterministic_blas
from trialkit.vocabulary import DF_METHODS

#: Smallest eigenvalue of the design's correlation-scaled cross-product taken as full rank.
RANK_TOL = 1e-10


@dataclass(frozen=True)
class SameShapeData:
    """One dataset: per subject its arm (index into the engine's arms), covariates, response at
    each visit (ignored where not observed) and the visits observed."""

    arm: np.ndarray  # (n,) int
    covariates: np.ndarray  # (n, k), the engine's covariates in order
    response: np.ndarray  # (n, T)
    observed: np.ndarray  # (n, T) bool


@dataclass(frozen=True)
class SameShapeFit:
    """A converged fit: the structure used, fixed effects and their covariance (Kenward-Roger
    adjusted for that df method), the df context and the covariates' means (LS-means grid)."""

    covariance: str
    params: np.ndarray
    covariance_matrix: np.ndarray
    context: DofContext
    df_method: str
    nobs: int
    covariate_means: np.ndarray

    def cov_params(self) -> np.ndarray:
        """Covariance of the fixed effects (Kenward-Roger adjusted if df='kenward-roger')."""
        return self.covariance_matrix

    def estimate(
        self, M: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Estimate, SE, df, t and two-sided p of each row of ``M`` (as MMRMResults.estimate)."""
        return combination_rows(
            M, self.params, self.covariance_matrix, self.context, self.df_method, self.nobs
        )


class SameShapeMMRM:
    """The MMRM ``formula`` over ``arms`` (factor ``arm``, reference ``reference``), ``visits``
    (factor ``visit``, in order) and subject-level numeric ``covariates``."""

    def __init__(
        self,
        formula: str,
        arms: Sequence[str],
        visits: Sequence[str],
        reference: str,
        covariates: Sequence[str] = ("BASE",),
        arm: str = "ARMCD",
        visit: str = "AVISIT",
    ) -> None:
        parsed = parse_formula(formula)
        known = {arm, visit, *covariates}
        unknown = [v for t in parsed.terms for v in t if v not in known]
        if unknown:
            raise ModelSpecificationError(
                f"same-shape MMRM: {unknown[0]!r} is not the arm, the visit or a covariate"
            )
        self.arms, self.visits = [str(a) for a in arms], [str(v) for v in visits]
        self.arm_col, self.visit_col = arm, visit
        self.covariates = list(covariates)
        self.reference = {arm: str(reference), visit: self.visits[0]}
        self._parsed = parsed
        k = len(self.covariates)
        self.info, X0 = self._rows(np.zeros(k))
        units = [self._rows(np.eye(k)[j])[1] - X0 for j in range(k)]
        A, T = len(self.arms), len(self.visits)
        # each arm's rows at each visit: covariates at 0, then per unit of each covariate
        rows = np.stack([X0, *units]).reshape(k + 1, A, T, -1)
        self._statistics = AffineStatistics(np.ascontiguousarray(rows.transpose(1, 0, 2, 3)))
        probe = np.linspace(1.5, -0.7, k)
        expected = X0 + sum((z * u for z, u in zip(probe, units, strict=True)), np.zeros_like(X0))
        if not np.allclose(self._rows(probe)[1], expected, rtol=1e-12, atol=1e-12):
            raise ModelSpecificationError(
                "same-shape MMRM: the covariates must enter the formula linearly"
            )
        self.exog_names = self.info.column_names
        self._lsm_index, L0 = self._lsmeans(np.zeros(k))
        self._lsm = [L0] + [self._lsmeans(np.eye(k)[j])[1] for j in range(k)]

    def _template(self, values: np.ndarray) -> pd.DataFrame:
        """Every arm at every visit (arm-major), the covariates at ``values``."""
        A, T = len(self.arms), len(self.visits)
        frame = pd.DataFrame(
            {
                self.arm_col: np.repeat(np.array(self.arms, dtype=object), T),
                self.visit_col: np.tile(np.array(self.visits, dtype=object), A),
                self._parsed.response: np.zeros(A * T),
            }
        )
        for name, v in zip(self.covariates, values, strict=True):
            frame[name] = float(v)
        return frame

    def _rows(self, values: np.ndarray) -> tuple[DesignInfo, np.ndarray]:
        info, X, _ = make_design(
            self._parsed,
            self._template(values),
            reference=self.reference,
            extra_factors=[self.visit_col],
            levels_of={self.visit_col: self.visits},
        )
        return info, X

    def _lsmeans(self, values: np.ndarray) -> tuple[dict[tuple[str, str], int], np.ndarray]:
        """Row of each (arm, visit) and the LS means' L with the covariates at ``values``."""
        lab, L = lsmeans_matrix(self.info, self._template(values), [self.arm_col], [self.visit_col])
        keys = zip(lab[self.arm_col].astype(str), lab[self.visit_col].astype(str), strict=True)
        return {key: i for i, key in enumerate(keys)}, L

    def contrast_matrix(
        self, pairs: Sequence[tuple[str, str]], visits: Sequence[str], means: np.ndarray
    ) -> np.ndarray:
        """Rows of LS-mean differences, arm minus versus, for each visit then each pair, with the
        covariates at ``means`` (as ``contrasts_table`` orders them)."""
        L = self._lsm[0].copy()
        for m, Lk in zip(means, self._lsm[1:], strict=True):
            L += m * (Lk - self._lsm[0])
        idx = self._lsm_index
        return np.vstack([L[idx[(a, v)]] - L[idx[(b, v)]] for v in visits for a, b in pairs])

    def statistics(self, data: SameShapeData) -> PatternStats:
        """The dataset's per-pattern statistics; the common case only (ModelSpecificationError
        otherwise)."""
        mask = np.asarray(data.observed, dtype=bool)
        arm = np.asarray(data.arm)
        T = mask.shape[1]
        A = len(self.arms)
        cells = np.bincount((arm[:, None] * T + np.arange(T))[mask], minlength=A * T)
        if (cells == 0).any():
            a, t = divmod(int(np.flatnonzero(cells == 0)[0]), T)
            raise ModelSpecificationError(
                f"same-shape MMRM: arm {self.arms[a]!r} has no outcome at {self.visits[t]!r}"
            )
        stats = self._statistics.stats(arm, data.covariates, data.response, mask)
        XX, _ = stats.ols()
        d = np.sqrt(np.diag(XX))
        if not np.all(d > 0) or np.linalg.eigvalsh(XX / np.outer(d, d))[0] <= RANK_TOL:
            raise ModelSpecificationError("same-shape MMRM: the design is not of full rank")
        return stats

    def _check_us(self, mask: np.ndarray) -> None:
        n, T = mask.shape
        m = mask.astype(float)
        if n <= T or ((m.T @ m) == 0).any():
            raise ModelSpecificationError(
                "same-shape MMRM: the unstructured covariance cannot be estimated"
            )

    def fit(
        self, data: SameShapeData, covariances: Sequence[str], df: str = "kenward-roger"
    ) -> SameShapeFit:
        """REML fit with each structure of ``covariances`` in turn until one converges (as
        ``fit_with_fallback``); :class:`ConvergenceError` if none does."""
        if df not in DF_METHODS:
            raise ModelSpecificationError(
                f"unknown df method {df!r}; use one of {', '.join(DF_METHODS)}"
            )
        with deterministic_blas():
            stats = self.statistics(data)
            mask = np.asarray(data.observed, dtype=bool)
            if "us" in covariances:
                self._check_us(mask)
            means = np.array(
                [
                    np.mean(np.broadcast_to(data.covariates[:, j, None], mask.shape)[mask])
                    for j in range(len(self.covariates))
                ]
            )
            failures = []
            beta_ols = np.linalg.solve(*stats.ols())
            start = pairwise_covariance(stats.residual_cross(beta_ols).sum(axis=0),
                                        stats.pair_counts())  # fmt: skip
            for name in dict.fromkeys(covariances):
                try:
                    out, ctx = _fit_structure(stats, make_structure(name, stats.n_visits),
                                              start, df)  # fmt: skip
                except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
                    failures.append(f"{name}: fit failed: {type(exc).__name__}: {exc}")
                    continue
                if out.convergence.converged and ctx is not None:
                    V = ctx.PhiA if ctx.PhiA is not None else ctx.Phi
                    beta = out.evaluation.beta
                    assert beta is not None
                    return SameShapeFit(name, beta, V, ctx, df, stats.n_obs, means)
                failures.append(f"{name}: did not converge: {out.convergence.message}")
        raise ConvergenceError(
            f"same-shape MMRM: no covariance structure converged ({'; '.join(failures)})"
        )


def _fit_structure(
    stats: PatternStats, structure: CovarianceStructure, start: np.ndarray, df: str
) -> tuple[FitOutcome, DofContext | None]:
    """REML optimum from the pattern statistics, as :func:`~trialkit.models.mmrm.fit_padded`
    (observed information, Kenward-Roger without second-order terms)."""
    lik = PatternLikelihood(stats)
    cov = CovarianceModel([structure])
    out = optimise(lik, cov, cov.start_theta(start[None]))
    ev = out.evaluation
    if not ev.ok:
        return out, None
    assert isinstance(ev, PatternEvaluation)
    try:
        W = 2.0 * np.linalg.inv(out.hessian_theta)
    except np.linalg.LinAlgError:
        W = 2.0 * np.linalg.pinv(out.hessian_theta)
    ctx = make_context(out.theta, ev, cov, W, stats.n_obs)
    if df == "kenward-roger":
        Q = lik.kenward_roger_q(ev, structure.dsigma(out.theta), W)
        ctx.PhiA = kenward_roger_phi(ctx, Q)
    return out, ctx


__all__ = ["SameShapeData", "SameShapeFit", "SameShapeMMRM"]
