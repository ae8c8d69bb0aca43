"""What the open (blinded) interim report may carry: pooled material only, by construction.

The open report is built from a :class:`PooledData`, never from the analysis output itself.
``pool`` keeps an allow-list of columns (no ARMCD, no exposure, no post-baseline efficacy
values, no validation messages, which can name a subject's arm), so no arm-level number can
reach the open report's template context even by mistake. Nothing derived from exposure is
kept either (the safety population flag, treatment-emergence), since dosing differs by arm.
The analysis itself runs in a temporary folder outside the report's output folder and is
deleted afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from trialkit.report.results import AnalysisOutput

#: Subject-level columns the open report may use (none identifies or depends on the arm).
SUBJECT_COLUMNS = (
    "USUBJID", "SITEID", "RANDDT", "AGE", "SEX", "SEVERITY", "EOSSTT", "EOSDT", "DCSREAS",
    "ITTFL",
)  # fmt: skip
#: Visit-level columns: which subject attended which visit (post-baseline values are dropped).
VISIT_COLUMNS = ("USUBJID", "PARAMCD", "AVISIT", "AVISITN", "ABLFL", "AVAL")
#: Adverse-event columns. Not TRTEMFL: treatment emergence depends on each subject's dosing
#: dates, which differ by arm (weekly or monthly sessions, daily drug), so the open report
#: counts every adverse event reported instead.
AE_COLUMNS = (
    "USUBJID", "AETERM", "AEDECOD", "AEBODSYS", "AESTDT", "AEENDT", "AESEV", "AEREL", "AESER",
)  # fmt: skip
#: Validation findings are reduced to counts by rule, severity and dataset.
FINDING_COLUMNS = ("rule", "severity", "dataset")
#: Of the group sequential look (results.json ``interim``) only which look it is and the
#: information fraction reached: ``InterimLook.blinded_summary()``'s keys. Nothing per arm
#: (z, boundaries crossed, conditional power), and not ``information_observed``, which under
#: the variance measure is one arm's 1 / se^2.
INTERIM_KEYS = ("look", "information_fraction")

#: Sections of the open interim report, in order.
OPEN_SECTIONS = (
    "title_page",
    "recruitment",
    "retention",
    "information",
    "data_quality",
    "baseline",
    "safety_pooled",
    "signoff",
)


@dataclass(frozen=True)
class PooledData:
    """Everything the open report is built from."""

    subjects: pd.DataFrame | None
    visits: pd.DataFrame | None
    adverse_events: pd.DataFrame | None
    findings: pd.DataFrame | None
    validation_totals: dict[str, Any]
    primary_parameter: str | None
    interim: dict[str, Any] | None = None


def _keep(frame: pd.DataFrame | None, columns: tuple[str, ...]) -> pd.DataFrame | None:
    """The allowed columns of ``frame``, rows in a fixed order independent of the arm."""
    if frame is None:
        return None
    kept = frame[[c for c in columns if c in frame.columns]].copy()
    order = [c for c in ("USUBJID", "AVISITN", "AESTDT", "AETERM") if c in kept.columns]
    if order:
        kept = kept.sort_values(order, kind="mergesort", na_position="last")
    return kept.reset_index(drop=True)


def pool(output: AnalysisOutput) -> PooledData:
    """Reduce an analysis output to the pooled material an open report may show."""
    parameter = output.get("primary", "endpoint", "parameter")
    visits = _keep(output.adam("adbds"), VISIT_COLUMNS)
    if visits is not None:
        if parameter is not None and "PARAMCD" in visits.columns:
            visits = visits[visits["PARAMCD"] == parameter].reset_index(drop=True)
        if "AVAL" in visits.columns:
            baseline = (
                visits["ABLFL"].astype("string").eq("Y").fillna(False)
                if "ABLFL" in visits.columns
                else pd.Series(False, index=visits.index)
            )
            # only whether a post-baseline value exists, never the value
            visits = visits.assign(
                HASVAL=visits["AVAL"].notna(),
                AVAL=visits["AVAL"].where(baseline),
            )
    findings = _keep(_findings(output), FINDING_COLUMNS)
    if findings is not None:
        findings = (
            findings.groupby(list(findings.columns), dropna=False).size().reset_index(name="n")
        )
    validation = output.get("validation") or {}
    return PooledData(
        subjects=_keep(output.adam("adsl"), SUBJECT_COLUMNS),
        visits=visits,
        adverse_events=_keep(output.adam("adae"), AE_COLUMNS),
        findings=findings,
        validation_totals={
            "errors": validation.get("errors"),
            "warnings": validation.get("warnings"),
            "allowed_errors": validation.get("allowed_errors"),
        },
        primary_parameter=parameter,
        interim=_interim(output),
    )


def _interim(output: AnalysisOutput) -> dict[str, Any] | None:
    """The allowed keys of the group sequential look, or ``None`` without one."""
    look = output.get("interim")
    if not isinstance(look, dict):
        return None
    return {key: look.get(key) for key in INTERIM_KEYS}


def _findings(output: AnalysisOutput) -> pd.DataFrame | None:
    """Validation findings: the full table, else those listed in results.json."""
    table = output.table("validation_findings")
    if table is not None:
        return table
    return output.rows("validation", "findings")
