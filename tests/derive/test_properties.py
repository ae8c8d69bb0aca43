"""Property check: the analysis value of each window is the closest to target, ties earlier."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.derive.conftest import assessments, definition, exposure, subjects
from trialkit.derive import analysis_windows, derive_adsl, derive_bds

TRIAL = definition()
WINDOWS = analysis_windows(TRIAL)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=2, max_value=185), min_size=1, max_size=12))
def test_one_closest_value_per_window(days: list[int]) -> None:
    rows = [("A", "BASELINE", 1, 100.0)] + [("A", "UNSCHEDULED", d, float(d)) for d in days]
    a = assessments(*rows)
    adsl = derive_adsl(TRIAL, subjects({"USUBJID": "A"}), exposure({"USUBJID": "A"}), a)
    bds = derive_bds(TRIAL, a, adsl)
    anl = bds[bds["ANL01FL"].eq("Y") & bds["ABLFL"].isna()]
    expected = {}
    for w in WINDOWS.itertuples():
        lo = 2 if pd.isna(w.AWLO) else w.AWLO
        inside = [d for d in days if lo <= d <= w.AWHI]
        if inside:
            expected[w.AVISIT] = min(inside, key=lambda d: (abs(d - w.AWTARGET), d))
    assert dict(zip(anl["AVISIT"], anl["ADY"], strict=True)) == expected
    assert (bds["CHG"].dropna() == bds.loc[bds["CHG"].notna(), "AVAL"] - 100).all()
