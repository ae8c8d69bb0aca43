"""Baseline, disposition and exposure tables and listings on hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialkit.analysis.descriptive import (
    COLUMNS,
    baseline_characteristics,
    discontinuation_listing,
    disposition,
    exposure_summary,
    findings_by_rule,
    protocol_deviation_listing,
    recruitment,
    visit_attendance,
)


@pytest.fixture
def adsl() -> pd.DataFrame:
    """Five subjects, two arms; S5 is not in ITT/safety."""
    return pd.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4", "S5"],
            "ARMCD": ["B", "A", "B", "A", "B"],
            "AGE": [30, 40, 50, 61, 70],
            "SEX": ["M", "F", "M", None, "M"],
            "ITTFL": ["Y", "Y", "Y", "Y", "N"],
            "SAFFL": ["Y", "Y", "Y", "N", "N"],
            "TRTSDT": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", None, None]),
            "EOSSTT": ["COMPLETED", "DISCONTINUED", "DISCONTINUED", "ONGOING", "COMPLETED"],
            "DCSREAS": [None, "ADVERSE EVENT", "WITHDRAWAL BY SUBJECT", None, None],
            "EOSDT": pd.to_datetime(["2024-06-01", "2024-02-01", "2024-03-01", None, None]),
            "MN_SESSIONS": [12, np.nan, 10, np.nan, 3],
            "DRUG_DAYS_MINOXIDIL": [0, 80, 0, 10, 0],
        }
    )


def _v(t: pd.DataFrame, **keys: str) -> float:
    m = pd.Series(True, index=t.index)
    for k, v in keys.items():
        m &= t[k] == v
    assert m.sum() == 1, keys
    return float(t.loc[m, "value"].iloc[0])


def test_baseline_continuous_and_categorical(adsl: pd.DataFrame) -> None:
    t = baseline_characteristics(adsl, continuous=("AGE",), categorical=("SEX",))
    assert list(t.columns) == COLUMNS
    assert _v(t, variable="Subjects", statistic="N", arm="Total") == 4
    assert _v(t, variable="AGE", statistic="mean", arm="A") == pytest.approx(50.5)
    assert _v(t, variable="AGE", statistic="sd", arm="B") == pytest.approx(np.std([30, 50], ddof=1))
    assert _v(t, variable="AGE", statistic="median", arm="Total") == pytest.approx(45.0)
    assert _v(t, variable="AGE", statistic="max", arm="Total") == 61
    assert _v(t, variable="SEX", level="M", statistic="n", arm="B") == 2
    assert _v(t, variable="SEX", level="Missing", statistic="pct", arm="A") == 50.0
    levels = list(dict.fromkeys(t.loc[t["variable"] == "SEX", "level"]))
    assert levels == ["F", "M", "Missing"]
    assert list(t["arm"].unique()) == ["A", "B", "Total"]


def test_baseline_of_parameters(adsl: pd.DataFrame) -> None:
    bds = pd.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S2", "S3", "S4"],
            "PARAMCD": "HAIRCNT",
            "ABLFL": ["Y", None, "Y", "Y", "Y"],
            "AVAL": [100.0, 130.0, 120.0, 140.0, 90.0],
        }
    )
    t = baseline_characteristics(adsl, bds, categorical=())
    assert _v(t, variable="HAIRCNT baseline", statistic="mean", arm="B") == 120.0
    assert _v(t, variable="HAIRCNT baseline", statistic="n", arm="Total") == 4


def test_baseline_pooled_equals_total_column(adsl: pd.DataFrame) -> None:
    pooled = baseline_characteristics(adsl, by_arm=False)
    split = baseline_characteristics(adsl)
    assert set(pooled["arm"]) == {"Total"}
    pd.testing.assert_frame_equal(
        pooled.reset_index(drop=True), split[split["arm"] == "Total"].reset_index(drop=True)
    )


def test_disposition(adsl: pd.DataFrame) -> None:
    t = disposition(adsl)
    assert _v(t, variable="Randomized", statistic="n", arm="Total") == 4
    assert _v(t, variable="Treated", statistic="n", arm="A") == 1
    assert _v(t, variable="Completed", statistic="n", arm="B") == 1
    assert _v(t, variable="Discontinued", level="", statistic="n", arm="Total") == 2
    assert _v(t, variable="Discontinued", level="ADVERSE EVENT", statistic="n", arm="A") == 1
    assert _v(t, variable="Discontinued", level="ADVERSE EVENT", statistic="pct", arm="A") == 50.0
    assert _v(t, variable="Ongoing", statistic="n", arm="A") == 1
    order = list(dict.fromkeys(t["variable"]))
    assert order == ["Randomized", "Treated", "Completed", "Discontinued", "Ongoing"]
    assert set(disposition(adsl, by_arm=False)["arm"]) == {"Total"}


def test_exposure(adsl: pd.DataFrame) -> None:
    t = exposure_summary(adsl)
    assert list(dict.fromkeys(t["variable"])) == ["Subjects", "MN_SESSIONS", "DRUG_DAYS_MINOXIDIL"]
    assert _v(t, variable="MN_SESSIONS", statistic="n", arm="A") == 0
    assert np.isnan(_v(t, variable="MN_SESSIONS", statistic="mean", arm="A"))
    assert _v(t, variable="MN_SESSIONS", statistic="mean", arm="B") == 11.0
    assert _v(t, variable="DRUG_DAYS_MINOXIDIL", statistic="max", arm="Total") == 80


def test_listings(adsl: pd.DataFrame) -> None:
    d = discontinuation_listing(adsl)
    assert list(d["USUBJID"]) == ["S2", "S3"] and "ARMCD" in d.columns
    assert "ARMCD" not in discontinuation_listing(adsl, by_arm=False).columns
    findings = pd.DataFrame(
        {
            "dataset": ["assessments", "exposure", "assessments"],
            "row": [5, 2, 1],
            "USUBJID": ["S3", "S2", "S1"],
            "rule": ["TK030", "TK031", "TK004"],
            "severity": ["warning", "warning", "error"],
            "message": ["outside window", "spacing", "range"],
        }
    )
    p = protocol_deviation_listing(findings, adsl)
    assert list(p["USUBJID"]) == ["S2", "S3"]
    assert list(p.columns[:4]) == ["dataset", "row", "USUBJID", "ARMCD"]
    p = protocol_deviation_listing(findings, adsl, by_arm=False, severity=("warning", "error"))
    assert list(p["USUBJID"]) == ["S1", "S2", "S3"] and "ARMCD" not in p.columns


def test_visit_attendance_counts_randomised_subjects_with_a_value(adsl: pd.DataFrame) -> None:
    bds = pd.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S2", "S3", "S5"],
            "PARAMCD": ["P", "P", "Q", "P", "P"],
            "AVISIT": ["W4", "W4", "W8", "W8", "W4"],
            "AVAL": [1.0, 2.0, 3.0, np.nan, 4.0],
        }
    )
    t = visit_attendance(adsl, bds, "P", ["W4", "W8"], by_arm=False)
    assert _v(t, variable="Subjects", statistic="N", arm="Total") == 4  # S5 is not ITT
    assert _v(t, variable="W4", statistic="n", arm="Total") == 2
    assert _v(t, variable="W4", statistic="pct", arm="Total") == 50.0
    assert _v(t, variable="W8", statistic="n", arm="Total") == 0  # missing value, other param
    assert set(t["arm"]) == {"Total"}


def test_recruitment_by_month_and_date_with_cumulative() -> None:
    adsl = pd.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4"],
            "SITEID": ["01", "02", "01", "01"],
            "RANDDT": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-03-02", "2024-03-02"]),
            "ITTFL": ["Y", "Y", "Y", "Y"],
        }
    )
    month = recruitment(adsl)
    assert list(month.columns) == ["period", "site", "n", "cumulative"]
    assert list(month["period"].unique()) == ["2024-01", "2024-03"]
    total = month[month["site"] == "Total"]
    assert total["n"].tolist() == [2, 2] and total["cumulative"].tolist() == [2, 4]
    site2 = month[month["site"] == "02"]
    assert site2["n"].tolist() == [1, 0] and site2["cumulative"].tolist() == [1, 1]
    dates = recruitment(adsl, period="date")
    assert (dates["n"] > 0).all()  # only the dates a site randomised on
    assert dates[dates["site"] == "Total"]["cumulative"].tolist() == [1, 2, 4]


def test_findings_by_rule_counts_per_dataset_and_rule() -> None:
    findings = pd.DataFrame(
        {
            "rule": ["TK2", "TK1", "TK1", "TK1"],
            "severity": ["error", "warning", "warning", "warning"],
            "dataset": ["subjects", "visits", "visits", "exposure"],
            "message": ["a", "b", "c", "d"],
        }
    )
    t = findings_by_rule(findings)
    assert list(t.columns) == ["rule", "severity", "dataset", "n", "rule_n"]
    assert t.values.tolist() == [
        ["TK1", "warning", "exposure", 1, 3],
        ["TK1", "warning", "visits", 2, 3],
        ["TK2", "error", "subjects", 1, 1],
    ]
