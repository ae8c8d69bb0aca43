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

from trialkit.analysis.safety import meddra_suffix
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
from trialkit.report.missing_data import missing_data_context
from trialkit.report.results import AnalysisOutput
from trialkit.report.tables import frame_table, make_table
from trialkit.vocabulary import ENDPOINT_VARIABLE_LABELS

Kind = Literal["final", "interim"]


CONFIDENTIAL = "Confidential: for the data monitoring committee only"

#: Sections of the final and the closed interim report, in order.
FULL_SECTIONS = (
    "title_page",
    "not_run",
    "estimand",
    "consort",
    "baseline",
    "data_quality",
    "primary",
    "lsmeans",
    "responders",
    "forest",
    "sensitivity",
    "missing_data",
    "secondary",
    "safety",
    "vital_signs",
    "exposure",
    "diagnostics",
    "boundaries",
    "appendix",
    "signoff",
)

#: Sections of an MMRM primary only (a binary primary has no LS means or residuals).
CONTINUOUS_SECTIONS = ("lsmeans", "diagnostics")

TITLES = {
    "title_page": "Title page",
    "missing_data": "Missing-data sensitivity analyses",
    "not_run": "Analyses not run",
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
    "vital_signs": "Vital signs",
    "vital_signs_pooled": "Vital signs (pooled over arms)",
    "exposure": "Exposure to study treatment",
    "diagnostics": "Model diagnostics",
    "boundaries": "Group sequential monitoring",
    "appendix": "Appendix: analysis settings and provenance",
    "signoff": "Sign-off",
    "recruitment": "Recruitment",
    "retention": "Retention and disposition (pooled over arms)",
    "information": "Information reached (group sequential design)",
}


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


#: Labels of the descriptive tables' variables (the parameters' baselines are added).
VARIABLE_LABELS = {
    "AGE": "Age (years)",
    "AGEGR1": "Age group",
    "SEX": "Sex",
    "SEVERITY": "Baseline severity",
    "SITEGR1": "Site group",
    "MN_SESSIONS": "Microneedling sessions per subject",
    "PRP_SESSIONS": "PRP sessions per subject",
    "MEAN_NEEDLE_DEPTH": "Microneedling: mean needle depth per subject (mm)",
    "PRP_VOLUME_TOTAL": "PRP: total volume per subject (mL)",
    "Any TEAE": "Any adverse event",
    "Related TEAE": "Related to study treatment",
    "Serious TEAE": "Serious",
    "Severe TEAE": "Severe",
    "Any AE": "Any adverse event",
    "Related AE": "Related to study treatment",
    "Serious AE": "Serious",
    "Severe AE": "Severe",
}
SAE_COLUMNS = (
    ("USUBJID", "Subject"), ("ARMCD", "Arm"), ("AETERM", "Term"), ("AEBODSYS", "Body system"),
    ("AESTDT", "Onset"), ("AEENDT", "End"), ("AESEV", "Severity"), ("AEREL", "Related"),
)  # fmt: skip
DISCONTINUATION_COLUMNS = (
    ("USUBJID", "Subject"), ("ARMCD", "Arm"), ("SITEID", "Site"), ("RANDDT", "Randomised"),
    ("EOSDT", "End of study"), ("DCSREAS", "Reason"),
)  # fmt: skip
DEVIATION_COLUMNS = (("USUBJID", "Subject"), ("ARMCD", "Arm"), ("rule", "Rule"),
                     ("message", "Deviation"))  # fmt: skip
#: Sections left out (not "not available") of a trial without vital signs.
VITAL_SIGNS_SECTIONS = ("vital_signs", "vital_signs_pooled")


class _Builder(EfficacySections):
    """Holds the shared inputs while the sections are built."""

    def __init__(
        self,
        definition: TrialDefinition,
        output: AnalysisOutput | None,
        pooled: PooledData | None,
        options: ReportOptions,
        confidence: float,
    ) -> None:
        """Keep the inputs; ``output`` is ``None`` for the open report (pooled data only);
        ``confidence`` is the level of the analysis' intervals (``results.json``)."""
        self.d = definition
        self.out = output  # None in the open report: it must never see arm-level results
        self.pooled = pooled
        self.opt = options
        self.arms = [(a.code, a.label) for a in definition.arms]
        self.arm_label = dict(self.arms)
        self.colours = figures.arm_colours([a.code for a in definition.arms])
        param = definition.parameter(definition.primary.parameter)
        self.param = param
        self.unit = param.unit or "units"
        variable = definition.primary.variable
        self.y_what = ENDPOINT_VARIABLE_LABELS[variable]
        self.y_unit = "%" if variable == "PCHG" else self.unit
        self.visit_days = {v.code: v.day for v in definition.post_baseline_visits}
        self.visit_labels = {v.code: v.label or visit_label(v.code) for v in definition.visits}
        self.primary_visit = definition.primary.visit
        self.confidence = confidence
        self.labels = VARIABLE_LABELS | {
            f"{p.code} baseline": f"Baseline {p.label}" + (f" ({p.unit})" if p.unit else "")
            for p in definition.parameters
        }

    # -- helpers ---------------------------------------------------------------------------

    def not_run(self) -> dict[str, Any] | None:
        """The plan's analyses that failed on these data, with their reasons (open report: only
        the pooled ones, which carry nothing by arm)."""
        if self.pooled is not None:
            rows = self.pooled.not_run
        else:
            assert self.out is not None
            rows = self.out.not_run()
        return {"rows": rows} if rows else None

    def table(self, full: str, pooled: str) -> pd.DataFrame | None:
        """The analysis table ``full`` (final, closed report) or ``pooled`` (open report)."""
        if self.pooled is not None:
            return self.pooled.table(pooled)
        assert self.out is not None
        return self.out.table(full)

    def _full(self, name: str) -> pd.DataFrame | None:
        """An analysis table of the final and closed reports only (``None`` in the open one)."""
        return None if self.out is None else self.out.table(name)

    def _pooled(self, name: str) -> pd.DataFrame | None:
        """A pooled table of the open report only (``None`` in the final and closed ones)."""
        return None if self.pooled is None else self.pooled.table(name)

    def arms_for_tables(self) -> desc.Arms:
        """Arms for descriptive tables: none (pooled) in the open report."""
        return [] if self.opt.blinded else self.arms

    def arm_labels(self) -> dict[str, str] | None:
        """Arm label by code for listings, or ``None`` in the open report."""
        return None if self.opt.blinded else self.arm_label

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
        by_rule = self.table("validation_findings_by_rule", "validation_findings_by_rule")
        if self.pooled is not None:
            totals = self.pooled.validation_totals
        else:
            assert self.out is not None
            totals = self.out.get("validation") or {}
        if by_rule is None and not totals:
            return None
        result: dict[str, Any] = {
            "errors": fmt_int(totals.get("errors")),
            "warnings": fmt_int(totals.get("warnings")),
            "allowed_errors": bool(totals.get("allowed_errors")),
            "by_rule": desc.findings_by_rule(by_rule, _rule_titles())
            if by_rule is not None and len(by_rule)
            else None,
            "listing": None,
        }
        findings = self.out.table("validation_findings") if self.out is not None else None
        if findings is not None and len(findings):
            errors = findings[findings["severity"].astype(str) == "error"]
            cols = [c for c in ("rule", "dataset", "row", "usubjid", "column", "value", "message")
                    if c in errors.columns]  # fmt: skip
            if len(errors):
                result["listing"] = frame_table(errors[cols], max_rows=100)
        return result

    def baseline(self) -> dict[str, Any] | None:
        """Demographics and baseline characteristics (by randomised arm, or pooled)."""
        frame = self.table("baseline_characteristics", "pooled_baseline_characteristics")
        if frame is None:
            return None
        caption = (
            "Demographics and baseline characteristics, all randomised subjects (ITTFL)"
            if self.opt.blinded
            else "Demographics and baseline characteristics by randomised arm, "
            f"{self._population()}"
        )
        table = desc.summary_table(
            frame, self.arms_for_tables(), self.labels, "Characteristic", caption
        )
        return {"table": table}

    def _population(self) -> str:
        """The analysis population in words: ``ITT population (ITTFL)``."""
        assert self.out is not None
        name, flag = self.out.get("population", "name"), self.out.get("population", "flag")
        return f"{fmt_text(name)} population ({fmt_text(flag)})"

    def signoff(self) -> dict[str, Any]:
        """Roles of the sign-off block."""
        return {"roles": ["Prepared by (statistician)", "Reviewed by", "Approved by (sponsor)"]}

    # -- open report ------------------------------------------------------------------------

    def recruitment(self) -> dict[str, Any] | None:
        """Cumulative randomisation over time and by month and site (pooled)."""
        by_month = self.table("pooled_recruitment", "pooled_recruitment")
        by_date = self.table("pooled_recruitment_dates", "pooled_recruitment_dates")
        if by_month is None or by_date is None or by_date.empty:
            return None
        planned = None
        if self.d.interim is not None and self.d.interim.max_subjects is not None:
            planned = int(self.d.interim.max_subjects)
        total = by_date[by_date["site"].astype(str) == desc.TOTAL]
        return {
            "n": fmt_int(total["cumulative"].iloc[-1]),
            "first": fmt_date(total["period"].iloc[0]),
            "last": fmt_date(total["period"].iloc[-1]),
            "figure": figures.recruitment_figure(by_date, planned),
            "table": desc.recruitment_table(by_month),
        }

    def retention(self) -> dict[str, Any] | None:
        """Disposition and visit attendance, pooled over arms."""
        flow = self.table("pooled_disposition", "pooled_disposition")
        if flow is None:
            return None
        visits = self.table("pooled_visit_attendance", "pooled_visit_attendance")
        return {
            "flow": desc.disposition(flow, []),
            "visits": desc.row_table(
                visits, [], self.visit_labels, "Visit", pooled="Subjects assessed"
            )
            if visits is not None
            else None,
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

    def vital_signs_pooled(self) -> dict[str, Any] | None:
        """Vital signs pooled over arms (open report)."""
        return self.vital_signs()

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
        """Subject flow per randomised arm: allocated, discontinued with reasons, completed,
        analysed (the analysis' disposition and population tables)."""
        assert self.out is not None
        frame = self.out.table("disposition")
        if frame is None:
            return None
        flow = desc.disposition(frame, self.arms)
        population = self.out.rows("population", "by_arm")
        analysed = {}
        if population is not None and "arm" in population.columns:
            analysed = dict(zip(population["arm"].astype(str), population["analysed"], strict=True))
        arm_boxes = flow[:-1]
        for (code, _), box in zip(self.arms, arm_boxes, strict=True):
            box["code"] = code
            box["colour"] = self.colours[code]
            box["analysed"] = fmt_int(analysed.get(code))
        name = self.out.get("population", "name")
        return {"total": flow[-1], "arms": arm_boxes, "population": name or "analysis"}

    def safety(self) -> dict[str, Any] | None:
        """AE overview, AEs by term (all, leading to withdrawal; pooled: serious ones), serious
        AEs listed (open report: only when the plan allows), discontinuations, deviations."""
        overview = self.table("safety_teae_overview", "pooled_ae_overview")
        by_term = self.table("safety_teae_by_term", "pooled_ae_by_term")
        sae = self.table("safety_serious_ae_listing", "pooled_serious_ae_listing")
        disc = self.table("discontinuation_listing", "pooled_discontinuation_listing")
        if overview is None and disc is None:
            return None
        arms = self.arms_for_tables()
        what = (
            "All adverse events reported, all randomised subjects (ITTFL; treatment emergence "
            "depends on each arm's dosing and is shown in the closed report)"
            if self.opt.blinded
            else "Treatment-emergent adverse events, safety population (SAFFL), by arm as "
            "treated (ACTARMCD)"
        )
        terms = (
            f"by system organ class and preferred term{meddra_suffix(self.d.safety.meddra_version)}"
            ", by descending frequency in the total column"
        )
        result: dict[str, Any] = {"overview": None, "by_term": None, "withdrawal": None,
                                  "serious_by_term": None, "sae": None}  # fmt: skip
        if overview is not None:
            result["overview"] = desc.row_table(
                overview, arms, self.labels, "Subjects with",
                caption=f"Overview of adverse events: {what}",
                note="A subject is counted once per row.",
            )  # fmt: skip
            for key, frame, title in (
                ("by_term", by_term, "Adverse events"),
                ("withdrawal", self._full("safety_teae_withdrawal"),
                 "Adverse events leading to withdrawal of study treatment (AEACN)"),
                ("serious_by_term", self._pooled("pooled_sae_by_term"), "Serious adverse events"),
            ):  # fmt: skip
                if frame is not None:
                    caption = f"{title} {terms}: {what}"
                    result[key] = desc.ae_by_term(frame, arms, overview, caption)
        if sae is not None:
            result["sae"] = desc.listing(sae, SAE_COLUMNS, self.arm_labels())
        result["discontinuations"] = (
            desc.listing(disc, DISCONTINUATION_COLUMNS, self.arm_labels())
            if disc is not None
            else None
        )
        result["deviations"] = None if self.opt.blinded else self._deviations()
        return result

    def vital_signs(self) -> dict[str, Any] | None:
        """Vital signs by visit (value and change from baseline) per parameter, and the subjects
        beyond an alert limit: as treated (SAFFL), or pooled over arms (open report)."""
        summary = self.table("vital_signs_by_visit", "pooled_vital_signs_by_visit")
        alerts = self.table("vital_signs_alerts", "pooled_vital_signs_alerts")
        if summary is None and alerts is None:
            return None
        arms = self.arms_for_tables()
        who = (
            "all randomised subjects (ITTFL), pooled over arms"
            if self.opt.blinded
            else "safety population (SAFFL), by arm as treated (ACTARMCD)"
        )
        params = [p for p in self.d.parameters if p.kind == "safety"]
        tables = []
        if summary is not None:
            for p in params:
                unit = f" ({p.unit})" if p.unit else ""
                caption = f"{p.label}{unit} and change from baseline by visit, {who}"
                tables.append(desc.vital_signs_by_visit(
                    summary, arms, (p.code, p.label), self.visit_labels, caption))  # fmt: skip
        return {
            "by_visit": tables,
            "alerts": desc.vital_signs_alerts(
                alerts,
                arms,
                {p.code: (p.label, p.unit or "") for p in params},
                f"Subjects with a post-baseline value beyond an alert limit, {who}",
            )
            if alerts is not None
            else None,
        }

    def _deviations(self) -> dict[str, Any] | None:
        """Protocol deviations: the analysis' listing (validation warnings), randomised arm."""
        assert self.out is not None
        listing = self.out.table("protocol_deviation_listing")
        if listing is None:
            return None
        return desc.listing(listing, DEVIATION_COLUMNS, self.arm_label, max_rows=150)

    def exposure_section(self) -> dict[str, Any] | None:
        """Exposure to each study treatment, safety population by randomised arm."""
        assert self.out is not None
        frame = self.out.table("exposure")
        if frame is None:
            return None
        caption = "Exposure to study treatment, safety population (SAFFL) by randomised arm"
        table = desc.summary_table(
            frame, self.arms, self.labels, "Exposure", caption, digits={"MEAN_NEEDLE_DEPTH": 2}
        )
        return {"table": table}

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
) -> dict[str, Any]:
    """The template context of a report; the open report sees only pooled data."""
    confidence = float(output.results["confidence_level"])
    if options.blinded:
        listing = definition.interim is not None and definition.interim.open_report_sae_listing
        pooled = pool(output, sae_listing=listing)
        builder = _Builder(definition, None, pooled, options, confidence)
        names: tuple[str, ...] = OPEN_SECTIONS
    else:
        builder = _Builder(definition, output, None, options, confidence)
        names = tuple(
            n
            for n in FULL_SECTIONS
            if (n != "boundaries" or options.kind == "interim")
            and (n != "missing_data" or definition.missing_data is not None)
            and (n not in CONTINUOUS_SECTIONS or definition.primary.kind != "binary")
        )
    makers: dict[str, Callable[[], dict[str, Any] | None]] = {
        "exposure": builder.exposure_section,
        "missing_data": lambda: missing_data_context(output, definition, builder.confidence),
    }
    if not any(p.kind == "safety" for p in definition.parameters):
        names = tuple(n for n in names if n not in VITAL_SIGNS_SECTIONS)
    sections = []
    for name in names:
        make = makers.get(name) or getattr(builder, name)
        data = make()
        if name == "not_run" and data is None:
            continue  # shown only when something could not be run
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
