"""Conformance with SAS PROC MIXED on the FEV trial (../shared/conformance/sas_fev.json)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.shared_data import SHARED, shared_file
from trialkit.models import MMRM, MMRMResults


@pytest.fixture(autouse=True)
def _conformance_data() -> None:
    """Skip locally, fail in CI, when the SAS figures are absent."""
    shared_file("conformance", "sas_fev.json")
    shared_file("conformance", "fev_data.csv")


CONFORMANCE = SHARED / "conformance"


@cache
def _reference() -> dict[str, Any]:
    return json.loads((CONFORMANCE / "sas_fev.json").read_text())


@cache
def _data() -> pd.DataFrame:
    return pd.read_csv(CONFORMANCE / "fev_data.csv")


@cache
def _fit(key: str, df: str = "satterthwaite") -> MMRMResults:
    m = _reference()["models"][key]
    model = MMRM.from_formula(
        m["formula"],
        _data(),
        subject=m["subject"],
        visit=m["visit"],
        covariance=m["covariance"],
        visit_order=m["visit_order"],
        reference=_reference()["reference_levels"],
    )
    return model.fit(method=m["method"], df=df)


def _sas_name(effect: str, levels: str) -> str:
    """Design column name of a SAS fixed-effect row."""
    if effect == "Intercept":
        return "Intercept"
    if effect == "AVISIT*ARMCD":
        vis, arm = (s.strip() for s in levels.split("|"))
        return f"ARMCD[T.{arm}]:AVISIT[T.{vis}]"
    return f"{effect}[T.{levels}]"


def _check_covariance_parameters(res: MMRMResults, m: dict[str, Any]) -> None:
    """|difference| / sqrt(var_i var_j) below 1e-3 (correlation scale)."""
    ours = res.covariance_parameters.set_index("name")["estimate"]
    sas = {p["name"]: p["estimate"] for p in m["covariance_parameters"]}
    cov = m["covariance"]
    if cov == "us":
        order = m["visit_order"]
        S = res.covariance
        for p in m["covariance_parameters"]:
            a, b = p["row_visit"], p["col_visit"]
            scale = np.sqrt(S.loc[a, a] * S.loc[b, b])
            assert abs(S.loc[a, b] - p["estimate"]) / scale < 1e-3, (p["name"], order)
        return
    variances = {k: v for k, v in sas.items() if k.startswith("Var(")}
    for name, est in sas.items():
        if name.startswith("Var(") or name == "Residual":
            scale = est
        elif name == "CS":
            scale = sas["CS"] + sas["Residual"]
        else:  # correlation parameters
            scale = 1.0
        assert variances or name in ("CS", "Residual", "AR(1)"), name
        assert abs(ours[name] - est) / scale < 1e-3, (name, ours[name], est)


#: The issue's tolerances are 1e-4 (-2 log-likelihood), 1e-3 (estimates, SEs, CIs), 1 (df) and
#: 1e-3 relative (KR). The engine does better; these tighter bounds are the figures the README
#: quotes, so the README's claims are what the tests hold.
LOGLIK_TOL = 1e-5
ESTIMATE_TOL = 4e-4  # unstructured models: fixed effects, LS means and their differences
INTERCEPT_TOL = 1e-3  # structured intercept-only models (SAS prints 4-5 digits)
DF_TOL = 0.6
KR_REL_TOL = 5e-4


@pytest.mark.parametrize("key", ["us_full_reml", "us_full_ml"])
def test_unstructured_full_model(key: str) -> None:
    m = _reference()["models"][key]
    res = _fit(key)
    assert res.converged, res.convergence.message
    assert abs(res.minus2ll - m["minus2_loglik"]) < LOGLIK_TOL
    _check_covariance_parameters(res, m)
    for fe in m["fixed_effects"]:
        name = _sas_name(fe["effect"], fe["levels"])
        assert abs(res.params[name] - fe["estimate"]) < ESTIMATE_TOL, name
        assert abs(res.bse[name] - fe["se"]) < ESTIMATE_TOL, name
        assert abs(res.df[name] - fe["df"]) < DF_TOL, name


def test_lsmeans_and_differences() -> None:
    m = _reference()["models"]["us_full_reml"]
    res = _fit("us_full_reml")
    lsm = res.lsmeans("ARMCD", by="AVISIT").set_index(["AVISIT", "ARMCD"])
    assert len(lsm) == len(m["lsmeans"])
    for row in m["lsmeans"]:
        ours = lsm.loc[(row["AVISIT"], row["ARMCD"])]
        for col in ("estimate", "se", "lower", "upper"):
            assert abs(ours[col] - row[col]) < ESTIMATE_TOL, (row, col)
        assert abs(ours["df"] - row["df"]) < DF_TOL
    labels, L = res.lsmeans_matrix("ARMCD", by="AVISIT")
    index = {
        (a, b): i for i, (a, b) in enumerate(zip(labels["AVISIT"], labels["ARMCD"], strict=True))
    }
    rows = [
        L.iloc[index[(d["AVISIT"], d["ARMCD"])]] - L.iloc[index[(d["_AVISIT"], d["_ARMCD"])]]
        for d in m["lsmean_differences"]
    ]
    est = res.estimate(pd.DataFrame(rows).reset_index(drop=True))
    for d, (_, ours) in zip(m["lsmean_differences"], est.iterrows(), strict=True):
        for col in ("estimate", "se", "lower", "upper"):
            assert abs(ours[col] - d[col]) < ESTIMATE_TOL, (d, col)
        assert abs(ours["df"] - d["df"]) < DF_TOL, d


def test_contrasts_match_lsmean_differences() -> None:
    m = _reference()["models"]["us_full_reml"]
    res = _fit("us_full_reml")
    con = res.contrasts("ARMCD", by="AVISIT", reference="PBO").set_index("AVISIT")
    for d in m["lsmean_differences"]:
        if d["ARMCD"] == "TRT" and d["_ARMCD"] == "PBO" and d["AVISIT"] == d["_AVISIT"]:
            ours = con.loc[d["AVISIT"]]
            assert ours["ARMCD"] == "TRT - PBO"
            for col in ("estimate", "se", "lower", "upper"):
                assert abs(ours[col] - d[col]) < ESTIMATE_TOL


@pytest.mark.parametrize(
    "key",
    [
        k
        for k in json.loads((CONFORMANCE / "sas_fev.json").read_text())["models"]
        if "_intercept_" in k
    ]
    if (CONFORMANCE / "sas_fev.json").exists()
    else [],
)
def test_structured_intercept_models(key: str) -> None:
    m = _reference()["models"][key]
    res = _fit(key)
    assert res.converged, res.convergence.message
    assert abs(res.minus2ll - m["minus2_loglik"]) < LOGLIK_TOL
    _check_covariance_parameters(res, m)
    fe = m["fixed_effects"][0]
    assert abs(res.params["Intercept"] - fe["estimate"]) < INTERCEPT_TOL
    assert abs(res.bse["Intercept"] - fe["se"]) < INTERCEPT_TOL
    assert abs(res.df["Intercept"] - fe["df"]) < DF_TOL


@pytest.mark.parametrize("cov", ["us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "adh"])
def test_kenward_roger(cov: str) -> None:
    kr = _reference()["kenward_roger"]
    ref = {r["covariance"]: r for r in kr["results"]}[cov]
    model = MMRM.from_formula(
        kr["formula"],
        _data(),
        subject="USUBJID",
        visit="AVISIT",
        covariance=cov,
        visit_order=kr["visit_order"],
        reference=_reference()["reference_levels"],
    )
    res = model.fit(method=kr["method"], df="kenward-roger")
    assert res.converged
    assert abs(res.bse["ARMCD[T.TRT]"] / ref["se"] - 1) < KR_REL_TOL
    assert abs(res.df["ARMCD[T.TRT]"] / ref["df"] - 1) < KR_REL_TOL
    # every SE uses the adjusted covariance
    var = float(res.cov_params().loc["ARMCD[T.TRT]", "ARMCD[T.TRT]"])
    assert np.isclose(float(res.bse["ARMCD[T.TRT]"]) ** 2, var)
