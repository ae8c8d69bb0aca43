"""Subject-level analysis dataset (ADSL): arms, treatment dates, exposure, populations, ICEs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from trialkit.definition import TREATMENTS, Arm, TrialDefinition
from trialkit.derive._common import flag, is_value, text_where, unique_subjects
from trialkit.derive.bds import analysis_records
from trialkit.derive.cutoff import CutoffDate, apply_cutoff
from trialkit.errors import DatasetError

PROCEDURES = {"microneedling": "MN", "prp": "PRP"}
DRUGS = tuple(t for t in TREATMENTS if t not in PROCEDURES)
POOLED = "POOLED"

#: PPREASON codes, in the order the per-protocol criteria are checked.
PP_REASONS = (
    "NOT_RANDOMISED",
    "TOO_FEW_SESSIONS",
    "EXPOSURE_OUTSIDE_PROTOCOL",
    "NO_PRIMARY_VISIT_VALUE",
    "NOT_TREATED_AS_RANDOMISED",
)

ADSL_ORDER = (
    "USUBJID", "SITEID", "SITEGR1", "ARMCD", "ARM", "ACTARMCD", "ACTARM", "ACTARMFL", "RANDDT",
    "TRTSDT", "TRTEDT", "AGE", "AGEGR1", "SEX", "SEVERITY", "EOSSTT", "EOSDT", "DCSREAS",
    "DISCDT", "RESCDT", "MN_SESSIONS", "PLANNED_MN_SESSIONS", "PRP_SESSIONS",
    "PLANNED_PRP_SESSIONS", "MEAN_NEEDLE_DEPTH", "MAX_NEEDLE_DEPTH", "PRP_VOLUME_TOTAL",
    *(f"DRUG_DAYS_{d.upper()}" for d in DRUGS),
    "ITTFL", "MITTFL", "SAFFL", "PPROTFL", "PPREASON",
)  # fmt: skip


def planned_sessions(definition: TrialDefinition, arm: Arm, treatment: str) -> float:
    """Planned sessions of a procedure in an arm: ``sessions``, else one per interval.

    Without ``sessions``, sessions fall on day 1, 1 + interval, ... strictly before the last
    scheduled visit (the final visit assesses, it does not treat); NaN when neither is given.
    """
    comp = arm.component(treatment)
    if comp is None:
        return 0.0
    if comp.sessions is not None:
        return float(comp.sessions)
    if comp.interval_days is None:
        return math.nan
    last_day = max(v.day for v in definition.visits)
    return float(max(1, math.ceil((last_day - 1) / comp.interval_days)))


def _exposure(exposure: pd.DataFrame) -> pd.DataFrame:
    """Exposure with a normalised treatment name and each record's last date."""
    ex = exposure.copy()
    ex["_trt"] = ex["EXTRT"].astype("string").str.strip().str.lower()
    ex["_end"] = ex[["EXSTDT", "EXENDT"]].max(axis=1)
    return ex


def _treatment_summary(definition: TrialDefinition, ex: pd.DataFrame) -> pd.DataFrame:
    """Per subject: TRTSDT, TRTEDT, session counts, needle depth, PRP volume, drug days."""
    g = ex.groupby("USUBJID", sort=False)
    out = pd.DataFrame({"TRTSDT": g["EXSTDT"].min(), "TRTEDT": g["_end"].max()})
    out["_nex"] = g.size()
    counts = ex.groupby(["USUBJID", "_trt"], sort=False).size().unstack(fill_value=0)
    for trt, short in PROCEDURES.items():
        out[f"{short}_SESSIONS"] = counts.get(trt, 0)
    mn = ex.loc[ex["_trt"] == "microneedling"].groupby("USUBJID")["NEEDLE_DEPTH_MM"]
    out["MEAN_NEEDLE_DEPTH"] = mn.mean()
    out["MAX_NEEDLE_DEPTH"] = mn.max()
    prp = ex.loc[ex["_trt"] == "prp"].groupby("USUBJID")["VOLUME_ML"]
    out["PRP_VOLUME_TOTAL"] = prp.sum(min_count=1)
    days = (ex["EXENDT"].fillna(ex["EXSTDT"]) - ex["EXSTDT"]).dt.days + 1
    drug_days = ex.assign(_days=days).groupby(["USUBJID", "_trt"])["_days"].sum().unstack()
    for drug in DRUGS:
        out[f"DRUG_DAYS_{drug.upper()}"] = drug_days.get(drug, 0)
    out.index.name = "USUBJID"
    return out.reset_index()


def _actual_arm(
    definition: TrialDefinition, adsl: pd.DataFrame, ex: pd.DataFrame
) -> tuple[pd.Series, np.ndarray]:
    """ACTARMCD: the arm whose treatments equal those received (randomised arm preferred).

    When no arm matches exactly (including no exposure), the randomised arm is kept and
    ACTARMFL is "Y".
    """
    bits = {t: 1 << i for i, t in enumerate(TREATMENTS)}
    other = 1 << len(TREATMENTS)
    pairs = ex[["USUBJID", "_trt"]].dropna().drop_duplicates()
    pairs = pairs.assign(_bit=pairs["_trt"].map(bits).fillna(other).astype("int64"))
    per_subject = pairs.groupby("USUBJID")["_bit"].sum()
    received = adsl["USUBJID"].map(per_subject).fillna(0).astype("int64").to_numpy()
    arm_bits = {a.code: sum(bits[t] for t in a.treatments) for a in definition.arms}
    randomised = adsl["ARMCD"].astype("string")
    own = randomised.map(arm_bits).astype("float64").to_numpy()
    actual = randomised.copy()
    matched = own == received
    for arm in definition.arms:  # a loop over arms, not subjects
        hit = ~matched & (received == arm_bits[arm.code])
        actual[hit] = arm.code
        matched |= hit
    return actual, flag(~matched)


def _age_groups(age: pd.Series, cuts: tuple[int, ...]) -> pd.Series:
    """AGEGR1 from ``analysis.age_groups`` cuts: "<c1", "c1-(c2-1)", ..., ">=ck"."""
    if not cuts:
        return pd.Series(text_where(age.notna(), "ALL"), index=age.index, dtype="string")
    labels = [f"<{cuts[0]}"]
    labels += [f"{a}-{b - 1}" for a, b in itertools.pairwise(cuts)]
    labels.append(f">={cuts[-1]}")
    bins = [-np.inf, *cuts, np.inf]
    groups = pd.cut(pd.to_numeric(age, errors="coerce"), bins=bins, labels=labels, right=False)
    return groups.astype("string")


def pool_sites(site: pd.Series, randomised: np.ndarray, min_size: int | None) -> pd.Series:
    """SITEGR1: sites with fewer than ``min_size`` randomised subjects pooled into "POOLED".

    If the pooled group is itself below ``min_size``, it joins the smallest unpooled site (ties:
    the first SITEID in sorted order); if every site is small, all are "POOLED".
    """
    site = site.astype("string")
    if min_size is None:
        return site.copy()
    sizes = site[randomised].value_counts()
    sizes = sizes.reindex(site.dropna().unique(), fill_value=0)
    small = sizes.index[sizes < min_size]
    large = sizes[sizes >= min_size]
    target = POOLED
    if sizes[small].sum() < min_size and len(large) and len(small):
        large = large.sort_index(kind="stable")
        target = str(large.sort_values(kind="stable").index[0])
    return site.where(~site.isin(small), target)


def _per_protocol(
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    ex: pd.DataFrame,
    has_primary_visit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """PPROTFL and PPREASON (the first failed criterion, in PP_REASONS order)."""
    pp = definition.per_protocol
    failed = {
        "NOT_RANDOMISED": adsl["ITTFL"].to_numpy() != "Y",
        "TOO_FEW_SESSIONS": np.zeros(len(adsl), dtype=bool),
        "EXPOSURE_OUTSIDE_PROTOCOL": np.zeros(len(adsl), dtype=bool),
        "NO_PRIMARY_VISIT_VALUE": np.zeros(len(adsl), dtype=bool),
        "NOT_TREATED_AS_RANDOMISED": (
            (adsl["ACTARMFL"].to_numpy() == "Y")
            | (adsl["ACTARMCD"].astype("string") != adsl["ARMCD"].astype("string"))
            .fillna(True)
            .to_numpy(dtype=bool)
        ),
    }
    for short in PROCEDURES.values():
        planned = adsl[f"PLANNED_{short}_SESSIONS"].to_numpy(dtype=float)
        given = adsl[f"{short}_SESSIONS"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            low = (planned > 0) & (given < pp.min_session_share * planned)
        failed["TOO_FEW_SESSIONS"] |= low
    if pp.exposure_within_protocol:
        rows = []
        for arm in definition.arms:
            for comp in arm.components:
                rng = comp.needle_depth_mm or comp.volume_ml
                if rng is not None:
                    rows.append((arm.code, comp.treatment, rng[0], rng[1]))
        limits = pd.DataFrame(rows, columns=["ARMCD", "_trt", "_lo", "_hi"])
        arms = adsl[["USUBJID", "ARMCD"]].astype({"ARMCD": "string"})
        limits = limits.astype({"ARMCD": "string", "_trt": "string"})
        rec = ex[["USUBJID", "_trt", "NEEDLE_DEPTH_MM", "VOLUME_ML"]].merge(arms, on="USUBJID")
        rec = rec.merge(limits, on=["ARMCD", "_trt"], how="inner")
        value = rec["NEEDLE_DEPTH_MM"].where(rec["_trt"] == "microneedling", rec["VOLUME_ML"])
        value = pd.to_numeric(value, errors="coerce")
        outside = (value < rec["_lo"]) | (value > rec["_hi"])
        bad = rec.loc[outside.fillna(False).astype(bool), "USUBJID"].unique()
        failed["EXPOSURE_OUTSIDE_PROTOCOL"] = adsl["USUBJID"].isin(bad).to_numpy()
    if pp.require_primary_visit:
        failed["NO_PRIMARY_VISIT_VALUE"] = ~has_primary_visit
    reason = np.full(len(adsl), None, dtype=object)
    for code in reversed(PP_REASONS):
        reason = np.where(failed[code], code, reason)
    return flag(pd.isna(reason)), reason


def derive_adsl(
    definition: TrialDefinition,
    subjects: pd.DataFrame,
    exposure: pd.DataFrame,
    assessments: pd.DataFrame,
    cm: pd.DataFrame | None = None,
    cutoff: CutoffDate | None = None,
) -> pd.DataFrame:
    """ADSL: one row per subject with arms, treatment dates, exposure, populations, ICE dates.

    Every column of ``subjects`` is carried over (strata, covariates, subgroup variables);
    derived columns come first in ADSL_ORDER. Rules are documented in docs/derivations.md.
    """
    unique_subjects(subjects, "subjects")
    frames = {"subjects": subjects, "exposure": exposure, "assessments": assessments}
    if cm is not None:
        frames["concomitant_medications"] = cm
    frames, _ = apply_cutoff(frames, cutoff)
    adsl = frames["subjects"].reset_index(drop=True)
    ex = _exposure(frames["exposure"])
    arms = {a.code: a for a in definition.arms}
    labels = {a.code: a.label for a in definition.arms}
    adsl["ARM"] = adsl["ARMCD"].astype("string").map(labels)

    summary = _treatment_summary(definition, ex)
    adsl = adsl.drop(columns=[c for c in summary if c != "USUBJID" and c in adsl])
    adsl = adsl.merge(summary, on="USUBJID", how="left", validate="one_to_one")
    for col in ("MN_SESSIONS", "PRP_SESSIONS", "_nex", *(f"DRUG_DAYS_{d.upper()}" for d in DRUGS)):
        adsl[col] = adsl[col].fillna(0).astype("int64")
    for trt, short in PROCEDURES.items():
        plan = {code: planned_sessions(definition, arm, trt) for code, arm in arms.items()}
        adsl[f"PLANNED_{short}_SESSIONS"] = (
            adsl["ARMCD"].astype("string").map(plan).astype("float64")
        )
    adsl["ACTARMCD"], adsl["ACTARMFL"] = _actual_arm(definition, adsl, ex)
    adsl["ACTARM"] = adsl["ACTARMCD"].map(labels)
    adsl["AGEGR1"] = _age_groups(adsl["AGE"], definition.analysis.age_groups)

    itt = (adsl["RANDDT"].notna() & adsl["ARMCD"].notna()).to_numpy(dtype=bool)
    adsl["ITTFL"] = flag(itt)
    adsl["SAFFL"] = flag(adsl["_nex"].to_numpy() > 0)
    primary = definition.primary
    rec = analysis_records(
        definition,
        frames["assessments"].loc[lambda a: a["PARAMCD"].astype("string") == primary.parameter],
        adsl,
    )
    anl = rec["ANL01FL"].eq("Y").to_numpy(dtype=bool)
    has_base = adsl["USUBJID"].isin(rec.loc[rec["ABLFL"].eq("Y").to_numpy(bool), "USUBJID"])
    post = anl & rec["ABLFL"].isna().to_numpy()
    has_post = adsl["USUBJID"].isin(rec.loc[post, "USUBJID"])
    at_primary = post & (rec["AVISIT"] == primary.visit).fillna(False).to_numpy(dtype=bool)
    has_primary = adsl["USUBJID"].isin(rec.loc[at_primary, "USUBJID"]).to_numpy()
    adsl["MITTFL"] = flag(itt & has_base.to_numpy() & has_post.to_numpy())
    adsl["PPROTFL"], adsl["PPREASON"] = _per_protocol(definition, adsl, ex, has_primary)

    adsl["DISCDT"] = adsl["EOSDT"].where(is_value(adsl["EOSSTT"], "DISCONTINUED"))
    adsl["RESCDT"] = pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[ns]")
    if "concomitant_medications" in frames:
        cmf = frames["concomitant_medications"]
        resc = cmf.loc[is_value(cmf["CMRESCUE"], "Y")].groupby("USUBJID")["CMSTDT"].min()
        adsl["RESCDT"] = adsl["USUBJID"].map(resc).astype("datetime64[ns]")
    adsl["SITEGR1"] = pool_sites(adsl["SITEID"], itt, definition.analysis.pool_sites_min_size)

    missing = [s for s in definition.analysis.strata if s not in adsl.columns]
    if missing:
        raise DatasetError(f"subjects: stratification column {missing[0]!r} is missing")
    adsl = adsl.drop(columns=["_nex"])
    order = [c for c in ADSL_ORDER if c in adsl.columns]
    return adsl[order + [c for c in adsl.columns if c not in order]]
