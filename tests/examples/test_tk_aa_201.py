"""The bundled alopecia areata example ``tk_aa_201``: reproducible, clean, and of the shape its
README and trial.toml promise (2:1:1, adolescents and adults, SALT responders, vital signs)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from trialkit.datasets import read_trial_datasets
from trialkit.examples import generate_trial, load_example, render_example
from trialkit.resources import example_trials_dir
from trialkit.validation import validate_trial

NAME = "tk_aa_201"
FOLDER = example_trials_dir() / NAME
Frames = dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def frames() -> Frames:
    return {k: v.frame for k, v in read_trial_datasets(FOLDER).items()}


def _salt(frames: Frames) -> pd.DataFrame:
    """Baseline and week-24 SALT per subject with its arm (week 24 missing if not assessed)."""
    a = frames["assessments"]
    a = a[a["PARAMCD"] == "SALT"].set_index("USUBJID")
    subj = frames["subjects"].set_index("USUBJID")
    return pd.DataFrame(
        {
            "ARMCD": subj["ARMCD"],
            "SEVERITY": subj["SEVERITY"],
            "BASE": a.loc[a["VISIT"] == "BASELINE", "AVAL"],
            "WEEK24": a.loc[a["VISIT"] == "WEEK24", "AVAL"],
        }
    )


def test_regenerates_byte_for_byte() -> None:
    files = render_example(NAME)
    assert set(files) >= {"subjects.csv", "assessments.csv", "vital_signs.csv"}
    for fname, data in files.items():
        assert (FOLDER / fname).read_bytes() == data, fname


def test_validates_with_only_the_documented_warnings() -> None:
    findings = validate_trial(FOLDER).findings
    assert findings[findings["severity"] == "error"].empty, findings.to_string()
    assert set(findings["rule"]) <= {"TK030"}  # visit dates outside their window (README)
    assert "TK030" in (FOLDER / "README.md").read_text(encoding="utf-8")


def test_realised_allocation_is_2_1_1_overall_and_within_strata(frames: Frames) -> None:
    d, _ = load_example(NAME)
    ratio = pd.Series({a.code: a.allocation for a in d.arms})
    assert ratio.to_dict() == {"CTRL": 1, "MN_PRP": 2, "MN_MINOX": 1}
    subj = frames["subjects"]
    assert 180 <= len(subj) <= 240
    share = subj["ARMCD"].value_counts(normalize=True)
    assert np.allclose(share.reindex(ratio.index), ratio / ratio.sum(), atol=0.02)
    for _, stratum in subj.groupby("SEVERITY"):
        share = stratum["ARMCD"].value_counts(normalize=True).reindex(ratio.index)
        assert np.allclose(share, ratio / ratio.sum(), atol=0.05)


def test_population_has_adolescents_adults_and_both_sexes(frames: Frames) -> None:
    d, _ = load_example(NAME)
    assert d.trial.population.age == (12, 75)
    subj = frames["subjects"]
    age = subj["AGE"]
    assert age.between(12, 75).all()
    assert (age.between(12, 17)).sum() >= 0.05 * len(subj)
    assert (age >= 18).sum() >= 0.8 * len(subj) and age.max() >= 60
    assert (age == 12).sum() <= 5  # drawn again outside the range, not piled at the limit
    assert subj["SEX"].value_counts(normalize=True).min() >= 0.3


def test_salt_baseline_strata_and_responders(frames: Frames) -> None:
    salt = _salt(frames)
    assert salt["BASE"].between(50, 100).all() and (salt["BASE"] == 100).any()
    by_stratum = salt.groupby("SEVERITY")["BASE"]
    assert by_stratum.max()["S3"] < 80 and by_stratum.min()["S4-S5"] > 70
    responder = (salt["WEEK24"] <= 20).groupby(salt["ARMCD"]).mean()  # missing: non-responder
    assert responder["CTRL"] <= 0.10
    assert responder["MN_PRP"] > responder["MN_MINOX"] > responder["CTRL"]
    pchg = ((salt["WEEK24"] - salt["BASE"]) / salt["BASE"] * 100).groupby(salt["ARMCD"]).mean()
    assert pchg["MN_PRP"] < -25 and abs(pchg["CTRL"]) < 10


def test_dropout_is_uneven_and_moderate(frames: Frames) -> None:
    disc = frames["subjects"]["EOSSTT"] == "DISCONTINUED"
    assert 0.10 <= disc.mean() <= 0.20
    by_arm = disc.groupby(frames["subjects"]["ARMCD"]).mean()
    assert by_arm.max() > 1.3 * by_arm.min()


def test_vital_signs_with_a_few_values_beyond_the_alert_limits(frames: Frames) -> None:
    d, _ = load_example(NAME)
    vs = frames["vital_signs"]
    assert list(vs.columns) == ["STUDYID", "USUBJID", "VISIT", "ADT", "PARAMCD", "AVAL"]
    safety = [p for p in d.parameters if p.kind == "safety"]
    assert {p.code for p in safety} == set(vs["PARAMCD"]) == {"SYSBP", "DIABP", "PULSE"}
    assert "SYSBP" not in set(frames["assessments"]["PARAMCD"])
    beyond = pd.concat(
        vs[(vs["PARAMCD"] == p.code) & ~vs["AVAL"].between(p.alert_low, p.alert_high)]
        for p in safety
    )
    subjects = beyond["USUBJID"].nunique()
    assert 3 <= subjects <= 0.15 * len(frames["subjects"])
    # minoxidil: slightly lower blood pressure and a higher pulse than the control arm
    arm = frames["subjects"].set_index("USUBJID")["ARMCD"]
    base = vs[vs["VISIT"] == "BASELINE"].set_index(["USUBJID", "PARAMCD"])["AVAL"]
    week24 = vs[vs["VISIT"] == "WEEK24"].set_index(["USUBJID", "PARAMCD"])["AVAL"]
    chg = (week24 - base.reindex(week24.index)).rename("CHG").reset_index()
    mean = chg.assign(ARMCD=chg["USUBJID"].map(arm)).groupby(["PARAMCD", "ARMCD"])["CHG"].mean()
    assert mean["SYSBP", "MN_MINOX"] < mean["SYSBP", "CTRL"]
    assert mean["PULSE", "MN_MINOX"] > mean["PULSE", "CTRL"] + 3


def test_vital_signs_share_the_visit_dates_of_the_assessments(frames: Frames) -> None:
    keys = ["USUBJID", "VISIT"]
    vs = frames["vital_signs"].drop_duplicates(keys)[[*keys, "ADT"]]
    salt = frames["assessments"][frames["assessments"]["PARAMCD"] == "SALT"][[*keys, "ADT"]]
    both = vs.merge(salt, on=keys, suffixes=("_vs", "_salt"))
    assert len(both) == len(salt) and (both["ADT_vs"] == both["ADT_salt"]).all()


def test_exposure_names_each_treatment_kind(frames: Frames) -> None:
    ex = frames["exposure"].join(frames["subjects"].set_index("USUBJID")["ARMCD"], on="USUBJID")
    names = ex.groupby("ARMCD")["EXTRT"].agg(set).to_dict()
    assert names == {
        "CTRL": {"vehicle", "sham_microneedling"},
        "MN_PRP": {"microneedling", "prp"},
        "MN_MINOX": {"microneedling", "minoxidil"},
    }
    sham = ex[ex["EXTRT"] == "sham_microneedling"]
    assert (sham["DEVICE"] == "dermapen").all() and sham["NEEDLE_DEPTH_MM"].isna().all()
    mn_prp = ex[ex["ARMCD"] == "MN_PRP"]
    prp = mn_prp[mn_prp["EXTRT"] == "prp"].set_index(["USUBJID", "EXSTDT"]).index
    needling = mn_prp[mn_prp["EXTRT"] == "microneedling"].set_index(["USUBJID", "EXSTDT"]).index
    assert prp.isin(needling).all()  # PRP is given at a microneedling session


def test_adverse_events_name_the_action_taken(frames: Frames) -> None:
    ae, subj = frames["adverse_events"], frames["subjects"]
    assert set(ae["AEACN"]) == {"DOSE NOT CHANGED", "DRUG INTERRUPTED", "DRUG WITHDRAWN"}
    withdrawn = ae[ae["AEACN"] == "DRUG WITHDRAWN"]
    by_ae = subj.loc[subj["DCSREAS"] == "ADVERSE EVENT", ["USUBJID", "EOSDT"]]
    assert sorted(withdrawn["USUBJID"]) == sorted(by_ae["USUBJID"])
    ends = withdrawn.merge(by_ae, on="USUBJID")
    assert (ends["AEENDT"] == ends["EOSDT"]).all()
    assert {"Cardiac disorders", "Skin and subcutaneous tissue disorders"} <= set(ae["AEBODSYS"])


def test_age_outside_the_range_is_clipped_or_drawn_again() -> None:
    d, s = load_example(NAME)
    narrow = dataclasses.replace(s, age_range=(30, 40), n_per_arm=25)
    clipped = generate_trial(d, dataclasses.replace(narrow, age_outside="clip"))["subjects"]
    redrawn = generate_trial(d, narrow)["subjects"]
    assert clipped["AGE"].between(30, 40).all() and redrawn["AGE"].between(30, 40).all()
    assert (clipped["AGE"] == 30).mean() > 0.15  # about a quarter of N(33, 15) is below 30
    assert (redrawn["AGE"] == 30).mean() < 0.15


def test_generator_refuses_a_ratio_it_cannot_block() -> None:
    d, s = load_example(NAME)
    arms = (dataclasses.replace(d.arms[0], allocation=1.5), *d.arms[1:])
    with pytest.raises(ValueError, match="whole allocation ratios"):
        generate_trial(dataclasses.replace(d, arms=arms), s)
