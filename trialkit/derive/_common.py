"""Small helpers shared by the derivation modules (flags, text codes, study days)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_value(series: pd.Series, value: str) -> np.ndarray:
    """True where the text equals ``value`` (case and surrounding blanks ignored, NA is False)."""
    text = series.astype("string").str.strip().str.upper()
    return text.eq(value.upper()).fillna(False).to_numpy(dtype=bool)


def flag(mask: np.ndarray | pd.Series) -> np.ndarray:
    """A "Y"/"N" flag array from a boolean mask."""
    return np.where(np.asarray(mask, dtype=bool), "Y", "N")


def study_day(dates: pd.Series, randdt: pd.Series) -> pd.Series:
    """Study day from randomisation, without day 0: on/after RANDDT d+1, before it d."""
    delta = (dates - randdt).dt.days
    return (delta + (delta >= 0).astype(int)).astype("Int64")


def unique_subjects(frame: pd.DataFrame, name: str) -> None:
    """Refuse a subjects frame with a repeated USUBJID: every merge assumes one row each."""
    dup = frame["USUBJID"].duplicated()
    if dup.any():
        from trialkit.errors import DatasetError

        first = frame.loc[dup, "USUBJID"].iloc[0]
        raise DatasetError(f"{name}: USUBJID {first!r} appears more than once")


def text_where(mask: np.ndarray | pd.Series, text: str) -> np.ndarray:
    """An object array holding ``text`` where ``mask`` is true and None elsewhere ("Y"/null)."""
    keep = np.asarray(mask, dtype=bool)
    out = np.full(len(keep), None, dtype=object)
    out[keep] = text
    return out


def subject_index(subjects: pd.Series, ids: pd.Series) -> np.ndarray:
    """Row position in ``subjects`` of each USUBJID in ``ids`` (-1 when absent), for fast joins."""
    index = pd.Index(subjects.astype("string"))
    return np.asarray(index.get_indexer(pd.Index(ids.astype("string"))), dtype="int64")


def subjects_with(n: int, positions: np.ndarray) -> np.ndarray:
    """A length-``n`` mask, true at the given subject positions (negatives ignored)."""
    out = np.zeros(n, dtype=bool)
    out[positions[positions >= 0]] = True
    return out
