"""The bundled example trials: reproducible byte for byte, well formed, clean, and calibrated."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialkit.cli.examples import main
from trialkit.datasets import REQUIRED_COLUMNS, read_trial_datasets
from trialkit.definition import TrialDefinition
from trialkit.examples import (
    check,
    example_names,
    generate_trial,
    interim_cutoff,
    load_example,
    make_small_trial,
    outside_window,
    render_trial,
    write_small_trial,
    write_trial,
)
from trialkit.examples.io import render_csv
from trialkit.resources import example_trials_dir
from trialkit.validation.rules import RULES
from trialkit.vocabulary import OPTIONAL_DATASETS, PSEUDO_VISITS

CLEAN = ("dhurat2013", "tk_aa_201", "tk_aga_301")
Frames = dict[str, pd.DataFrame]


def _read(name: str) -> Frames:
    return {k: v.frame for k, v in read_trial_datasets(example_trials_dir() / name).items()}


def _chg(d: TrialDefinition, frames: Frames, param: str, visit: str) -> pd.DataFrame:
    """Change from baseline of ``param`` at ``visit`` with the subject's arm."""
    a = frames["assessments"]
    a = a[a["PARAMCD"] == param]
    base = a[a["VISIT"] == d.baseline_visit.code].set_index("USUBJID")["AVAL"]
    post = a[a["VISIT"] == visit].set_index("USUBJID")[["AVAL"]]
    post["CHG"] = post["AVAL"] - base.reindex(post.index)
    arms = frames["subjects"].set_index("USUBJID")["ARMCD"]
    return post.assign(ARMCD=arms.reindex(post.index))


# --- reproducibility ------------------------------------------------------------------------


def test_bundled_examples_are_listed() -> None:
    assert example_names() == ["dhurat2013", "tk_aa_201", "tk_aga_301", "tk_aga_301_dirty"]


@pytest.mark.slow
def test_committed_files_match_a_fresh_generation() -> None:
    """``python -m trialkit.examples --check``: committed files regenerate byte for byte."""
    assert main(["--check"]) == 0


def test_check_names_a_changed_file(tmp_path: Path) -> None:
    shutil.copytree(example_trials_dir() / "dhurat2013", tmp_path / "dhurat2013")
    assert check(tmp_path) == []
    path = tmp_path / "dhurat2013" / "subjects.csv"
    path.write_bytes(path.read_bytes().replace(b"COMPLETED", b"COMPLETE", 1))
    assert check(tmp_path) == [path]


def test_generation_is_deterministic_and_seed_dependent() -> None:
    d, s = load_example("dhurat2013")
    one, two = render_trial(generate_trial(d, s)), render_trial(generate_trial(d, s))
    assert one == two
    other = render_trial(generate_trial(d, dataclasses.replace(s, seed=s.seed + 1)))
    assert other["assessments.csv"] != one["assessments.csv"]


def test_written_files_read_back_unchanged(tmp_path: Path) -> None:
    d, s = load_example("dhurat2013")
    frames = generate_trial(d, s)
    write_trial(frames, tmp_path)
    read = read_trial_datasets(tmp_path)
    for name, frame in frames.items():
        got = read[name].frame
        assert list(got.columns) == list(frame.columns)
        for col in REQUIRED_COLUMNS[name]:
            left, right = got[col], frame[col]
            if pd.api.types.is_datetime64_any_dtype(right):
                assert (left.isna() == right.isna()).all() and (
                    left.dropna() == right.dropna()
                ).all()
            else:
                assert left.astype(str).tolist() == right.astype(str).tolist() or np.allclose(
                    left.astype(float), right.astype(float), equal_nan=True
                )


def test_csv_files_are_modest() -> None:
    for path in example_trials_dir().glob("*/*.csv"):
        assert path.stat().st_size < 2_000_000, path


def test_render_csv_writes_a_repeated_column_name_twice() -> None:
    frame = pd.DataFrame([[1, "a", 2]], columns=["X", "Y", "X"])
    assert render_csv(frame) == b"X,Y,X\n1,a,2\n"


# --- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*CLEAN, "tk_aga_301_dirty"])
def test_every_required_column_is_there(name: str) -> None:
    frames = _read(name)  # read_trial_datasets itself refuses a missing required column
    d, _ = load_example(name)
    has_vitals = any(p.kind == "safety" for p in d.parameters)
    for dataset, cols in REQUIRED_COLUMNS.items():
        if dataset in OPTIONAL_DATASETS and dataset not in frames:
            assert dataset != "vital_signs" or not has_vitals, name
            continue
        assert set(cols) <= set(frames[dataset].columns), dataset


@pytest.mark.parametrize("name", CLEAN)
def test_clean_trial_structure(name: str) -> None:
    d, _ = load_example(name)
    f = _read(name)
    subj = f["subjects"]
    assert subj["USUBJID"].is_unique
    assert set(subj["ARMCD"]) == {a.code for a in d.arms}
    low, high = d.trial.population.age or (18, 100)
    assert subj["AGE"].between(low, high).all() and set(subj["SEX"]) <= {"M", "F"}
    # efficacy parameters are assessments, safety ones vital signs (when the trial has any)
    kinds = {"assessments": "efficacy", "vital_signs": "safety"}
    by_param = {}
    for dataset, kind in kinds.items():
        codes = {p.code for p in d.parameters if p.kind == kind}
        if not codes:
            assert dataset not in f or f[dataset].empty
            continue
        ass = f[dataset]
        assert set(ass["USUBJID"]) <= set(subj["USUBJID"])
        assert set(ass["PARAMCD"]) == codes
        assert set(ass["VISIT"]) <= {v.code for v in d.visits} | set(PSEUDO_VISITS)
        base = ass[ass["VISIT"] == d.baseline_visit.code].groupby(["USUBJID", "PARAMCD"]).size()
        assert (base == 1).all() and len(base) == len(subj) * len(codes)
        sched = ass[ass["VISIT"].isin([v.code for v in d.visits])]
        assert not sched.duplicated(["USUBJID", "VISIT", "PARAMCD"]).any()
        by_param.update({c: ass.loc[ass["PARAMCD"] == c, "AVAL"] for c in codes})
    for p in d.parameters:
        aval = by_param[p.code]
        assert aval.between(p.min, p.max).all(), p.code
        if p.integer:
            assert (aval == aval.round()).all(), p.code
        if p.levels:
            assert set(aval.astype(int)) <= set(p.levels)


@pytest.mark.parametrize("name", CLEAN)
def test_clean_trial_breaks_no_error_rule(name: str) -> None:
    """The error rules a validator applies find nothing in the clean examples."""
    d, _ = load_example(name)
    f = _read(name)
    subj = f["subjects"].set_index("USUBJID")
    ex = f["exposure"].join(subj[["ARMCD", "RANDDT", "EOSDT"]], on="USUBJID")
    # TK033, TK015, TK016, TK019, TK018, TK017
    for arm in d.arms:
        rows = ex[ex["ARMCD"] == arm.code]
        assert set(rows["EXTRT"]) == set(arm.treatments), arm.code
        for c in arm.components:  # the columns the treatment registry checks
            for column, _ in c.kind.ranges:
                limits = c.protocol_range(column)
                if limits is not None:
                    values = rows.loc[rows["EXTRT"] == c.extrt, column]
                    assert values.between(*limits).all(), (arm.code, column)
    assert (ex["EXSTDT"] >= ex["RANDDT"]).all() and (ex["EXENDT"] <= ex["EOSDT"]).all()
    assert (ex["EXENDT"] >= ex["EXSTDT"]).all()
    for name_, start, end in (
        ("adverse_events", "AESTDT", "AEENDT"),
        ("concomitant_medications", "CMSTDT", "CMENDT"),
    ):
        frame = f[name_].join(subj[["EOSDT"]], on="USUBJID")
        ended = frame[frame[end].notna()]
        assert (ended[end] >= ended[start]).all() and (frame[start] <= frame["EOSDT"]).all()
        assert (ended[end] <= ended["EOSDT"]).all()
    for dataset in ("assessments", "vital_signs"):
        if dataset in f:
            dated = f[dataset].join(subj[["EOSDT"]], on="USUBJID")
            assert (dated["ADT"] <= dated["EOSDT"]).all(), dataset
    ass = f["assessments"].join(subj[["EOSDT"]], on="USUBJID")
    # TK013: baseline on or before the first exposure
    first = ex.groupby("USUBJID")["EXSTDT"].min()
    base = ass[ass["VISIT"] == d.baseline_visit.code]
    assert (base["ADT"].to_numpy() <= first.reindex(base["USUBJID"]).to_numpy()).all()
    # TK020
    disc = subj["EOSSTT"] == "DISCONTINUED"
    assert subj.loc[disc, "DCSREAS"].notna().all() and subj.loc[disc, "EOSDT"].notna().all()
    assert subj.loc[~disc, "DCSREAS"].isna().all() and set(subj["EOSSTT"]) <= {
        "COMPLETED",
        "DISCONTINUED",
    }
    # TK031: sessions at the arm's interval (weekly: 7 days; monthly: 28 +- 5)
    for arm in d.arms:
        for c in arm.components:
            if not c.is_procedure or c.interval_days is None:
                continue
            rows = ex[(ex["ARMCD"] == arm.code) & (ex["EXTRT"] == c.treatment)]
            gaps = rows.sort_values("EXSTDT").groupby("USUBJID")["EXSTDT"].diff().dropna().dt.days
            assert gaps.between(c.interval_days - 5, c.interval_days + 5).all(), (arm.code, c)


def test_tk_aga_301_has_realistic_messiness() -> None:
    d, _ = load_example("tk_aga_301")
    f = _read("tk_aga_301")
    subj = f["subjects"]
    share = (subj["EOSSTT"] == "DISCONTINUED").mean()
    assert 0.10 <= share <= 0.20
    by_arm = subj.groupby("ARMCD")["EOSSTT"].apply(lambda x: (x == "DISCONTINUED").mean())
    assert by_arm.max() > 1.5 * by_arm.min()
    sizes = subj["SITEID"].value_counts()
    assert 8 <= len(sizes) <= 12 and sizes.min() < 12 <= sizes.max()
    visits = set(f["assessments"]["VISIT"])
    assert set(PSEUDO_VISITS) <= visits
    assert 0 < len(outside_window(d, f)) < 0.02 * len(f["assessments"])
    assert (f["concomitant_medications"]["CMRESCUE"] == "Y").sum() >= 3
    ae = f["adverse_events"]
    assert (ae["AESER"] == "Y").any() and set(ae["AESEV"]) == {"MILD", "MODERATE", "SEVERE"}
    assert {"Erythema", "Procedural pain", "Folliculitis", "Headache", "Pruritus"} <= set(
        ae["AEDECOD"]
    )


def test_interim_cutoff_matches_the_data() -> None:
    d, s = load_example("tk_aga_301")
    f = _read("tk_aga_301")
    assert s.interim_cutoff == interim_cutoff(d, f)
    reached = f["subjects"]["RANDDT"] + pd.Timedelta(days=168) <= pd.Timestamp(s.interim_cutoff)
    assert 0.45 <= reached.mean() <= 0.55


# --- calibration ----------------------------------------------------------------------------


def test_dhurat2013_week12_changes_near_published() -> None:
    d, _ = load_example("dhurat2013")
    chg = _chg(d, _read("dhurat2013"), "HAIRCNT", "WEEK12").groupby("ARMCD")["CHG"].mean()
    assert chg["MINOX"] == pytest.approx(22.2, abs=6.0)
    assert chg["MINOX_MN"] == pytest.approx(91.4, abs=6.0)
    assert len(_read("dhurat2013")["subjects"]) == 100


def test_tk_aga_301_week24_effects_near_calibration() -> None:
    d, s = load_example("tk_aga_301")
    chg = _chg(d, _read("tk_aga_301"), "HAIRCNT", "WEEK24").groupby("ARMCD")["CHG"]
    mean, sem = chg.mean(), chg.sem()
    target = s.parameter("HAIRCNT").effects
    for arm in mean.index:
        assert abs(mean[arm] - target[arm]["WEEK24"]) < 3 * sem[arm], arm
    diff = mean["MINOX_MN"] - mean["MINOX"]  # network meta-analysis: ~13 hairs/cm2
    assert diff == pytest.approx(13.0, abs=3 * np.hypot(sem["MINOX_MN"], sem["MINOX"]))
    assert diff > 0


# --- the dirty transfer ---------------------------------------------------------------------


#: Rules the dirty transfer cannot plant without breaking its other uses (each has its own
#: case in tests/validation/test_rules.py).
NOT_PLANTED = {
    "TK023": "a repeated required column leaves the trial unreadable for analysis",
    "TK024": "an empty required dataset leaves nothing to analyse",
    "TK034": "an implausible allocation (p < 0.001) needs dozens of subjects moved between arms, "
    "so one planted problem per subject could not be kept and the arms' data would be another "
    "arm's",
}


def _rule_ids() -> set[str]:
    return set(RULES) - set(NOT_PLANTED)


def _planted() -> pd.DataFrame:
    path = example_trials_dir() / "tk_aga_301_dirty" / "planted_problems.csv"
    return pd.read_csv(path, dtype="str", keep_default_na=False)


def test_dirty_plants_every_rule() -> None:
    planted = _planted()
    assert list(planted.columns) == ["rule", "dataset", "USUBJID", "column", "description"]
    assert set(planted["rule"]) == _rule_ids()
    assert set(planted["dataset"]) <= set(REQUIRED_COLUMNS)


def test_dirty_trial_toml_is_the_clean_one() -> None:
    root = example_trials_dir()
    assert (root / "tk_aga_301_dirty" / "trial.toml").read_bytes() == (
        root / "tk_aga_301" / "trial.toml"
    ).read_bytes()


def test_dirty_plants_are_in_the_data() -> None:
    root = example_trials_dir()
    dirty = read_trial_datasets(root / "tk_aga_301_dirty")
    planted = _planted()
    subj = dirty["subjects"].frame
    ass = dirty["assessments"].frame
    by_rule = planted.groupby("rule")["USUBJID"].apply(list)
    assert subj["USUBJID"].duplicated().sum() == 1
    assert subj.loc[subj["USUBJID"].duplicated(), "USUBJID"].tolist() == by_rule["TK005"]
    assert set(ass["USUBJID"]) - set(subj["USUBJID"]) == set(by_rule["TK010"])
    assert not dirty["assessments"].bad_dates.empty or not dirty["adverse_events"].bad_dates.empty
    assert subj["AGE"].isna().sum() == 1 and (subj["SEX"] == "X").sum() == 1
    aval = pd.to_numeric(ass["AVAL"], errors="coerce")
    assert (aval == 900).sum() == 1 and (ass["AVAL"].astype(str) == "abc").sum() == 1
    assert np.isinf(pd.to_numeric(ass["AVAL"], errors="coerce")).sum() == 1
    ae = dirty["adverse_events"]
    assert (ae.bad_dates["value"] == "2204-03-15").sum() == 1
    assert ae.repeated_columns == tuple(planted.loc[planted["rule"] == "TK032", "column"])
    # every planted subject (but the orphan) is a subject of the trial; a repeated column none
    known = set(subj["USUBJID"]) | set(by_rule["TK010"])
    rows = planted[planted["rule"] != "TK032"]
    assert set(rows["USUBJID"]) <= known
    assert set(planted.loc[planted["rule"] == "TK032", "USUBJID"]) == {""}
    # the clean rows of the dirty transfer are those of the clean trial
    clean = _read("tk_aga_301")["subjects"]
    touched = set(planted["USUBJID"])
    keep = ~subj["USUBJID"].isin(touched)
    pd.testing.assert_frame_equal(
        subj[keep].reset_index(drop=True),
        clean[~clean["USUBJID"].isin(touched)].reset_index(drop=True),
        check_dtype=False,
    )


# --- small fresh trials for property tests --------------------------------------------------


def test_make_small_trial() -> None:
    d, f = make_small_trial(seed=7, n_per_arm=10)
    subj = f["subjects"]
    assert subj["ARMCD"].value_counts().to_dict() == {a.code: 10 for a in d.arms}
    assert pd.api.types.is_datetime64_any_dtype(f["assessments"]["ADT"])
    _, again = make_small_trial(seed=7, n_per_arm=10)
    pd.testing.assert_frame_equal(f["assessments"], again["assessments"])
    _, other = make_small_trial(seed=8, n_per_arm=10)
    assert not f["assessments"]["AVAL"].equals(other["assessments"]["AVAL"])


def test_write_small_trial(tmp_path: Path) -> None:
    folder = write_small_trial(tmp_path / "t", seed=3, n_per_arm=6)
    assert (folder / "trial.toml").exists()
    assert len(read_trial_datasets(folder)["subjects"].frame) == 24
