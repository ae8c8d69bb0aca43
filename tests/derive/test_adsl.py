"""ADSL: actual arm, treatment dates, exposure summaries, populations, PP reasons, pooling."""

from __future__ import annotations

import tomllib
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.derive.conftest import FIXTURE, assessments, day, definition, exposure, subjects
from trialkit.definition import TrialDefinition, parse_definition
from trialkit.derive import derive_adsl, planned_sessions, pool_sites
from trialkit.errors import DatasetError


def weekly_mn(subject: str, n: int, depth: float = 1.0) -> list[dict[str, Any]]:
    """``n`` weekly microneedling sessions from day 1."""
    return [
        {"USUBJID": subject, "EXTRT": "microneedling", "EXSTDT": day(1 + 7 * k),
         "EXENDT": day(1 + 7 * k), "NEEDLE_DEPTH_MM": depth}
        for k in range(n)
    ]  # fmt: skip


def full_data(subject: str) -> pd.DataFrame:
    """A baseline and a WEEK24 hair count for ``subject``."""
    return assessments((subject, "BASELINE", 1, 100), (subject, "WEEK24", 169, 130))


def by_subject(adsl: pd.DataFrame, col: str) -> dict[str, Any]:
    """``col`` of ADSL keyed by USUBJID."""
    return dict(zip(adsl["USUBJID"], adsl[col], strict=True))


def test_planned_sessions_from_interval_or_sessions(trial: TrialDefinition) -> None:
    assert planned_sessions(trial, trial.arm("MINOX_MN"), "microneedling") == 24  # days 1..162
    assert planned_sessions(trial, trial.arm("MN_PRP"), "prp") == 6  # days 1..141
    assert planned_sessions(trial, trial.arm("MINOX"), "microneedling") == 0
    data = definition()
    arms = list(data.arms)
    assert arms  # the example's MN_PRP arm with sessions = 4 set
    import tomllib

    from tests.derive.conftest import FIXTURE
    from trialkit.definition import parse_definition

    raw = tomllib.loads(FIXTURE.read_text())
    raw["arms"][2]["components"][1]["sessions"] = 4
    d = parse_definition(raw)
    assert planned_sessions(d, d.arm("MN_PRP"), "prp") == 4


def test_treatment_dates_and_exposure_summaries(trial: TrialDefinition) -> None:
    s = subjects({"USUBJID": "A", "ARMCD": "MN_PRP"})
    ex = exposure(
        {"USUBJID": "A", "EXTRT": "microneedling", "EXSTDT": day(3), "EXENDT": pd.NaT,
         "NEEDLE_DEPTH_MM": 1.0},
        {"USUBJID": "A", "EXTRT": "Microneedling", "EXSTDT": day(31), "EXENDT": pd.NaT,
         "NEEDLE_DEPTH_MM": 2.0},
        {"USUBJID": "A", "EXTRT": "prp", "EXSTDT": day(3), "EXENDT": day(3), "VOLUME_ML": 4.0},
        {"USUBJID": "A", "EXTRT": "PRP", "EXSTDT": day(31), "EXENDT": day(31), "VOLUME_ML": 5.0},
    )  # fmt: skip
    adsl = derive_adsl(trial, s, ex, full_data("A"))
    r = adsl.iloc[0]
    assert r["TRTSDT"] == day(3) and r["TRTEDT"] == day(31)  # EXENDT missing: EXSTDT counts
    assert r["MN_SESSIONS"] == 2 and r["PRP_SESSIONS"] == 2
    assert r["PLANNED_MN_SESSIONS"] == 6 and r["PLANNED_PRP_SESSIONS"] == 6
    assert r["MEAN_NEEDLE_DEPTH"] == 1.5 and r["MAX_NEEDLE_DEPTH"] == 2.0
    assert r["PRP_VOLUME_TOTAL"] == 9.0
    assert r["DRUG_DAYS_MINOXIDIL"] == 0
    assert r["ACTARMCD"] == "MN_PRP" and r["ACTARMFL"] == "N" and r["ARM"] == "Microneedling + PRP"


def test_drug_days_sum_dispensing_periods_and_trtedt_is_last_end(trial: TrialDefinition) -> None:
    s = subjects({"USUBJID": "A"})
    ex = exposure(
        {"USUBJID": "A", "EXSTDT": day(1), "EXENDT": day(28)},
        {"USUBJID": "A", "EXSTDT": day(29), "EXENDT": day(84)},
    )
    r = derive_adsl(trial, s, ex, full_data("A")).iloc[0]
    assert r["DRUG_DAYS_MINOXIDIL"] == 84 and r["TRTEDT"] == day(84)


def test_actual_arm_matches_treatments_received_or_keeps_randomised(trial) -> None:
    s = subjects(
        {"USUBJID": "A", "ARMCD": "MINOX_MN"},  # only minoxidil given: actually MINOX
        {"USUBJID": "B", "ARMCD": "MINOX"},  # finasteride given: no arm matches
        {"USUBJID": "C", "ARMCD": "MINOX"},  # no exposure at all
    )
    ex = exposure({"USUBJID": "A"}, {"USUBJID": "B"}, {"USUBJID": "B", "EXTRT": "finasteride"})
    adsl = derive_adsl(trial, s, ex, pd.concat([full_data(i) for i in "ABC"]))
    assert by_subject(adsl, "ACTARMCD") == {"A": "MINOX", "B": "MINOX", "C": "MINOX"}
    assert by_subject(adsl, "ACTARMFL") == {"A": "N", "B": "Y", "C": "Y"}
    assert by_subject(adsl, "SAFFL") == {"A": "Y", "B": "Y", "C": "N"}
    assert by_subject(adsl, "PPREASON")["A"] == "TOO_FEW_SESSIONS"  # 0 of 24 MN sessions
    assert by_subject(adsl, "PPREASON")["B"] == "NOT_TREATED_AS_RANDOMISED"


@pytest.mark.parametrize(
    ("age", "group"), [(18, "<40"), (39, "<40"), (40, "40-64"), (64, "40-64"), (65, ">=65")]
)
def test_age_groups(trial: TrialDefinition, age: int, group: str) -> None:
    s = subjects({"USUBJID": "A", "AGE": age})
    adsl = derive_adsl(trial, s, exposure({"USUBJID": "A"}), full_data("A"))
    assert adsl.loc[0, "AGEGR1"] == group


def test_itt_mitt_saf_flags(trial: TrialDefinition) -> None:
    s = subjects(
        {"USUBJID": "A"},
        {"USUBJID": "B", "RANDDT": pd.NaT, "ARMCD": None},  # screened, not randomised
        {"USUBJID": "C"},  # baseline only
    )
    ex = exposure({"USUBJID": "A"}, {"USUBJID": "C"})
    a = pd.concat([full_data("A"), assessments(("C", "BASELINE", 1, 100))])
    adsl = derive_adsl(trial, s, ex, a)
    assert by_subject(adsl, "ITTFL") == {"A": "Y", "B": "N", "C": "Y"}
    assert by_subject(adsl, "MITTFL") == {"A": "Y", "B": "N", "C": "N"}
    assert by_subject(adsl, "SAFFL") == {"A": "Y", "B": "N", "C": "Y"}
    assert by_subject(adsl, "PPREASON")["B"] == "NOT_RANDOMISED"


def test_mitt_needs_the_primary_parameter(trial: TrialDefinition) -> None:
    s = subjects({"USUBJID": "A"})
    a = pd.concat([full_data("A").assign(PARAMCD="OTHER")])
    adsl = derive_adsl(trial, s, exposure({"USUBJID": "A"}), a)
    assert adsl.loc[0, "MITTFL"] == "N"


def pp_case(trial: TrialDefinition, n_sessions: int, depth: float, primary: bool) -> pd.Series:
    """ADSL row of a MINOX_MN subject with the given sessions, needle depth, WEEK24 value."""
    s = subjects({"USUBJID": "A", "ARMCD": "MINOX_MN"})
    ex = exposure({"USUBJID": "A", "EXENDT": day(160)}, *weekly_mn("A", n_sessions, depth))
    a = full_data("A") if primary else assessments(("A", "BASELINE", 1, 100), ("A", "WEEK4", 29, 9))
    return derive_adsl(trial, s, ex, a).iloc[0]


def test_per_protocol_each_criterion(trial: TrialDefinition) -> None:
    ok = pp_case(trial, 20, 1.0, True)  # 20 >= 0.8 * 24 = 19.2
    assert ok["PPROTFL"] == "Y" and pd.isna(ok["PPREASON"])
    few = pp_case(trial, 19, 1.0, True)
    assert few["PPROTFL"] == "N" and few["PPREASON"] == "TOO_FEW_SESSIONS"
    deep = pp_case(trial, 20, 1.6, True)  # range 0.5-1.5 mm
    assert deep["PPREASON"] == "EXPOSURE_OUTSIDE_PROTOCOL"
    no_primary = pp_case(trial, 20, 1.0, False)
    assert no_primary["PPREASON"] == "NO_PRIMARY_VISIT_VALUE"
    both = pp_case(trial, 10, 2.0, False)
    assert both["PPREASON"] == "TOO_FEW_SESSIONS"  # the first failed criterion is named


def test_per_protocol_criteria_can_be_switched_off() -> None:
    trial = definition(
        per_protocol={
            "min_session_share": 0.4,
            "exposure_within_protocol": False,
            "require_primary_visit": False,
        }
    )
    r = pp_case(trial, 10, 2.0, False)
    assert r["PPROTFL"] == "Y" and pd.isna(r["PPREASON"])


def test_prp_volume_outside_range_fails_per_protocol(trial: TrialDefinition) -> None:
    s = subjects({"USUBJID": "A", "ARMCD": "MN_PRP"})
    rows = []
    for k in range(6):
        when = {"USUBJID": "A", "EXSTDT": day(1 + 28 * k), "EXENDT": day(1 + 28 * k)}
        rows.append({**when, "EXTRT": "microneedling", "NEEDLE_DEPTH_MM": 1.5})
        rows.append({**when, "EXTRT": "prp", "VOLUME_ML": 7.0 if k == 3 else 4.0})
    adsl = derive_adsl(trial, s, exposure(*rows), full_data("A"))
    assert adsl.loc[0, "PPREASON"] == "EXPOSURE_OUTSIDE_PROTOCOL"


def test_ice_dates(trial: TrialDefinition) -> None:
    s = subjects(
        {"USUBJID": "A", "EOSSTT": "DISCONTINUED", "EOSDT": day(60), "DCSREAS": "ADVERSE EVENT"},
        {"USUBJID": "B"},
    )
    cm = pd.DataFrame(
        {
            "USUBJID": ["B", "B", "B"],
            "CMTRT": ["ibuprofen", "ketoconazole", "clobetasol"],
            "CMSTDT": [day(10), day(90), day(70)],
            "CMENDT": [day(12), pd.NaT, pd.NaT],
            "CMRESCUE": ["N", "Y", "y"],
        }
    )
    ex = exposure({"USUBJID": "A"}, {"USUBJID": "B"})
    adsl = derive_adsl(trial, s, ex, pd.concat([full_data("A"), full_data("B")]), cm=cm)
    assert by_subject(adsl, "DISCDT")["A"] == day(60) and pd.isna(by_subject(adsl, "DISCDT")["B"])
    assert by_subject(adsl, "RESCDT")["B"] == day(70) and pd.isna(by_subject(adsl, "RESCDT")["A"])
    no_cm = derive_adsl(trial, s, ex, full_data("A"))
    assert no_cm["RESCDT"].isna().all() and no_cm["RESCDT"].dtype == "datetime64[ns]"


def test_site_pooling_rules() -> None:
    site = pd.Series(["S1"] * 5 + ["S2"] * 4 + ["S3", "S4"])
    rand = np.ones(len(site), dtype=bool)
    pooled = pool_sites(site, rand, 3)
    assert list(pooled[-2:]) == ["S2", "S2"]  # pooled group (2) < 3: joins the smallest site S2
    assert list(pooled[:9]) == ["S1"] * 5 + ["S2"] * 4
    site2 = pd.Series(["S1"] * 5 + ["S3", "S3", "S4", "S4"])
    assert list(pool_sites(site2, np.ones(9, dtype=bool), 3)[-4:]) == ["POOLED"] * 4
    assert list(pool_sites(site2, np.ones(9, dtype=bool), None)) == list(site2)
    assert set(pool_sites(site2, np.ones(9, dtype=bool), 10)) == {"POOLED"}  # all small
    not_rand = np.array([True] * 5 + [False] * 4)  # only randomised subjects count
    assert set(pool_sites(site2, not_rand, 1)[-4:]) == {"S1"}  # empty pool joins S1


def test_site_pooling_in_adsl() -> None:
    trial = definition(analysis={"pool_sites_min_size": 2})
    s = subjects(
        {"USUBJID": "A", "SITEID": "S1"}, {"USUBJID": "B", "SITEID": "S1"},
        {"USUBJID": "C", "SITEID": "S2"}, {"USUBJID": "D", "SITEID": "S3"},
    )  # fmt: skip
    adsl = derive_adsl(trial, s, exposure(), pd.concat([full_data(i) for i in "ABCD"]))
    assert by_subject(adsl, "SITEGR1") == {"A": "S1", "B": "S1", "C": "POOLED", "D": "POOLED"}


def test_strata_must_exist() -> None:
    trial = definition(analysis={"strata": ["SEVERITY", "NORWOOD"]})
    s = subjects({"USUBJID": "A"})
    with pytest.raises(DatasetError, match="NORWOOD"):
        derive_adsl(trial, s, exposure({"USUBJID": "A"}), full_data("A"))
    ok = derive_adsl(trial, s.assign(NORWOOD="IV"), exposure({"USUBJID": "A"}), full_data("A"))
    assert ok.loc[0, "NORWOOD"] == "IV"


def test_duplicate_subject_is_refused(trial: TrialDefinition) -> None:
    s = subjects({"USUBJID": "A"}, {"USUBJID": "A"})
    with pytest.raises(DatasetError, match="'A'"):
        derive_adsl(trial, s, exposure(), full_data("A"))


def test_wrong_treatment_keeps_itt_as_randomised_and_safety_as_treated(
    trial: TrialDefinition,
) -> None:
    """A dispensing error (TK033) is a deviation: ITT by ARMCD, safety by what was received."""
    mn_prp = [
        *weekly_mn("A", 2, depth=1.5),
        {"USUBJID": "A", "EXTRT": "prp", "VOLUME_ML": 4.0},
    ]
    adsl = derive_adsl(
        trial,
        subjects({"USUBJID": "A", "ARMCD": "MINOX"}, {"USUBJID": "B", "ARMCD": "MINOX"}),
        exposure(*mn_prp, {"USUBJID": "B"}),
        pd.concat([full_data("A"), full_data("B")], ignore_index=True),
    )
    a = adsl.set_index("USUBJID").loc["A"]
    assert (a["ARMCD"], a["ITTFL"]) == ("MINOX", "Y")
    assert (a["ACTARMCD"], a["ACTARMFL"], a["SAFFL"]) == ("MN_PRP", "N", "Y")
    assert (a["PPROTFL"], a["PPREASON"]) == ("N", "NOT_TREATED_AS_RANDOMISED")
    b = adsl.set_index("USUBJID").loc["B"]
    assert (b["ACTARMCD"], b["PPROTFL"]) == ("MINOX", "Y")


def _control_trial() -> TrialDefinition:
    """Vehicle + sham microneedling against microneedling + saline, and an oral `other` drug."""
    data = tomllib.loads(FIXTURE.read_text())
    data["arms"][0]["components"] = [
        {"treatment": "vehicle", "matches": "minoxidil"},
        {"treatment": "sham_microneedling", "interval_days": 28},
    ]
    data["arms"][2]["components"] = [
        {
            "treatment": "saline_injection",
            "volume_ml": [2.0, 4.0],
            "interval_days": 28,
            "sessions": 1,
        },
        {"treatment": "other", "name": "baricitinib", "dose_mg": 4, "route": "oral"},
    ]
    return parse_definition(data)


def test_new_kinds_follow_the_registry() -> None:
    """Sessions of sham and saline, days of an `other` drug, the saline volume range for PP."""
    d = _control_trial()
    rows = [
        {"USUBJID": "C", "EXTRT": "vehicle", "EXENDT": day(84)},
        {"USUBJID": "C", "EXTRT": "sham_microneedling"},
        {"USUBJID": "C", "EXTRT": "sham_microneedling", "EXSTDT": day(29), "EXENDT": day(29)},
        {"USUBJID": "S", "EXTRT": "saline_injection", "VOLUME_ML": 5.0},
        {"USUBJID": "S", "EXTRT": "baricitinib", "EXENDT": day(10)},
    ]
    adsl = derive_adsl(
        d,
        subjects({"USUBJID": "C", "ARMCD": "MINOX"}, {"USUBJID": "S", "ARMCD": "MN_PRP"}),
        exposure(*rows),
        pd.concat([full_data("C"), full_data("S")], ignore_index=True),
    ).set_index("USUBJID")
    assert adsl.loc["C", "SHAM_MN_SESSIONS"] == 2 and adsl.loc["C", "PLANNED_SHAM_MN_SESSIONS"] == 6
    assert adsl.loc["S", "SALINE_SESSIONS"] == 1 and adsl.loc["S", "DRUG_DAYS_BARICITINIB"] == 10
    assert adsl.loc["C", "DRUG_DAYS_VEHICLE"] == 84 and adsl.loc["C", "ACTARMCD"] == "MINOX"
    assert adsl.loc["S", "ACTARMCD"] == "MN_PRP" and adsl.loc["S", "ACTARMFL"] == "N"
    assert adsl.loc["S", "PLANNED_SALINE_SESSIONS"] == 1
    assert adsl.loc["S", "PPREASON"] == "EXPOSURE_OUTSIDE_PROTOCOL"  # 5 mL, protocol 2 to 4
    assert adsl.loc["C", "PPREASON"] == "TOO_FEW_SESSIONS"  # 2 of 6 sham sessions
    in_range = exposure(*[{**r, "VOLUME_ML": 3.0} if r["USUBJID"] == "S" else r for r in rows])
    assert "EXPOSURE_OUTSIDE_PROTOCOL" not in set(
        derive_adsl(d, subjects({"USUBJID": "S", "ARMCD": "MN_PRP"}), in_range, full_data("S"))[
            "PPREASON"
        ].dropna()
    )
