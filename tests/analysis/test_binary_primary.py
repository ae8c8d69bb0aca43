"""A binary (responder) primary end to end on the bundled alopecia areata trial (issue 12):
who responds is re-derived here from the raw datasets, the estimates equal the R-checked
estimator (tests/estimators) on those subjects, results.json follows the documented shape,
and the reports show the responders and the plan's comparisons."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialkit.cli import main
from trialkit.estimators.binary import binary_analysis
from trialkit.resources import example_trials_dir

pytestmark = pytest.mark.slow

TRIAL = example_trials_dir() / "tk_aa_201"
PAIRS = [("MN_PRP", "CTRL"), ("MN_MINOX", "CTRL"), ("MN_PRP", "MN_MINOX")]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("aa") / "out"
    assert main(["analyze", str(TRIAL), "--out", str(folder)]) == 0
    return folder


def _by_hand() -> pd.DataFrame:
    """SALT <= 20 at week 24 from assessments.csv; no value -> non-responder; BASE from the
    baseline visit; SEVERITY from subjects.csv (the trial has no intercurrent-event strategy
    that sets values aside)."""
    subjects = pd.read_csv(TRIAL / "subjects.csv", dtype=str)
    salt = pd.read_csv(TRIAL / "assessments.csv")
    salt = salt.loc[salt["PARAMCD"] == "SALT"]
    week24 = salt.loc[salt["VISIT"] == "WEEK24"].set_index("USUBJID")["AVAL"]
    base = salt.loc[salt["VISIT"] == "BASELINE"].set_index("USUBJID")["AVAL"]
    frame = subjects[["USUBJID", "ARMCD", "SEVERITY"]].copy()
    frame["BASE"] = base.reindex(frame["USUBJID"]).to_numpy()
    frame["RESPONSE"] = (week24.reindex(frame["USUBJID"]).to_numpy() <= 20).astype(float)
    return frame


def test_primary_equals_the_estimator_on_subjects_derived_by_hand(out: Path) -> None:
    doc = json.loads((out / "results.json").read_text())
    primary = doc["primary"]
    assert primary["kind"] == "binary" and primary["endpoint"]["responder"] == "AVAL <= 20"
    frame = _by_hand()
    arms = {r["ARMCD"]: r for r in primary["arms"]}
    for arm, rows in frame.groupby("ARMCD"):
        assert arms[arm]["n"] == len(rows)
        assert arms[arm]["responders"] == int(rows["RESPONSE"].sum())
    expected = binary_analysis(
        frame, response="RESPONSE", comparisons=PAIRS, method="logistic",
        covariates=["BASE"], strata=["SEVERITY"],
    ).contrasts  # fmt: skip
    got = pd.DataFrame(primary["contrasts"]).set_index(["ARMCD", "versus"])
    assert [tuple(i) for i in got.index] == PAIRS  # the SAP's comparisons, in its order
    for column in ("estimate", "se", "lower", "upper", "p", "odds_ratio", "or_lower", "or_upper"):
        assert got[column].to_numpy() == pytest.approx(expected[column].to_numpy(), rel=1e-10), (
            column
        )
    # Holm over the three declared comparisons
    p = got["p"].to_numpy()
    order = np.argsort(p)
    holm = np.maximum.accumulate([(3 - k) * p[i] for k, i in enumerate(order)])
    assert got["p_adjusted"].to_numpy()[order] == pytest.approx(np.minimum(holm, 1.0))
    table = pd.read_csv(out / "tables" / "primary_contrasts.csv")
    assert table["estimate"].to_numpy() == pytest.approx(got["estimate"].to_numpy(), rel=1e-15)


def test_sensitivity_of_a_binary_primary(out: Path) -> None:
    doc = json.loads((out / "results.json").read_text())
    assert set(doc["sensitivity"]) == {"binary_per_protocol", "binary_observed_cases", "binary_cmh"}
    assert all(e["status"] == "ok" for e in doc["sensitivity"].values())


def test_reports_show_responders_and_comparisons(out: Path, tmp_path: Path) -> None:
    reports = tmp_path / "final"
    args = ["report", str(TRIAL), "--results", str(out), "--out", str(reports), "--format", "html"]
    assert main(args) == 0
    html = (reports / "report.html").read_text()
    primary = html.split('id="primary"', 1)[1].split("</section>", 1)[0]
    assert "Responders n (%)" in primary and "28 (28.0%)" in primary
    assert "Microneedling + PRP vs Microneedling + 5% minoxidil" in primary
    assert "Risk difference, percentage points" in primary


def test_composite_strategy_makes_rescued_subjects_non_responders(tmp_path: Path) -> None:
    """Rescue medication under the composite strategy (non_response): a subject who started
    rescue medication before the week-24 assessment is a non-responder whatever the SALT."""
    trial = tmp_path / "trial"
    shutil.copytree(TRIAL, trial)
    toml = (trial / "trial.toml").read_text()
    old = 'event = "rescue_medication"\nstrategy = "treatment_policy"'
    assert old in toml
    (trial / "trial.toml").write_text(
        toml.replace(old, 'event = "rescue_medication"\nstrategy = "non_response"')
    )
    out = tmp_path / "out"
    assert main(["analyze", str(trial), "--out", str(out)]) == 0
    rows = pd.read_csv(out / "adam" / "analysis_primary.csv", dtype={"USUBJID": str})
    composite = rows.loc[rows["REASON"] == "intercurrent event"]
    assert len(composite) > 0 and (composite["RESPONSE"] == 0).all()
    # by hand: rescue started before the subject's week-24 SALT assessment
    cm = pd.read_csv(trial / "concomitant_medications.csv", dtype=str)
    rescue = cm.loc[cm["CMRESCUE"] == "Y"].groupby("USUBJID")["CMSTDT"].min()
    salt = pd.read_csv(trial / "assessments.csv", dtype=str)
    week24 = salt.loc[(salt["PARAMCD"] == "SALT") & (salt["VISIT"] == "WEEK24")]
    week24 = week24.set_index("USUBJID")["ADT"]
    before = {s for s, d in rescue.items() if s in week24.index and d < week24[s]}
    assert set(composite["USUBJID"]) == before
    base = json.loads((out / "results.json").read_text())["primary"]["arms"]
    assert sum(a["responders"] for a in base) < 35  # 35 responders under treatment policy
