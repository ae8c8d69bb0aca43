"""BDS findings (ADEFF): baseline, analysis visits by window, one analysis value per visit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialkit.cutoff import CutoffDate, split_at_cutoff
from trialkit.definition import TrialDefinition
from trialkit.derive._common import study_day, subject_index, text_where
from trialkit.derive.windows import analysis_windows, slot_visits

#: Subject-level columns copied from ADSL onto every BDS record (when ADSL has them).
ADSL_COLUMNS = (
    "SITEID", "SITEGR1", "ARMCD", "ARM", "ACTARMCD", "RANDDT", "TRTSDT", "TRTEDT",
    "ITTFL", "MITTFL", "SAFFL", "PPROTFL", "DISCDT", "RESCDT",
)  # fmt: skip

BDS_ORDER = (
    "USUBJID", "PARAMCD", "PARAM", "VISIT", "AVISIT", "AVISITN", "ADT", "ADY", "AVAL",
    "ABLFL", "BASE", "CHG", "PCHG", "PCHGNOTE", "ANL01FL", "AWTARGET", "AWLO", "AWHI",
    "AWTDIFF", "SRCSEQ",
)  # fmt: skip


def analysis_records(
    definition: TrialDefinition,
    assessments: pd.DataFrame,
    reference: pd.DataFrame,
    cutoff: CutoffDate | None = None,
) -> pd.DataFrame:
    """Assessments with baseline, analysis visit, BASE/CHG/PCHG and ANL01FL (no ADSL columns).

    ``reference`` has one row per subject with USUBJID, RANDDT and TRTSDT; assessments of
    subjects not in it, and records after ``cutoff`` (:func:`trialkit.cutoff.split_at_cutoff`),
    are left out; ``_sid`` is each record's row position in ``reference``.
    Shared by ADSL (MITT, per-protocol) and :func:`derive_bds`.
    """
    cols = [c for c in ("USUBJID", "PARAMCD", "VISIT", "ADT", "AVAL") if c in assessments]
    rec = assessments[cols].copy()
    rec["SRCSEQ"] = np.arange(len(rec), dtype="int64")
    rec = split_at_cutoff({"assessments": rec}, cutoff)[0]["assessments"]
    rec["_sid"] = subject_index(reference["USUBJID"], rec["USUBJID"])
    rec = rec.loc[rec["_sid"].to_numpy() >= 0].reset_index(drop=True)
    sid = rec["_sid"].to_numpy()
    rec["RANDDT"] = reference["RANDDT"].to_numpy()[sid]
    rec["TRTSDT"] = reference["TRTSDT"].to_numpy()[sid]
    pid, params = pd.factorize(rec["PARAMCD"], use_na_sentinel=False)
    rec["_pid"] = pid
    rec["AVAL"] = pd.to_numeric(rec["AVAL"], errors="coerce").astype("float64")
    rec["ADY"] = study_day(rec["ADT"], rec["RANDDT"])
    refdt = rec["TRTSDT"].fillna(rec["RANDDT"])
    usable = (rec["ADT"].notna() & rec["AVAL"].notna()).to_numpy(dtype=bool)
    pre = usable & (rec["ADT"] <= refdt).fillna(False).to_numpy(dtype=bool)
    post = (rec["ADT"] > refdt).fillna(False).to_numpy(dtype=bool)
    keys = ["_sid", "_pid"]

    # Baseline: the last usable value on or before the reference date, whatever its VISIT.
    bl_code = definition.baseline_visit.code
    rec["_is_blvisit"] = (rec["VISIT"].astype("string") == bl_code).fillna(False).astype(int)
    cand = rec.loc[pre, [*keys, "ADT", "_is_blvisit", "SRCSEQ"]]
    cand = cand.sort_values([*keys, "ADT", "_is_blvisit", "SRCSEQ"])
    bl_idx = cand.drop_duplicates(keys, keep="last").index
    is_bl = rec.index.isin(bl_idx)

    # Post-baseline records are slotted into analysis windows by study day.
    win = analysis_windows(definition)
    pos = slot_visits(rec["ADY"].where(post), win)
    slotted = pos.to_numpy() >= 0
    take = np.where(slotted, pos.to_numpy(), 0)
    for col in ("AVISIT", "AVISITN", "AWTARGET", "AWLO", "AWHI"):
        values = win[col].to_numpy()[take]
        rec[col] = pd.Series(values, index=rec.index).where(slotted)
    rec.loc[is_bl, "AVISIT"] = bl_code
    rec.loc[is_bl, "AVISITN"] = definition.baseline_visit.day
    rec["AVISITN"] = rec["AVISITN"].astype("Int64")
    rec["AWTARGET"] = rec["AWTARGET"].astype("Int64")
    rec["AWTDIFF"] = (rec["ADY"].astype("float64") - rec["AWTARGET"].astype("float64")).abs()

    # One analysis value per subject, parameter and visit: closest to target, ties earlier.
    rec["_not_sched"] = (
        (rec["VISIT"].astype("string") != rec["AVISIT"].astype("string")).fillna(True).astype(int)
    )
    order = [*keys, "AVISITN", "AWTDIFF", "ADY", "_not_sched", "SRCSEQ"]
    chosen = rec.loc[usable & post & slotted, order].sort_values(order)
    anl_idx = chosen.drop_duplicates([*keys, "AVISITN"], keep="first").index
    rec["ABLFL"] = text_where(is_bl, "Y")
    rec["ANL01FL"] = text_where(is_bl | rec.index.isin(anl_idx), "Y")

    base = np.full((len(reference), max(len(params), 1)), np.nan)
    base[sid[is_bl], pid[is_bl]] = rec["AVAL"].to_numpy()[is_bl]
    rec["BASE"] = base[sid, pid]
    rec["CHG"] = (rec["AVAL"] - rec["BASE"]).where(post)
    zero = post & rec["BASE"].eq(0).to_numpy() & rec["AVAL"].notna().to_numpy()
    rec["PCHG"] = (100.0 * rec["CHG"] / rec["BASE"].where(rec["BASE"] != 0)).where(post)
    rec["PCHGNOTE"] = text_where(zero, "BASE is 0: PCHG not computed")
    rec = rec.sort_values([*keys, "ADT", "SRCSEQ"], na_position="last")
    return rec.drop(columns=["_is_blvisit", "_not_sched", "_pid"]).reset_index(drop=True)


def derive_bds(
    definition: TrialDefinition,
    assessments: pd.DataFrame,
    adsl: pd.DataFrame,
    cutoff: CutoffDate | None = None,
) -> pd.DataFrame:
    """The BDS analysis dataset of every parameter: one row per collected assessment, traceable.

    Columns: USUBJID, PARAMCD, PARAM, VISIT (as collected), AVISIT, AVISITN, ADT, ADY, AVAL,
    ABLFL, BASE, CHG, PCHG, PCHGNOTE, ANL01FL, window columns, SRCSEQ, then ADSL columns
    (arm, site, strata, population flags, ICE dates).
    """
    rec = analysis_records(definition, assessments, adsl, cutoff)
    labels = {p.code: p.label for p in definition.parameters}
    rec["PARAM"] = rec["PARAMCD"].map(labels)
    strata = [s for s in definition.analysis.strata if s in adsl.columns]
    extra = [c for c in (*ADSL_COLUMNS, *strata) if c in adsl.columns and c not in BDS_ORDER]
    rec = rec.drop(columns=["RANDDT", "TRTSDT"])
    sid = rec.pop("_sid").to_numpy()
    subject_cols = adsl[list(dict.fromkeys(extra))].take(sid).reset_index(drop=True)
    rec = pd.concat([rec, subject_cols], axis=1)
    order = [c for c in BDS_ORDER if c in rec.columns]
    rest = [c for c in rec.columns if c not in order]
    return rec[order + rest].reset_index(drop=True)
