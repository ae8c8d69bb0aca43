"""Sensitivity analyses against R (r/secondary_reference.R -> tests/fixtures/secondary)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialkit.errors import ModelSpecificationError
from trialkit.estimators.counts import nb_alpha_moment, nb_gee
from trialkit.estimators.linear import ancova
from trialkit.estimators.slopes import random_slope

FIX = Path(__file__).parents[1] / "fixtures" / "secondary"


@pytest.fixture(scope="module")
def ref() -> dict:
    """R reference figures."""
    return json.loads((FIX / "r_reference.json").read_text())


@pytest.fixture(scope="module")
def bds() -> pd.DataFrame:
    """The fixture BDS with SITEGR1 and AGE from ADSL."""
    b = pd.read_csv(FIX / "bds.csv")
    a = pd.read_csv(FIX / "adsl.csv")
    return b.merge(a[["USUBJID", "SITEGR1", "AGE"]], on="USUBJID")


def _col(rows: list[dict], key: str) -> np.ndarray:
    return np.array([r[key] for r in rows], dtype=float)


def test_ancova_matches_lm_emmeans(bds: pd.DataFrame, ref: dict) -> None:
    r = ancova(
        bds, param="HAIRCNT", visit="WEEK12", reference="MINOX", covariates=["SITEGR1", "AGE"]
    )
    exp = ref["ancova"]
    assert list(r.lsmeans["arm"]) == [x["arm"] for x in exp["lsmeans"]]
    for key in ("estimate", "se", "df", "lower", "upper"):
        np.testing.assert_allclose(r.lsmeans[key], _col(exp["lsmeans"], key), rtol=1e-9)
    assert list(r.diffs["arm"]) == ["MINOX_MN", "MN_PRP"]
    assert (r.diffs["reference"] == "MINOX").all()
    for key in ("estimate", "se", "df", "lower", "upper", "statistic", "p_value"):
        np.testing.assert_allclose(r.diffs[key], _col(exp["diffs"], key), rtol=1e-8)
    assert list(r.lsmeans["n"]) == [17, 18, 20]


def test_ancova_does_not_mutate_input(bds: pd.DataFrame) -> None:
    before = bds.copy()
    ancova(bds, param="HAIRCNT", visit="WEEK12", reference="MINOX")
    pd.testing.assert_frame_equal(bds, before)


def test_ancova_unknown_reference(bds: pd.DataFrame) -> None:
    with pytest.raises(ModelSpecificationError, match="reference arm"):
        ancova(bds, param="HAIRCNT", visit="WEEK12", reference="NOPE")


def test_random_slope_matches_lmer(bds: pd.DataFrame, ref: dict) -> None:
    exp = ref["random_slope"]
    r = random_slope(bds, param="HAIRCNT", visit="WEEK12", reference="MINOX", at=exp["at_day"])
    assert r.at == 85.0
    fe = r.fit.fe_params
    for name, value in exp["fixef"].items():
        py = {
            "(Intercept)": "Intercept",
            "ARMCDMINOX_MN": "ARMCD[MINOX_MN]",
            "ARMCDMN_PRP": "ARMCD[MN_PRP]",
            "ARMCDMINOX_MN:t": "ARMCD[MINOX_MN]:t",
            "ARMCDMN_PRP:t": "ARMCD[MN_PRP]:t",
        }.get(name, name)
        assert fe[py] == pytest.approx(value, rel=1e-4, abs=1e-5)
    assert r.fit.llf == pytest.approx(exp["reml_loglik"], abs=1e-5)
    np.testing.assert_allclose(r.diffs["estimate"], _col(exp["diffs"], "estimate"), rtol=1e-5)
    np.testing.assert_allclose(r.diffs["se"], _col(exp["diffs"], "se"), rtol=1e-4)
    # Wald z here, Satterthwaite t in lmerTest: same statistic, different reference distribution
    np.testing.assert_allclose(r.diffs["statistic"], _col(exp["diffs"], "statistic"), rtol=1e-4)
    assert np.isinf(r.diffs["df"]).all()


def test_nb_alpha_moment_closed_form() -> None:
    # two equal means: sum (y-mu)^2/(mu + a mu^2) = df  <=>  a = (X2_pois / df - 1) / mu
    y = np.array([2.0, 10.0, 4.0, 8.0])
    mu = np.full(4, 6.0)
    a = nb_alpha_moment(y, mu, 3)
    assert a == pytest.approx((np.sum((y - mu) ** 2) / 3 / 6 - 1) / 6, rel=1e-10)
    assert nb_alpha_moment(np.array([5.0, 6.0, 7.0]), np.full(3, 6.0), 2) == 0.0


@pytest.mark.parametrize("corr, key", [("independence", "nb_indep"), ("exchangeable", "nb_exch")])
def test_nb_gee_matches_hand_coded_r(bds: pd.DataFrame, ref: dict, corr: str, key: str) -> None:
    exp = ref[key]
    r = nb_gee(bds, param="HAIRCNT", reference="MINOX", correlation=corr)
    disp = r.dispersion.set_index("statistic")["value"]
    assert disp["alpha"] == pytest.approx(exp["alpha"], rel=1e-6)
    if corr == "exchangeable":
        assert disp["working_correlation"] == pytest.approx(exp["rho"], rel=1e-5)
    np.testing.assert_allclose(r.fit.params, exp["coef"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(r.fit.bse, exp["se"], rtol=1e-5)
    np.testing.assert_allclose(r.rate_ratios["estimate"], exp["coef"][1:3], rtol=1e-6)
    np.testing.assert_allclose(r.rate_ratios["rate_ratio"], np.exp(exp["coef"][1:3]), rtol=1e-6)
    assert disp["n_subjects"] == 60 and disp["n_obs"] == 160


def test_nb_gee_fixed_alpha_independence_equals_glm_nb(bds: pd.DataFrame) -> None:
    """With alpha fixed, the independence GEE point estimates are statsmodels' GLM NB fit."""
    import statsmodels.api as sm

    r = nb_gee(bds, param="HAIRCNT", reference="MINOX", correlation="independence")
    a = float(r.dispersion.set_index("statistic").at["alpha", "value"])
    glm = sm.GLM(r.fit.endog, r.fit.exog, family=sm.families.NegativeBinomial(alpha=a)).fit(
        tol=1e-12
    )
    np.testing.assert_allclose(r.fit.params, glm.params, rtol=1e-7)


def test_nb_gee_rejects_zero_base(bds: pd.DataFrame) -> None:
    b = bds.copy()
    b.loc[b["USUBJID"] == "S001", "BASE"] = 0
    with pytest.raises(ModelSpecificationError, match="S001"):
        nb_gee(b, param="HAIRCNT", reference="MINOX")
