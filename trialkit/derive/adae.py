"""Adverse-event analysis dataset (ADAE): treatment-emergent flag, severity code, arms."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialkit.cutoff import CutoffDate
from trialkit.derive._common import study_day, text_where
from trialkit.derive.cutoff import apply_cutoff

SEVERITY_CODES = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}
_ADSL_COLUMNS = (
    "SITEID", "SITEGR1", "ARMCD", "ARM", "ACTARMCD", "ACTARM", "SAFFL", "RANDDT", "TRTSDT",
    "TRTEDT",
)  # fmt: skip


def derive_adae(
    adverse_events: pd.DataFrame,
    adsl: pd.DataFrame,
    lag_days: int,
    cutoff: CutoffDate | None = None,
) -> pd.DataFrame:
    """ADAE: AEs of ADSL subjects with TRTEMFL, ASEVN, ASTDY/AENDY and arm columns.

    TRTEMFL = "Y" when TRTSDT <= AESTDT <= TRTEDT + lag_days; an AE without a start date in a
    treated subject counts as treatment-emergent (the conservative choice).
    """
    ae, _ = apply_cutoff({"adverse_events": adverse_events}, cutoff)
    rec = ae["adverse_events"].reset_index(drop=True)
    rec["SRCSEQ"] = np.arange(len(rec), dtype="int64")
    cols = [c for c in _ADSL_COLUMNS if c in adsl.columns]
    rec = rec.drop(columns=[c for c in cols if c in rec.columns])
    rec = rec.merge(adsl[["USUBJID", *cols]], on="USUBJID", how="inner", validate="many_to_one")
    start, first, last = rec["AESTDT"], rec["TRTSDT"], rec["TRTEDT"]
    window_end = last + pd.Timedelta(days=lag_days)
    within = ((start >= first) & (start <= window_end)).fillna(False).to_numpy(dtype=bool)
    unknown = (start.isna() & first.notna()).to_numpy(dtype=bool)
    rec["TRTEMFL"] = text_where(within | unknown, "Y")
    sev = rec["AESEV"].astype("string").str.strip().str.upper()
    rec["ASEVN"] = sev.map(SEVERITY_CODES).astype("Int64")
    rec["ASTDY"] = study_day(rec["AESTDT"], rec["RANDDT"])
    rec["AENDY"] = study_day(rec["AEENDT"], rec["RANDDT"])
    return rec.sort_values(["USUBJID", "AESTDT", "SRCSEQ"], na_position="last").reset_index(
        drop=True
    )
