"""Responder rule (exact arithmetic), Newcombe CIs, logistic odds ratios against R."""

from __future__ import annotations

import json
from fractions import Fraction
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialkit.errors import ModelSpecificationError
from trialkit.estimators.responders import (
    is_responder,
    newcombe_difference,
    responder_analysis,
    responder_flags,
    responders_exact,
    wilson_interval,
)

FIX = Path(__file__).parents[1] / "fixtures" / "secondary"


def test_integer_boundary_is_a_responder() -> None:
    # AVAL*100 == BASE*120 exactly: responder; one hair fewer: not
    assert is_responder(120, 100, 20, "higher")
    assert not is_responder(119, 100, 20, "higher")
    assert is_responder(std := 150 * 120 // 100, 150, 20, "higher") and std == 180
    assert not is_responder(179, 150, 20, "higher")
    # floats that are integral are compared as ints
    assert is_responder(120.0, 100.0, 20, "higher")


def test_decimal_values_compared_exactly() -> None:
    # 1.15 / 1.0 is exactly +15% as a decimal, but in binary floats 1.15 * 100 < 115
    assert not 1.15 * 100 >= 1.0 * (100 + 15)  # the float trap the exact rule avoids
    assert is_responder(1.15, 1.0, 15, "higher")
    assert is_responder(1.2, 1.0, 20, "higher")
    assert not is_responder(1.19, 1.0, 20, "higher")
    assert is_responder(0.7, 1.0, 30, "lower")
    assert is_responder(Fraction(6, 5), 1, 20, "higher")


def test_lower_is_better_boundary() -> None:
    assert is_responder(80, 100, 20, "lower")
    assert not is_responder(81, 100, 20, "lower")


def test_base_zero_rule() -> None:
    assert is_responder(1, 0, 20, "higher")
    assert not is_responder(0, 0, 20, "higher")
    assert not is_responder(0, 0, 20, "lower")
    with pytest.raises(ModelSpecificationError):
        is_responder(5, -1, 20, "higher")


def test_vectorised_rule_matches_the_scalar_rule() -> None:
    aval = np.array([120, 119, 0, 1, 1.15, 1.19, 80, 81, 0.7, 3e20, 2.0**62])
    base = np.array([100, 100, 0, 0, 1.0, 1.0, 100, 100, 1.0, 2.5e20, 1])
    for threshold in (20, 15, Fraction(25, 2), 0):
        for direction in ("higher", "lower"):
            expected = [
                is_responder(a, b, threshold, direction) for a, b in zip(aval, base, strict=True)
            ]
            got = responders_exact(aval, base, threshold, direction)
            assert got.tolist() == expected, (threshold, direction)


def test_newcombe_1998_table_ii() -> None:
    d, lo, hi = newcombe_difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert round(lo, 4) == 0.0524 and round(hi, 4) == 0.3339
    # Newcombe 1998 Table II, method 10: 9/10 vs 3/10 -> 0.1705 to 0.8090
    _, lo, hi = newcombe_difference(9, 10, 3, 10)
    assert round(lo, 4) == 0.1705 and round(hi, 4) == 0.8090


def test_wilson_edges() -> None:
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert np.isnan(wilson_interval(0, 0)[0])


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    subjects = pd.DataFrame(
        {"USUBJID": ["A", "B", "C", "D", "E"], "ARMCD": ["R", "R", "T", "T", "T"]}
    )
    rows = []
    for s, base, aval, disc in [
        ("A", 100, 120, None),
        ("B", 100, 119, None),
        ("C", 0, 3, None),
        ("D", 50, 90, "2024-01-10"),
    ]:
        rows.append(
            {
                "USUBJID": s,
                "PARAMCD": "HC",
                "AVISIT": "BL",
                "ABLFL": "Y",
                "AVAL": base,
                "BASE": base,
                "ADT": "2024-01-01",
                "DISCDT": disc,
                "ANL01FL": "Y",
            }
        )
        rows.append(
            {
                "USUBJID": s,
                "PARAMCD": "HC",
                "AVISIT": "W12",
                "ABLFL": None,
                "AVAL": aval,
                "BASE": base,
                "ADT": "2024-03-01",
                "DISCDT": disc,
                "ANL01FL": "Y",
            }
        )
    bds = pd.DataFrame(rows)
    bds["ARMCD"] = bds["USUBJID"].map(subjects.set_index("USUBJID")["ARMCD"])
    return bds, subjects


def test_flags_missing_and_intercurrent_events() -> None:
    bds, subjects = _frames()
    flags = partial(responder_flags, bds, subjects, param="HC", visit="W12", threshold=20)
    f = flags()
    assert list(f["RESPFL"]) == ["Y", "N", "Y", "Y", "N"]
    assert list(f["REASON"]) == ["met", "not met", "base zero", "met", "missing"]
    f = flags(intercurrent={"DISCDT": "non_response"})
    assert f.set_index("USUBJID").at["D", "REASON"] == "intercurrent event"
    assert f.set_index("USUBJID").at["D", "RESPFL"] == "N"
    f = flags(intercurrent={"DISCDT": "treatment_policy"})
    assert f.set_index("USUBJID").at["D", "RESPFL"] == "Y"
    f = flags(intercurrent={"DISCDT": "hypothetical"}, missing="exclude")
    assert f["RESPFL"].isna().tolist() == [False, False, False, True, True]
    with pytest.raises(ModelSpecificationError):
        flags(intercurrent={"DISCDT": "ignore"})


def test_event_on_the_assessment_day_is_not_before_it() -> None:
    """Same convention as apply_estimand: a value taken on the event's day precedes the event."""
    bds, subjects = _frames()
    same_day = bds.assign(DISCDT=bds["DISCDT"].where(bds["USUBJID"] != "D", "2024-03-01"))
    day_after = bds.assign(DISCDT=bds["DISCDT"].where(bds["USUBJID"] != "D", "2024-02-29"))
    for frame, expected in ((same_day, ("Y", "met")), (day_after, ("N", "intercurrent event"))):
        f = responder_flags(
            frame, subjects, param="HC", visit="W12", threshold=20,
            intercurrent={"DISCDT": "hypothetical"},
        ).set_index("USUBJID")  # fmt: skip
        assert (f.at["D", "RESPFL"], f.at["D", "REASON"]) == expected


def test_analysis_matches_r() -> None:
    ref = json.loads((FIX / "r_reference.json").read_text())["responders"]
    bds = pd.read_csv(FIX / "bds.csv")
    adsl = pd.read_csv(FIX / "adsl.csv")
    f = responder_flags(bds, adsl, param="HAIRCNT", visit="WEEK12", threshold=20)
    exp_flags = {r["USUBJID"]: r["RESP"] for r in ref["flags"]}
    assert {u: int(v == "Y") for u, v in zip(f["USUBJID"], f["RESPFL"], strict=True)} == exp_flags
    r = responder_analysis(f, reference="MINOX")
    assert list(r.proportions["arm"]) == ["MINOX", "MINOX_MN", "MN_PRP"]
    assert (
        dict(zip(r.proportions["arm"], r.proportions["responders"], strict=True))
        == ref["responders"]
    )
    for key in ("estimate", "lower", "upper"):
        np.testing.assert_allclose(
            r.differences[key], [d[key] for d in ref["differences"]], rtol=1e-10
        )
    for key in ("estimate", "se", "p_value"):
        np.testing.assert_allclose(
            r.odds_ratios[key], [d[key] for d in ref["odds_ratios"]], rtol=1e-6
        )
    np.testing.assert_allclose(
        r.odds_ratios["odds_ratio"], np.exp([d["estimate"] for d in ref["odds_ratios"]]), rtol=1e-6
    )


def test_odds_ratio_nan_when_an_arm_has_no_responder() -> None:
    f = pd.DataFrame(
        {
            "USUBJID": list("abcd"),
            "ARMCD": ["R", "R", "T", "T"],
            "BASE": [1.0, 2, 3, 4],
            "RESPFL": ["N", "N", "Y", "N"],
        }
    )
    r = responder_analysis(f, reference="R")
    assert r.odds_ratios["odds_ratio"].isna().all()
    assert r.differences["estimate"].iloc[0] == pytest.approx(0.5)
