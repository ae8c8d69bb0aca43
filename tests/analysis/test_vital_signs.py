"""Vital signs tables on a hand-made ADVS with known answers (closed forms)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialkit.analysis.vital_signs import alerts, by_visit
from trialkit.definition import Parameter

SYSBP = Parameter(code="SYSBP", label="Systolic", kind="safety", alert_low=90, alert_high=160)
PULSE = Parameter(code="PULSE", label="Pulse", kind="safety", alert_high=100)  # no low limit
VISITS = ["BASELINE", "WEEK4", "WEEK8"]


@pytest.fixture
def adsl() -> pd.DataFrame:
    """S1, S2 in A, S3 in B (safety population); S4 (B) randomised but not treated."""
    return pd.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4"],
            "ARMCD": ["A", "A", "B", "B"],
            "SAFFL": ["Y", "Y", "Y", "N"],
            "ITTFL": ["Y", "Y", "Y", "Y"],
        }
    )


@pytest.fixture
def advs() -> pd.DataFrame:
    """SYSBP and PULSE by visit; a baseline below the limit (S2), a non-analysis record beyond
    it (S1, ANL01FL blank), an unwindowed record (AVISIT missing) and S4 (not SAFFL)."""
    rows = [
        # USUBJID, PARAMCD, AVISIT, AVAL, BASE, ABLFL, ANL01FL, ALRTIND
        ("S1", "SYSBP", "BASELINE", 120, 120, "Y", "Y", "NORMAL"),
        ("S1", "SYSBP", "WEEK4", 130, 120, "", "Y", "NORMAL"),
        ("S1", "SYSBP", "WEEK4", 170, 120, "", "", "HIGH"),  # not the analysis value
        ("S1", "SYSBP", "WEEK8", 165, 120, "", "Y", "HIGH"),
        ("S2", "SYSBP", "BASELINE", 85, 85, "Y", "Y", "LOW"),  # baseline: not an alert
        ("S2", "SYSBP", "WEEK4", 100, 85, "", "Y", "NORMAL"),
        ("S3", "SYSBP", "BASELINE", 140, 140, "Y", "Y", "NORMAL"),
        ("S3", "SYSBP", "WEEK4", 88, 140, "", "Y", "LOW"),
        ("S3", "SYSBP", "WEEK8", 150, 140, "", "Y", "NORMAL"),
        ("S3", "SYSBP", None, 80, 140, "", "", "LOW"),  # unwindowed
        ("S4", "SYSBP", "BASELINE", 110, 110, "Y", "Y", "NORMAL"),
        ("S4", "SYSBP", "WEEK4", 200, 110, "", "Y", "HIGH"),
        ("S1", "PULSE", "BASELINE", 70, 70, "Y", "Y", "NORMAL"),
        ("S1", "PULSE", "WEEK4", 105, 70, "", "Y", "HIGH"),
    ]
    cols = ["USUBJID", "PARAMCD", "AVISIT", "AVAL", "BASE", "ABLFL", "ANL01FL", "ALRTIND"]
    vs = pd.DataFrame(rows, columns=cols)
    vs["CHG"] = (vs["AVAL"] - vs["BASE"]).where(vs["ABLFL"] != "Y")
    vs["ARMCD"] = "WRONG"  # the arm comes from ADSL (as treated there), never from ADVS
    return vs.replace({"": None})


def _v(t: pd.DataFrame, **keys: str) -> float:
    m = pd.Series(True, index=t.index)
    for k, v in keys.items():
        m &= t[k] == v
    assert m.sum() == 1, keys
    return float(t.loc[m, "value"].iloc[0])


def test_by_visit_summaries(advs: pd.DataFrame, adsl: pd.DataFrame) -> None:
    t = by_visit(advs, adsl, [SYSBP, PULSE], VISITS, arms=["A", "B"])
    assert list(t.columns) == ["parameter", "visit", "variable", "statistic", "arm", "value"]
    assert _v(t, variable="Subjects", statistic="N", arm="A") == 2
    assert _v(t, variable="Subjects", statistic="N", arm="Total") == 3  # S4 not in SAFFL
    w4 = {"parameter": "SYSBP", "visit": "WEEK4"}
    # WEEK4 analysis values: A 130, 100; B 88 (S1's 170 is not the analysis value, S4 not SAFFL)
    assert _v(t, **w4, variable="AVAL", statistic="n", arm="A") == 2
    assert _v(t, **w4, variable="AVAL", statistic="mean", arm="A") == 115.0
    assert _v(t, **w4, variable="AVAL", statistic="sd", arm="A") == pytest.approx(
        np.std([130, 100], ddof=1)
    )
    assert np.isnan(_v(t, **w4, variable="AVAL", statistic="sd", arm="B"))  # one value
    assert _v(t, **w4, variable="AVAL", statistic="median", arm="Total") == 100.0
    assert _v(t, **w4, variable="AVAL", statistic="min", arm="Total") == 88.0
    assert _v(t, **w4, variable="AVAL", statistic="max", arm="Total") == 130.0
    # CHG: 10, 15 (A), -52 (B)
    assert _v(t, **w4, variable="CHG", statistic="mean", arm="A") == 12.5
    assert _v(t, **w4, variable="CHG", statistic="mean", arm="Total") == pytest.approx(-9.0)
    # no CHG row at baseline; a visit without values has n = 0
    base = t[(t["parameter"] == "SYSBP") & (t["visit"] == "BASELINE")]
    assert set(base["variable"]) == {"AVAL"}
    assert _v(t, parameter="PULSE", visit="WEEK8", variable="AVAL", statistic="n",
              arm="Total") == 0  # fmt: skip
    order = list(dict.fromkeys(zip(t["parameter"], t["visit"], strict=True)))[1:]
    assert order == [(p, v) for p in ("SYSBP", "PULSE") for v in VISITS]


def test_alerts_count_subjects_post_baseline(advs: pd.DataFrame, adsl: pd.DataFrame) -> None:
    t = alerts(advs, adsl, [SYSBP, PULSE], arms=["A", "B"])
    assert list(t.columns) == ["parameter", "variable", "limit", "statistic", "arm", "value"]
    sys_low = {"parameter": "SYSBP", "variable": "LOW"}
    # LOW: S3 at WEEK4 (S2's low baseline and S3's unwindowed value do not count)
    assert _v(t, **sys_low, statistic="n", arm="A") == 0
    assert _v(t, **sys_low, statistic="n", arm="B") == 1
    assert _v(t, **sys_low, statistic="N", arm="B") == 1
    assert _v(t, **sys_low, statistic="pct", arm="Total") == pytest.approx(100 / 3)
    sys_high = {"parameter": "SYSBP", "variable": "HIGH"}
    assert _v(t, **sys_high, statistic="n", arm="A") == 1  # S1 at WEEK8 (S4 not SAFFL)
    assert _v(t, **sys_high, statistic="N", arm="A") == 2
    assert _v(t, **sys_high, statistic="pct", arm="A") == 50.0
    assert _v(t, **sys_high, statistic="n", arm="Total") == 1
    assert set(t.loc[t["parameter"] == "SYSBP", "limit"]) == {90.0, 160.0}
    # PULSE has only a high limit: no LOW rows; N counts the subjects assessed after baseline
    pulse = t[t["parameter"] == "PULSE"]
    assert set(pulse["variable"]) == {"HIGH"}
    assert _v(pulse, statistic="N", arm="A") == 1 and _v(pulse, statistic="n", arm="A") == 1
    assert _v(pulse, statistic="N", arm="B") == 0 and np.isnan(_v(pulse, statistic="pct", arm="B"))


def test_pooled_tables_over_randomised_subjects(advs: pd.DataFrame, adsl: pd.DataFrame) -> None:
    """Pooled over arms in ITTFL: S4's high value counts, one Total column."""
    t = alerts(advs, adsl, [SYSBP], by_arm=False, population="ITTFL")
    assert set(t["arm"]) == {"Total"}
    assert _v(t, parameter="SYSBP", variable="HIGH", statistic="n", arm="Total") == 2
    assert _v(t, parameter="SYSBP", variable="HIGH", statistic="N", arm="Total") == 4
    s = by_visit(advs, adsl, [SYSBP], VISITS, by_arm=False, population="ITTFL")
    assert set(s["arm"]) == {"Total"}
    assert _v(s, parameter="SYSBP", visit="WEEK4", variable="AVAL", statistic="max",
              arm="Total") == 200.0  # fmt: skip


def test_inputs_not_mutated(advs: pd.DataFrame, adsl: pd.DataFrame) -> None:
    a, s = advs.copy(), adsl.copy()
    by_visit(advs, adsl, [SYSBP], VISITS)
    alerts(advs, adsl, [SYSBP])
    pd.testing.assert_frame_equal(advs, a)
    pd.testing.assert_frame_equal(adsl, s)
