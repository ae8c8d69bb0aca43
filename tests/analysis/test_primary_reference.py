"""The primary MMRM against independent routes (figures from r/analysis_reference.R, no R needed).

Dataset: ``tests/fixtures/analysis/primary_dataset.csv``, the rows the primary MMRM of the
bundled multicentre trial ``tk_aga_301`` fits (exported by ``export_dataset.py``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from trialkit.analysis.primary import contrasts_table, fit_with_fallback, lsmeans_table
from trialkit.models import MMRM, MMRMResults

FIX = Path(__file__).parents[1] / "fixtures" / "analysis"
VISITS = ["WEEK4", "WEEK8", "WEEK12", "WEEK16", "WEEK24"]
DAYS = dict(zip(VISITS, [29, 57, 85, 113, 169], strict=True))
ARMS = ["MINOX", "MINOX_MN", "MN_PRP", "MN_FIN_MINOX"]
FORMULA = "CHG ~ ARMCD + AVISIT + ARMCD:AVISIT + BASE + BASE:AVISIT + SITEGR1 + SEVERITY"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(FIX / "primary_dataset.csv", dtype={"SITEGR1": str, "USUBJID": str})


@pytest.fixture(scope="module")
def r_fit() -> dict[str, float]:
    f = pd.read_csv(FIX / "r_fit.csv")
    return dict(zip(f["key"], f["value"].astype(float), strict=True))


def _model(data: pd.DataFrame, cov: str) -> MMRM:
    return MMRM.from_formula(
        FORMULA, data, subject="USUBJID", visit="AVISIT", covariance=cov,
        visit_order=VISITS, reference={"ARMCD": "MINOX"},
    )  # fmt: skip


def _compare(ours: pd.DataFrame, fixture: str, columns: dict[str, float]) -> None:
    ref = pd.read_csv(FIX / fixture)
    merged = ref.merge(ours, on=["arm", "visit"], suffixes=("_r", ""), validate="one_to_one")
    assert len(merged) == len(ref)
    for col, rtol in columns.items():
        np.testing.assert_allclose(merged[col], merged[f"{col}_r"], rtol=rtol, err_msg=col)


def _tables(res: MMRMResults) -> tuple[pd.DataFrame, pd.DataFrame]:
    lsm = lsmeans_table(res, ARMS, VISITS, DAYS, 0.05)
    con, _ = contrasts_table(res, ARMS, "MINOX", VISITS, DAYS, 0.05)
    return lsm, con


def test_unstructured_matches_nlme_gls(data: pd.DataFrame, r_fit: dict[str, float]) -> None:
    """US by REML = gls(corSymm + varIdent); LS means and contrasts = emmeans (model-based SE)."""
    fit = fit_with_fallback(data, FORMULA, ["us"], VISITS, "MINOX", "satterthwaite")
    res = fit.results
    assert res.converged
    assert res.nobs == r_fit["gls_us_nobs"]
    assert res.minus2ll == pytest.approx(r_fit["gls_us_m2ll"], abs=1e-4)
    lsm, con = _tables(res)
    _compare(lsm, "r_gls_us_lsmeans.csv", {"estimate": 1e-5, "se": 1e-4})
    _compare(con, "r_gls_us_contrasts.csv", {"estimate": 1e-5, "se": 1e-4})
    cov = pd.read_csv(FIX / "r_gls_us_covariance.csv")
    sigma = res.covariance
    assert isinstance(sigma, pd.DataFrame)
    ours = [sigma.loc[r, c] for r, c in zip(cov["row"], cov["col"], strict=True)]
    np.testing.assert_allclose(ours, cov["value"], rtol=2e-4)


def test_compound_symmetry_matches_lmer_kenward_roger(
    data: pd.DataFrame, r_fit: dict[str, float]
) -> None:
    """CS MMRM = lmer random intercept; KR SEs and df = emmeans/pbkrtest (expected information)."""
    res = _model(data, "cs").fit(df="kenward-roger", information="expected")
    assert res.converged
    assert res.minus2ll == pytest.approx(r_fit["lmer_cs_m2ll"], abs=1e-5)
    lsm, con = _tables(res)
    _compare(lsm, "r_lmer_cs_lsmeans.csv", {"estimate": 1e-7, "se": 1e-6, "df": 1e-6})
    _compare(con, "r_lmer_cs_contrasts.csv", {"estimate": 1e-7, "se": 1e-6, "df": 1e-6})
    theta = res.covariance_parameters.set_index("name")["estimate"]
    sigma = res.covariance
    assert isinstance(sigma, pd.DataFrame)
    assert sigma.iloc[0, 1] == pytest.approx(r_fit["lmer_cs_subject_var"], rel=1e-6)
    assert sigma.iloc[0, 0] == pytest.approx(
        r_fit["lmer_cs_subject_var"] + r_fit["lmer_cs_residual_var"], rel=1e-6
    )
    assert len(theta) == 2
    assert res.params["BASE"] == pytest.approx(r_fit["lmer_cs_base_coef"], rel=1e-6)


def test_compound_symmetry_equals_statsmodels_random_intercept(data: pd.DataFrame) -> None:
    """Identity: MMRM with cs covariance = statsmodels MixedLM random intercept (REML)."""
    res = _model(data, "cs").fit(df="residual")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ml = smf.mixedlm(
            FORMULA.replace("ARMCD", "C(ARMCD, Treatment('MINOX'))"),
            data.assign(AVISIT=pd.Categorical(data["AVISIT"], categories=VISITS)),
            groups=data["USUBJID"],
        ).fit(reml=True, method="lbfgs")
    sigma = res.covariance
    assert isinstance(sigma, pd.DataFrame)
    assert sigma.iloc[0, 1] == pytest.approx(float(ml.cov_re.iloc[0, 0]), rel=1e-4)
    assert sigma.iloc[0, 0] - sigma.iloc[0, 1] == pytest.approx(float(ml.scale), rel=1e-4)
    theirs = ml.fe_params.rename(lambda n: n.replace("C(ARMCD, Treatment('MINOX'))", "ARMCD"))
    assert sorted(theirs.index) == sorted(res.params.index)
    np.testing.assert_allclose(
        res.params.to_numpy(), theirs[res.params.index].to_numpy(), rtol=1e-4, atol=1e-5
    )
    assert res.llf == pytest.approx(float(ml.llf), abs=1e-3)
