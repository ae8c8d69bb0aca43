"""Every unusable model set-up is a one-line ModelSpecificationError naming the culprit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialkit.errors import ModelSpecificationError
from trialkit.models import MMRM

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "mmrm" / "sim_cs.csv"


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return pd.read_csv(DATA)


def _model(df: pd.DataFrame, formula: str = "Y ~ ARM * VISIT", **kw: object) -> MMRM:
    args: dict[str, object] = {"subject": "SUBJ", "visit": "VISIT", "covariance": "us"}
    args.update(kw)
    return MMRM.from_formula(formula, df, **args)  # type: ignore[arg-type]


def _one_line(exc: pytest.ExceptionInfo[ModelSpecificationError]) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_formula_names_missing_column(df: pd.DataFrame) -> None:
    with pytest.raises(ModelSpecificationError, match="'AGE'") as e:
        _model(df, "Y ~ ARM + AGE")
    _one_line(e)


def test_missing_subject_or_visit_column(df: pd.DataFrame) -> None:
    with pytest.raises(ModelSpecificationError, match="subject column 'PATIENT'"):
        _model(df, subject="PATIENT")
    with pytest.raises(ModelSpecificationError, match="visit column 'AVISIT'"):
        _model(df, visit="AVISIT")


def test_function_call_in_formula_is_refused(df: pd.DataFrame) -> None:
    with pytest.raises(ModelSpecificationError, match=r"'log\(\.\.\.\)'"):
        _model(df, "Y ~ ARM + log(BASE)")
    with pytest.raises(ModelSpecificationError, match="'__import__"):
        _model(df, "Y ~ __import__('os')")


def test_duplicate_visit_names_subject_and_visit(df: pd.DataFrame) -> None:
    row = df[df["Y"].notna()].iloc[[1]]
    dup = pd.concat([df, row], ignore_index=True)
    sid, vis = row.iloc[0]["SUBJ"], row.iloc[0]["VISIT"]
    with pytest.raises(
        ModelSpecificationError, match=f"subject '{sid}' has visit '{vis}' more than once"
    ) as e:
        _model(dup)
    _one_line(e)


def test_bad_covariance_name(df: pd.DataFrame) -> None:
    with pytest.raises(
        ModelSpecificationError, match="unknown covariance structure 'unstructured'"
    ):
        _model(df, covariance="unstructured")


def test_bad_fit_options(df: pd.DataFrame) -> None:
    m = _model(df, covariance="cs")
    with pytest.raises(ModelSpecificationError, match="df method 'containment'"):
        m.fit(df="containment")
    with pytest.raises(ModelSpecificationError, match="fitting method 'ols'"):
        m.fit(method="ols")


def test_visit_with_no_data(df: pd.DataFrame) -> None:
    d = df.copy()
    d.loc[d["VISIT"] == "V3", "Y"] = np.nan
    with pytest.raises(ModelSpecificationError, match="visit 'V3' has no non-missing 'Y'"):
        _model(d, "Y ~ ARM", covariance="cs")


def test_visit_with_no_data_in_a_group(df: pd.DataFrame) -> None:
    d = df.copy()
    d.loc[(d["VISIT"] == "V4") & (d["ARM"] == "TRT"), "Y"] = np.nan
    with pytest.raises(
        ModelSpecificationError, match="visit 'V4' has no observed outcome in group ARM='TRT'"
    ):
        _model(d, "Y ~ ARM", covariance="cs", group="ARM")


def test_visit_not_in_visit_order(df: pd.DataFrame) -> None:
    with pytest.raises(
        ModelSpecificationError, match="visit 'V4' of column 'VISIT' is not in visit_order"
    ):
        _model(df, "Y ~ ARM", visit_order=["V1", "V2", "V3"])


def test_too_few_subjects_for_unstructured(df: pd.DataFrame) -> None:
    few = df[df["SUBJ"].isin(df["SUBJ"].unique()[:4])]
    with pytest.raises(
        ModelSpecificationError, match=r"too few subjects \(4\) to estimate an unstructured"
    ):
        _model(few, "Y ~ 1")


def test_visit_pair_never_observed_together(df: pd.DataFrame) -> None:
    d = df.copy()
    v3 = d["VISIT"] == "V3"
    has_v4 = d["SUBJ"].isin(d.loc[(d["VISIT"] == "V4") & d["Y"].notna(), "SUBJ"])
    d.loc[v3 & has_v4, "Y"] = np.nan
    with pytest.raises(ModelSpecificationError, match="no subject has both visits 'V3' and 'V4'"):
        _model(d, "Y ~ ARM")


def test_rank_deficient_design(df: pd.DataFrame) -> None:
    d = df.assign(ARM2=df["ARM"])
    with pytest.raises(ModelSpecificationError, match=r"rank deficient: column 'ARM2\[T.TRT\]'"):
        _model(d, "Y ~ ARM + ARM2", covariance="cs")


def test_subject_in_two_groups(df: pd.DataFrame) -> None:
    d = df.copy()
    obs = d[d["Y"].notna()]
    sid = obs["SUBJ"].value_counts().index[0]  # a subject with several observed visits
    i = obs.index[obs["SUBJ"] == sid][0]
    d.loc[i, "ARM"] = "TRT" if d.loc[i, "ARM"] == "PBO" else "PBO"
    with pytest.raises(ModelSpecificationError, match="more than one level of group column 'ARM'"):
        _model(d, "Y ~ ARM", covariance="cs", group="ARM")


def test_non_convergence_is_flagged_not_raised(df: pd.DataFrame) -> None:
    res = _model(df, "Y ~ ARM * VISIT + BASE").fit(max_iter=1)
    assert not res.converged
    assert not res.convergence.optimizer_success or not res.convergence.gradient_ok
    assert res.convergence.message != "converged"
    assert "Converged: False" in res.summary()


# --- data problems named before any covariance is tried (trialkit.models.checks) -----------


@pytest.mark.parametrize("covariance", ["us", "cs", "ar1"])
def test_single_subject_is_named_whatever_the_covariance(df: pd.DataFrame, covariance: str) -> None:
    one = df[df["SUBJ"] == "S001"]
    with pytest.raises(
        ModelSpecificationError, match=r"only 1 subject \('S001'\) .* at least two subjects"
    ) as e:
        _model(one, "Y ~ 1", covariance=covariance)
    _one_line(e)


def test_constant_covariate_is_named_not_the_intercept(df: pd.DataFrame) -> None:
    with pytest.raises(ModelSpecificationError, match=r"covariate 'BASE' is constant \(5\)") as e:
        _model(df.assign(BASE=5.0), "Y ~ ARM * VISIT + BASE", covariance="cs")
    assert "Intercept" not in _one_line(e)


def test_single_level_factor_is_named(df: pd.DataFrame) -> None:
    with pytest.raises(ModelSpecificationError, match=r"factor 'SEX' has one level \('F'\)"):
        _model(df.assign(SEX="F"), "Y ~ ARM + SEX", covariance="cs")


def test_arm_without_outcomes_is_named(df: pd.DataFrame) -> None:
    d = df.copy()
    d.loc[d["ARM"] == "TRT", "Y"] = np.nan
    with pytest.raises(ModelSpecificationError, match=r"factor 'ARM' has one level \('PBO'\)"):
        _model(d, "Y ~ ARM * VISIT", covariance="cs")


def test_reference_level_without_outcomes_is_named(df: pd.DataFrame) -> None:
    d = df.copy()
    d.loc[d["ARM"] == "PBO", "Y"] = np.nan
    with pytest.raises(
        ModelSpecificationError, match=r"factor 'ARM': its reference level 'PBO' has no row"
    ):
        _model(d, "Y ~ ARM", covariance="cs", reference={"ARM": "PBO"})


def test_two_subjects_still_fit(df: pd.DataFrame) -> None:
    two = df[df["SUBJ"].isin(["S001", "S002"])]
    assert _model(two, "Y ~ VISIT", covariance="cs").fit().converged
