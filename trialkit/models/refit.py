"""Refits of an MMRM on resampled subjects, warm-started from a fit of all of them.

A jackknife or bootstrap sample moves the optimum of the likelihood only a little, so Newton's
method in SAS's parameters (``theta``, the covariance entries for ``us``) from the full fit's
optimum reaches it in two or three steps; the general optimiser of :mod:`trialkit.models.fit`
(trust region, then BFGS) takes over when Newton fails (a step out of the positive definite
cone that halving cannot mend, an indefinite Hessian, too many steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trialkit.models.covariance import make_structure
from trialkit.models.fit import CovarianceModel, optimise
from trialkit.models.likelihood import Likelihood, PaddedData

#: Newton stops when the decrement g' H^-1 g of -2 log-likelihood falls below this.
DECREMENT_TOL = 1e-10
#: Newton steps before the general optimiser takes over.
MAX_NEWTON_STEPS = 25
#: Halvings of one Newton step before the general optimiser takes over.
MAX_HALVINGS = 30


@dataclass(frozen=True)
class Refit:
    """Fixed effects and covariance matrix at the optimum of one refit."""

    beta: np.ndarray
    sigma: np.ndarray
    theta: np.ndarray
    converged: bool
    newton_steps: int


def refit(data: PaddedData, theta0: np.ndarray, covariance: str = "us", reml: bool = True) -> Refit:
    """Fit the MMRM of ``data`` (one covariance group) starting from ``theta0``."""
    lik = Likelihood(data, reml=reml)
    cov = CovarianceModel([make_structure(covariance, data.n_visits)])
    theta = np.asarray(theta0, dtype=float)
    ev = lik.evaluate(cov.sigmas(theta), order=2)
    for step in range(MAX_NEWTON_STEPS):
        if not ev.ok:
            break
        g = cov.gradient_theta(theta, ev)
        H = cov.hessian_theta(theta, ev)
        try:
            direction = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        decrement = float(g @ direction)
        if not np.isfinite(decrement) or decrement < 0:
            break  # not a descent direction: H is not positive definite here
        if decrement < DECREMENT_TOL:
            assert ev.beta is not None
            return Refit(ev.beta, cov.sigmas(theta)[0], theta, True, step)
        t = 1.0
        for _ in range(MAX_HALVINGS):
            trial = lik.evaluate(cov.sigmas(theta - t * direction), order=2)
            if trial.ok and trial.value <= ev.value + 1e-12 * abs(ev.value):
                break
            t *= 0.5
        else:
            break
        theta, ev = theta - t * direction, trial
    out = optimise(lik, cov, theta0)
    beta = out.evaluation.beta if out.evaluation.beta is not None else np.full(data.n_fixed, np.nan)
    return Refit(beta, cov.sigmas(out.theta)[0], out.theta, out.convergence.converged, -1)


__all__ = ["Refit", "refit"]
