"""Build the template context of a report from the analysis results and the trial definition.

Each section is a dict ``{"name", "title", "available", ...}``; a section whose results are
absent is ``available = False`` and the template prints a short "not available" note. The
open interim report is built only from :func:`trialkit.report.blinding.pool`'s output.
"""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from trialkit.definition import TrialDefinition
from trialkit.report import descriptive as desc
from trialkit.report import figures
from trialkit.report.blinding import OPEN_SECTIONS, PooledData, pool
from trialkit.report.formatting import (
    MISSING,
    fmt_ci,
    fmt_date,
    fmt_est_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_text,
    humanize,
    short_hash,
    visit_label,
)
from trialkit.report.results import AnalysisOutput
from trialkit.report.tables import frame_table, make_table

Kind = Literal["final", "interim"]

#: Column header of p-values (a non-breaking hyphen keeps it on one line).
P_VALUE = "p\u2011value"

CONFIDENTIAL = "Confidential: for the data monitoring committee only"

#: Sections of the final and the closed interim report, in order.
FULL_SECTIONS = (
    "title_page",
    "estimand",
    "consort",
    "baseline",
    "data_quality",
    "primary",
    "lsmeans",
    "responders",
    "forest",
    "sensitivity",
    "secondary",
    "safety",
    "exposure",
    "diagnostics",
    "boundaries",
    "appendix",
    "signoff",
)

TITLES = {
    "title_page": "Title page",
    "estimand": "Estimand",
    "consort": "Subject flow",
    "baseline": "Baseline characteristics",
    "data_quality": "Data quality",
    "primary": "Primary analysis",
    "lsmeans": "Change from baseline over time",
    "responders": "Responders",
    "forest": "Subgroup analyses",
    "sensitivity": "Sensitivity analyses",
    "secondary": "Secondary endpoints",
    "safety": "Safety",
    "safety_pooled": "Safety (pooled over arms)",
    "exposure": "Exposure to study treatment",
    "diagnostics": "Model diagnostics",
    "boundaries": "Group sequential monitoring",
    "appendix": "Appendix: analysis settings and provenance",
    "signoff": "Sign-off",
    "recruitment": "Recruitment",
    "retention": "Retention and disposition (pooled over arms)",
}

#: Readable names of covariance structures and degrees-of-freedom methods.
COVARIANCE_NAMES = {
    "us": "unstructured", "cs": "compound symmetry", "csh": "heterogeneous compound symmetry",
    "ar1": "first-order autoregressive", "ar1h": "heterogeneous first-order autoregressive",
    "toep": "Toeplitz", "toeph": "heterogeneous Toeplitz", "adh": "ante-dependence",
}  # fmt: skip
DF_NAMES = {"kenward-roger": "Kenward-Roger", "satterthwaite": "Satterthwaite",
            "residual": "residual"}  # fmt: skip

#: Names of the alpha-spending functions of ``[interim]``.
SPENDING_NAMES = {
    "of": "Lan-DeMets O'Brien-Fleming type",
    "pocock": "Lan-DeMets Pocock type",
    "hsd": "Hwang-Shih-DeCani",
    "kd": "Kim-DeMets power",
}

#: Validation rules whose findings are protocol deviations (listed under safety).
DEVIATION_RULES = ("TK013", "TK014", "TK015", "TK016", "TK019", "TK030", "TK031")


@dataclass(frozen=True)
class ReportOptions:
    """What kind of report, when, and from which inputs."""

    kind: Kind = "final"
    blinded: bool = False
    cutoff: date | None = None
    generated: datetime = field(default_factory=lambda: datetime.now().astimezone())
    input_hashes: Mapping[str, str] = field(default_factory=dict)
    software: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``final``, ``interim-open`` or ``interim-closed``."""
        if self.kind == "final":
            return "final"
        return "interim-open" if self.blinded else "interim-closed"


class _Builder:
    """Holds the shared inputs while the sections are built."""

    def __init__(
        self,
        definition: TrialDefinition,
        output: AnalysisOutput | None,
        pooled: PooledData | None,
        options: ReportOptions,
        exposure: pd.DataFrame | None,
    ) -> None:
        """Keep the inputs; ``output`` is ``None`` for the open report (pooled data only)."""
        self.d = definition
        self.out = output  # None in the open report: it must never see arm-level results
        self.pooled = pooled
        self.opt = options
        self.exposure = exposure
        self.arms = [(a.code, a.label) for a in definition.arms]
        self.arm_label = dict(self.arms)
        self.colours = figures.arm_colours([a.code for a in definition.arms])
        param = definition.parameter(definition.primary.parameter)
        self.param = param
        self.unit = param.unit or "units"
        variable = definition.primary.variable
        self.y_what = {
            "CHG": "change from baseline",
            "PCHG": "percent change from baseline",
            "AVAL": "value",
        }[variable]
        self.y_unit = "%" if variable == "PCHG" else self.unit
        self.visit_days = {v.code: v.day for v in definition.post_baseline_visits}
        self.visit_labels = {v.code: v.label or visit_label(v.code) for v in definition.visits}
        self.primary_visit = definition.primary.visit
        self.confidence = 1 - definition.analysis.alpha

    # -- helpers ---------------------------------------------------------------------------

    def _generic(
        self, frame: pd.DataFrame | None, max_rows: int, caption: str | None = None
    ) -> dict[str, Any] | None:
        """A results table rendered generically, codes shown by their labels."""
        if frame is None:
            return None
        return frame_table(
            frame, labels=_LABELS, max_rows=max_rows, values=self.code_labels(), caption=caption
        )

    def code_labels(self) -> dict[str, dict[str, str]]:
        """Arm and visit codes in generic tables shown by their labels."""
        arms = dict(self.arm_label)
        visits = dict(self.visit_labels)
        return {"arm": arms, "reference": arms, "ARMCD": arms, "visit": visits, "AVISIT": visits}

    def subjects(self) -> pd.DataFrame | None:
        """Subject-level data: pooled allow-list (open report) or ADSL."""
        if self.pooled is not None:
            return self.pooled.subjects
        assert self.out is not None
        return self.out.adam("adsl")

    def arms_for_tables(self) -> desc.Arms:
        """Arms for descriptive tables: none (pooled) in the open report."""
        return [] if self.opt.blinded else self.arms

    def arm_of(self) -> dict[str, str] | None:
        """Arm label by subject, or ``None`` in the open report."""
        subjects = self.subjects()
        if self.opt.blinded or subjects is None or "ARMCD" not in subjects.columns:
            return None
        return {
            str(u): self.arm_label.get(str(a), str(a))
            for u, a in zip(subjects["USUBJID"], subjects["ARMCD"], strict=True)
        }

    def baseline_values(self) -> pd.Series | None:
        """Baseline value of the primary parameter by subject."""
        if self.pooled is not None:
            bds = self.pooled.visits
        else:
            assert self.out is not None
            bds = self.out.adam("adbds")
        if bds is None or "ABLFL" not in bds.columns:
            return None
        sel = bds[bds["ABLFL"].astype("string").eq("Y").fillna(False)]
        if "PARAMCD" in sel.columns:
            sel = sel[sel["PARAMCD"] == self.param.code]
        return sel.groupby(sel["USUBJID"].astype(str))["AVAL"].first()

    # -- sections common to every report ----------------------------------------------------

    def title_page(self) -> dict[str, Any]:
        """Trial, kind of report, cutoff, generation time and short input hashes."""
        kind = {
            "final": "Final analysis report",
            "interim-open": "Interim report: open (blinded, pooled over arms)",
            "interim-closed": "Interim report: closed (unblinded)",
        }[self.opt.label]
        info = self.d.trial
        return {
            "report_title": kind,
            "audience": {
                "final": "Sponsor, investigators and regulators",
                "interim-open": "Study team (blinded)",
                "interim-closed": "Data monitoring committee only",
            }[self.opt.label],
            "trial_id": info.id,
            "trial_title": info.title,
            "indication": info.indication,
            "sponsor": info.sponsor or MISSING,
            "phase": info.phase or MISSING,
            "cutoff": fmt_date(self.opt.cutoff) if self.opt.cutoff else "none (all data)",
            "generated": self.opt.generated.strftime("%Y-%m-%d %H:%M %Z").strip(),
            "hashes": [
                {"name": k, "short": short_hash(v)}
                for k, v in sorted(self.opt.input_hashes.items())
            ],
            "arms": [] if self.opt.blinded else [{"code": c, "label": lbl} for c, lbl in self.arms],
            "endpoint": f"{self.param.label} ({self.unit}), {self.y_what} at "
            f"{self.visit_labels.get(self.primary_visit, self.primary_visit)}",
        }

    def data_quality(self) -> dict[str, Any] | None:
        """Validation findings counted by rule (and, unblinded, the error listing)."""
        from trialkit.report.blinding import FINDING_COLUMNS

        if self.pooled is not None:
            findings = self.pooled.findings
            totals = self.pooled.validation_totals
        else:
            assert self.out is not None
            findings = self.out.table("validation_findings")
            if findings is None:
                findings = self.out.rows("validation", "findings")
            totals = self.out.get("validation") or {}
        if findings is None and not totals:
            return None
        titles = _rule_titles()
        result: dict[str, Any] = {
            "errors": fmt_int(totals.get("errors")),
            "warnings": fmt_int(totals.get("warnings")),
            "allowed_errors": bool(totals.get("allowed_errors")),
            "by_rule": desc.findings_by_rule(findings, titles)
            if findings is not None and len(findings)
            else None,
            "listing": None,
        }
        if self.pooled is None and findings is not None and len(findings):
            errors = findings[findings["severity"].astype(str) == "error"]
            cols = [c for c in ("rule", "dataset", "row", "usubjid", "column", "value", "message")
                    if c in errors.columns]  # fmt: skip
            if len(errors):
                result["listing"] = frame_table(errors[cols], max_rows=100)
        del FINDING_COLUMNS
        return result

    def baseline(self) -> dict[str, Any] | None:
        """Demographics and baseline characteristics (by arm, or pooled)."""
        subjects = self.subjects()
        if subjects is None:
            return None
        table = desc.baseline_table(
            subjects, self.arms_for_tables(), self.baseline_values(), self.param.label, self.unit
        )
        return {"table": table}

    def signoff(self) -> dict[str, Any]:
        """Roles of the sign-off block."""
        return {"roles": ["Prepared by (statistician)", "Reviewed by", "Approved by (sponsor)"]}

    # -- open report ------------------------------------------------------------------------

    def recruitment(self) -> dict[str, Any] | None:
        """Cumulative randomisation over time and by month and site (pooled)."""
        subjects = self.subjects()
        if subjects is None or "RANDDT" not in subjects.columns:
            return None
        planned = None
        if self.d.interim is not None and self.d.interim.max_subjects is not None:
            planned = int(self.d.interim.max_subjects)
        by_site = subjects["SITEID"] if "SITEID" in subjects.columns else None
        return {
            "n": len(subjects),
            "first": fmt_date(subjects["RANDDT"].min()),
            "last": fmt_date(subjects["RANDDT"].max()),
            "figure": figures.recruitment_figure(subjects["RANDDT"], planned, by_site),
            "table": desc.recruitment_table(subjects),
        }

    def retention(self) -> dict[str, Any] | None:
        """Disposition and visit attendance, pooled over arms."""
        subjects = self.subjects()
        if subjects is None:
            return None
        visits = self.pooled.visits if self.pooled is not None else None
        order = [(v.code, self.visit_labels[v.code]) for v in self.d.post_baseline_visits]
        return {
            "flow": desc.disposition(subjects, []),
            "visits": desc.retention_table(subjects, visits, order) if visits is not None else None,
        }

    def safety_pooled(self) -> dict[str, Any] | None:
        """Safety tables and listings pooled over arms (open report)."""
        return self.safety()

    # -- full reports -----------------------------------------------------------------------

    def estimand(self) -> dict[str, Any] | None:
        """The estimand in words and its intercurrent-event strategies."""
        est = self.out.get("estimand") if self.out is not None else None
        if not est:
            return None
        events = est.get("intercurrent_events") or []
        return {
            "description": est.get("description") or MISSING,
            "events": make_table(
                ["Intercurrent event", "Strategy"],
                [[humanize(str(e.get("event"))), humanize(str(e.get("strategy")))] for e in events],
                numeric=[False, False],
            )
            if events
            else None,
        }

    def consort(self) -> dict[str, Any] | None:
        """Subject flow per arm: allocated, discontinued with reasons, completed, analysed."""
        subjects = self.subjects()
        if subjects is None:
            return None
        flow = desc.disposition(subjects, self.arms)
        population = self.out.rows("population", "by_arm") if self.out is not None else None
        name = self.out.get("population", "name") if self.out is not None else None
        analysed = {}
        if population is not None and "arm" in population.columns:
            analysed = dict(zip(population["arm"].astype(str), population["analysed"], strict=True))
        arm_boxes = flow[:-1] if len(flow) > 1 else flow
        for (code, _), box in zip(self.arms, arm_boxes, strict=False):
            box["code"] = code
            box["colour"] = self.colours[code]
            box["analysed"] = fmt_int(analysed.get(code))
        return {"total": flow[-1], "arms": arm_boxes, "population": name or "analysis"}

    def primary(self) -> dict[str, Any] | None:
        """LS means, differences, CIs, p-values and adjusted p-values at the primary visit."""
        assert self.out is not None
        ls = self.out.rows("primary", "lsmeans")
        ct = self.out.rows("primary", "contrasts")
        if ls is None or ct is None:
            return None
        visit = self.primary_visit
        pop = self.out.rows("population", "by_arm")
        n_of = (
            dict(zip(pop["arm"].astype(str), pop["analysed"], strict=True))
            if pop is not None
            else {}
        )
        ref = self.d.reference_arm.code
        mult = self.out.get("primary", "multiplicity") or {}
        method = str(mult.get("method") or self.d.analysis.multiplicity)
        rows = []
        for code, label in self.arms:
            lrow = ls[(ls["arm"] == code) & (ls["visit"] == visit)]
            crow = ct[(ct["arm"] == code) & (ct["visit"] == visit)]
            lr = lrow.iloc[0] if len(lrow) else None
            cr = crow.iloc[0] if len(crow) else None
            rows.append(
                [
                    label + (" (reference)" if code == ref else ""),
                    fmt_int(n_of.get(code)),
                    f"{fmt_num(lr['estimate'])} ({fmt_num(lr['se'], 2)})"
                    if lr is not None
                    else MISSING,
                    fmt_ci(lr["lower"], lr["upper"]) if lr is not None else MISSING,
                    fmt_est_ci(cr["estimate"], cr["lower"], cr["upper"])
                    if cr is not None
                    else MISSING,
                    fmt_p(cr["p"]) if cr is not None else MISSING,
                    fmt_p(cr.get("p_adjusted")) if cr is not None else MISSING,
                ]
            )
        level = f"{self.confidence:.0%}"
        header = [
            "Arm", "N analysed", f"LS mean ({self.y_unit}) (SE)", f"{level} CI",
            f"Difference vs reference ({level} CI)", P_VALUE, f"Adjusted p ({humanize(method)})",
        ]  # fmt: skip
        main = make_table(
            header,
            rows,
            caption=f"{self.param.label}: {self.y_what} at "
            f"{self.visit_labels.get(visit, visit)} ({self.y_unit}), MMRM",
        )
        simult = None
        if "simultaneous_lower" in ct.columns:
            at = ct[(ct["visit"] == visit) & ct["simultaneous_lower"].notna()]
            if len(at):
                simult = make_table(
                    ["Arm", f"Difference with simultaneous {level} CI ({humanize(method)})"],
                    [
                        [
                            self.arm_label.get(str(r["arm"]), str(r["arm"])),
                            fmt_est_ci(
                                r["estimate"], r["simultaneous_lower"], r["simultaneous_upper"]
                            ),
                        ]
                        for _, r in at.iterrows()
                    ],
                )
        by_visit_rows = []
        for _, r in ct.iterrows():
            by_visit_rows.append(
                [
                    self.arm_label.get(str(r["arm"]), str(r["arm"])),
                    self.visit_labels.get(str(r["visit"]), str(r["visit"])),
                    fmt_est_ci(r["estimate"], r["lower"], r["upper"]),
                    fmt_p(r["p"]),
                ]
            )
        by_visit = make_table(
            ["Arm", "Visit", f"Difference vs reference ({level} CI)", P_VALUE],
            by_visit_rows,
            numeric=[False, False, True, True],
        )
        model = self.out.get("primary", "model") or {}
        return {
            "table": main,
            "simultaneous": simult,
            "by_visit": by_visit,
            "reference": self.arm_label[ref],
            "covariance": COVARIANCE_NAMES.get(
                str(model.get("covariance")), model.get("covariance")
            ),
            "fallback_used": bool(model.get("fallback_used")),
            "fallback_reason": model.get("fallback_reason"),
            "df_method": DF_NAMES.get(str(model.get("df_method")), model.get("df_method")),
            "subjects": fmt_int(model.get("subjects")),
            "observations": fmt_int(model.get("observations")),
            "multiplicity": humanize(method),
        }

    def lsmeans(self) -> dict[str, Any] | None:
        """Figure of LS means over visits by arm."""
        assert self.out is not None
        ls = self.out.rows("primary", "lsmeans")
        if ls is None:
            return None
        return {
            "figure": figures.lsmeans_figure(
                ls,
                self.arm_label,
                self.visit_days,
                self.visit_labels,
                f"LS mean {self.y_what} ({self.y_unit})",
                self.confidence,
            ),
            "caption": f"LS mean {self.y_what} in {self.param.label.lower()} by visit and arm, "
            f"with {self.confidence:.0%} confidence intervals (MMRM).",
        }

    def _supporting_tables(self, group: str) -> list[dict[str, Any]]:
        """Entries of a supporting-analysis group with their tables."""
        assert self.out is not None
        items = []
        for name, (entry, frames) in self.out.supporting(group).items():
            items.append(
                {
                    "title": str(entry.get("title") or humanize(name)),
                    "description": entry.get("description"),
                    "status": entry.get("status"),
                    "tables": [
                        self._generic(frame, 60, _table_caption(t, name)) for t, frame in frames
                    ],
                }
            )
        return items

    def responders(self) -> dict[str, Any] | None:
        """Responder analyses."""
        items = self._supporting_tables("responders")
        return {"items": items} if items else None

    def secondary(self) -> dict[str, Any] | None:
        """Secondary endpoints."""
        items = self._supporting_tables("secondary")
        return {"items": items} if items else None

    def forest(self) -> dict[str, Any] | None:
        """Forest plot of subgroup effects and interaction tests."""
        assert self.out is not None
        groups = self.out.get("subgroups")
        if not groups:
            return None
        frames = []
        inter_rows = []
        for g in groups:
            est = pd.DataFrame(g.get("estimates") or [])
            if est.empty:
                continue
            est["subgroup"] = g.get("label") or g.get("variable")
            frames.append(est)
            inter_rows.append([str(est["subgroup"].iloc[0]), fmt_p(g.get("interaction_p"))])
        if not frames:
            return None
        rows = pd.concat(frames, ignore_index=True)
        ct = self.out.rows("primary", "contrasts")
        overall = ct[ct["visit"] == self.primary_visit] if ct is not None else None
        return {
            "figure": figures.forest_figure(
                rows,
                {c: lbl for c, lbl in self.arms if c != self.d.reference_arm.code},
                f"Difference from {self.arm_label[self.d.reference_arm.code]} ({self.y_unit})",
                self.confidence,
                overall,
                [c for c, _ in self.arms],
            ),
            "interactions": make_table(["Subgroup", "Interaction p-value"], inter_rows),
        }

    def sensitivity(self) -> dict[str, Any] | None:
        """Sensitivity analyses side by side with the primary (same scale), others below."""
        assert self.out is not None
        entries = self.out.supporting("sensitivity")
        if not entries:
            return None
        active = [(c, lbl) for c, lbl in self.arms if c != self.d.reference_arm.code]
        level = f"{self.confidence:.0%}"
        header = ["Analysis"]
        for _, label in active:
            header += [f"{label}: difference ({level} CI)", P_VALUE]
        ct = self.out.rows("primary", "contrasts")
        rows = []
        if ct is not None:
            rows.append(["Primary (MMRM)", *_effect_cells(ct, active, self.primary_visit)])
        other = []
        for name, (entry, frames) in entries.items():
            title = str(entry.get("title") or humanize(name))
            same_scale = [
                f for _, f in frames
                if {"arm", "estimate", "lower", "upper"} <= set(f.columns)
                and "reference" in f.columns
                and not {"rate_ratio", "odds_ratio"} & set(f.columns)
            ]  # fmt: skip
            if same_scale:
                rows.append([title, *_effect_cells(same_scale[0], active, self.primary_visit)])
            else:
                other.append(
                    {
                        "title": title,
                        "description": entry.get("description"),
                        "tables": [
                            self._generic(f, 40, _table_caption(t, name)) for t, f in frames
                        ],
                    }
                )
        notes = [
            {"title": str(e.get("title") or humanize(n)), "description": e.get("description")}
            for n, (e, _f) in entries.items()
            if e.get("description")
        ]
        return {"table": make_table(header, rows), "notes": notes, "other": other}

    def safety(self) -> dict[str, Any] | None:
        """AE overview, AEs by term, serious AEs, discontinuations and protocol deviations."""
        subjects = self.subjects()
        if self.pooled is not None:
            aes = self.pooled.adverse_events
        else:
            assert self.out is not None
            aes = self.out.adam("adae")
        if subjects is None:
            return None
        arms = self.arms_for_tables()
        result: dict[str, Any] = {"overview": None, "by_term": None, "sae": None}
        if aes is not None:
            result["overview"] = desc.ae_overview(aes, subjects, arms)
            result["by_term"] = desc.ae_by_term(aes, subjects, arms)
            result["sae"] = desc.sae_listing(aes, self.arm_of())
        result["discontinuations"] = desc.discontinuation_listing(subjects, self.arm_of())
        result["deviations"] = None if self.opt.blinded else self._deviations()
        return result

    def _deviations(self) -> dict[str, Any] | None:
        """Protocol deviations: validation findings of protocol-related rules."""
        assert self.out is not None
        findings = self.out.table("validation_findings")
        if findings is None:
            findings = self.out.rows("validation", "findings")
        if findings is None or "rule" not in findings.columns:
            return None
        dev = findings[findings["rule"].astype(str).isin(DEVIATION_RULES)]
        arm_of = self.arm_of() or {}
        rows = []
        for _, r in dev.head(150).iterrows():
            subj = fmt_text(r.get("usubjid"))
            rows.append(
                [subj, arm_of.get(subj, MISSING), str(r["rule"]), fmt_text(r.get("message"))]
            )
        note = f"First 150 of {len(dev)} shown." if len(dev) > 150 else None
        return make_table(
            ["Subject", "Arm", "Rule", "Deviation"], rows, numeric=[False] * 4, note=note
        )

    def exposure_section(self) -> dict[str, Any] | None:
        """Exposure: sessions, needle depth and PRP volume by arm."""
        subjects = self.subjects()
        if self.exposure is None or subjects is None or self.exposure.empty:
            return None
        ex = self.exposure[
            self.exposure["USUBJID"].astype(str).isin(subjects["USUBJID"].astype(str))
        ]
        return {"table": desc.exposure_table(ex, subjects, self.arms)}

    def diagnostics(self) -> dict[str, Any] | None:
        """Residual QQ plot and residuals against fitted values of the primary MMRM."""
        assert self.out is not None
        data = self.out.adam("analysis_primary")
        if data is None:
            return None
        cols = {c.upper(): c for c in data.columns}
        fit_col = cols.get("FITTED") or cols.get("PRED")
        res_col = cols.get("RESID") or cols.get("RESIDUAL")
        kind = "conditional"
        if fit_col is not None and res_col is not None:
            fitted = pd.to_numeric(data[fit_col], errors="coerce").to_numpy(float)
            resid = pd.to_numeric(data[res_col], errors="coerce").to_numpy(float)
        else:
            rebuilt = _marginal_residuals(data, self.out.get("primary", "model") or {},
                                          self.d.reference_arm.code)  # fmt: skip
            if rebuilt is None:
                return None
            fitted, resid = rebuilt
            kind = "marginal"
        if not np.isfinite(resid).any():
            return None
        return {
            "figure": figures.diagnostics_figure(fitted, resid, self.y_unit),
            "n": len(resid),
            "kind": kind,
        }

    def boundaries(self) -> dict[str, Any] | None:
        """Group sequential boundaries at the information reached, observed z by arm."""
        plan = self.d.interim
        if self.opt.kind != "interim" or self.opt.blinded or plan is None:
            return None
        assert self.out is not None
        from trialkit.design.update import t_to_z, update_design

        design = plan.design()
        observed: dict[str, tuple[float, float]] = {}
        data = self.out.adam("analysis_primary")
        ct = self.out.rows("primary", "contrasts")
        fraction = None
        if data is not None and ct is not None and plan.information == "subjects":
            at = data[data["AVISIT"].astype(str) == self.primary_visit]
            fraction = plan.information_fraction(float(at["USUBJID"].nunique()))
            sign = 1.0 if self.param.direction == "higher" else -1.0
            for _, r in ct[ct["visit"] == self.primary_visit].iterrows():
                observed[str(r["arm"])] = (fraction, t_to_z(sign * float(r["t"]), float(r["df"])))
        if fraction is not None and 0 < fraction < 1:
            design = update_design(design, [fraction])  # boundaries at the information reached
        table = design.table()
        rows = [
            [fmt_int(r["look"]), fmt_num(r["information_fraction"], 2), fmt_num(r["efficacy_z"], 3),
             fmt_p(r["nominal_p"]), fmt_num(r["cumulative_alpha"], 4)]
            for _, r in table.iterrows()
        ]  # fmt: skip
        header = ["Look", "Information fraction", "Efficacy boundary (z)",
                  "Nominal p (one-sided)", "Cumulative alpha"]  # fmt: skip
        return {
            "figure": figures.boundaries_figure(
                table, observed, self.arm_label, [c for c, _ in self.arms]
            ),
            "table": make_table(header, rows),
            "fraction": fmt_num(fraction, 2) if fraction is not None else MISSING,
            "observed": [
                [self.arm_label.get(k, k), fmt_num(z, 2)] for k, (_f, z) in observed.items()
            ],
            "spending": SPENDING_NAMES.get(plan.efficacy_spending, plan.efficacy_spending),
            "alpha": fmt_num(design.alpha, 4),
        }

    def appendix(self) -> dict[str, Any]:
        """Analysis settings, model as fitted, software versions and input hashes."""
        settings = dataclasses.asdict(self.d.analysis)
        rows = [[k, fmt_text(", ".join(map(str, v)) if isinstance(v, list | tuple) else v)]
                for k, v in settings.items()]  # fmt: skip
        model = (self.out.get("primary", "model") if self.out is not None else None) or {}
        model_rows = [
            [k, fmt_text(model.get(k))]
            for k in (
                "formula",
                "covariance_requested",
                "covariance",
                "fallback_used",
                "fallback_reason",
                "df_method",
                "method",
                "converged",
                "subjects",
                "observations",
            )
            if k in model
        ]
        software = dict(self.opt.software)
        if self.out is not None and self.out.get("trialkit_version"):
            software.setdefault("trialkit (analysis)", str(self.out.get("trialkit_version")))
        software.setdefault("python", platform.python_version())
        return {
            "settings": make_table(["Setting", "Value"], rows, numeric=[False, False]),
            "model": make_table(["Model", "Value"], model_rows, numeric=[False, False])
            if model_rows
            else None,
            "software": make_table(
                ["Software", "Version"],
                sorted([k, v] for k, v in software.items()),
                numeric=[False, False],
            ),
            "hashes": make_table(
                ["Input file", "SHA-256"],
                [[k, v] for k, v in sorted(self.opt.input_hashes.items())],
                numeric=[False, False],
            ),
        }


_CAPTIONS = (
    ("lsmeans", "LS means by arm"),
    ("diffs", "Differences from the reference arm"),
    ("differences", "Differences from the reference arm"),
    ("proportions", "Responders by arm"),
    ("odds_ratios", "Odds ratios against the reference arm"),
    ("distribution", "Distribution by arm"),
)


def _table_caption(table: str, analysis: str) -> str:
    """A caption from a table's name: ``sensitivity_ancova_diffs`` -> differences."""
    for suffix, caption in _CAPTIONS:
        if table.endswith(suffix):
            return caption
    return humanize(table.removeprefix(analysis).strip("_")) or humanize(table)


_LABELS = {"arm": "Arm", "visit": "Visit", "estimate": "Estimate", "se": "SE", "p": P_VALUE,
           "lower": "Lower CI", "upper": "Upper CI", "n": "n", "p_value": P_VALUE,
           "statistic": "Test statistic", "reference": "Reference"}  # fmt: skip


def _effect_cells(frame: pd.DataFrame, active: list[tuple[str, str]], visit: str) -> list[str]:
    """Difference (CI) and p for each active arm, at the primary visit when rows have visits."""
    cells = []
    sel = frame
    if "visit" in frame.columns and (frame["visit"].astype(str) == visit).any():
        sel = frame[frame["visit"].astype(str) == visit]
    for code, _ in active:
        row = sel[sel["arm"].astype(str) == code]
        if row.empty:
            cells += [MISSING, MISSING]
            continue
        r = row.iloc[0]
        cells += [
            fmt_est_ci(r.get("estimate"), r.get("lower"), r.get("upper")),
            fmt_p(r.get("p", r.get("p_value"))),
        ]
    return cells


def _marginal_residuals(
    data: pd.DataFrame, model: Mapping[str, Any], reference: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """Fitted values X·beta and marginal residuals y - X·beta of the primary MMRM.

    Rebuilds the design from the fitted rows (``adam/analysis_primary.csv``) and the model's
    formula; ``None`` unless every design column matches a reported fixed effect by name.
    """
    from trialkit.errors import ModelSpecificationError
    from trialkit.models.formula import make_design

    formula = model.get("formula")
    effects = {r.get("term"): r.get("estimate") for r in model.get("fixed_effects") or []}
    if not formula or not effects:
        return None
    visits = [str(v) for v in model.get("visits") or []]
    frame = data.copy()
    for col in ("ARMCD", "AVISIT", "SITEGR1", "SITEID"):
        if col in frame.columns:
            frame[col] = frame[col].astype(str)
    try:
        info, x, y = make_design(
            str(formula), frame, reference={"ARMCD": reference}, extra_factors=("AVISIT",),
            levels_of={"AVISIT": visits} if visits else None,
        )  # fmt: skip
    except (ModelSpecificationError, KeyError, ValueError):
        return None
    if set(info.column_names) != set(effects) or any(v is None for v in effects.values()):
        return None
    beta = np.array([float(effects[name]) for name in info.column_names])
    fitted = x @ beta
    return fitted, np.asarray(y, dtype=float) - fitted


def _rule_titles() -> dict[str, str]:
    """Titles of the validation rules by ID (empty if validation is not installed)."""
    try:
        from trialkit.validation.rules import RULES
    except ImportError:  # validation module not installed in this build
        return {}
    return {k: r.title for k, r in RULES.items()}


def build_context(
    definition: TrialDefinition,
    output: AnalysisOutput,
    options: ReportOptions,
    exposure: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The template context of a report; the open report sees only pooled data."""
    if options.blinded:
        builder = _Builder(definition, None, pool(output), options, None)
        names: tuple[str, ...] = OPEN_SECTIONS
    else:
        builder = _Builder(definition, output, None, options, exposure)
        names = tuple(n for n in FULL_SECTIONS if n != "boundaries" or options.kind == "interim")
    makers: dict[str, Callable[[], dict[str, Any] | None]] = {
        "exposure": builder.exposure_section,
    }
    sections = []
    for name in names:
        make = makers.get(name) or getattr(builder, name)
        data = make()
        sections.append(
            {"name": name, "title": TITLES[name], "available": data is not None, "data": data or {}}
        )
    title: dict[str, Any] = sections[0]["data"]  # type: ignore[assignment]
    return {
        "report": {
            "kind": options.kind,
            "label": options.label,
            "blinded": options.blinded,
            "confidential": CONFIDENTIAL if options.label == "interim-closed" else None,
            "title": title["report_title"],
            "trial_id": definition.trial.id,
            "trial_title": definition.trial.title,
            "cutoff": title["cutoff"],
            "generated": title["generated"],
        },
        "arms": []
        if options.blinded
        else [{"code": c, "label": lbl, "colour": builder.colours[c]} for c, lbl in builder.arms],
        "sections": sections,
    }
