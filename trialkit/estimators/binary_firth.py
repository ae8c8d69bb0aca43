"""Firth-penalised logistic regression (Firth 1993; Heinze & Schemper 2002): finite estimates
under separation, the fallback of the logistic binary analysis.

The penalised log-likelihood ``l(b) + log|I(b)| / 2`` is maximised by Newton steps on the
modified score ``X'(y - p + h (1/2 - p))``, ``h`` the diagonal of the hat matrix
``W^1/2 X (X'WX)^-1 X'W^1/2``, halving a step that lowers the penalised likelihood. The
covariance is the inverse Fisher information ``(X'WX)^-1`` at the estimate (as R ``logistf``'s
``vcov`` and ``brglm2``'s ``AS_mean`` fit report it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from trialkit.errors import ConvergenceError
from trialkit.estimators.binary_logistic import MAX_ITER, LogitFit


def penalised_loglik(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    """Firth's penalised log-likelihood ``l(b) + log det(X'WX) / 2``."""
    eta = X @ beta
    loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    p = special.expit(eta)
    _, logdet = np.linalg.slogdet(X.T @ (X * (p * (1.0 - p))[:, None]))
    return loglik + 0.5 * logdet


def fit_firth(
    X: pd.DataFrame, y: np.ndarray, *, max_iter: int = MAX_ITER, tol: float = 1e-10
) -> LogitFit:
    """Firth logistic regression of ``y`` on ``X``; ConvergenceError when the largest Newton
    step is still above ``tol`` after ``max_iter`` iterations."""
    values = X.to_numpy(dtype=float)
    beta = np.zeros(values.shape[1])
    current = penalised_loglik(values, y, beta)
    for iteration in range(1, max_iter + 1):
        p = special.expit(values @ beta)
        w = p * (1.0 - p)
        info_inv = np.linalg.inv(values.T @ (values * w[:, None]))
        h = w * np.einsum("ij,jk,ik->i", values, info_inv, values)
        step = info_inv @ (values.T @ (y - p + h * (0.5 - p)))
        for _ in range(30):
            trial = penalised_loglik(values, y, beta + step)
            if trial >= current - 1e-12:
                break
            step = step / 2.0
        beta, current = beta + step, trial
        if np.max(np.abs(step)) < tol:
            p = special.expit(values @ beta)
            cov = np.linalg.inv(values.T @ (values * (p * (1.0 - p))[:, None]))
            names = list(X.columns)
            return LogitFit(
                params=pd.Series(beta, index=names),
                cov=pd.DataFrame(cov, index=names, columns=names),
                method="firth",
                iterations=iteration,
            )
    raise ConvergenceError(f"the Firth fit did not converge in {max_iter} iterations")
