"""Data cutoff in the derivations: the records after the cutoff go (the one rule,
:func:`trialkit.cutoff.split_at_cutoff`); subjects still in the study are ONGOING, exposure
going on is clipped to the cutoff and events going on have no end date."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from trialkit.cutoff import CutoffDate, after, split_at_cutoff, to_cutoff

#: End dates after the cutoff: exposure is clipped to the cutoff, events become ongoing (NaT).
CLIPPED_END = {"exposure": "EXENDT"}
ONGOING_END = {"adverse_events": "AEENDT", "concomitant_medications": "CMENDT"}


def apply_cutoff(
    frames: Mapping[str, pd.DataFrame], cutoff: CutoffDate | None
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Cut collected datasets at ``cutoff``; return new frames and rows dropped per dataset.

    Subjects randomised after the cutoff are dropped with all their records; a subject whose
    end of study is after the cutoff is ONGOING at cutoff (EOSSTT, EOSDT, DCSREAS cleared).
    """
    cut = to_cutoff(cutoff)
    kept, counts = split_at_cutoff(frames, cut)
    out = {name: frame.copy() for name, frame in kept.items()}
    if cut is None:
        return out, counts
    if "subjects" in out and "EOSDT" in out["subjects"].columns:
        subj = out["subjects"]
        ongoing = after(subj["EOSDT"], cut)
        subj.loc[ongoing, "EOSSTT"] = "ONGOING"
        subj.loc[ongoing, "EOSDT"] = pd.NaT
        if "DCSREAS" in subj.columns:
            subj.loc[ongoing, "DCSREAS"] = pd.NA
    for name, col in CLIPPED_END.items():
        if name in out:
            out[name].loc[after(out[name][col], cut), col] = cut
    for name, col in ONGOING_END.items():
        if name in out:
            out[name].loc[after(out[name][col], cut), col] = pd.NaT
    return out, counts
