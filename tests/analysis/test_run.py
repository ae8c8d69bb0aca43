"""``trialkit.analyze`` from Python: the frames it returns, determinism, the trial left alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trialkit
from trialkit.analysis.results import AnalysisResults, clean
from trialkit.datasets import read_trial_datasets
from trialkit.derive.dummy import dummy_randomize
from trialkit.examples.bundled import write_small_trial


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_trial(tmp_path_factory.mktemp("run") / "trial", seed=5, n_per_arm=10)


@pytest.fixture(scope="module")
def results(trial: Path) -> AnalysisResults:
    return trialkit.analyze(trial)


@pytest.mark.slow
def test_frames_have_the_documented_columns(results: AnalysisResults) -> None:
    assert list(results.lsmeans.columns[:2]) == ["arm", "visit"]
    assert {"estimate", "se", "df", "lower", "upper"} <= set(results.lsmeans.columns)
    assert len(results.lsmeans) == 4 * 5  # arms x post-baseline visits
    con = results.contrasts
    assert len(con) == 3 * 5
    at = con.loc[con["primary_visit"]]
    assert list(at["visit"].unique()) == ["WEEK24"]
    assert at["p_adjusted"].notna().all() and (at["p_adjusted"] >= at["p"]).all()
    assert at["simultaneous_lower"].le(at["lower"]).all()
    assert con.loc[~con["primary_visit"], "p_adjusted"].isna().all()
    assert results.model["covariance"] == "us"
    assert results.model["df_method"] == "kenward-roger"
    assert [s.variable for s in results.subgroup_results] == ["AGE", "SEVERITY"]
    for s in results.subgroup_results:
        # 40 subjects leave empty arm x visit x level cells: such a model is reported, not raised
        if s.converged:
            assert set(s.estimates["level"]) == set(s.levels)
        else:
            assert s.message and "rank deficient" in s.message and s.estimates.empty
    assert set(results.subgroups["variable"]) <= {"AGE", "SEVERITY"}


@pytest.mark.slow
def test_lsmean_differences_equal_the_contrasts(results: AnalysisResults) -> None:
    lsm = results.lsmeans.set_index(["arm", "visit"])["estimate"]
    for r in results.contrasts.itertuples(index=False):
        assert r.estimate == pytest.approx(lsm[(r.arm, r.visit)] - lsm[(r.reference, r.visit)])


@pytest.mark.slow
def test_population_counts_add_up(results: AnalysisResults) -> None:
    pop = results.population.set_index("arm")
    total = pop.loc["TOTAL"]
    assert total["in_population"] == pop.drop("TOTAL")["in_population"].sum()
    assert total["analysed"] + total["without_post_baseline"] == total["in_population"]
    assert results.model["subjects"] == total["analysed"]
    assert results.model["subjects_without_post_baseline"] == total["without_post_baseline"]


@pytest.mark.slow
def test_estimand_is_stated_in_words(results: AnalysisResults) -> None:
    text = results.estimand["description"]
    assert "hypothetical" in text and "Population:" in text
    events = {e["event"]: e["strategy"] for e in results.estimand["intercurrent_events"]}
    assert events == {"discontinuation": "hypothetical", "rescue_medication": "hypothetical"}


@pytest.mark.slow
def test_outputs_are_deterministic_and_the_trial_untouched(
    trial: Path, results: AnalysisResults, tmp_path: Path
) -> None:
    before = {p.name: p.read_bytes() for p in trial.iterdir()}
    again = trialkit.analyze(trial)
    results.write(tmp_path / "a")
    again.write(tmp_path / "b")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert {p.name: p.read_bytes() for p in trial.iterdir()} == before
    text = (tmp_path / "a" / "results.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text)
    assert list(doc) == sorted(doc)


@pytest.mark.slow
def test_full_float_precision_in_json(results: AnalysisResults) -> None:
    doc = json.loads(results.to_json())
    est = results.contrasts["estimate"].iloc[0]
    assert doc["primary"]["contrasts"][0]["estimate"] == est  # exact round trip


def test_clean_makes_json_values() -> None:
    assert clean({"a": np.float64("nan"), "b": np.int64(3), "c": pd.NA, "d": (1.5, None)}) == {
        "a": None, "b": 3, "c": None, "d": [1.5, None],
    }  # fmt: skip
    assert clean(pd.Timestamp("2024-03-01")) == "2024-03-01"


def test_dummy_randomization_permutes_arms_and_moves_exposure(trial: Path) -> None:
    ds = read_trial_datasets(trial)
    subj, ex = ds["subjects"].frame, ds["exposure"].frame
    new_subj, new_ex = dummy_randomize(subj, ex, seed=3)
    assert sorted(new_subj["ARMCD"].astype(str)) == sorted(subj["ARMCD"].astype(str))
    assert (new_subj["ARMCD"].astype(str) != subj["ARMCD"].astype(str)).any()
    assert len(new_ex) == len(ex)
    # each subject's exposure now matches the treatments of its new arm
    arm_of = dict(zip(new_subj["USUBJID"].astype(str), new_subj["ARMCD"].astype(str), strict=True))
    old_arm_trt = ex.assign(
        ARM=ex["USUBJID"]
        .astype(str)
        .map(dict(zip(subj["USUBJID"].astype(str), subj["ARMCD"].astype(str), strict=True)))
    )
    treatments = old_arm_trt.groupby("ARM")["EXTRT"].agg(lambda s: set(s.astype(str)))
    for usubjid, rows in new_ex.groupby(new_ex["USUBJID"].astype(str)):
        assert set(rows["EXTRT"].astype(str)) <= treatments[arm_of[usubjid]]
    # same seed, same permutation; inputs untouched
    again, _ = dummy_randomize(subj, ex, seed=3)
    assert again["ARMCD"].astype(str).tolist() == new_subj["ARMCD"].astype(str).tolist()
    assert subj.equals(ds["subjects"].frame)


@pytest.mark.slow
def test_analysis_dataset_carries_marginal_fitted_values(results: AnalysisResults) -> None:
    data = results.adam["analysis_primary"]
    res = results.primary.fit.results
    rebuilt = data.assign(
        AVISIT=pd.Categorical(data["AVISIT"], categories=results.primary.fit.visits)
    )
    X = res.model.design_info.build(rebuilt)
    np.testing.assert_allclose(data["FITTED"], X @ res.params.to_numpy(), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(data["RESID"], data["CHG"] - data["FITTED"], atol=1e-12)
