"""Dummy randomisation: permute ARMCD among subjects so programs can be checked while blinded.

Subject i receives the arm of subject pi(i) (pi a seeded permutation of the randomised
subjects, sorted by USUBJID) together with that subject's exposure records, re-keyed to
subject i and shifted by the difference of the two randomisation dates, so the exposure
stays consistent with the new arm and with study days. Assessments, adverse events and
medications stay with their subject (they are outcomes). A permutation keeps each arm's number
of subjects, so the dummy arms follow the trial's allocation ratio (``[[arms]].allocation``,
2:1:1 as well as 1:1) exactly as the real randomisation realised it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DUMMY_COLUMN = "DUMMY"
DUMMY_VALUE = "DUMMY RANDOMIZATION"


def dummy_randomize(
    subjects: pd.DataFrame, exposure: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New subjects and exposure frames with ARMCD permuted (inputs are not modified)."""
    subj = subjects.copy()
    ids = subj["USUBJID"].astype(str)
    randomised = subj["ARMCD"].notna().to_numpy(dtype=bool)
    order = np.argsort(ids.to_numpy(), kind="stable")
    pool = order[randomised[order]]  # row positions of randomised subjects, by USUBJID
    rng = np.random.default_rng(seed)
    donor = pool[rng.permutation(pool.size)]  # subject pool[j] gets the arm of donor[j]
    arm = subj["ARMCD"].to_numpy(copy=True)
    arm[pool] = subj["ARMCD"].to_numpy()[donor]
    subj["ARMCD"] = pd.Series(arm, index=subj.index).astype(subj["ARMCD"].dtype)
    # exposure of the donor moves to the receiving subject, dates shifted by the RANDDT gap
    receiver_of = dict(zip(ids.to_numpy()[donor], ids.to_numpy()[pool], strict=True))
    randdt = dict(zip(ids, subj["RANDDT"], strict=True))
    ex = exposure.copy()
    old = ex["USUBJID"].astype(str)
    new = old.map(receiver_of)
    moved = new.notna().to_numpy(dtype=bool)
    shift = (new.map(randdt) - old.map(randdt)).where(moved)
    for col in ("EXSTDT", "EXENDT"):
        if col in ex.columns:
            ex[col] = ex[col] + shift.fillna(pd.Timedelta(0))
    ex["USUBJID"] = new.where(moved, old).astype(exposure["USUBJID"].dtype)
    ex = ex.sort_values(["USUBJID", "EXSTDT"], kind="stable").reset_index(drop=True)
    return subj, ex


def mark_dummy(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with a first column DUMMY = "DUMMY RANDOMIZATION"."""
    out = frame.copy()
    out.insert(0, DUMMY_COLUMN, DUMMY_VALUE)
    return out


__all__ = ["DUMMY_COLUMN", "DUMMY_VALUE", "dummy_randomize", "mark_dummy"]
