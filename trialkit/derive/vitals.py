"""ADVS: the vital signs as a BDS frame (baseline, analysis visit, change) with alert flags."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialkit.cutoff import CutoffDate
from trialkit.definition import TrialDefinition
from trialkit.derive._common import text_where
from trialkit.derive.bds import derive_bds


def derive_advs(
    definition: TrialDefinition,
    vital_signs: pd.DataFrame,
    adsl: pd.DataFrame,
    cutoff: CutoffDate | None = None,
) -> pd.DataFrame:
    """The BDS frame of the safety parameters (the rules of :func:`derive_bds`), plus ALRTIND
    (``LOW`` below ``alert_low``, ``HIGH`` above ``alert_high``, ``NORMAL`` within, missing
    without a value or limit) and ALRTFL ("Y" beyond either limit)."""
    safety = [p for p in definition.parameters if p.kind == "safety"]
    records = vital_signs.loc[vital_signs["PARAMCD"].isin([p.code for p in safety])]
    advs = derive_bds(definition, records, adsl, cutoff)
    code = advs["PARAMCD"].astype("string")
    low = code.map({p.code: p.alert_low for p in safety}).astype("float64").to_numpy()
    high = code.map({p.code: p.alert_high for p in safety}).astype("float64").to_numpy()
    aval = advs["AVAL"].to_numpy(dtype=float)
    limited = ~np.isnan(aval) & ~(np.isnan(low) & np.isnan(high))
    below, above = aval < low, aval > high  # False against a missing limit
    indicator = np.where(below, "LOW", np.where(above, "HIGH", "NORMAL")).astype(object)
    indicator[~limited] = None
    advs["ALRTIND"] = indicator
    advs["ALRTFL"] = text_where(below | above, "Y")
    return advs


__all__ = ["derive_advs"]
