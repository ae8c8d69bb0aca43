"""MMRM ``cs`` against R (lmerTest, pbkrtest, emmeans) and statsmodels on a simulated trial.

The fixture is written by ``r/mmrm_reference.R``; a compound-symmetry MMRM with positive
covariance is the random-intercept model, so the REML fits coincide. pbkrtest uses the
expected information for Kenward-Roger, lmerTest the observed one for Satterthwaite.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from trialkit.models import MMRM, MMRMResults

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mmrm"
MODES = {
    "satterthwaite": ("satterthwaite", "observed"),
    "kenward_roger": ("kenward-roger", "expected"),
}


@cache
def _ref() -> dict[str, Any]:
    return json.loads((FIXTURES / "sim_cs_reference.json").read_text())


@cache
def _data() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "sim_cs.csv")


@cache
def _fit(mode: str) -> MMRMResults:
    ref = _ref()
    dfm, info = MODES[mode]
    model = MMRM.from_formula(
        ref["formula"],
        _data(),
        subject=ref["subject"],
        visit=ref["visit"],
        covariance="cs",
        visit_order=ref["visit_order"],
        reference=ref["reference_levels"],
    )
    return model.fit(df=dfm, information=info)


def _name(term: str) -> str:
    """R coefficient name (``ARMTRT:VISITV2``) to ours (``ARM[T.TRT]:VISIT[T.V2]``)."""
    if term == "(Intercept)":
        return "Intercept"
    parts = []
    for p in term.split(":"):
        for f in ("ARM", "VISIT", "SEX"):
            if p.startswith(f) and p != f:
                p = f"{f}[T.{p[len(f) :]}]"
        parts.append(p)
    return ":".join(parts)


def test_cs_fit_equals_random_intercept() -> None:
    res = _fit("satterthwaite")
    ref = _ref()
    assert res.converged
    assert abs(res.llf - ref["reml_loglik"]) < 1e-6
    cp = res.covariance_parameters.set_index("name")["estimate"]
    assert abs(cp["CS"] - ref["subject_variance"]) < 1e-4
    assert abs(cp["Residual"] - ref["residual_variance"]) < 1e-4


@pytest.mark.parametrize("mode", list(MODES))
def test_coefficients(mode: str) -> None:
    res = _fit(mode)
    tab = pd.DataFrame(_ref()[f"coef_{mode}"])
    tab.index = pd.Index([_name(t) for t in tab["term"]])
    assert set(tab.index) == set(res.params.index)
    assert np.allclose(res.params[tab.index], tab["estimate"], atol=1e-6)
    assert np.allclose(res.bse[tab.index], tab["se"], rtol=1e-6)
    assert np.allclose(res.df[tab.index], tab["df"], rtol=1e-5)


@pytest.mark.parametrize("mode", list(MODES))
def test_type3_anova(mode: str) -> None:
    ours = _fit(mode).anova()
    ref = pd.DataFrame(_ref()[f"anova_{mode}"]).set_index("term")
    ours = ours.loc[ref.index]
    assert np.allclose(ours["num_df"], ref["num_df"])
    assert np.allclose(ours["F"], ref["F"], rtol=1e-6)
    # lmerTest differentiates numerically; multi-df Satterthwaite agree to ~1e-4
    assert np.allclose(ours["den_df"], ref["den_df"], rtol=1e-3)


@pytest.mark.parametrize("mode", list(MODES))
def test_lsmeans_and_contrasts(mode: str) -> None:
    res = _fit(mode)
    emm = _ref()[f"emmeans_{mode}"]
    ref = pd.DataFrame(emm["lsmeans"])
    ours = res.lsmeans("ARM", by="VISIT").merge(ref, on=["ARM", "VISIT"], suffixes=("", "_r"))
    assert len(ours) == len(ref) == 8
    for col in ("estimate", "se", "df", "lower", "upper"):
        assert np.allclose(ours[col], ours[f"{col}_r"], rtol=1e-5), col
    refc = pd.DataFrame(emm["contrasts"])
    con = res.contrasts("ARM", by="VISIT", reference="PBO").merge(
        refc, on="VISIT", suffixes=("", "_r")
    )
    assert len(con) == 4 and (con["ARM"] == "TRT - PBO").all()
    for col in ("estimate", "se", "df", "lower", "upper"):
        assert np.allclose(con[col], con[f"{col}_r"], rtol=1e-5), col


@pytest.mark.parametrize("mode", list(MODES))
def test_two_row_contrast(mode: str) -> None:
    res = _fit(mode)
    c2 = _ref()["contrast2"]
    L = pd.DataFrame([{_name(k): v for k, v in row.items()} for row in c2["L"]]).fillna(0.0)
    out = res.test(L)
    ref = c2[mode]
    assert out["num_df"] == ref["num_df"]
    assert abs(out["F"] / ref["F"] - 1) < 1e-6
    assert abs(out["den_df"] / ref["den_df"] - 1) < 1e-6


def test_cs_equals_statsmodels_mixedlm() -> None:
    smf = pytest.importorskip("statsmodels.formula.api")
    ref = _ref()
    d = _data().dropna(subset=["Y"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        md = smf.mixedlm("Y ~ ARM * VISIT + BASE + SEX", d, groups=d["SUBJ"])
        sm = md.fit(reml=True, method=["bfgs"])
    res = _fit("satterthwaite")
    assert abs(sm.llf - res.llf) < 1e-4
    assert sm.converged
    # patsy names the design columns exactly as trialkit does
    for name in res.params.index:
        assert abs(sm.fe_params[name] - res.params[name]) < 1e-4, name
    assert abs(sm.cov_re.iloc[0, 0] - ref["subject_variance"]) < 1e-3
