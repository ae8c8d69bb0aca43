"""The primary MMRM serves the per-protocol sensitivity analysis and continuous secondaries.

Checked against a direct fit of :class:`trialkit.models.MMRM` on rows selected by hand from
the written analysis datasets.
"""

from __future__ import annotations

import pandas as pd
import pytest

import trialkit
from trialkit.analysis.results import AnalysisResults
from trialkit.models import MMRM
from trialkit.resources import example_trials_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results() -> AnalysisResults:
    return trialkit.analyze(example_trials_dir() / "tk_aga_301")


def _direct(rows: pd.DataFrame, formula: str, covariance: str) -> pd.DataFrame:
    res = MMRM.from_formula(
        formula, rows, subject="USUBJID", visit="AVISIT", covariance=covariance,
        reference={"ARMCD": "MINOX"},
    ).fit(method="reml", df="kenward-roger")  # fmt: skip
    con = res.contrasts("ARMCD", by="AVISIT", reference="MINOX")
    return con.loc[con["AVISIT"] == "WEEK24"].set_index("ARMCD")


def _check(table: pd.DataFrame, direct: pd.DataFrame) -> None:
    for _, row in table.iterrows():
        ref = direct.loc[f"{row['arm']} - MINOX"]
        assert row["estimate"] == pytest.approx(ref["estimate"], rel=1e-8)
        assert row["se"] == pytest.approx(ref["se"], rel=1e-8)
        assert row["df"] == pytest.approx(ref["df"], rel=1e-6)


def test_per_protocol_mmrm_is_the_primary_model_on_pp_subjects(results: AnalysisResults) -> None:
    adsl = results.adam["adsl"]
    pp = set(adsl.loc[adsl["PPROTFL"] == "Y", "USUBJID"].astype(str))
    assert 0 < len(pp) < len(adsl)
    rows = results.adam["analysis_primary"]
    rows = rows.loc[rows["USUBJID"].astype(str).isin(pp)].copy()
    model = results.model_info
    direct = _direct(rows, model["formula"], model["covariance"])
    table = results.supporting_tables["sensitivity_mmrm_pp_diffs"]
    assert list(table["visit"]) == ["WEEK24"] * 3
    _check(table, direct)


def test_continuous_secondary_uses_the_mmrm_at_its_scheduled_visits(
    results: AnalysisResults,
) -> None:
    bds = results.adam["adbds"]
    adsl = results.adam["adsl"]
    itt = set(adsl.loc[adsl["ITTFL"] == "Y", "USUBJID"].astype(str))
    # HDIAM is scheduled at weeks 12 and 24 only; its response is CHG, as the primary's
    rows = bds.loc[
        (bds["PARAMCD"] == "HDIAM") & (bds["ANL01FL"] == "Y") & (bds["ABLFL"] != "Y")
        & bds["AVISIT"].isin(["WEEK12", "WEEK24"]) & bds["CHG"].notna()
        & bds["USUBJID"].astype(str).isin(itt)
    ]  # fmt: skip
    formula = results.model_info["formula"]
    assert formula.startswith("CHG ~ ")
    direct = _direct(rows, formula, results.model_info["covariance"])
    table = results.supporting_tables["secondary_3_hdiam_week24_diffs"]
    _check(table, direct)
