"""Descriptive summaries: disposition, baseline, safety, exposure, recruitment, data quality.

Each function takes subject-level frames. With arms given (and an ``ARMCD`` column) it makes
one column per arm plus a total; with no arms (the open report) only the pooled column,
so the same code serves the final, closed and open reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from trialkit.report.formatting import (
    fmt_date,
    fmt_int,
    fmt_mean_sd,
    fmt_n_pct,
    fmt_num,
    fmt_text,
)
from trialkit.report.tables import group_row, make_table

Arms = Sequence[tuple[str, str]]  # (ARMCD, label) in trial.toml order
RELATED = ("Y", "RELATED", "POSSIBLE", "PROBABLE", "POSSIBLY RELATED", "PROBABLY RELATED")


def _groups(subjects: pd.DataFrame, arms: Arms) -> list[tuple[str, pd.Index]]:
    """(column header, USUBJIDs) per arm and in total (only the total when pooled)."""
    ids = subjects["USUBJID"].astype(str)
    out: list[tuple[str, pd.Index]] = []
    if arms and "ARMCD" in subjects.columns:
        for code, label in arms:
            sel = pd.Index(ids[subjects["ARMCD"].astype(str) == code])
            out.append((f"{label} (N={len(sel)})", sel))
        out.append((f"Total (N={len(ids)})", pd.Index(ids)))
    else:
        out.append((f"All subjects (N={len(ids)})", pd.Index(ids)))
    return out


def _counts_rows(
    values: pd.Series, groups: list[tuple[str, pd.Index]], levels: Sequence[Any]
) -> list[list[str]]:
    """Rows of ``n (%)`` per level and group."""
    rows = []
    for level in levels:
        cells = [f"  {fmt_text(level)}"]
        for _, ids in groups:
            v = values.reindex(ids)
            cells.append(fmt_n_pct(int((v.astype(str) == str(level)).sum()), len(ids)))
        rows.append(cells)
    return rows


def _continuous_rows(
    values: pd.Series, groups: list[tuple[str, pd.Index]], digits: int = 1
) -> list[list[str]]:
    """Rows of n, mean (SD), median and range per group."""
    stats = [("  n", "n"), ("  Mean (SD)", "mean"), ("  Median", "median"), ("  Min, max", "mm")]
    rows = []
    for label, kind in stats:
        cells = [label]
        for _, ids in groups:
            v = pd.to_numeric(values.reindex(ids), errors="coerce").dropna()
            if kind == "n":
                cells.append(fmt_int(len(v)))
            elif v.empty:
                cells.append("–")
            elif kind == "mean":
                cells.append(fmt_mean_sd(v.mean(), v.std(ddof=1) if len(v) > 1 else None, digits))
            elif kind == "median":
                cells.append(fmt_num(v.median(), digits))
            else:
                cells.append(f"{fmt_num(v.min(), digits)}, {fmt_num(v.max(), digits)}")
        rows.append(cells)
    return rows


def baseline_table(
    subjects: pd.DataFrame,
    arms: Arms,
    baseline_values: pd.Series | None,
    parameter_label: str,
    unit: str,
) -> dict[str, Any]:
    """Demographics and baseline disease characteristics (``baseline_values`` by USUBJID)."""
    groups = _groups(subjects, arms)
    by_id = subjects.set_index(subjects["USUBJID"].astype(str))
    width = len(groups) + 1
    rows: list[Any] = []
    if "AGE" in by_id.columns:
        rows.append(group_row("Age (years)", width))
        rows += _continuous_rows(by_id["AGE"], groups)
    for col, title in (("SEX", "Sex, n (%)"), ("SEVERITY", "Baseline severity, n (%)")):
        if col in by_id.columns:
            levels = sorted(by_id[col].dropna().astype(str).unique())
            rows.append(group_row(title, width))
            rows += _counts_rows(by_id[col], groups, levels)
    if baseline_values is not None:
        rows.append(group_row(f"Baseline {parameter_label} ({unit})", width))
        rows += _continuous_rows(baseline_values, groups)
    if "SITEID" in by_id.columns:
        sites = sorted(by_id["SITEID"].dropna().astype(str).unique())
        rows.append(group_row("Site, n (%)", width))
        rows += _counts_rows(by_id["SITEID"], groups, sites)
    return make_table(["Characteristic"] + [g for g, _ in groups], rows)


def disposition(subjects: pd.DataFrame, arms: Arms) -> list[dict[str, Any]]:
    """Per arm (or pooled): randomised, completed, ongoing, discontinued with reasons."""
    out = []
    for header, ids in _groups(subjects, arms):
        sub = subjects[subjects["USUBJID"].astype(str).isin(ids)]
        status = sub["EOSSTT"].astype("string").str.upper() if "EOSSTT" in sub else None
        disc = sub[status == "DISCONTINUED"] if status is not None else sub.iloc[:0]
        reasons = (
            disc["DCSREAS"].fillna("not recorded").astype(str).value_counts().sort_index()
            if "DCSREAS" in disc
            else pd.Series(dtype=int)
        )
        out.append(
            {
                "label": header.rsplit(" (N=", 1)[0],
                "randomized": len(sub),
                "completed": int((status == "COMPLETED").sum()) if status is not None else None,
                "ongoing": int((status == "ONGOING").sum()) if status is not None else None,
                "discontinued": len(disc),
                "reasons": [
                    {"reason": str(r), "n": int(n)}
                    for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
                ],
            }
        )
    return out


def _ae_subjects(aes: pd.DataFrame, mask: pd.Series, ids: pd.Index) -> int:
    """Subjects among ``ids`` with an AE selected by ``mask``."""
    subj = aes.loc[mask, "USUBJID"].astype(str)
    return int(subj[subj.isin(ids)].nunique())


def _flag(aes: pd.DataFrame, column: str, yes: Sequence[str]) -> pd.Series:
    """Rows whose ``column`` is one of ``yes`` (case-insensitive)."""
    if column not in aes.columns:
        return pd.Series(False, index=aes.index)
    return aes[column].astype("string").str.upper().isin([y.upper() for y in yes]).fillna(False)


def treatment_emergent(aes: pd.DataFrame) -> pd.DataFrame:
    """TEAEs when the derived flag exists, else every adverse event."""
    if "TRTEMFL" in aes.columns:
        return aes[_flag(aes, "TRTEMFL", ("Y",))]
    return aes


def ae_overview(aes: pd.DataFrame, subjects: pd.DataFrame, arms: Arms) -> dict[str, Any]:
    """Subjects with at least one AE of each kind, n (%)."""
    groups = _groups(subjects, arms)
    te = treatment_emergent(aes)
    kinds = [
        ("Any adverse event", pd.Series(True, index=te.index)),
        (
            "Related to study treatment",
            _flag(te, "AEREL", ("Y", "RELATED", "POSSIBLE", "PROBABLE")),
        ),
        ("Serious", _flag(te, "AESER", ("Y",))),
        ("Severe", _flag(te, "AESEV", ("SEVERE",))),
    ]
    rows = []
    for label, mask in kinds:
        cells = [label]
        for _, ids in groups:
            cells.append(fmt_n_pct(_ae_subjects(te, mask, ids), len(ids)))
        rows.append(cells)
    te_note = (
        "Treatment-emergent adverse events"
        if "TRTEMFL" in aes.columns
        else "All adverse events reported (treatment emergence depends on each arm's dosing "
        "and is shown in the closed report)"
    )
    return make_table(
        ["Subjects with", *[g for g, _ in groups]],
        rows,
        note=f"{te_note}; a subject is counted once per row.",
    )


def ae_by_term(aes: pd.DataFrame, subjects: pd.DataFrame, arms: Arms) -> dict[str, Any]:
    """Subjects with each AE by body system and preferred term, n (%)."""
    groups = _groups(subjects, arms)
    te = treatment_emergent(aes)
    width = len(groups) + 1
    soc_col = "AEBODSYS" if "AEBODSYS" in te.columns else None
    term_col = "AEDECOD" if "AEDECOD" in te.columns else "AETERM"
    rows: list[Any] = []
    socs = sorted(te[soc_col].fillna("Not coded").astype(str).unique()) if soc_col else [None]
    for soc in socs:
        in_soc = (
            te[soc_col].fillna("Not coded").astype(str) == soc
            if soc_col
            else pd.Series(True, index=te.index)
        )
        if soc is not None:
            rows.append(group_row(str(soc), width))
        for term in sorted(te.loc[in_soc, term_col].fillna("Not coded").astype(str).unique()):
            mask = in_soc & (te[term_col].fillna("Not coded").astype(str) == term)
            cells = [f"  {term}"]
            for _, ids in groups:
                cells.append(fmt_n_pct(_ae_subjects(te, mask, ids), len(ids)))
            rows.append(cells)
    return make_table(["Body system / preferred term", *[g for g, _ in groups]], rows)


def sae_listing(
    aes: pd.DataFrame, arm_of: dict[str, str] | None, max_rows: int = 200
) -> dict[str, Any]:
    """Serious adverse events, one row each (with the subject's arm when ``arm_of`` is given)."""
    sae = aes[_flag(aes, "AESER", ("Y",))].sort_values(
        [c for c in ("USUBJID", "AESTDT") if c in aes.columns], kind="mergesort"
    )
    header = ["Subject"] + (["Arm"] if arm_of is not None else []) + [
        "Term", "Body system", "Onset", "End", "Severity", "Related",
    ]  # fmt: skip
    rows = []
    for _, r in sae.head(max_rows).iterrows():
        subj = str(r["USUBJID"])
        rows.append(
            [subj]
            + ([arm_of.get(subj, "–")] if arm_of is not None else [])
            + [
                fmt_text(r.get("AETERM")),
                fmt_text(r.get("AEBODSYS")),
                fmt_date(r.get("AESTDT")),
                fmt_date(r.get("AEENDT")),
                fmt_text(r.get("AESEV")),
                fmt_text(r.get("AEREL")),
            ]
        )
    return make_table(header, rows, numeric=[False] * len(header))


def discontinuation_listing(
    subjects: pd.DataFrame, arm_of: dict[str, str] | None
) -> dict[str, Any]:
    """Subjects who discontinued the study, with date and reason."""
    status = subjects["EOSSTT"].astype("string").str.upper()
    disc = subjects[status == "DISCONTINUED"].sort_values("USUBJID", kind="mergesort")
    header = ["Subject"] + (["Arm"] if arm_of is not None else []) + [
        "Site", "Randomised", "End of study", "Reason",
    ]  # fmt: skip
    rows = []
    for _, r in disc.iterrows():
        subj = str(r["USUBJID"])
        rows.append(
            [subj]
            + ([arm_of.get(subj, "–")] if arm_of is not None else [])
            + [
                fmt_text(r.get("SITEID")),
                fmt_date(r.get("RANDDT")),
                fmt_date(r.get("EOSDT")),
                fmt_text(r.get("DCSREAS")),
            ]
        )
    return make_table(header, rows, numeric=[False] * len(header))


def exposure_table(exposure: pd.DataFrame, subjects: pd.DataFrame, arms: Arms) -> dict[str, Any]:
    """Sessions per subject and needle depth (microneedling) and PRP volume, by arm."""
    groups = _groups(subjects, arms)
    width = len(groups) + 1
    ex = exposure.copy()
    ex["EXTRT"] = ex["EXTRT"].astype("string").str.lower()
    rows: list[Any] = []
    for treatment, title in (("microneedling", "Microneedling"), ("prp", "PRP")):
        sel = ex[ex["EXTRT"] == treatment]
        if sel.empty:
            continue
        sessions = sel.groupby(sel["USUBJID"].astype(str)).size()
        rows.append(group_row(f"{title}: sessions per treated subject", width))
        cells = ["  Subjects treated, n (%)"]
        for _, ids in groups:
            cells.append(fmt_n_pct(int(sessions.index.isin(ids).sum()), len(ids)))
        rows.append(cells)
        rows += _continuous_rows(sessions, groups)[1:]
        column, label = (
            ("NEEDLE_DEPTH_MM", "needle depth (mm)")
            if treatment == "microneedling"
            else ("VOLUME_ML", "volume (mL)")
        )
        if column in sel.columns:
            rows.append(group_row(f"{title}: {label} per session", width))
            values = pd.to_numeric(sel[column], errors="coerce")
            ids_col = sel["USUBJID"].astype(str)
            for stat_label, fn in (("  Sessions, n", "n"), ("  Mean (SD)", "mean"),
                                   ("  Min, max", "mm")):  # fmt: skip
                cells = [stat_label]
                for _, ids in groups:
                    v = values[ids_col.isin(ids)].dropna()
                    if fn == "n":
                        cells.append(fmt_int(len(v)))
                    elif v.empty:
                        cells.append("–")
                    elif fn == "mean":
                        cells.append(fmt_mean_sd(v.mean(), v.std(ddof=1), 2))
                    else:
                        cells.append(f"{fmt_num(v.min(), 2)}, {fmt_num(v.max(), 2)}")
                rows.append(cells)
    for treatment in sorted(set(ex["EXTRT"].dropna()) - {"microneedling", "prp"}):
        sel = ex[ex["EXTRT"] == treatment]
        treated = set(sel["USUBJID"].astype(str))
        cells = [f"{fmt_text(treatment).capitalize()}: subjects dispensed, n (%)"]
        for _, ids in groups:
            cells.append(fmt_n_pct(len(treated & set(ids)), len(ids)))
        rows.append(cells)
    return make_table(["Exposure", *[g for g, _ in groups]], rows)


def recruitment_table(subjects: pd.DataFrame) -> dict[str, Any]:
    """Subjects randomised per month and site, with the cumulative total (pooled over arms)."""
    dates = pd.to_datetime(subjects["RANDDT"], errors="coerce")
    month = dates.dt.strftime("%Y-%m")
    sites = sorted(subjects["SITEID"].dropna().astype(str).unique()) if "SITEID" in subjects else []
    months = sorted(month.dropna().unique())
    rows = []
    total = 0
    for m in months:
        in_m = month == m
        cells = [str(m)]
        for s in sites:
            cells.append(fmt_int(int((in_m & (subjects["SITEID"].astype(str) == s)).sum())))
        n = int(in_m.sum())
        total += n
        cells += [fmt_int(n), fmt_int(total)]
        rows.append(cells)
    return make_table(["Month", *[f"Site {s}" for s in sites], "All sites", "Cumulative"], rows)


def retention_table(
    subjects: pd.DataFrame, visits: pd.DataFrame | None, visit_order: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """Subjects with a value of the primary parameter at each scheduled visit (pooled)."""
    n = len(subjects)
    rows = []
    for code, label in visit_order:
        if visits is None or "AVISIT" not in visits.columns:
            break
        at = visits[visits["AVISIT"].astype(str) == code]
        has = at["HASVAL"] if "HASVAL" in at.columns else at["AVAL"].notna()
        k = int(at.loc[has.astype(bool), "USUBJID"].nunique())
        rows.append([label, fmt_n_pct(k, n)])
    return make_table(["Visit", f"Subjects assessed (N={n})"], rows)


def findings_by_rule(findings: pd.DataFrame, titles: dict[str, str]) -> dict[str, Any]:
    """Validation findings counted by rule (and dataset): no subject, value or message."""
    counts = findings
    if "n" not in counts.columns:
        cols = [c for c in ("rule", "severity", "dataset") if c in findings.columns]
        counts = findings.groupby(cols, dropna=False).size().reset_index(name="n")
    by_rule = counts.groupby(["rule", "severity"], dropna=False)
    rows = []
    for (rule, severity), grp in sorted(by_rule, key=lambda kv: str(kv[0][0])):
        datasets = ", ".join(
            f"{d} ({int(k)})" for d, k in zip(grp.get("dataset", []), grp["n"], strict=False)
        )
        rows.append(
            [
                str(rule),
                fmt_text(severity),
                titles.get(str(rule), ""),
                datasets,
                fmt_int(int(grp["n"].sum())),
            ]
        )
    return make_table(
        ["Rule", "Severity", "Check", "Datasets (findings)", "Findings"],
        rows,
        numeric=[False, False, False, False, True],
    )


def summary_numbers(values: pd.Series) -> dict[str, float]:
    """Mean, SD and n of a numeric series (used in text)."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    return {"n": float(len(v)), "mean": float(v.mean()) if len(v) else np.nan}
