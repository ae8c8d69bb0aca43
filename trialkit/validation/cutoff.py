"""Data cutoff: records dated after the cutoff are set aside (counted, not validated).

A record's date is its start: RANDDT, ADT, EXSTDT, AESTDT, CMSTDT. Subjects randomised after
the cutoff are set aside with all their records (a baseline taken before randomisation too).
Records whose date is missing or invalid are kept, so that validation reports them.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

#: The date that places each dataset's record before or after the cutoff.
CUTOFF_DATE_COLUMNS = {
    "subjects": "RANDDT",
    "assessments": "ADT",
    "exposure": "EXSTDT",
    "adverse_events": "AESTDT",
    "concomitant_medications": "CMSTDT",
}


def apply_cutoff(
    frames: dict[str, pd.DataFrame], cutoff: date | None
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The frames without records after ``cutoff`` (converted dates), and how many each lost."""
    if cutoff is None:
        return frames, {name: 0 for name in frames}
    limit = pd.Timestamp(cutoff)
    subjects = frames["subjects"]
    late = subjects["USUBJID"][(subjects["RANDDT"] > limit).to_numpy()]
    late_ids = pd.Index(late.dropna().unique())
    kept: dict[str, pd.DataFrame] = {}
    counts: dict[str, int] = {}
    for name, frame in frames.items():
        after = (frame[CUTOFF_DATE_COLUMNS[name]] > limit).to_numpy()
        if len(late_ids):
            after = after | np.asarray(frame["USUBJID"].isin(late_ids), dtype=bool)
        kept[name] = frame[~after]
        counts[name] = int(after.sum())
    return kept, counts
