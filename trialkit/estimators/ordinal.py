"""Secondary endpoints that the MMRM does not cover: an ordinal global assessment.

A 7-point global assessment (-3..+3) at one visit is analysed with a proportional-odds
(cumulative logit) model, statsmodels ``OrderedModel``: P(Y <= k) = F(cut_k - x'b), the same
parametrisation as R ``MASS::polr`` (zeta - eta), so exp(b) is the odds ratio of a better (higher)
category for the arm against the reference. Continuous secondary endpoints go through the
primary MMRM (``trialkit.analysis.primary``), not here.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from statsmodels.miscmodels.ordinal_model import OrderedModel

from trialkit.errors import ConvergenceError, ModelSpecificationError
from trialkit.estimators.design import (
    ARM,
    arm_order,
    complete_rows,
    design_matrix,
    ratio_rows,
    select_records,
)


def category_distribution(
    bds: pd.DataFrame,
    *,
    param: str,
    visit: str,
    levels: Sequence[int] | None = None,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Subjects in each category of an ordinal parameter at ``visit``, by arm and total.

    Columns: arm ("Total" for the pooled column; only "Total" when ``by_arm`` is false),
    level, n, N (subjects with a value in that arm), pct (100 n / N). Rows: arms in order
    (sorted, or ``arms``) then Total; levels ascending (all of ``levels`` when given, zero
    counts included).
    """
    data = complete_rows(select_records(bds, param, visit=visit), ["AVAL"])
    lv = sorted(levels) if levels is not None else sorted(data["AVAL"].astype(int).unique())
    groups: list[tuple[str, pd.DataFrame]] = []
    if by_arm:
        present = sorted(data[ARM].astype(str).unique())
        order = [a for a in arms if a in present] if arms is not None else present
        groups += [(a, data[data[ARM].astype(str) == a]) for a in order]
    groups.append(("Total", data))
    rows = []
    for name, g in groups:
        values = g["AVAL"].astype(int)
        N = len(values)
        for level in lv:
            n = int((values == level).sum())
            rows.append(
                {
                    "arm": name,
                    "level": int(level),
                    "n": n,
                    "N": N,
                    "pct": 100.0 * n / N if N else np.nan,
                }
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class OrdinalResult:
    """Proportional-odds analysis: odds ratios vs reference, category distribution, the fit."""

    odds_ratios: pd.DataFrame
    distribution: pd.DataFrame
    thresholds: pd.DataFrame
    fit: Any


class _LogitOrderedModel(OrderedModel):
    """``OrderedModel(distr="logit")`` with the logistic cdf called directly.

    ``scipy.stats.logistic.cdf`` is ``special.expit`` behind per-call argument checks (loc 0,
    scale 1), so the likelihood and the fit are the same numbers, bit for bit, at a fraction
    of the cost of the numerical-gradient BFGS fit's ~1,000 likelihood evaluations.
    """

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Logistic cdf."""
        return np.asarray(special.expit(x))


def proportional_odds(
    bds: pd.DataFrame,
    *,
    param: str,
    visit: str,
    reference: str,
    levels: Sequence[int] | None = None,
    adjust_baseline: bool | None = None,
    covariates: Sequence[str] = (),
    arms: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> OrdinalResult:
    """Proportional-odds logistic model of AVAL at ``visit`` on ARMCD (+ BASE) (+ covariates).

    ``adjust_baseline`` None means: adjust when the parameter's records carry a BASE.
    ``odds_ratios`` columns: arm, reference, estimate (log OR), se, lower, upper, statistic
    (z), p_value, odds_ratio, or_lower, or_upper, n; an OR above 1 favours higher categories.
    ``thresholds``: cut-point between consecutive observed levels (label "a|b", as polr's
    zeta) and estimate. ``distribution``: :func:`category_distribution` by arm.
    """
    data = select_records(bds, param, visit=visit)
    if adjust_baseline is None:
        adjust_baseline = "BASE" in data.columns and bool(data["BASE"].notna().any())
    xcols = (["BASE"] if adjust_baseline else []) + list(covariates)
    data = complete_rows(data, ["AVAL", *xcols])
    order = arm_order(data[ARM], reference, arms)
    data = data[data[ARM].astype(str).isin(order)]
    observed = sorted(data["AVAL"].astype(int).unique())
    if len(observed) < 2:
        raise ModelSpecificationError(f"{param} at {visit}: fewer than two categories observed")
    X, _ = design_matrix(data, order, xcols, intercept=False)
    y = pd.Series(
        pd.Categorical(data["AVAL"].astype(int), categories=observed, ordered=True),
        index=data.index,
    )
    model = _LogitOrderedModel(y, X, distr="logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(method="bfgs", disp=False, maxiter=5000, gtol=1e-7)
    if not fit.mle_retvals.get("converged", True):
        raise ConvergenceError(f"proportional-odds model of {param} at {visit}: no convergence")
    k = X.shape[1]
    params, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
    ors = ratio_rows(params, cov, list(X.columns), order[1:], alpha, "odds_ratio", "or")
    ors["n"] = len(data)
    ors.insert(0, "reference", reference)
    ors.insert(0, "arm", order[1:])
    cuts = np.asarray(model.transform_threshold_params(params[k:]))[1:-1]
    thresholds = pd.DataFrame(
        {
            "threshold": [f"{a}|{b}" for a, b in itertools.pairwise(observed)],
            "estimate": cuts,
        }
    )
    dist = category_distribution(bds, param=param, visit=visit, levels=levels, arms=order)
    return OrdinalResult(odds_ratios=ors, distribution=dist, thresholds=thresholds, fit=fit)
