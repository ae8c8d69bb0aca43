"""Negative binomial GEE of post-baseline counts (hair counts): rate ratios against the
reference arm, with the NB2 dispersion estimated by moments (MASS theta.mm)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from trialkit.errors import ConvergenceError, ModelSpecificationError
from trialkit.estimators.design import (
    ARM,
    SUBJECT,
    arm_order,
    complete_rows,
    design_matrix,
    ratio_rows,
    select_records,
)
from trialkit.estimators.gee import GeeFit, fit_count_gee

# --- negative binomial GEE of counts ---------------------------------------------------------


@dataclass(frozen=True)
class CountGeeResult:
    """NB GEE of post-baseline counts: rate ratios vs reference, dispersion, and the GEE fit."""

    rate_ratios: pd.DataFrame
    dispersion: pd.DataFrame
    fit: GeeFit


def nb_alpha_moment(y: np.ndarray, mu: np.ndarray, df_resid: float) -> float:
    """NB2 dispersion alpha solving sum((y-mu)^2 / (mu + alpha mu^2)) = df_resid (MASS theta.mm).

    Returns 0 when the counts are not overdispersed (Pearson X2 under Poisson <= df_resid).
    """

    def excess(a: float) -> float:
        return float(np.sum((y - mu) ** 2 / (mu + a * mu**2)) - df_resid)

    if excess(0.0) <= 0:
        return 0.0
    hi = 1.0
    while excess(hi) > 0:
        hi *= 10.0
        if hi > 1e8:
            raise ConvergenceError("negative binomial dispersion: no finite moment estimate")
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-14, rtol=1e-12))


def nb_gee(
    bds: pd.DataFrame,
    *,
    param: str,
    reference: str,
    visits: Sequence[str] | None = None,
    arms: Sequence[str] | None = None,
    correlation: str = "exchangeable",
    alpha: float = 0.05,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> CountGeeResult:
    """GEE of post-baseline counts (AVAL): NB2 variance, log link, ``ARMCD + log(BASE) + AVISIT``.

    Working correlation exchangeable (or ``"independence"``), robust (sandwich) SEs, scale 1;
    statsmodels' GEE, vectorised over subjects (:mod:`trialkit.estimators.gee`). The rate ratio
    is the arm's ratio to the reference over all post-baseline visits (one arm effect, no
    arm-by-visit interaction): ``rate_ratios`` columns arm, reference, estimate (log
    rate ratio), se, lower, upper (log scale), statistic (z), p_value, rate_ratio, rr_lower,
    rr_upper.

    The NB dispersion alpha (Var = mu + alpha mu^2) is estimated by alternating: fit the GEE
    with alpha fixed, then solve the Pearson moment equation sum (y-mu)^2/(mu + alpha mu^2) =
    N - p (as MASS::theta.mm, theta = 1/alpha), until alpha changes by less than ``tol``
    (relative); start from the moment estimate at a Poisson GEE. ``dispersion`` columns:
    statistic (alpha, theta, working_correlation, iterations, n_obs, n_subjects), value.
    BASE must be positive (log).
    """
    data = complete_rows(select_records(bds, param, visit=visits), ["AVAL", "BASE", "AVISIT"])
    order = arm_order(data[ARM], reference, arms)
    data = data[data[ARM].astype(str).isin(order)]
    bad = data[data["BASE"] <= 0]
    if not bad.empty:
        raise ModelSpecificationError(
            f"BDS frame: BASE of {param} is not positive for {bad[SUBJECT].iloc[0]} (log(BASE))"
        )
    sort_cols = [SUBJECT, "AVISITN"] if "AVISITN" in data.columns else [SUBJECT, "AVISIT"]
    data = data.sort_values(sort_cols)
    data = data.assign(LOG_BASE=np.log(data["BASE"].astype(float)))
    if "AVISITN" in data.columns:
        visit_order = data.drop_duplicates("AVISIT").sort_values("AVISITN")["AVISIT"].tolist()
    else:
        visit_order = sorted(data["AVISIT"].unique())
    X, _ = design_matrix(data, order, ["LOG_BASE"])
    for v in visit_order[1:]:
        X[f"AVISIT[{v}]"] = (data["AVISIT"] == v).astype(float).to_numpy()
    y = data["AVAL"].astype(float).to_numpy()
    subjects = data[SUBJECT].to_numpy()
    df_resid = len(y) - X.shape[1]

    def fit_at(a: float, previous: GeeFit | None) -> GeeFit:
        return fit_count_gee(y, X, subjects, alpha=a, correlation=correlation, start=previous)

    fit = fit_at(0.0, None)
    a = nb_alpha_moment(y, fit.fittedvalues, df_resid)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported below
        fit = fit_at(a, fit)
        a_new = nb_alpha_moment(y, fit.fittedvalues, df_resid)
        done = abs(a_new - a) <= tol * max(a, 1e-12)
        a = a_new
        if done:
            break
    else:
        raise ConvergenceError(f"NB GEE of {param}: dispersion did not converge")
    fit = fit_at(a, fit)
    params, cov = fit.params.to_numpy(), fit.cov_params
    rr = ratio_rows(params, cov, list(X.columns), order[1:], alpha, "rate_ratio", "rr")
    rr.insert(0, "reference", reference)
    rr.insert(0, "arm", order[1:])
    rho = fit.rho
    dispersion = pd.DataFrame(
        {
            "statistic": [
                "alpha",
                "theta",
                "working_correlation",
                "iterations",
                "n_obs",
                "n_subjects",
            ],
            "value": [
                a,
                1 / a if a > 0 else np.inf,
                rho,
                float(iterations),
                float(len(y)),
                float(data[SUBJECT].nunique()),
            ],
        }
    )
    return CountGeeResult(rate_ratios=rr, dispersion=dispersion, fit=fit)
