"""Public API behaviour: formula coding, LS means options, groups, determinism, summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialkit.errors import ModelSpecificationError
from trialkit.models import MMRM, MMRMResults
from trialkit.models.formula import make_design, parse_formula

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "mmrm" / "sim_cs.csv"
FORMULA = "Y ~ ARM * VISIT + BASE + SEX"


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    """The test data, visits as an ordered categorical (ar1, toep, ... need the order)."""
    data = pd.read_csv(DATA)
    order = sorted(data["VISIT"].unique(), key=lambda v: int(str(v)[1:]))
    return data.assign(VISIT=pd.Categorical(data["VISIT"], order, ordered=True))


@pytest.fixture(scope="module")
def res(df: pd.DataFrame) -> MMRMResults:
    return MMRM.from_formula(FORMULA, df, subject="SUBJ", visit="VISIT", covariance="us").fit()


def test_parse_formula_expands_and_orders_terms() -> None:
    p = parse_formula("y ~ a*b + c - 1")
    assert p.response == "y" and not p.intercept
    assert p.terms == (("a",), ("b",), ("c",), ("a", "b"))
    assert parse_formula("y ~ a:b:c + 1").terms == (("a", "b", "c"),)
    assert parse_formula("y ~ a*b*c").terms[-1] == ("a", "b", "c")
    for bad in ("y ~", "~ a", "y ~ a +", "y ~ a ** b", "y ~ a - b", "y ~ a | b", "y ~ a + 2"):
        with pytest.raises(ModelSpecificationError):
            parse_formula(bad)


def test_design_coding_follows_r(df: pd.DataFrame) -> None:
    d = df.dropna(subset=["Y"])
    info, X, _ = make_design("Y ~ ARM*VISIT + BASE:VISIT + BASE", d, reference={"ARM": "TRT"})
    assert info.column_names == [
        "Intercept",
        "ARM[T.PBO]",
        "VISIT[T.V2]",
        "VISIT[T.V3]",
        "VISIT[T.V4]",
        "BASE",
        "ARM[T.PBO]:VISIT[T.V2]",
        "ARM[T.PBO]:VISIT[T.V3]",
        "ARM[T.PBO]:VISIT[T.V4]",
        "BASE:VISIT[T.V2]",
        "BASE:VISIT[T.V3]",
        "BASE:VISIT[T.V4]",
    ]
    assert X.shape == (len(d), 12)
    # without the main effect of BASE, the visit factor is coded by all its levels (separate slopes)
    info2, _, _ = make_design("Y ~ VISIT + BASE:VISIT", d)
    assert info2.column_names[-4:] == [
        "BASE:VISIT[V1]",
        "BASE:VISIT[V2]",
        "BASE:VISIT[V3]",
        "BASE:VISIT[V4]",
    ]
    # no intercept: the first factor gets all its levels
    info3, _, _ = make_design("Y ~ 0 + ARM + SEX", d)
    assert info3.column_names == ["ARM[PBO]", "ARM[TRT]", "SEX[T.M]"]
    # categorical order sets the reference level
    d2 = d.assign(ARM=pd.Categorical(d["ARM"], categories=["TRT", "PBO"]))
    assert make_design("Y ~ ARM", d2)[0].column_names == ["Intercept", "ARM[T.PBO]"]


def test_results_are_labelled_pandas(res: MMRMResults) -> None:
    names = res.params.index
    for s in (res.bse, res.df, res.tvalues, res.pvalues):
        assert isinstance(s, pd.Series) and list(s.index) == list(names)
    ci = res.conf_int(alpha=0.1)
    assert list(ci.columns) == ["lower", "upper"] and (ci["lower"] < res.params).all()
    assert res.cov_params().shape == (len(names), len(names))
    assert list(res.covariance.index) == ["V1", "V2", "V3", "V4"]
    assert np.isfinite(res.aic) and res.bic > res.aic
    assert res.converged and res.convergence.positive_definite
    text = res.summary()
    assert "ARM[T.TRT]:VISIT[T.V4]" in text and "-2 log-likelihood" in text


def test_estimate_general_linear_combination(res: MMRMResults) -> None:
    est = res.estimate({"ARM[T.TRT]": 1.0, "ARM[T.TRT]:VISIT[T.V4]": 1.0})
    con = res.contrasts("ARM", by="VISIT").set_index("VISIT")
    assert np.isclose(float(est["estimate"].iloc[0]), float(con.loc["V4", "estimate"]))
    assert np.isclose(float(est["se"].iloc[0]), float(con.loc["V4", "se"]))
    assert np.isclose(float(est["df"].iloc[0]), float(con.loc["V4", "df"]))
    with pytest.raises(ModelSpecificationError, match=r"unknown coefficient 'ARM\[T.XXX\]'"):
        res.estimate({"ARM[T.XXX]": 1.0})
    wide = res.estimate(np.eye(len(res.params))[[1]], alpha=0.01)
    assert wide["upper"].iloc[0] - wide["lower"].iloc[0] > res.conf_int().iloc[1].diff().iloc[-1]


def test_lsmeans_at_and_alpha(res: MMRMResults, df: pd.DataFrame) -> None:
    base = res.lsmeans("ARM", by="VISIT")
    assert list(base.columns) == [
        "ARM",
        "VISIT",
        "estimate",
        "se",
        "df",
        "t",
        "p",
        "lower",
        "upper",
    ]
    shifted = res.lsmeans("ARM", by="VISIT", at={"BASE": 60.0})
    mean_base = df.dropna(subset=["Y"])["BASE"].mean()
    assert np.allclose(
        shifted["estimate"] - base["estimate"], res.params["BASE"] * (60.0 - mean_base)
    )
    males = res.lsmeans("ARM", by="VISIT", at={"SEX": "M"})
    assert np.allclose(males["estimate"] - base["estimate"], res.params["SEX[T.M]"] / 2)
    narrow = res.lsmeans("ARM", alpha=0.5)
    assert len(narrow) == 2 and (narrow["upper"] - narrow["lower"] > 0).all()
    with pytest.raises(ModelSpecificationError, match="'BASE' is not a factor"):
        res.lsmeans("BASE")


def test_test_and_anova(res: MMRMResults) -> None:
    L = np.zeros((3, len(res.params)))
    for i, v in enumerate(["V2", "V3", "V4"]):
        L[i, list(res.params.index).index(f"ARM[T.TRT]:VISIT[T.{v}]")] = 1.0
    t = res.test(L)
    a = res.anova()
    assert np.isclose(float(t["F"]), float(a.loc["ARM:VISIT", "F"])) and t["num_df"] == 3
    assert list(a.index) == ["ARM", "VISIT", "BASE", "SEX", "ARM:VISIT"]


def test_same_answer_every_run(df: pd.DataFrame, res: MMRMResults) -> None:
    again = MMRM.from_formula(FORMULA, df, subject="SUBJ", visit="VISIT", covariance="us").fit()
    assert again.params.equals(res.params)
    assert again.bse.equals(res.bse) and again.df.equals(res.df)
    assert again.llf == res.llf


def test_rows_order_and_visit_order_do_not_change_us_fit(
    df: pd.DataFrame, res: MMRMResults
) -> None:
    shuffled = df.sample(frac=1.0, random_state=3)
    r2 = MMRM.from_formula(
        FORMULA,
        shuffled,
        subject="SUBJ",
        visit="VISIT",
        covariance="us",
        visit_order=["V2", "V1", "V4", "V3"],
        reference={"VISIT": "V1"},
    ).fit()
    assert abs(r2.llf - res.llf) < 1e-6
    assert np.allclose(r2.params[res.params.index], res.params, atol=1e-5)


def test_group_specific_covariance(df: pd.DataFrame) -> None:
    m = MMRM.from_formula(
        "Y ~ ARM * VISIT", df, subject="SUBJ", visit="VISIT", covariance="ar1h", group="ARM"
    )
    r = m.fit(df="kenward-roger")
    assert r.converged
    assert set(r.covariance_by_group) == {"PBO", "TRT"}
    assert r.covariance.shape == (8, 4)
    by_group = r.covariance_by_group["TRT"].loc["V2", "V2"]
    assert np.isclose(float(r.covariance.loc[("TRT", "V2"), "V2"]), float(by_group))
    cp = r.covariance_parameters
    assert len(cp) == 10 and set(cp["group"]) == {"PBO", "TRT"}
    single = MMRM.from_formula(
        "Y ~ ARM * VISIT", df, subject="SUBJ", visit="VISIT", covariance="ar1h"
    ).fit()
    assert r.llf >= single.llf - 1e-8  # the grouped model nests the single one


def test_ml_and_residual_df(df: pd.DataFrame) -> None:
    m = MMRM.from_formula("Y ~ ARM * VISIT", df, subject="SUBJ", visit="VISIT", covariance="cs")
    ml, reml = m.fit(method="ml", df="residual"), m.fit()
    # ML variances are biased downwards
    assert (ml.covariance_parameters["estimate"] < reml.covariance_parameters["estimate"]).all()
    assert (ml.df == ml.nobs - len(ml.params)).all()
    assert ml.bse.lt(reml.bse).all()


@pytest.mark.parametrize("cov", ["us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "adh"])
def test_kr_second_order_option(df: pd.DataFrame, cov: str) -> None:
    m = MMRM.from_formula("Y ~ ARM * VISIT", df, subject="SUBJ", visit="VISIT", covariance=cov)
    first, second = m.fit(df="kenward-roger"), m.fit(df="kenward-roger", kr_second_order=True)
    assert first.converged
    linear = cov in ("us", "cs", "toep")
    assert np.allclose(first.bse, second.bse) == linear or not linear
    assert np.allclose(first.df, second.df)  # the df formula does not use R_kl


@pytest.mark.parametrize("cov", ["us", "cs", "ar1h"])
def test_kr_df_of_all_rows_at_once_equals_one_row_at_a_time(df: pd.DataFrame, cov: str) -> None:
    from trialkit.models.dof import kenward_roger_f, kenward_roger_rows

    m = MMRM.from_formula(FORMULA, df, subject="SUBJ", visit="VISIT", covariance=cov)
    r = m.fit(df="kenward-roger")
    ctx = r._ctx
    assert ctx is not None
    _, L = r.lsmeans_matrix("ARM", by="VISIT")
    M = np.vstack([np.eye(len(r.params)), L.to_numpy(), np.diff(L.to_numpy(), axis=0)])
    one_by_one = np.array([kenward_roger_f(ctx, row[None, :])[0] for row in M])
    np.testing.assert_allclose(kenward_roger_rows(ctx, M), one_by_one, rtol=1e-12)
    np.testing.assert_allclose(r.df.to_numpy(), one_by_one[: len(r.params)], rtol=1e-12)
