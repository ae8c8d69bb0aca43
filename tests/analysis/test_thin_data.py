"""Thin data at a look (issue 13): the primary MMRM fits what the data can estimate and marks
every other comparison "not estimable at this look" with its reason; it never fails.

Each estimated figure is checked against a model fitted directly on the rows the test selects
by hand (the contrasts from :meth:`MMRMResults.contrasts`, or statsmodels' MixedLM for the
compound-symmetry model), so a wrong selection of arms or visits cannot pass.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from trialkit.analysis.estimable import NOT_ESTIMABLE, estimability
from trialkit.analysis.plan import ModelPlan
from trialkit.analysis.primary import PRIMARY_CONTRAST_COLUMNS, PrimaryResult, run_primary
from trialkit.models import MMRM
from trialkit.resources import example_trials_dir

FIX = Path(__file__).parents[1] / "fixtures" / "analysis"
VISITS = ["WEEK4", "WEEK8", "WEEK12", "WEEK16", "WEEK24"]
DAYS = dict(zip(VISITS, [29, 57, 85, 113, 169], strict=True))
ARMS = ["MINOX", "MINOX_MN", "MN_PRP", "MN_FIN_MINOX"]
PAIRS = [(a, "MINOX") for a in ARMS[1:]]
PLAN = ModelPlan("CHG", (), (), ())
FORMULA = PLAN.formula()


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    """Twelve subjects per arm of tk_aga_301's primary analysis rows (a fast, full design)."""
    rows = pd.read_csv(FIX / "primary_dataset.csv", dtype={"SITEGR1": str, "USUBJID": str})
    first = rows.drop_duplicates("USUBJID").groupby("ARMCD").head(12)["USUBJID"]
    return rows.loc[rows["USUBJID"].isin(set(first))].reset_index(drop=True)


def _run(
    rows: pd.DataFrame, covariances: tuple[str, ...] = ("us", "cs"), **kw: object
) -> PrimaryResult:
    args: dict[str, object] = {"comparisons": PAIRS, "df_method": "kenward-roger"} | kw
    return run_primary(
        rows, PLAN, ARMS, "MINOX", VISITS, DAYS, "WEEK24", list(covariances),
        str(args["df_method"]), 0.05, args["comparisons"],  # type: ignore[arg-type]
    )  # fmt: skip


def _direct(rows: pd.DataFrame, covariance: str, reference: str) -> pd.DataFrame:
    """Every arm minus ``reference`` per visit, by a model set up here on ``rows``."""
    visits = [v for v in VISITS if v in set(rows["AVISIT"])]
    res = MMRM.from_formula(
        FORMULA, rows, subject="USUBJID", visit="AVISIT", covariance=covariance,
        visit_order=visits, reference={"ARMCD": reference, "AVISIT": visits[0]},
    ).fit(method="reml", df="kenward-roger")  # fmt: skip
    con = res.contrasts("ARMCD", by="AVISIT", reference=reference)
    return con.set_index([con["ARMCD"].astype(str), con["AVISIT"].astype(str)])


def _check_estimated(result: PrimaryResult, direct: pd.DataFrame, reference: str) -> int:
    """The estimated rows equal the direct fit's contrasts; returns how many there are."""
    done = result.contrasts.loc[result.contrasts["status"] == "estimated"]
    for row in done.to_dict("records"):
        ref = direct.loc[(f"{row['arm']} - {reference}", row["visit"])]
        assert row["estimate"] == pytest.approx(ref["estimate"], rel=1e-8)
        assert row["se"] == pytest.approx(ref["se"], rel=1e-8)
        assert row["df"] == pytest.approx(ref["df"], rel=1e-6)
        assert row["reason"] is None
    return len(done)


def _not_estimable(result: PrimaryResult, arm: str | None = None) -> pd.DataFrame:
    con = result.contrasts
    rows = con.loc[con["status"] == NOT_ESTIMABLE]
    if arm is not None:
        rows = rows.loc[rows["arm"] == arm]
    figures = ["estimate", "se", "df", "t", "p", "lower", "upper"]
    assert rows[figures].isna().all().all()
    assert rows["reason"].map(lambda r: isinstance(r, str) and len(r) > 0).all()
    return rows


# --- the decision (pure) ---------------------------------------------------------------------


def test_full_data_keep_everything(data: pd.DataFrame) -> None:
    est = estimability(data, "CHG", ARMS, "MINOX", VISITS, "WEEK24", PAIRS)
    assert est.fitted and est.reason is None
    assert est.arms == tuple(ARMS) and est.visits == tuple(VISITS) and est.reference == "MINOX"
    assert est.comparisons == {pair: None for pair in PAIRS}
    assert est.rows(data).equals(data)


def test_visit_needs_more_observations_than_its_mean_parameters(data: pd.DataFrame) -> None:
    """Four arms: five per-visit mean parameters (four arm means, the BASE slope)."""
    week4 = data.loc[data["AVISIT"] == "WEEK4"].groupby("ARMCD").head(1)  # one per arm
    others = data.loc[data["AVISIT"] != "WEEK4"]
    extra = data.loc[(data["AVISIT"] == "WEEK4") & ~data.index.isin(week4.index)]
    six = pd.concat([others, week4, extra.head(2)])
    est = estimability(six, "CHG", ARMS, "MINOX", VISITS, "WEEK24", PAIRS)
    assert est.visits == tuple(VISITS) and "WEEK4" not in est.visit_reasons
    five = pd.concat([others, week4, extra.head(1)])
    est = estimability(five, "CHG", ARMS, "MINOX", VISITS, "WEEK24", PAIRS)
    assert est.visits == tuple(VISITS[1:])
    assert est.visit_reasons == {
        "WEEK4": "WEEK4 has 5 observation(s) at this look, too few for the model "
        "(needs more than 5: a mean per arm and the BASE slope)"
    }
    assert est.fitted and est.comparisons == {pair: None for pair in PAIRS}


def test_arm_with_values_only_before_the_primary_visit_is_left_out(data: pd.DataFrame) -> None:
    rows = data.loc[~((data["ARMCD"] == "MN_PRP") & data["AVISIT"].isin(["WEEK16", "WEEK24"]))]
    est = estimability(rows, "CHG", ARMS, "MINOX", VISITS, "WEEK24", PAIRS)
    assert est.arms == ("MINOX", "MINOX_MN", "MN_FIN_MINOX")
    # WEEK16 is kept: MN_PRP is not in the model, so its missing values there do not count
    assert est.visits == tuple(VISITS)
    assert est.comparisons[("MN_PRP", "MINOX")] == "arm MN_PRP has no value at WEEK24 at this look"
    assert est.why_not(("MN_PRP", "MINOX"), "WEEK4") == (
        "arm MN_PRP has no value at WEEK24 at this look"
    )
    assert set(est.rows(rows)["ARMCD"]) == {"MINOX", "MINOX_MN", "MN_FIN_MINOX"}


def test_visit_where_a_kept_arm_has_no_value_is_left_out(data: pd.DataFrame) -> None:
    rows = data.loc[~((data["ARMCD"] == "MN_PRP") & (data["AVISIT"] == "WEEK8"))]
    est = estimability(rows, "CHG", ARMS, "MINOX", VISITS, "WEEK24", PAIRS)
    assert est.arms == tuple(ARMS) and "WEEK8" not in est.visits
    reason = "arm MN_PRP has no value at WEEK8 at this look"
    assert est.why_not(("MINOX_MN", "MINOX"), "WEEK8") == reason
    assert est.why_not(("MINOX_MN", "MINOX"), "WEEK24") is None


@pytest.mark.parametrize(
    ("keep", "reason"),
    [
        (["MINOX"], "only arm MINOX has a value at WEEK24 at this look: nothing to compare"),
        ([], "no arm has a value at the primary visit WEEK24 at this look"),
    ],
)
def test_nothing_to_fit(data: pd.DataFrame, keep: list[str], reason: str) -> None:
    rows = data.loc[data["ARMCD"].isin(keep)]
    est = estimability(rows, "CHG", ARMS, "MINOX", VISITS, "WEEK24", PAIRS)
    assert not est.fitted and est.reason == reason and est.reference is None
    for arm, _ in PAIRS:  # each comparison names the arm that has no data
        assert est.comparisons[(arm, "MINOX")] == f"arm {arm} has no post-baseline CHG at this look"


def test_primary_visit_with_too_few_values_leaves_nothing_to_fit(data: pd.DataFrame) -> None:
    at24 = data.loc[data["AVISIT"] == "WEEK24"].groupby("ARMCD").head(1)
    rows = pd.concat([data.loc[data["AVISIT"] != "WEEK24"], at24])
    est = estimability(rows, "CHG", ARMS, "MINOX", VISITS, "WEEK24", PAIRS)
    assert not est.fitted and est.reason is not None
    assert est.reason.startswith("WEEK24 has 4 observation(s) at this look, too few")
    assert set(est.comparisons.values()) == {est.reason}


# --- run_primary on each thin case -------------------------------------------------------------


def test_full_data_every_row_estimated(data: pd.DataFrame) -> None:
    res = _run(data, ("us",))
    assert list(res.contrasts.columns) == list(PRIMARY_CONTRAST_COLUMNS)
    assert (res.contrasts["status"] == "estimated").all()
    assert _check_estimated(res, _direct(data, "us", "MINOX"), "MINOX") == 15
    assert np.isfinite(res.primary_cov).all() and res.not_estimable_reason is None


@pytest.mark.parametrize("how", ["no post-baseline value", "no subject"])
def test_arm_without_data(data: pd.DataFrame, how: str) -> None:
    """An arm without post-baseline values and a declared arm without subjects give the same
    analysis rows: neither has any."""
    rows = data.loc[data["ARMCD"] != "MN_PRP"].reset_index(drop=True)
    res = _run(rows, ("us",))
    assert res.fit is not None and res.fit.visits == VISITS
    assert _check_estimated(res, _direct(rows, "us", "MINOX"), "MINOX") == 10
    out = _not_estimable(res, "MN_PRP")
    assert list(out["visit"]) == VISITS
    assert set(out["reason"]) == {"arm MN_PRP has no post-baseline CHG at this look"}
    assert "MN_PRP" not in set(res.lsmeans["arm"]) and len(res.lsmeans) == 15
    # the primary-visit covariance: NaN for MN_PRP (second comparison), SE^2 for the others
    at = res.contrasts.loc[res.contrasts["visit"] == "WEEK24"]
    assert np.isnan(res.primary_cov[1]).all() and np.isnan(res.primary_cov[:, 1]).all()
    np.testing.assert_allclose(np.diag(res.primary_cov)[[0, 2]], at["se"].iloc[[0, 2]] ** 2)


def test_arm_without_value_at_the_primary_visit_yet(data: pd.DataFrame) -> None:
    """Early cutoff: MN_PRP's subjects have reached week 12 only; its early values are not
    fitted (the arm is left out of the model), the other comparisons are estimated."""
    rows = data.loc[~((data["ARMCD"] == "MN_PRP") & data["AVISIT"].isin(["WEEK16", "WEEK24"]))]
    res = _run(rows.reset_index(drop=True), ("us",))
    assert res.fit is not None
    assert res.fit.results.nobs == int((rows["ARMCD"] != "MN_PRP").sum())
    direct = _direct(rows.loc[rows["ARMCD"] != "MN_PRP"], "us", "MINOX")
    assert _check_estimated(res, direct, "MINOX") == 10
    out = _not_estimable(res, "MN_PRP")
    assert set(out["reason"]) == {"arm MN_PRP has no value at WEEK24 at this look"}


def test_visit_with_a_single_observation(data: pd.DataFrame) -> None:
    """One value at WEEK4, in MINOX (was: "design matrix is rank deficient"): WEEK4 is not
    estimable (the first arm without a value there is named), the model is fitted over the
    other visits."""
    w4 = data.index[data["AVISIT"] == "WEEK4"]
    rows = data.drop(w4[1:]).reset_index(drop=True)
    res = _run(rows, ("us",))
    assert res.fit is not None and res.fit.visits == VISITS[1:]
    direct = _direct(rows.loc[rows["AVISIT"] != "WEEK4"], "us", "MINOX")
    assert _check_estimated(res, direct, "MINOX") == 12
    out = _not_estimable(res)
    assert list(out["visit"]) == ["WEEK4"] * 3
    assert rows.loc[rows["AVISIT"] == "WEEK4", "ARMCD"].tolist() == ["MINOX"]
    assert set(out["reason"]) == {"arm MINOX_MN has no value at WEEK4 at this look"}
    assert "WEEK4" not in set(res.lsmeans["visit"])


def test_arm_with_one_subject_is_estimated(data: pd.DataFrame) -> None:
    """A single subject in MN_PRP: its comparison rests on the pooled covariance (cs here, as
    MixedLM's random intercept, an independent fit)."""
    prp = sorted(set(data.loc[data["ARMCD"] == "MN_PRP", "USUBJID"]))
    rows = data.loc[(data["ARMCD"] != "MN_PRP") | (data["USUBJID"] == prp[0])]
    rows = rows.reset_index(drop=True)
    res = _run(rows, ("cs",), df_method="residual")
    assert (res.contrasts["status"] == "estimated").all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ml = smf.mixedlm(
            "CHG ~ C(ARMCD, Treatment('MINOX')) * C(AVISIT, Treatment('WEEK4')) "
            "+ BASE + BASE:C(AVISIT, Treatment('WEEK4'))",
            rows, groups=rows["USUBJID"],
        ).fit(reml=True, method="lbfgs")  # fmt: skip
    arm = "C(ARMCD, Treatment('MINOX'))[T.MN_PRP]"
    at24 = f"{arm}:C(AVISIT, Treatment('WEEK4'))[T.WEEK24]"
    row = res.contrasts.set_index(["arm", "visit"]).loc[("MN_PRP", "WEEK24")]
    assert row["estimate"] == pytest.approx(ml.fe_params[arm] + ml.fe_params[at24], rel=1e-4)


def test_reference_arm_without_data(data: pd.DataFrame) -> None:
    """No value in the reference arm (was: "no covariance structure converged"): comparisons
    against it are not estimable, the others are, on a model whose reference is MINOX_MN."""
    rows = data.loc[data["ARMCD"] != "MINOX"].reset_index(drop=True)
    pairs = [*PAIRS, ("MN_FIN_MINOX", "MINOX_MN")]
    res = _run(rows, ("us",), comparisons=pairs)
    assert res.fit is not None and res.estimability.reference == "MINOX_MN"
    assert _check_estimated(res, _direct(rows, "us", "MINOX_MN"), "MINOX_MN") == 5
    assert len(_not_estimable(res)) == 15
    at = res.contrasts.loc[res.contrasts["visit"] == "WEEK24"]
    assert list(at["status"]) == [NOT_ESTIMABLE] * 3 + ["estimated"]
    assert set(at["reason"].iloc[:3]) == {"arm MINOX has no post-baseline CHG at this look"}
    # with only the comparisons against MINOX, the model is fitted (LS means) and none estimated
    res = _run(rows, ("us",))
    assert res.fit is not None and len(res.lsmeans) == 15
    assert len(_not_estimable(res)) == 15 and np.isnan(res.primary_cov).all()


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("all subjects in one arm",
         "only arm MINOX_MN has a value at WEEK24 at this look: nothing to compare"),
        ("no value at the primary visit yet",
         "no arm has a value at the primary visit WEEK24 at this look"),
    ],
)  # fmt: skip
def test_nothing_fitted(data: pd.DataFrame, case: str, reason: str) -> None:
    if case == "all subjects in one arm":
        rows = data.assign(ARMCD="MINOX_MN")
    else:
        rows = data.loc[data["AVISIT"] != "WEEK24"].reset_index(drop=True)
    res = _run(rows)
    assert res.fit is None and res.not_estimable_reason == reason
    assert res.lsmeans.empty and res.fixed_effects.empty and res.type3.empty
    out = _not_estimable(res)
    assert len(out) == len(res.contrasts) and "WEEK24" in set(out["visit"])
    assert res.primary_cov.shape == (3, 3) and np.isnan(res.primary_cov).all()


# --- through analyze ---------------------------------------------------------------------------


def _trial(tmp_path: Path) -> Path:
    trial = tmp_path / "trial"
    shutil.copytree(example_trials_dir() / "dhurat2013", trial)
    return trial


def _read(trial: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(trial / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.mark.slow
def test_analyze_with_a_single_observation_at_a_visit(tmp_path: Path) -> None:
    from trialkit.analysis.run import analyze

    trial = _trial(tmp_path)
    a = _read(trial, "assessments")
    week4 = a.index[a["VISIT"] == "WEEK4"]
    a.drop(week4[1:]).to_csv(trial / "assessments.csv", index=False)
    results = analyze(trial, allow_errors=True)
    primary = results.primary
    assert primary is not None and primary.fit is not None
    assert primary.fit.visits == ["WEEK8", "WEEK12"]
    con = primary.contrasts.set_index("visit")
    assert con.loc["WEEK4", "status"] == NOT_ESTIMABLE
    assert con.loc["WEEK12", "status"] == "estimated"
    rows = results.adam["analysis_primary"]
    direct = _direct_two_arms(rows.loc[rows["AVISIT"] != "WEEK4"], results.model_info["formula"])
    assert con.loc["WEEK12", "estimate"] == pytest.approx(direct, rel=1e-8)


def _direct_two_arms(rows: pd.DataFrame, formula: str) -> float:
    res = MMRM.from_formula(
        formula, rows, subject="USUBJID", visit="AVISIT", covariance="us",
        visit_order=["WEEK8", "WEEK12"], reference={"ARMCD": "MINOX"},
    ).fit(method="reml", df="kenward-roger")  # fmt: skip
    con = res.contrasts("ARMCD", by="AVISIT", reference="MINOX")
    return float(con.loc[con["AVISIT"].astype(str) == "WEEK12", "estimate"].iloc[0])


@pytest.mark.slow
def test_analyze_with_an_arm_of_one_subject(tmp_path: Path) -> None:
    from trialkit.analysis.run import analyze

    trial = _trial(tmp_path)
    s = _read(trial, "subjects")
    arm = s.loc[s["ARMCD"] == "MINOX_MN", "USUBJID"]
    drop = set(arm.iloc[1:])
    for name in ("subjects", "assessments", "exposure", "adverse_events",
                 "concomitant_medications"):  # fmt: skip
        frame = _read(trial, name)
        frame.loc[~frame["USUBJID"].isin(drop)].to_csv(trial / f"{name}.csv", index=False)
    results = analyze(trial, allow_errors=True)
    primary = results.primary
    assert primary is not None and primary.fit is not None
    assert (primary.contrasts["status"] == "estimated").all()
    assert results.population.set_index("arm").loc["MINOX_MN", "analysed"] == 1
