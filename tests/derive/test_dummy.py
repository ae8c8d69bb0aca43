"""Dummy randomisation keeps the realised allocation of an unequal ratio, subject by subject new."""

from __future__ import annotations

import pandas as pd

from tests.derive.conftest import exposure, subjects
from trialkit.derive.dummy import dummy_randomize


def test_dummy_arms_follow_a_2_to_1_to_1_allocation() -> None:
    arms = ["MN_PRP"] * 20 + ["CTRL"] * 10 + ["MN_MINOX"] * 10
    subj = subjects(*({"USUBJID": f"S{i:02d}", "ARMCD": a} for i, a in enumerate(arms)))
    ex = exposure(*({"USUBJID": f"S{i:02d}"} for i in range(len(arms))))
    new, _ = dummy_randomize(subj, ex, seed=11)
    assert new["ARMCD"].value_counts().to_dict() == {"MN_PRP": 20, "CTRL": 10, "MN_MINOX": 10}
    assert (new["ARMCD"] != subj["ARMCD"]).any()
    pd.testing.assert_frame_equal(new.drop(columns="ARMCD"), subj.drop(columns="ARMCD"))
