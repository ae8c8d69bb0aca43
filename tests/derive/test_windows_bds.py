"""BDS: analysis windows, baseline choice, one analysis value per visit, CHG/PCHG, study days."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.derive.conftest import assessments, day, definition, exposure, subjects
from trialkit.definition import TrialDefinition
from trialkit.derive import analysis_windows, derive_adsl, derive_bds


def bds_for(trial: TrialDefinition, a: pd.DataFrame, ex: pd.DataFrame | None = None, **kw):
    """ADSL and BDS for the subjects named in ``a`` (minoxidil from day 1 unless ``ex``)."""
    ids = sorted(set(a["USUBJID"]))
    s = subjects(*({"USUBJID": i} for i in ids))
    if ex is None:
        ex = exposure(*({"USUBJID": i, "EXENDT": day(160)} for i in ids))
    adsl = derive_adsl(trial, s, ex, a, **kw)
    return adsl, derive_bds(trial, a, adsl, **kw)


def row(bds: pd.DataFrame, subject: str, study_day: int) -> pd.Series:
    """The BDS record of ``subject`` on ``study_day``."""
    hit = bds[(bds["USUBJID"] == subject) & (bds["ADY"] == study_day)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_windows_are_contiguous_half_way_and_end_at_last_window(trial) -> None:
    w = analysis_windows(trial)
    assert list(w["AVISIT"]) == ["WEEK4", "WEEK8", "WEEK12", "WEEK16", "WEEK24"]
    assert np.isnan(w["AWLO"].iloc[0])
    assert list(w["AWHI"]) == [43, 71, 99, 141, 179]  # half-way; last = 169 + 10
    assert list(w["AWLO"].iloc[1:]) == [44, 72, 100, 142]


def test_half_way_day_goes_to_the_earlier_window(trial) -> None:
    a = assessments(
        ("A", "BASELINE", 1, 100),
        ("A", "UNSCHEDULED", 43, 101),  # 14 days from both 29 and 57
        ("A", "UNSCHEDULED", 44, 102),
        ("A", "UNSCHEDULED", 179, 103),
        ("A", "UNSCHEDULED", 180, 104),
    )
    _, bds = bds_for(trial, a)
    assert row(bds, "A", 43)["AVISIT"] == "WEEK4"
    assert row(bds, "A", 44)["AVISIT"] == "WEEK8"
    assert row(bds, "A", 179)["AVISIT"] == "WEEK24"
    late = row(bds, "A", 180)
    assert pd.isna(late["AVISIT"]) and pd.isna(late["ANL01FL"]) and late["CHG"] == 4


def test_odd_gap_splits_without_a_tie() -> None:
    visits = [
        {"code": "BASELINE", "day": 1, "window": [-14, 0], "baseline": True},
        {"code": "WEEK4", "day": 29, "window": [-7, 7]},
        {"code": "WEEK8", "day": 56, "window": [-7, 7]},
    ]
    trial = definition(
        visits=visits, endpoints={"primary": {"parameter": "HAIRCNT", "visit": "WEEK8"}}
    )
    w = analysis_windows(trial)
    assert list(w["AWHI"]) == [42, 63]  # 42.5 is half-way: day 42 is nearer 29, day 43 nearer 56


def test_closest_to_target_with_ties_to_the_earlier_value(trial) -> None:
    a = assessments(
        ("A", "BASELINE", 1, 100),
        ("A", "WEEK4", 31, 120),
        ("A", "UNSCHEDULED", 27, 110),  # same distance (2) as day 31, earlier: chosen
        ("A", "UNSCHEDULED", 50, 130),
        ("A", "WEEK8", 60, 140),  # 3 from 57, closer than day 50 (7)
    )
    _, bds = bds_for(trial, a)
    anl = bds[bds["ANL01FL"].eq("Y") & bds["ABLFL"].isna()].set_index("AVISIT")
    assert anl.loc["WEEK4", "ADY"] == 27 and anl.loc["WEEK4", "AVAL"] == 110
    assert anl.loc["WEEK8", "ADY"] == 60
    assert (
        bds.groupby(["USUBJID", "AVISIT"])["ANL01FL"].apply(lambda f: f.eq("Y").sum()).eq(1).all()
    )


def test_same_day_tie_prefers_the_scheduled_record(trial) -> None:
    a = assessments(
        ("A", "BASELINE", 1, 100),
        ("A", "UNSCHEDULED", 29, 110),
        ("A", "WEEK4", 29, 115),
    )
    _, bds = bds_for(trial, a)
    chosen = bds[bds["ANL01FL"].eq("Y") & (bds["AVISIT"] == "WEEK4")]
    assert list(chosen["AVAL"]) == [115]


def test_unscheduled_and_early_termination_slotted_by_date_not_label(trial) -> None:
    a = assessments(
        ("A", "BASELINE", 1, 100),
        ("A", "WEEK8", 40, 105),  # labelled WEEK8 but dated in the WEEK4 window
        ("A", "UNSCHEDULED", 80, 110),
        ("A", "EARLY_TERMINATION", 120, 120),
    )
    _, bds = bds_for(trial, a)
    assert row(bds, "A", 40)["AVISIT"] == "WEEK4"
    assert row(bds, "A", 40)["VISIT"] == "WEEK8"  # the collected label is kept
    assert row(bds, "A", 80)["AVISIT"] == "WEEK12"
    et = row(bds, "A", 120)
    assert et["AVISIT"] == "WEEK16" and et["AVISITN"] == 113 and et["ANL01FL"] == "Y"


def test_value_on_the_day_of_first_dose_is_baseline(trial) -> None:
    a = assessments(("A", "UNSCHEDULED", -5, 90), ("A", "BASELINE", 1, 100), ("A", "WEEK4", 2, 95))
    _, bds = bds_for(trial, a)
    bl = row(bds, "A", 1)
    assert bl["ABLFL"] == "Y" and bl["AVISIT"] == "BASELINE" and pd.isna(bl["CHG"])
    assert row(bds, "A", 2)["AVISIT"] == "WEEK4"  # the day after first dose is post-baseline
    assert (bds["BASE"] == 100).all()


def test_last_of_several_pre_dose_values_is_baseline_whatever_its_label(trial) -> None:
    a = assessments(
        ("A", "BASELINE", -10, 100),
        ("A", "UNSCHEDULED", -3, 104),
        ("A", "WEEK4", 29, 110),
    )
    ex = exposure({"USUBJID": "A", "EXSTDT": day(2), "EXENDT": day(160)})
    _, bds = bds_for(trial, a, ex)
    assert list(bds.loc[bds["ABLFL"].eq("Y"), "ADY"]) == [-3]
    assert row(bds, "A", 29)["CHG"] == 6
    assert pd.isna(row(bds, "A", -10)["AVISIT"]) and pd.isna(row(bds, "A", -10)["ANL01FL"])


def test_baseline_falls_back_to_randomisation_without_exposure(trial) -> None:
    a = assessments(("A", "BASELINE", 1, 100), ("A", "UNSCHEDULED", 3, 101))
    ex = exposure().iloc[:0]
    adsl, bds = bds_for(trial, a, ex)
    assert pd.isna(adsl.loc[0, "TRTSDT"])
    assert row(bds, "A", 1)["ABLFL"] == "Y"
    assert row(bds, "A", 3)["AVISIT"] == "WEEK4"


def test_no_baseline_leaves_base_and_chg_missing_and_subject_out_of_mitt(trial) -> None:
    a = assessments(("A", "WEEK4", 29, 110), ("B", "BASELINE", 1, 100), ("B", "WEEK4", 29, 105))
    adsl, bds = bds_for(trial, a)
    rec = row(bds, "A", 29)
    assert pd.isna(rec["BASE"]) and pd.isna(rec["CHG"]) and pd.isna(rec["PCHG"])
    assert rec["ANL01FL"] == "Y"
    assert dict(zip(adsl["USUBJID"], adsl["MITTFL"], strict=True)) == {"A": "N", "B": "Y"}


def test_zero_baseline_gives_missing_pchg_with_a_note(trial) -> None:
    a = assessments(
        ("A", "BASELINE", 1, 0),
        ("A", "WEEK4", 29, 12),
        ("B", "BASELINE", 1, 50),
        ("B", "WEEK4", 29, 60),
    )
    _, bds = bds_for(trial, a)
    rec = row(bds, "A", 29)
    assert rec["CHG"] == 12 and pd.isna(rec["PCHG"])
    assert rec["PCHGNOTE"] == "BASE is 0: PCHG not computed"
    other = row(bds, "B", 29)
    assert other["PCHG"] == 20 and pd.isna(other["PCHGNOTE"])


def test_study_day_has_no_day_zero(trial) -> None:
    a = assessments(
        ("A", "UNSCHEDULED", -1, 99), ("A", "BASELINE", 1, 100), ("A", "WEEK4", 29, 110)
    )
    _, bds = bds_for(trial, a)
    randdt = pd.Timestamp("2024-01-01")
    days = dict(zip(bds["ADT"], bds["ADY"], strict=True))
    assert days[randdt] == 1
    assert days[randdt - pd.Timedelta(days=1)] == -1
    assert 0 not in set(bds["ADY"])


def test_bds_carries_arm_site_strata_and_param_label(trial) -> None:
    a = assessments(("A", "BASELINE", 1, 100), ("A", "WEEK4", 29, 110))
    _, bds = bds_for(trial, a)
    for col in ("ARMCD", "ARM", "SITEGR1", "ITTFL", "DISCDT", "RESCDT", "PARAM"):
        assert col in bds.columns
    assert set(bds["PARAM"]) == {"Target-area hair count"}
    assert bds["AVISITN"].dtype == "Int64" and bds["ADY"].dtype == "Int64"


def test_cutoff_excludes_assessments_dated_after_it(trial) -> None:
    a = assessments(("A", "BASELINE", 1, 100), ("A", "WEEK4", 29, 110), ("A", "WEEK8", 57, 120))
    _, bds = bds_for(trial, a, cutoff=day(56))
    assert list(bds["ADY"]) == [1, 29]
