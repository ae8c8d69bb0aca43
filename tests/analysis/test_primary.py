"""Primary analysis pieces: the plan check, the analysis dataset, fallbacks, LS-mean tables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialkit.analysis.dataset import population_table, primary_dataset
from trialkit.analysis.plan import check_plan
from trialkit.analysis.primary import fallback_reason, fit_with_fallback, run_primary
from trialkit.definition import TrialDefinition, load_definition
from trialkit.errors import ConvergenceError, DefinitionError, ModelSpecificationError
from trialkit.resources import example_trials_dir

FIX = Path(__file__).parents[1] / "fixtures" / "analysis"
ADSL = ["USUBJID", "SITEID", "SITEGR1", "ARMCD", "AGE", "SEX", "SEVERITY", "ITTFL", "MITTFL",
        "SAFFL", "PPROTFL"]  # fmt: skip
BDS = ["USUBJID", "PARAMCD", "AVISIT", "AVISITN", "AVAL", "ABLFL", "BASE", "CHG", "PCHG"]
VISITS = ["WEEK4", "WEEK8", "WEEK12", "WEEK16", "WEEK24"]


@pytest.fixture(scope="module")
def definition() -> TrialDefinition:
    return load_definition(example_trials_dir() / "tk_aga_301")


def _with(definition: TrialDefinition, **analysis: object) -> TrialDefinition:
    return dataclasses.replace(
        definition, analysis=dataclasses.replace(definition.analysis, **analysis)
    )


def test_plan_uses_pooled_sites_and_strata(definition: TrialDefinition) -> None:
    plan = check_plan(definition, ADSL, BDS)
    assert plan.covariates == ("SITEGR1", "SEVERITY")
    assert plan.formula() == (
        "CHG ~ ARMCD + AVISIT + ARMCD:AVISIT + BASE + BASE:AVISIT + SITEGR1 + SEVERITY"
    )


@pytest.mark.parametrize(
    ("analysis", "message"),
    [
        ({"covariates": ("SITEID", "WEIGHT")},
         "analysis.covariates[1]: unknown column 'WEIGHT' (not in ADSL or BDS)"),
        ({"covariates": ("CHG",)}, "analysis.covariates[0]: 'CHG' is already part of the model"),
        ({"covariates": ("AGE*SEX",)}, "analysis.covariates[0]: 'AGE*SEX' is not a column name"),
        ({"strata": ("REGION",)}, "analysis.strata[0]: unknown column 'REGION' (not in ADSL)"),
        ({"strata": ("CHG",)}, "analysis.strata[0]: 'CHG' is already part of the model"),
    ],
)  # fmt: skip
def test_plan_errors_name_the_key(
    definition: TrialDefinition, analysis: dict[str, object], message: str
) -> None:
    with pytest.raises(DefinitionError) as exc:
        check_plan(_with(definition, **analysis), ADSL, BDS)
    assert str(exc.value) == message


def test_plan_refuses_missing_population_flag(definition: TrialDefinition) -> None:
    with pytest.raises(DefinitionError, match=r"^analysis\.population: ADSL has no PPROTFL"):
        check_plan(_with(definition, population="PP"), [c for c in ADSL if c != "PPROTFL"], BDS)


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A tiny ADSL and BDS: S3 has no post-baseline value, S4 is not in the ITT population."""
    adsl = pd.DataFrame({
        "USUBJID": ["S1", "S2", "S3", "S4"], "ARMCD": ["MINOX", "MINOX_MN", "MINOX", "MN_PRP"],
        "SITEGR1": ["01", "01", "02", "02"], "SEVERITY": ["NH-III"] * 4,
        "ITTFL": ["Y", "Y", "Y", None],
    })  # fmt: skip
    rows = []
    for s in ["S1", "S2", "S3", "S4"]:
        rows.append((s, "BASELINE", 1, 100.0, "Y", 100.0, np.nan, "Y"))
        for day, v in zip([29, 169], ["WEEK4", "WEEK24"], strict=True):
            chg = np.nan if s == "S3" else 5.0
            rows.append((s, v, day, 100.0 + (chg if chg == chg else 0), None, 100.0, chg, "Y"))
    bds = pd.DataFrame(rows, columns=["USUBJID", "AVISIT", "AVISITN", "AVAL", "ABLFL", "BASE",
                                      "CHG", "ANL01FL"])  # fmt: skip
    bds["PARAMCD"] = "HAIRCNT"
    return adsl, bds


def test_primary_dataset_and_population_counts(definition: TrialDefinition) -> None:
    adsl, bds = _frames()
    plan = check_plan(definition, [*adsl.columns, "SITEID", "AGE"], list(bds.columns))
    data = primary_dataset(definition, adsl, bds, plan)
    assert sorted(set(data["USUBJID"])) == ["S1", "S2"]
    assert list(data.columns) == ["USUBJID", "ARMCD", "AVISIT", "AVISITN", "BASE", "SITEGR1",
                                  "SEVERITY", "CHG"]  # fmt: skip
    assert (data["AVISIT"] != "BASELINE").all()
    pop = population_table(definition, adsl, data).set_index("arm")
    assert pop.loc["TOTAL", "in_population"] == 3
    assert pop.loc["TOTAL", "analysed"] == 2
    assert pop.loc["TOTAL", "without_post_baseline"] == 1
    assert pop.loc["MINOX", "without_post_baseline"] == 1
    assert pop.loc["MN_PRP", "in_population"] == 0


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(FIX / "primary_dataset.csv", dtype={"SITEGR1": str, "USUBJID": str})


def test_every_structure_failing_raises_naming_each(data: pd.DataFrame) -> None:
    few = data.loc[data["USUBJID"].isin(sorted(set(data["USUBJID"]))[:4])]
    with pytest.raises(ConvergenceError) as exc:
        fit_with_fallback(few, "CHG ~ AVISIT + BASE", ["us", "us"], VISITS, "MINOX", "residual")
    text = str(exc.value)
    assert text.startswith("primary MMRM: no covariance structure converged (us: cannot be")
    assert text.count("us:") == 1  # a structure listed twice is tried once


def test_fallback_after_a_structure_that_cannot_be_estimated(data: pd.DataFrame) -> None:
    few = data.loc[data["USUBJID"].isin(sorted(set(data["USUBJID"]))[:5])]
    fit = fit_with_fallback(few, "CHG ~ AVISIT", ["us", "cs"], VISITS, "MINOX", "residual")
    assert fit.covariance == "cs"
    assert [a.covariance for a in fit.attempts] == ["us", "cs"]
    reason = fallback_reason(fit.attempts)
    assert reason is not None and reason.startswith("us cannot be estimated: too few subjects")


def test_run_primary_tables(definition: TrialDefinition, data: pd.DataFrame) -> None:
    plan = check_plan(definition, ADSL, BDS)
    days = {v.code: v.day for v in definition.post_baseline_visits}
    arms = [a.code for a in definition.arms]
    res = run_primary(data, plan, arms, "MINOX", VISITS, days, "WEEK24", ["us"],
                      "kenward-roger", 0.05)  # fmt: skip
    assert res.fit is not None and res.fit.covariance == "us" and res.fit.results.converged
    assert list(res.lsmeans["arm"].unique()) == arms
    assert list(res.lsmeans["visit"].unique()) == VISITS
    at = res.contrasts.loc[res.contrasts["visit"] == "WEEK24"]
    assert list(at["arm"]) == arms[1:]
    # the covariance of the primary-visit contrasts has their SEs on its diagonal
    np.testing.assert_allclose(np.sqrt(np.diag(res.primary_cov)), at["se"], rtol=1e-12)
    # every arm and visit of the bundled trial is estimable
    assert (res.contrasts["status"] == "estimated").all() and res.contrasts["reason"].isna().all()
    assert res.not_estimable_reason is None
    assert set(res.type3["term"]) >= {"ARMCD", "AVISIT", "ARMCD:AVISIT", "BASE", "BASE:AVISIT"}


def test_subgroup_variables_must_suit_their_cuts(definition: TrialDefinition) -> None:
    from trialkit.analysis.plan import check_subgroup_data
    from trialkit.definition import Subgroup

    adsl = pd.DataFrame({"AGE": range(20, 60), "SEVERITY": ["NH-III", "NH-IV"] * 20})
    check_subgroup_data(definition, adsl)  # AGE cut at 40, SEVERITY categorical
    no_cuts = dataclasses.replace(definition, subgroups=(Subgroup("AGE", "Age"),))
    with pytest.raises(DefinitionError, match=r"^subgroups\[0\]\.cuts: 'AGE' is numeric"):
        check_subgroup_data(no_cuts, adsl)
    cut_text = dataclasses.replace(definition, subgroups=(Subgroup("SEVERITY", "S", (2.0,)),))
    with pytest.raises(DefinitionError, match=r"^subgroups\[0\]\.cuts: 'SEVERITY' is not numeric"):
        check_subgroup_data(cut_text, adsl)


# --- data problems are named (exit 2), not blamed on the covariance ----------------------------


def test_single_subject_is_a_data_problem(data: pd.DataFrame) -> None:
    one = data.loc[data["USUBJID"] == sorted(set(data["USUBJID"]))[0]]
    with pytest.raises(ModelSpecificationError, match=r"^primary MMRM: only 1 subject \(") as exc:
        fit_with_fallback(one, "CHG ~ AVISIT", ["us", "cs"], VISITS, "MINOX", "residual")
    assert "covariance" not in str(exc.value) and exc.value.exit_code == 2


def test_constant_covariate_is_a_data_problem(data: pd.DataFrame) -> None:
    flat = data.assign(BASE=100.0)
    with pytest.raises(ModelSpecificationError, match="covariate 'BASE' is constant") as exc:
        fit_with_fallback(flat, "CHG ~ ARMCD * AVISIT + BASE", ["us", "cs"], VISITS, "MINOX",
                          "residual")  # fmt: skip
    assert "Intercept" not in str(exc.value)


def test_reason_shared_by_every_structure_is_a_data_problem(data: pd.DataFrame) -> None:
    twin = data.assign(ARM2=data["ARMCD"])
    with pytest.raises(ModelSpecificationError, match=r"^primary MMRM: design matrix is rank"):
        fit_with_fallback(twin, "CHG ~ ARMCD + ARM2 + AVISIT", ["us", "cs"], VISITS, "MINOX",
                          "residual")  # fmt: skip


def test_arm_without_post_baseline_data_is_named_not_refused(
    definition: TrialDefinition, data: pd.DataFrame
) -> None:
    """Was ModelSpecificationError; now the other arms are fitted (tests/analysis/
    test_thin_data.py checks the figures) and MN_PRP's rows say why they are empty."""
    plan = check_plan(definition, ADSL, BDS)
    days = {v.code: v.day for v in definition.post_baseline_visits}
    arms = [a.code for a in definition.arms]
    without = data.loc[data["ARMCD"] != "MN_PRP"]
    res = run_primary(without, plan, arms, "MINOX", VISITS, days, "WEEK24", ["us", "cs"],
                      "kenward-roger", 0.05)  # fmt: skip
    prp = res.contrasts.loc[res.contrasts["arm"] == "MN_PRP"]
    assert set(prp["status"]) == {"not estimable at this look"} and prp["estimate"].isna().all()
    assert set(prp["reason"]) == {"arm MN_PRP has no post-baseline CHG at this look"}
    assert (res.contrasts.loc[res.contrasts["arm"] != "MN_PRP", "status"] == "estimated").all()
