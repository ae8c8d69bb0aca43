"""Data cutoff: drop records dated after the cutoff; subjects still in the study are ONGOING."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd

#: The date that decides whether a record of each collected dataset is after the cutoff.
CUTOFF_DATE_COLUMNS: dict[str, str] = {
    "subjects": "RANDDT",
    "assessments": "ADT",
    "exposure": "EXSTDT",
    "adverse_events": "AESTDT",
    "concomitant_medications": "CMSTDT",
}

#: End dates after the cutoff: exposure is clipped to the cutoff, events become ongoing (NaT).
_CLIPPED_END = {"exposure": "EXENDT"}
_ONGOING_END = {"adverse_events": "AEENDT", "concomitant_medications": "CMENDT"}

CutoffDate = pd.Timestamp | dt.date | str


def to_cutoff(cutoff: CutoffDate | None) -> pd.Timestamp | None:
    """The cutoff as a day-precision timestamp (None stays None) so comparisons are by date."""
    if cutoff is None:
        return None
    return pd.Timestamp(cutoff).normalize()


def after(dates: pd.Series, cutoff: pd.Timestamp) -> pd.Series:
    """True where a date is after the cutoff (missing dates are never after it)."""
    return (dates > cutoff).fillna(False).astype(bool)


def apply_cutoff(
    frames: Mapping[str, pd.DataFrame], cutoff: CutoffDate | None
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Cut collected datasets at ``cutoff``; return new frames and rows dropped per dataset.

    Subjects randomised after the cutoff are dropped with all their records; a subject whose
    end of study is after the cutoff is ONGOING at cutoff (EOSSTT, EOSDT, DCSREAS cleared).
    """
    cut = to_cutoff(cutoff)
    out = {name: frame.copy() for name, frame in frames.items()}
    counts = dict.fromkeys(frames, 0)
    if cut is None:
        return out, counts
    excluded: pd.Series | None = None
    if "subjects" in out:
        subj = out["subjects"]
        late = after(subj["RANDDT"], cut)
        excluded = subj.loc[late, "USUBJID"]
        subj = subj.loc[~late].copy()
        if "EOSDT" in subj.columns:
            ongoing = after(subj["EOSDT"], cut)
            subj.loc[ongoing, "EOSSTT"] = "ONGOING"
            subj.loc[ongoing, "EOSDT"] = pd.NaT
            if "DCSREAS" in subj.columns:
                subj.loc[ongoing, "DCSREAS"] = pd.NA
        counts["subjects"] = int(late.sum())
        out["subjects"] = subj
    for name, frame in out.items():
        if name == "subjects" or name not in CUTOFF_DATE_COLUMNS:
            continue
        drop = after(frame[CUTOFF_DATE_COLUMNS[name]], cut)
        if excluded is not None and len(excluded) and "USUBJID" in frame.columns:
            drop |= frame["USUBJID"].isin(excluded).to_numpy()
        kept = frame.loc[~drop].copy()
        if name in _CLIPPED_END:
            col = _CLIPPED_END[name]
            kept.loc[after(kept[col], cut), col] = cut
        if name in _ONGOING_END:
            col = _ONGOING_END[name]
            kept.loc[after(kept[col], cut), col] = pd.NaT
        counts[name] = int(drop.sum())
        out[name] = kept
    return out, counts
