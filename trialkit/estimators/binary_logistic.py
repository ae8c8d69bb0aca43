"""Covariate-adjusted logistic regression of a 0/1 response and the risk difference by marginal
standardisation (g-computation) with the model-based delta-method variance of Ge et al. (2011).

Each subject's probability is predicted under every arm (covariates as observed) and averaged;
the risk difference of two arms is the difference of those averages. Its variance is
``g' V g``, with ``g`` the gradient of the difference in the coefficients and ``V`` the fit's
model-based covariance (Ge et al. 2011; FDA 2023 guidance on covariate adjustment), which
treats the covariates as fixed; the robust variant of Ye et al. (2023) is not used.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from trialkit.errors import ConvergenceError, ModelSpecificationError

#: Iterations of the logistic and Firth fits before they are called non-converged.
MAX_ITER = 100


@dataclass(frozen=True)
class LogitFit:
    """A fitted logistic model: coefficients, their covariance, how it was fitted."""

    params: pd.Series
    cov: pd.DataFrame
    method: str
    iterations: int

    @property
    def bse(self) -> pd.Series:
        """Standard errors of the coefficients."""
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index)

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the coefficients (inverse Fisher information at the estimate)."""
        return self.cov


@dataclass(frozen=True)
class Standardised:
    """Marginal (standardised) response probability of each arm and its gradient."""

    means: dict[str, float]
    gradients: dict[str, np.ndarray]

    def difference(self, arm: str, versus: str, cov: np.ndarray) -> tuple[float, float]:
        """Risk difference ``arm - versus`` and its delta-method standard error."""
        g = self.gradients[arm] - self.gradients[versus]
        return self.means[arm] - self.means[versus], float(np.sqrt(g @ cov @ g))


def check_full_rank(X: pd.DataFrame) -> None:
    """Refuse a design whose columns are linearly dependent, naming the first such column."""
    values = X.to_numpy()
    if np.linalg.matrix_rank(values) == values.shape[1]:
        return
    for j in range(1, values.shape[1] + 1):
        if np.linalg.matrix_rank(values[:, :j]) < j:
            raise ModelSpecificationError(
                f"logistic model: column {X.columns[j - 1]} is constant or a combination of"
                " the columns before it"
            )


def separated_columns(X: pd.DataFrame, y: np.ndarray) -> list[str]:
    """Columns along which the data are separated (complete or quasi-complete); [] if none.

    The linear program of Konis (2007): a direction ``b`` (|b_j| <= 1, columns scaled to unit
    maximum) with ``s_i x_i'b >= 0`` for every subject (s = +1 responder, -1 not) and a positive
    sum exists exactly when the maximum likelihood estimate does not.
    """
    values = X.to_numpy(dtype=float)
    scale = np.abs(values).max(axis=0)
    scale[scale == 0] = 1.0
    signed = (2.0 * y - 1.0)[:, None] * values / scale
    res = optimize.linprog(
        -signed.sum(axis=0),
        A_ub=-signed,
        b_ub=np.zeros(len(y)),
        bounds=[(-1.0, 1.0)] * values.shape[1],
        method="highs",
    )
    if res.status != 0 or -res.fun <= 1e-7 * len(y):
        return []
    return [str(c) for c, b in zip(X.columns, res.x, strict=True) if abs(b) > 1e-7]


def fit_logistic(X: pd.DataFrame, y: np.ndarray) -> LogitFit:
    """Maximum-likelihood logistic regression (statsmodels GLM, IRLS); ConvergenceError when
    the iterations do not converge."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            fit = GLM(y, X, family=families.Binomial()).fit(maxiter=MAX_ITER, tol=1e-12)
        except (ConvergenceWarning, PerfectSeparationWarning, np.linalg.LinAlgError) as exc:
            raise ConvergenceError(f"the logistic fit did not converge ({exc})") from exc
    if not fit.converged:
        raise ConvergenceError(f"the logistic fit did not converge in {MAX_ITER} iterations")
    names = list(X.columns)
    return LogitFit(
        params=pd.Series(np.asarray(fit.params), index=names),
        cov=pd.DataFrame(np.asarray(fit.cov_params()), index=names, columns=names),
        method="logistic",
        iterations=int(fit.fit_history["iteration"]),
    )


def counterfactual(X: pd.DataFrame, arm_columns: dict[str, str | None], arm: str) -> np.ndarray:
    """The design with every subject assigned to ``arm`` (``arm_columns`` maps each arm to its
    indicator column, None for the reference arm)."""
    out = X.copy()
    for column in arm_columns.values():
        if column is not None:
            out[column] = 0.0
    column = arm_columns[arm]
    if column is not None:
        out[column] = 1.0
    return out.to_numpy(dtype=float)


def standardise(
    fit: LogitFit, X: pd.DataFrame, arm_columns: dict[str, str | None], arms: Sequence[str]
) -> Standardised:
    """Average predicted probability under each arm over all subjects of ``X``, and its
    gradient in the coefficients (mean of p(1-p)x over the subjects)."""
    beta = fit.params.to_numpy()
    means, gradients = {}, {}
    for arm in arms:
        Xa = counterfactual(X, arm_columns, arm)
        p = special.expit(Xa @ beta)
        means[arm] = float(p.mean())
        gradients[arm] = (p * (1.0 - p)) @ Xa / len(p)
    return Standardised(means=means, gradients=gradients)
