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

import pandas as pd

from trialkit.definition import TrialDefinition
from trialkit.report import descriptive as desc
from trialkit.report import figures
from trialkit.report.blinding import OPEN_SECTIONS, PooledData, pool
from trialkit.report.efficacy import EfficacySections
from trialkit.report.formatting import (
    MISSING,
    fmt_date,
    fmt_int,
    fmt_num,
    fmt_text,
    humanize,
    short_hash,
    visit_label,
)
from trialkit.report.results import AnalysisOutput
from trialkit.report.tables import frame_table, make_table

Kind = Literal["final", "interim"]


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
    "information": "Information reached (group sequential design)",
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


class _Builder(EfficacySections):
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
            "cutoff": fmt_date(self.opt.cutoff) if self.opt.cutoff else "none (all data received)",
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

    def information(self) -> dict[str, Any] | None:
        """The look and the information fraction reached: nothing else of the interim look."""
        look = self.pooled.interim if self.pooled is not None else None
        if not look:
            return None
        number = look.get("look")
        plan = self.d.interim
        planned = None
        if (
            plan is not None
            and isinstance(number, int)
            and 1 <= number <= len(plan.information_fractions)
        ):
            planned = f"{plan.information_fractions[number - 1]:g}"  # as in trial.toml
        return {
            "look": fmt_int(number),
            "fraction": fmt_num(look.get("information_fraction"), 3),
            "planned": planned,
            "looks": len(plan.information_fractions) if plan is not None else None,
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
            "dummy": bool(output.get("dummy")),
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
