"""Random intercept and slope model of a continuous endpoint over time (REML, the criterion of
:mod:`trialkit.models.mixed`): arm differences at a time point."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialkit.errors import ModelSpecificationError
from trialkit.estimators.design import (
    ARM,
    SUBJECT,
    arm_order,
    complete_rows,
    contrast_rows,
    design_matrix,
    select_records,
)
from trialkit.models.mixed import MixedFit, fit_mixed

# --- random intercept and slope --------------------------------------------------------------


@dataclass(frozen=True)
class RandomSlopeResult:
    """Random-slope mixed model: arm differences at a time point, and the REML fit."""

    diffs: pd.DataFrame
    at: float
    fit: MixedFit


def random_slope(
    bds: pd.DataFrame,
    *,
    param: str,
    reference: str,
    visit: str,
    at: float | None = None,
    time: str = "ADY",
    time_scale: float = 7.0,
    variable: str = "CHG",
    arms: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> RandomSlopeResult:
    """Mixed model ``variable ~ ARMCD * t + BASE``, random intercept and slope in t by subject.

    t = ``time`` / ``time_scale`` (default: study day in weeks), fitted by REML (statsmodels
    MixedLM's criterion and optimiser, vectorised over subjects: :mod:`trialkit.models.mixed`;
    unstructured 2x2 random-effect covariance) on all post-baseline analysis records.
    The arm difference is evaluated at ``at`` (in ``time`` units; default: the median of
    ``time`` among the records at ``visit``, the caller should pass the visit's scheduled day).
    ``diffs`` columns: arm, reference, time, estimate, se, df, lower, upper, statistic (z),
    p_value. CIs and p-values are Wald z (df = inf), statsmodels' convention; lmerTest's
    Satterthwaite t differs only in the quantile. The covariance of the fixed effects is
    (X'V^-1 X)^-1 at the REML estimates (lme4's ``vcov``).
    """
    data = complete_rows(select_records(bds, param), [variable, "BASE", time])
    order = arm_order(data[ARM], reference, arms)
    data = data[data[ARM].astype(str).isin(order)].sort_values([SUBJECT, time])
    if at is None:
        at_visit = data.loc[data["AVISIT"] == visit, time]
        if at_visit.empty:
            raise ModelSpecificationError(f"BDS frame: no {param} records at {visit}")
        at = float(at_visit.median())
    at = float(at)
    t = data[time].astype(float).to_numpy() / time_scale
    X, _ = design_matrix(data, order, [])
    X["t"] = t
    for a in order[1:]:
        X[f"ARMCD[{a}]:t"] = X[f"ARMCD[{a}]"] * t
    X["BASE"] = data["BASE"].astype(float).to_numpy()
    Z = np.column_stack([np.ones(len(t)), t])
    fit = fit_mixed(
        data[variable].astype(float).to_numpy(), X, Z, data[SUBJECT].to_numpy(),
        f"random-slope model of {param}",
    )  # fmt: skip
    k = X.shape[1]
    params, cov = fit.fe_params.to_numpy(), fit.cov_fe
    names = list(X.columns)
    contrasts = {}
    for a in order[1:]:
        L = np.zeros(k)
        L[names.index(f"ARMCD[{a}]")] = 1.0
        L[names.index(f"ARMCD[{a}]:t")] = at / time_scale
        contrasts[a] = L
    diffs = pd.DataFrame(contrast_rows(params, cov, contrasts, np.inf, alpha))
    diffs.insert(0, "time", at)
    diffs.insert(0, "reference", reference)
    diffs.insert(0, "arm", order[1:])
    return RandomSlopeResult(diffs=diffs, at=at, fit=fit)
