"""The data cutoff rule, once: which records are after the cutoff.

A record's date is its start (RANDDT, ADT of assessments and vital signs, EXSTDT, AESTDT,
CMSTDT): every collected dataset has one (a test keeps the table in step with the datasets).
Subjects randomised after the cutoff are after it with all their records (a baseline taken
before randomisation too).
Records whose date is missing or invalid are never after the cutoff (validation reports them).
Validation sets the later records aside with :func:`split_at_cutoff`; the derivations then mark
what is still going on at the cutoff (:mod:`trialkit.derive.cutoff`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

#: The date that places each dataset's record before or after the cutoff.
CUTOFF_DATE_COLUMNS: dict[str, str] = {
    "subjects": "RANDDT",
    "assessments": "ADT",
    "exposure": "EXSTDT",
    "adverse_events": "AESTDT",
    "concomitant_medications": "CMSTDT",
    "vital_signs": "ADT",
}

CutoffDate = pd.Timestamp | dt.date | str


def to_cutoff(cutoff: CutoffDate | None) -> pd.Timestamp | None:
    """The cutoff as a day-precision timestamp (None stays None) so comparisons are by date."""
    if cutoff is None:
        return None
    return pd.Timestamp(cutoff).normalize()


def after(dates: pd.Series, cutoff: pd.Timestamp) -> pd.Series:
    """True where a date is after the cutoff (missing dates are never after it)."""
    return (dates > cutoff).fillna(False).astype(bool)


def split_at_cutoff(
    frames: Mapping[str, pd.DataFrame], cutoff: CutoffDate | None
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The frames without the records after ``cutoff``, and how many rows each lost."""
    cut = to_cutoff(cutoff)
    if cut is None:
        return dict(frames), dict.fromkeys(frames, 0)
    late_ids = pd.Index([])
    if "subjects" in frames:
        subjects = frames["subjects"]
        late_ids = pd.Index(subjects.loc[after(subjects["RANDDT"], cut), "USUBJID"].dropna())
    kept: dict[str, pd.DataFrame] = {}
    counts: dict[str, int] = {}
    for name, frame in frames.items():
        if name not in CUTOFF_DATE_COLUMNS:  # not a collected dataset: nothing to cut
            kept[name], counts[name] = frame, 0
            continue
        late = after(frame[CUTOFF_DATE_COLUMNS[name]], cut).to_numpy()
        if len(late_ids) and "USUBJID" in frame.columns:
            late = late | np.asarray(frame["USUBJID"].isin(late_ids), dtype=bool)
        kept[name] = frame.loc[~late]
        counts[name] = int(late.sum())
    return kept, counts
