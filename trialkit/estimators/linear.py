"""ANCOVA of a continuous endpoint at one visit (observed cases), as SAS PROC GLM / R lm with
emmeans: LS means by arm and differences from the reference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from statsmodels.regression.linear_model import OLS

from trialkit.estimators.design import (
    ARM,
    arm_order,
    complete_rows,
    contrast_rows,
    design_matrix,
    select_records,
)

# --- ANCOVA ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AncovaResult:
    """ANCOVA at one visit: LS means by arm, differences vs reference, and the OLS fit."""

    lsmeans: pd.DataFrame
    diffs: pd.DataFrame
    fit: Any


def ancova(
    bds: pd.DataFrame,
    *,
    param: str,
    visit: str,
    reference: str,
    covariates: Sequence[str] = (),
    variable: str = "CHG",
    arms: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> AncovaResult:
    """ANCOVA (OLS) of ``variable ~ ARMCD + BASE + covariates`` at ``visit``, observed cases.

    Sensitivity analysis of the MMRM primary: one visit, no modelling of the other visits.
    ``lsmeans`` columns: arm, n, estimate, se, df, lower, upper (covariates at their mean over
    the fit, factor levels equally weighted). ``diffs`` columns: arm, reference, estimate, se,
    df, lower, upper, statistic (t), p_value; df is the residual df.
    """
    data = complete_rows(select_records(bds, param, visit=visit), [variable, "BASE", *covariates])
    order = arm_order(data[ARM], reference, arms)
    data = data[data[ARM].astype(str).isin(order)]
    X, rows = design_matrix(data, order, ["BASE", *covariates])
    fit = OLS(data[variable].astype(float).to_numpy(), X).fit()
    params, cov, df = fit.params.to_numpy(), fit.cov_params().to_numpy(), float(fit.df_resid)
    counts = data[ARM].astype(str).value_counts()
    ls = pd.DataFrame(contrast_rows(params, cov, rows, df, alpha))
    ls.insert(0, "n", [int(counts.get(a, 0)) for a in order])
    ls.insert(0, "arm", order)
    ls = ls.drop(columns=["statistic", "p_value"])
    diffs = pd.DataFrame(
        contrast_rows(params, cov, {a: rows[a] - rows[order[0]] for a in order[1:]}, df, alpha)
    )
    diffs.insert(0, "reference", reference)
    diffs.insert(0, "arm", order[1:])
    return AncovaResult(lsmeans=ls, diffs=diffs, fit=fit)
