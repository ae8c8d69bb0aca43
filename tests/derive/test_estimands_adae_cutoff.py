"""Estimand strategies, ADAE treatment-emergence, the cutoff, and purity (no input mutated)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.derive.conftest import assessments, day, definition, exposure, subjects
from tests.test_definition import aa_example
from trialkit.cutoff import CUTOFF_DATE_COLUMNS
from trialkit.datasets import DATE_COLUMNS, REQUIRED_COLUMNS
from trialkit.definition import Estimand, IntercurrentEvent, TrialDefinition, parse_definition
from trialkit.derive import (
    apply_cutoff,
    apply_estimand,
    composite_non_response,
    derive_adae,
    derive_adsl,
    derive_bds,
    describe_estimand,
)


@pytest.fixture
def ice_data(trial: TrialDefinition) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ADSL and BDS: A discontinues on day 60, B takes rescue medication from day 90."""
    s = subjects(
        {"USUBJID": "A", "EOSSTT": "DISCONTINUED", "EOSDT": day(60), "DCSREAS": "LOST"},
        {"USUBJID": "B"},
        {"USUBJID": "C"},
    )
    cm = pd.DataFrame(
        {"USUBJID": ["B"], "CMTRT": ["clobetasol"], "CMSTDT": [day(90)], "CMENDT": [pd.NaT],
         "CMRESCUE": ["Y"]}
    )  # fmt: skip
    rows = []
    for subject in "ABC":
        rows += [(subject, "BASELINE", 1, 100), (subject, "WEEK8", 57, 110)]
        rows += [(subject, "UNSCHEDULED", 60, 111), (subject, "WEEK12", 85, 120)]
        rows += [(subject, "UNSCHEDULED", 90, 121), (subject, "WEEK16", 113, 130)]
    a = assessments(*rows)
    ex = exposure(*({"USUBJID": i, "EXENDT": day(160)} for i in "ABC"))
    adsl = derive_adsl(trial, s, ex, a, cm=cm)
    return adsl, derive_bds(trial, a, adsl)


def strategies(disc: str, resc: str) -> Estimand:
    """An estimand with the given strategies for discontinuation and rescue medication."""
    return Estimand(
        (IntercurrentEvent("discontinuation", disc), IntercurrentEvent("rescue_medication", resc))
    )


def missing_days(out: pd.DataFrame, subject: str, bds: pd.DataFrame | None = None) -> list[int]:
    """Study days of the subject's records the estimand sets aside: flagged (ICEFL), out of
    the analysis (ANL01FL = N), their values as collected (issue 13: derived data never change
    collected values)."""
    rows = out[(out["USUBJID"] == subject) & out["ICEFL"].eq("Y")]
    assert rows["ANL01FL"].eq("N").all()
    if bds is not None:
        collected = bds.loc[rows.index]
        for col in ("AVAL", "CHG", "PCHG"):
            assert rows[col].equals(collected[col]), col
    return list(rows["ADY"])


def test_treatment_policy_keeps_all_values(ice_data) -> None:
    adsl, bds = ice_data
    out = apply_estimand(bds, adsl, strategies("treatment_policy", "treatment_policy"))
    assert out["ICEFL"].isna().all() and out["AVAL"].equals(bds["AVAL"])
    a = out[out["USUBJID"] == "A"]
    assert list(a.loc[a["DISCFL"].eq("Y"), "ADY"]) == [85, 90, 113]  # flagged, not removed
    b = out[out["USUBJID"] == "B"]
    assert list(b.loc[b["RESCFL"].eq("Y"), "ADY"]) == [113]


def test_hypothetical_discontinuation_sets_later_values_missing(ice_data) -> None:
    adsl, bds = ice_data
    out = apply_estimand(bds, adsl, strategies("hypothetical", "treatment_policy"))
    assert len(out) == len(bds)  # rows are kept
    assert missing_days(out, "A", bds) == [85, 90, 113]  # the value on day 60 itself is kept
    assert set(out.loc[out["ICEFL"].eq("Y"), "ICEREAS"]) == {"DISCONTINUATION"}
    assert missing_days(out, "B") == [] and missing_days(out, "C") == []


def test_hypothetical_rescue_sets_later_values_missing(ice_data) -> None:
    adsl, bds = ice_data
    out = apply_estimand(bds, adsl, strategies("treatment_policy", "hypothetical"))
    assert missing_days(out, "B") == [113]
    assert set(out.loc[out["ICEFL"].eq("Y"), "ICEREAS"]) == {"RESCUE_MEDICATION"}
    assert missing_days(out, "A") == []


def test_both_hypothetical_name_the_earliest_event(ice_data, trial) -> None:
    adsl, bds = ice_data
    adsl = adsl.assign(RESCDT=adsl["RESCDT"].where(adsl["USUBJID"] != "A", day(100)))
    out = apply_estimand(bds, adsl, strategies("hypothetical", "hypothetical"))
    a = out[(out["USUBJID"] == "A") & out["ICEFL"].eq("Y")]
    assert list(zip(a["ADY"], a["ICEREAS"], strict=True)) == [
        (85, "DISCONTINUATION"), (90, "DISCONTINUATION"), (113, "DISCONTINUATION")
    ]  # fmt: skip
    assert (out.loc[out["ABLFL"].eq("Y"), "AVAL"] == 100).all()  # baseline never touched


def test_estimand_default_is_treatment_policy(ice_data, trial) -> None:
    adsl, bds = ice_data
    out = apply_estimand(bds, adsl, trial.estimand)
    assert out["ICEFL"].isna().all()


def test_describe_estimand_in_words() -> None:
    trial = definition(
        estimand={
            "intercurrent_events": [{"event": "rescue_medication", "strategy": "hypothetical"}]
        }
    )
    text = describe_estimand(trial)
    assert "all randomised subjects" in text
    assert "change from baseline in Target-area hair count" in text and "WEEK24" in text
    assert "treatment discontinuation: treatment policy" in text
    assert "use of rescue medication: hypothetical" in text
    assert "difference in least-squares means" in text and "5% minoxidil" in text


def test_composite_strategy_keeps_values_and_names_the_non_responses(ice_data) -> None:
    """non_response sets nothing missing; the records after its event (A after discontinuing on
    day 60) are the non-responses, those after a treatment-policy event (B's rescue) are not."""
    adsl, bds = ice_data
    est = strategies("non_response", "treatment_policy")
    out = apply_estimand(bds, adsl, est)
    assert out["ICEFL"].isna().all() and out["AVAL"].equals(bds["AVAL"])
    nr = composite_non_response(out, est)
    assert sorted(out.loc[nr, "ADY"]) == [85, 90, 113] and set(out.loc[nr, "USUBJID"]) == {"A"}
    assert not composite_non_response(out, strategies("treatment_policy", "hypothetical")).any()


def test_describe_a_binary_primary_estimand() -> None:
    """A responder primary is worded as a response, its comparisons and the risk difference."""
    data = aa_example()
    data["estimand"] = {
        "intercurrent_events": [{"event": "discontinuation", "strategy": "non_response"}]
    }
    text = describe_estimand(parse_definition(data))
    assert "Variable: response (AVAL <= 20) in Severity of Alopecia Tool score (%)" in text
    assert "Microneedling + PRP versus Microneedling + 5% minoxidil" in text
    assert "treatment discontinuation: composite (a subject whose assessment" in text
    assert "difference in the proportion of responders" in text and "logistic" in text
    assert "least-squares" not in text


def adae_case(aestdt: pd.Timestamp | None, lag: int = 30) -> str | None:
    """TRTEMFL of one AE starting on ``aestdt`` (treatment from day 5 to day 100)."""
    trial = definition()
    s = subjects({"USUBJID": "A"})
    ex = exposure({"USUBJID": "A", "EXSTDT": day(5), "EXENDT": day(100)})
    adsl = derive_adsl(trial, s, ex, assessments(("A", "BASELINE", 1, 100)))
    ae = pd.DataFrame(
        {"USUBJID": ["A"], "AETERM": ["redness"], "AEDECOD": ["Erythema"],
         "AEBODSYS": ["Skin"], "AESTDT": [aestdt], "AEENDT": [pd.NaT], "AESEV": ["moderate"],
         "AEREL": ["RELATED"], "AESER": ["N"]}
    ).astype({"AESTDT": "datetime64[ns]", "AEENDT": "datetime64[ns]"})  # fmt: skip
    out = derive_adae(ae, adsl, lag)
    assert out.loc[0, "ASEVN"] == 2 and out.loc[0, "ARMCD"] == "MINOX"
    value = out.loc[0, "TRTEMFL"]
    return None if pd.isna(value) else str(value)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (day(4), None),  # the day before first dose
        (day(5), "Y"),  # the day of TRTSDT
        (day(130), "Y"),  # TRTEDT + 30
        (day(131), None),  # TRTEDT + 31
        (None, "Y"),  # unknown start in a treated subject: conservative
    ],
)
def test_treatment_emergent_boundaries(start: pd.Timestamp | None, expected: str | None) -> None:
    assert adae_case(start) == expected


def test_adae_lag_zero() -> None:
    assert adae_case(day(100), lag=0) == "Y" and adae_case(day(101), lag=0) is None


def test_apply_cutoff_counts_and_ongoing_subjects() -> None:
    s = subjects(
        {"USUBJID": "A", "EOSDT": day(170)},
        {"USUBJID": "B", "EOSSTT": "DISCONTINUED", "EOSDT": day(40), "DCSREAS": "LOST"},
        {"USUBJID": "C", "RANDDT": day(80), "EOSDT": pd.NaT, "EOSSTT": "ONGOING"},
    )
    ex = exposure(
        {"USUBJID": "A", "EXENDT": day(160)},
        {"USUBJID": "A", "EXTRT": "microneedling", "EXSTDT": day(70), "EXENDT": day(70)},
        {"USUBJID": "C", "EXSTDT": day(80), "EXENDT": day(90)},
    )
    a = assessments(("A", "BASELINE", 1, 1), ("A", "WEEK8", 57, 2), ("A", "WEEK12", 85, 3))
    frames = {"subjects": s, "exposure": ex, "assessments": a}
    out, counts = apply_cutoff(frames, "2024-03-01")  # study day 61
    assert counts == {"subjects": 1, "exposure": 2, "assessments": 1}
    subj = out["subjects"].set_index("USUBJID")
    assert list(subj.index) == ["A", "B"]
    assert subj.loc["A", "EOSSTT"] == "ONGOING" and pd.isna(subj.loc["A", "EOSDT"])
    assert subj.loc["B", "EOSSTT"] == "DISCONTINUED"  # ended before the cutoff
    assert out["exposure"]["EXENDT"].max() == pd.Timestamp("2024-03-01")  # clipped
    same, zero = apply_cutoff(frames, None)
    assert zero == {"subjects": 0, "exposure": 0, "assessments": 0}
    assert same["subjects"] is not s and same["subjects"].equals(s)


def test_apply_cutoff_cuts_vital_signs() -> None:
    """Vital signs go like assessments: after the cutoff, or of a subject randomised after it."""
    s = subjects({"USUBJID": "A"}, {"USUBJID": "C", "RANDDT": day(80)})
    vs = assessments(("A", "BASELINE", 1, 120), ("A", "WEEK8", 57, 125), ("C", "BASELINE", 55, 118))
    out, counts = apply_cutoff({"subjects": s, "vital_signs": vs.assign(PARAMCD="SYSBP")}, day(50))
    assert counts == {"subjects": 1, "vital_signs": 2}
    kept = out["vital_signs"]
    assert list(zip(kept.USUBJID, kept.VISIT, strict=True)) == [("A", "BASELINE")]


def test_every_collected_dataset_has_a_cutoff_date() -> None:
    """The cutoff rule's table covers every dataset a trial folder may hold, so none is kept
    whole by omission."""
    assert set(CUTOFF_DATE_COLUMNS) == set(REQUIRED_COLUMNS)
    for name, column in CUTOFF_DATE_COLUMNS.items():
        assert column in DATE_COLUMNS[name], name


def test_adsl_with_cutoff_drops_late_randomised_and_sets_ongoing(trial) -> None:
    s = subjects({"USUBJID": "A"}, {"USUBJID": "C", "RANDDT": day(80)})
    ex = exposure({"USUBJID": "A", "EXENDT": day(160)}, {"USUBJID": "C", "EXSTDT": day(80)})
    a = assessments(("A", "BASELINE", 1, 1), ("C", "BASELINE", 80, 2))
    adsl = derive_adsl(trial, s, ex, a, cutoff=day(61))
    assert list(adsl["USUBJID"]) == ["A"]
    assert adsl.loc[0, "EOSSTT"] == "ONGOING" and adsl.loc[0, "TRTEDT"] == day(61)


def test_no_input_is_mutated(trial, ice_data) -> None:
    s = subjects({"USUBJID": "A", "EOSSTT": "DISCONTINUED", "EOSDT": day(90), "DCSREAS": "X"})
    ex = exposure({"USUBJID": "A", "EXENDT": day(160)})
    a = assessments(("A", "BASELINE", 1, 0), ("A", "WEEK4", 29, 5), ("A", "WEEK24", 169, 6))
    cm = pd.DataFrame(
        {"USUBJID": ["A"], "CMTRT": ["x"], "CMSTDT": [day(10)], "CMENDT": [day(200)],
         "CMRESCUE": ["Y"]}
    )  # fmt: skip
    ae = pd.DataFrame(
        {"USUBJID": ["A"], "AETERM": ["r"], "AEDECOD": ["E"], "AEBODSYS": ["S"],
         "AESTDT": [day(5)], "AEENDT": [day(200)], "AESEV": ["MILD"], "AEREL": ["N"],
         "AESER": ["N"]}
    )  # fmt: skip
    inputs = {"s": s, "ex": ex, "a": a, "cm": cm, "ae": ae}
    before = {k: v.copy(deep=True) for k, v in inputs.items()}
    adsl = derive_adsl(trial, s, ex, a, cm=cm, cutoff=day(100))
    adsl_before = adsl.copy(deep=True)
    bds = derive_bds(trial, a, adsl, cutoff=day(100))
    bds_before = bds.copy(deep=True)
    apply_estimand(bds, adsl, strategies("hypothetical", "hypothetical"))
    derive_adae(ae, adsl, 30, cutoff=day(100))
    apply_cutoff({"subjects": s, "exposure": ex, "assessments": a}, day(50))
    for key, frame in inputs.items():
        pd.testing.assert_frame_equal(frame, before[key], obj=key)
    pd.testing.assert_frame_equal(adsl, adsl_before)
    pd.testing.assert_frame_equal(bds, bds_before)
