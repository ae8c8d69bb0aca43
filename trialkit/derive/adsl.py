"""Subject-level analysis dataset (ADSL): arms, treatment dates, exposure, populations, ICEs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from trialkit.cutoff import CutoffDate
from trialkit.definition import CODE_PATTERN, Arm, TrialDefinition
from trialkit.derive._common import (
    flag,
    is_value,
    subject_index,
    subjects_with,
    text_where,
    unique_subjects,
)
from trialkit.derive.bds import analysis_records
from trialkit.derive.cutoff import apply_cutoff
from trialkit.errors import DatasetError
from trialkit.treatments import KINDS, RANGE_COLUMNS

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
    "DRUG_DAYS_MINOXIDIL", "DRUG_DAYS_FINASTERIDE",
    "ITTFL", "MITTFL", "SAFFL", "PPROTFL", "PPREASON",
)  # fmt: skip


def procedures(definition: TrialDefinition) -> dict[str, str]:
    """The procedures ADSL summarises, with their column prefix: those ADSL always had, and any
    other procedure kind of the registry the trial gives."""
    given = {c.treatment for a in definition.arms for c in a.components}
    return {
        k.name: k.short
        for k in KINDS.values()
        if k.procedure and k.short and (k.always_in_adsl or k.name in given)
    }


def drugs(definition: TrialDefinition) -> tuple[str, ...]:
    """The EXTRT of drugs and products with a DRUG_DAYS column: those ADSL always had, and the
    trial's other non-procedure treatments whose name is a code."""
    names = [k.name for k in KINDS.values() if not k.procedure and k.always_in_adsl]
    names += [c.extrt for a in definition.arms for c in a.components if not c.is_procedure]
    return tuple(n for n in dict.fromkeys(names) if CODE_PATTERN.fullmatch(n))


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


def _exposure(
    exposure: pd.DataFrame, adsl: pd.DataFrame, treatments: tuple[str, ...]
) -> pd.DataFrame:
    """Exposure of ADSL subjects with subject position, treatment code and each record's end.

    ``_trt`` is the index of the lower-cased EXTRT in ``treatments`` (the trial's EXTRT names;
    len(treatments) for any other text, -1 when missing).
    """
    ex = exposure.copy()
    ex["_sid"] = subject_index(adsl["USUBJID"], ex["USUBJID"])
    ex = ex.loc[ex["_sid"].to_numpy() >= 0].reset_index(drop=True)
    codes, uniques = pd.factorize(ex["EXTRT"])
    names = pd.Index(uniques).astype("string").str.strip().str.lower()
    known = [t.lower() for t in treatments]
    lookup = np.array([known.index(n) if n in known else len(known) for n in names])
    ex["_trt"] = np.where(codes >= 0, lookup[np.maximum(codes, 0)] if len(lookup) else -1, -1)
    ex["_end"] = ex[["EXSTDT", "EXENDT"]].max(axis=1)
    return ex


def _treatment_summary(
    definition: TrialDefinition, ex: pd.DataFrame, n: int, treatments: tuple[str, ...]
) -> pd.DataFrame:
    """Per subject (by position): TRTSDT, TRTEDT, sessions, needle depth, PRP volume, drug days."""
    index = pd.RangeIndex(n)
    g = ex.groupby("_sid")
    out = pd.DataFrame({"TRTSDT": g["EXSTDT"].min(), "TRTEDT": g["_end"].max()}).reindex(index)
    out["_nex"] = g.size().reindex(index, fill_value=0)
    trt = ex["_trt"].to_numpy()

    def given(name: str) -> np.ndarray:
        return trt == (treatments.index(name) if name in treatments else -2)

    for name, short in procedures(definition).items():
        mine = ex.loc[given(name)]
        out[f"{short}_SESSIONS"] = mine.groupby("_sid").size().reindex(index, fill_value=0)
    mn = ex.loc[given("microneedling")].groupby("_sid")["NEEDLE_DEPTH_MM"]
    out["MEAN_NEEDLE_DEPTH"] = mn.mean().reindex(index)
    out["MAX_NEEDLE_DEPTH"] = mn.max().reindex(index)
    prp = ex.loc[given("prp")].groupby("_sid")["VOLUME_ML"]
    out["PRP_VOLUME_TOTAL"] = prp.sum(min_count=1).reindex(index)
    days = (ex["EXENDT"].fillna(ex["EXSTDT"]) - ex["EXSTDT"]).dt.days + 1
    for drug in drugs(definition):
        on_drug = days[given(drug)].groupby(ex["_sid"]).sum()
        out[f"DRUG_DAYS_{drug.upper()}"] = on_drug.reindex(index, fill_value=0).astype("int64")
    return out


def _actual_arm(
    definition: TrialDefinition, adsl: pd.DataFrame, ex: pd.DataFrame, treatments: tuple[str, ...]
) -> tuple[pd.Series, np.ndarray]:
    """ACTARMCD: the arm whose treatments equal those received (randomised arm preferred).

    When no arm matches exactly (including no exposure), the randomised arm is kept and
    ACTARMFL is "Y".
    """
    trt = ex["_trt"].to_numpy()
    received = np.zeros(len(adsl), dtype="int64")
    known = trt >= 0
    np.bitwise_or.at(received, ex["_sid"].to_numpy()[known], 1 << trt[known])
    arm_bits = {
        a.code: sum(1 << treatments.index(t) for t in a.treatments) for a in definition.arms
    }
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
    treatments: tuple[str, ...],
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
    for short in procedures(definition).values():
        planned = adsl[f"PLANNED_{short}_SESSIONS"].to_numpy(dtype=float)
        given = adsl[f"{short}_SESSIONS"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            low = (planned > 0) & (given < pp.min_session_share * planned)
        failed["TOO_FEW_SESSIONS"] |= low
    if pp.exposure_within_protocol:
        arm_pos = {arm.code: i for i, arm in enumerate(definition.arms)}
        subject_arm = adsl["ARMCD"].astype("string").map(arm_pos).fillna(len(arm_pos))
        sid = ex["_sid"].to_numpy()
        arm_of = subject_arm.astype("int64").to_numpy()[sid]
        trt = ex["_trt"].to_numpy()
        col = np.where(trt >= 0, trt, len(treatments))
        outside = np.zeros(len(ex), dtype=bool)
        for column in RANGE_COLUMNS:  # the protocol ranges the treatment registry declares
            lo = np.full((len(arm_pos) + 1, len(treatments) + 1), -np.inf)
            hi = np.full_like(lo, np.inf)
            for arm in definition.arms:
                for comp in arm.components:
                    rng = comp.protocol_range(column)
                    if rng is not None:
                        lo[arm_pos[arm.code], treatments.index(comp.extrt)] = rng[0]
                        hi[arm_pos[arm.code], treatments.index(comp.extrt)] = rng[1]
            value = pd.to_numeric(ex[column], errors="coerce").to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                outside |= (value < lo[arm_of, col]) | (value > hi[arm_of, col])
        failed["EXPOSURE_OUTSIDE_PROTOCOL"] = subjects_with(len(adsl), sid[outside])
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
    n = len(adsl)
    treatments = definition.treatments
    ex = _exposure(frames["exposure"], adsl, treatments)
    arms = {a.code: a for a in definition.arms}
    labels = {a.code: a.label for a in definition.arms}
    adsl["ARM"] = adsl["ARMCD"].astype("string").map(labels)

    summary = _treatment_summary(definition, ex, n, treatments)
    adsl = adsl.drop(columns=[c for c in summary if c in adsl])
    adsl = pd.concat([adsl, summary], axis=1)
    for trt, short in procedures(definition).items():
        plan = {code: planned_sessions(definition, arm, trt) for code, arm in arms.items()}
        adsl[f"PLANNED_{short}_SESSIONS"] = (
            adsl["ARMCD"].astype("string").map(plan).astype("float64")
        )
    adsl["ACTARMCD"], adsl["ACTARMFL"] = _actual_arm(definition, adsl, ex, treatments)
    adsl["ACTARM"] = adsl["ACTARMCD"].map(labels)
    adsl["AGEGR1"] = _age_groups(adsl["AGE"], definition.analysis.age_groups)

    itt = (adsl["RANDDT"].notna() & adsl["ARMCD"].notna()).to_numpy(dtype=bool)
    adsl["ITTFL"] = flag(itt)
    adsl["SAFFL"] = flag(adsl["_nex"].to_numpy() > 0)
    primary = definition.primary
    assess = frames["assessments"]
    rec = analysis_records(
        definition, assess.loc[is_value(assess["PARAMCD"], primary.parameter)], adsl
    )
    sid = rec["_sid"].to_numpy()
    baseline = rec["ABLFL"].eq("Y").to_numpy(dtype=bool)
    post = rec["ANL01FL"].eq("Y").to_numpy(dtype=bool) & ~baseline
    at_primary = post & rec["AVISIT"].eq(primary.visit).fillna(False).to_numpy(dtype=bool)
    has_base = subjects_with(n, sid[baseline])
    has_post = subjects_with(n, sid[post])
    adsl["MITTFL"] = flag(itt & has_base & has_post)
    has_primary = subjects_with(n, sid[at_primary])
    adsl["PPROTFL"], adsl["PPREASON"] = _per_protocol(definition, adsl, ex, has_primary, treatments)

    adsl["DISCDT"] = adsl["EOSDT"].where(is_value(adsl["EOSSTT"], "DISCONTINUED"))
    adsl["RESCDT"] = pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[ns]")
    if "concomitant_medications" in frames:
        cmf = frames["concomitant_medications"]
        rescue = cmf.loc[is_value(cmf["CMRESCUE"], "Y")]
        first = rescue["CMSTDT"].groupby(subject_index(adsl["USUBJID"], rescue["USUBJID"])).min()
        adsl["RESCDT"] = first.reindex(pd.RangeIndex(n)).astype("datetime64[ns]")
    adsl["SITEGR1"] = pool_sites(adsl["SITEID"], itt, definition.analysis.pool_sites_min_size)

    missing = [s for s in definition.analysis.strata if s not in adsl.columns]
    if missing:
        raise DatasetError(f"subjects: stratification column {missing[0]!r} is missing")
    adsl = adsl.drop(columns=["_nex"])
    order = [c for c in ADSL_ORDER if c in adsl.columns]
    return adsl[order + [c for c in adsl.columns if c not in order]]
