"""Supporting analyses wired into ``trialkit analyze``: baseline, sensitivity, secondary, safety.

The statistics live elsewhere: the estimators in :mod:`trialkit.estimators` (``linear``,
``slopes``, ``counts``, ``responders``, ``ordinal``), the summaries in this package's
``descriptive``, ``safety`` and ``vital_signs``, the MMRM and binary endpoint runs in its
``primary`` and ``binary``; this module only calls them with the run's frames and names their
tables. It returns the results.json sections
``{section: {name: {table(s), description, status[, message]}}}`` and the tables by file stem
(``tables/<stem>.csv``). A supporting analysis that fails is reported (``status: "failed"``
with its one-line message) and does not stop the run; the primary analysis always does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from trialkit.analysis.dataset import with_subject_columns
from trialkit.analysis.plan import ModelPlan
from trialkit.definition import Endpoint, TrialDefinition
from trialkit.errors import TrialkitError, TrialkitWarning
from trialkit.numerics import deterministic_blas
from trialkit.processes import received_signal
from trialkit.vocabulary import POPULATION_FLAGS

Sections = dict[str, dict[str, Any]]

#: The sections, in the order they appear in results.json and tables/.
SECTIONS = ("descriptive", "sensitivity", "responders", "secondary", "safety")


@dataclass
class _Collector:
    sections: Sections = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def run(
        self,
        section: str,
        name: str,
        description: str,
        compute: Callable[[], dict[str, pd.DataFrame]],
    ) -> None:
        """Run one analysis (one BLAS thread, as the MMRM fits: deterministic and faster on
        small matrices); its frames become tables ``<stem>``; failures are recorded."""
        entry: dict[str, Any] = {"description": description}
        try:
            with deterministic_blas():
                frames = compute()
        except (TrialkitError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
            stopped = received_signal()  # a stop signal ends the command, not the analysis
            if stopped is not None:
                raise stopped from None
            entry.update(status="failed", message=f"{type(exc).__name__}: {exc}".splitlines()[0])
        else:
            stems = []
            for stem, frame in frames.items():
                self.tables[stem] = frame.reset_index(drop=True)
                stems.append(stem)
            entry.update(status="ok", tables=stems)
            if len(stems) == 1:
                entry["table"] = stems[0]
        self.sections.setdefault(section, {})[name] = entry


def preload() -> None:
    """Import the analysis modules (and statsmodels) now, e.g. before forking a worker, so
    each process does not import them again."""
    import importlib

    for name in (
        "trialkit.analysis.descriptive", "trialkit.analysis.safety",
        "trialkit.estimators.linear", "trialkit.estimators.slopes", "trialkit.estimators.counts",
        "trialkit.estimators.responders", "trialkit.estimators.ordinal",
    ):  # fmt: skip
        importlib.import_module(name)


def _population(adsl: pd.DataFrame, flag: str) -> pd.DataFrame:
    return adsl.loc[adsl[flag].astype("string").eq("Y").fillna(False).to_numpy(dtype=bool)]


def run_supporting(
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    adae: pd.DataFrame,
    plan: ModelPlan,
    findings: pd.DataFrame | None = None,
    advs: pd.DataFrame | None = None,
    sections: tuple[str, ...] = SECTIONS,
) -> tuple[Sections, dict[str, pd.DataFrame]]:
    """Sections for results.json and tables for ``tables/`` (only those in ``sections``);
    ``advs``: the vital signs' BDS frame, when the trial has vital signs."""
    a = definition.analysis
    arms = [arm.code for arm in definition.arms]
    ref = definition.reference_arm.code
    flag = POPULATION_FLAGS[a.population]
    pop = _population(adsl, flag)
    pop_ids = set(pop["USUBJID"].astype(str))
    bds_pop = bds.loc[bds["USUBJID"].astype(str).isin(pop_ids).to_numpy(dtype=bool)]
    c = _Collector()

    if "descriptive" in sections:
        _descriptive(c, definition, adsl, bds, arms, flag, findings)
    if "sensitivity" in sections:
        _sensitivity(c, definition, adsl, bds, bds_pop, plan, arms, ref)
    if "responders" in sections:
        _responders(c, definition, bds_pop, pop, arms, ref)
    if "secondary" in sections:
        _secondary(c, definition, adsl, bds, bds_pop, plan, arms, ref)
    if "safety" in sections:
        # safety is analysed as treated: each subject under the arm actually received
        _safety(c, adae, adsl.assign(ARMCD=adsl["ACTARMCD"]), arms,
                definition.safety.meddra_version)  # fmt: skip
        if advs is not None:
            _vital_signs(c, definition, advs, adsl.assign(ARMCD=adsl["ACTARMCD"]), arms)
    return c.sections, c.tables


def merge(
    parts: list[tuple[Sections, dict[str, pd.DataFrame]]],
) -> tuple[Sections, dict[str, pd.DataFrame]]:
    """Combine results of :func:`run_supporting` run on disjoint ``sections``, in SECTIONS order."""
    sections: Sections = {}
    tables: dict[str, pd.DataFrame] = {}
    for name in SECTIONS:
        for secs, tabs in parts:
            if name in secs:
                sections[name] = secs[name]
                for entry in secs[name].values():
                    for stem in entry.get("tables", []):
                        tables[stem] = tabs[stem]
    return sections, tables


def announce_failures(sections: Sections) -> None:
    """One warning per supporting analysis that could not be run, naming it and the reason (the
    CLI prints each as one line; results.json keeps ``status`` and ``message``)."""
    for section, entries in sections.items():
        for name, entry in entries.items():
            if entry.get("status") == "failed":
                warnings.warn(
                    f"{section} analysis '{name}' not run: {entry.get('message')}",
                    TrialkitWarning,
                    stacklevel=2,
                )


def _descriptive(
    c: _Collector,
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    arms: list[str],
    flag: str,
    findings: pd.DataFrame | None,
) -> None:
    from trialkit.analysis import descriptive

    c.run("descriptive", "baseline_characteristics", f"Baseline characteristics ({flag})",
          lambda: {"baseline_characteristics": descriptive.baseline_characteristics(
              adsl, bds, arms=arms, population=flag)})  # fmt: skip
    c.run("descriptive", "disposition", "Subject disposition",
          lambda: {"disposition": descriptive.disposition(adsl, arms=arms)})  # fmt: skip
    c.run("descriptive", "exposure", "Exposure to study treatments (SAFFL)",
          lambda: {"exposure": descriptive.exposure_summary(adsl, arms=arms)})  # fmt: skip
    c.run("descriptive", "discontinuations", "Subjects who discontinued",
          lambda: {"discontinuation_listing": descriptive.discontinuation_listing(
              adsl)})  # fmt: skip
    if findings is not None:
        c.run("descriptive", "protocol_deviations", "Protocol deviations (validation warnings)",
              lambda: {"protocol_deviation_listing": descriptive.protocol_deviation_listing(
                  findings, adsl)})  # fmt: skip
        c.run("descriptive", "validation_findings_by_rule",
              "Validation findings counted by rule, severity and dataset",
              lambda: {"validation_findings_by_rule": descriptive.findings_by_rule(
                  findings)})  # fmt: skip
    _pooled_descriptive(c, definition, adsl, bds)


def _pooled_descriptive(
    c: _Collector, definition: TrialDefinition, adsl: pd.DataFrame, bds: pd.DataFrame
) -> None:
    """The open report's pooled tables: randomised subjects (ITTFL), nothing that follows the
    arm (no treated count: dosing follows the arm)."""
    from trialkit.analysis import descriptive

    visits = [v.code for v in definition.post_baseline_visits]
    param = definition.primary.parameter
    c.run("descriptive", "pooled_baseline_characteristics",
          "Baseline characteristics, pooled over arms (ITTFL)",
          lambda: {"pooled_baseline_characteristics": descriptive.baseline_characteristics(
              adsl, bds, by_arm=False, population="ITTFL")})  # fmt: skip
    c.run("descriptive", "pooled_disposition", "Subject disposition, pooled over arms",
          lambda: {"pooled_disposition": descriptive.disposition(
              adsl.drop(columns=["TRTSDT"], errors="ignore"), by_arm=False)})  # fmt: skip
    c.run("descriptive", "pooled_visit_attendance",
          f"Subjects with a {param} value at each visit, pooled over arms (ITTFL)",
          lambda: {"pooled_visit_attendance": descriptive.visit_attendance(
              adsl, bds, param, visits, by_arm=False)})  # fmt: skip
    c.run("descriptive", "pooled_recruitment", "Subjects randomised per month and site",
          lambda: {"pooled_recruitment": descriptive.recruitment(adsl)})  # fmt: skip
    c.run("descriptive", "pooled_recruitment_dates",
          "Subjects randomised per date and site, cumulative",
          lambda: {"pooled_recruitment_dates": descriptive.recruitment(
              adsl, period="date")})  # fmt: skip
    c.run("descriptive", "pooled_discontinuations", "Subjects who discontinued, without arm",
          lambda: {"pooled_discontinuation_listing": descriptive.discontinuation_listing(
              adsl, by_arm=False)})  # fmt: skip


def _endpoint_mmrm(
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    plan: ModelPlan,
    endpoint: Endpoint,
    population: str,
    stem: str,
) -> dict[str, pd.DataFrame]:
    """LS means and differences from the reference at the endpoint's visit, by the primary MMRM."""
    from trialkit.analysis.primary import run_endpoint_mmrm

    r = run_endpoint_mmrm(definition, adsl, bds, plan, endpoint, population)
    at_visit = {
        name: frame.loc[frame["visit"] == endpoint.visit].reset_index(drop=True)
        for name, frame in (("lsmeans", r.lsmeans), ("diffs", r.contrasts))
    }
    return {f"{stem}_{name}": frame for name, frame in at_visit.items()}


def _sensitivity(
    c: _Collector,
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    bds_pop: pd.DataFrame,
    plan: ModelPlan,
    arms: list[str],
    ref: str,
) -> None:
    from trialkit.estimators import counts, linear, slopes

    a = definition.analysis
    primary = definition.primary
    param = definition.parameter(primary.parameter)
    if primary.kind == "binary":
        _binary_sensitivity(c, definition, adsl, bds, plan)
        return

    def _ancova() -> dict[str, pd.DataFrame]:
        records = with_subject_columns(bds_pop, adsl, plan.covariates)  # e.g. SEX, AGE
        r = linear.ancova(
            records, param=primary.parameter, visit=primary.visit, reference=ref,
            covariates=list(plan.covariates), variable=primary.variable, arms=arms, alpha=a.alpha,
        )  # fmt: skip
        return {"sensitivity_ancova_lsmeans": r.lsmeans, "sensitivity_ancova_diffs": r.diffs}

    c.run("sensitivity", "mmrm_per_protocol",
          "The primary MMRM in the per-protocol population",
          partial(_endpoint_mmrm, definition, adsl, bds, plan, primary, "PP",
                  "sensitivity_mmrm_pp"))  # fmt: skip
    c.run("sensitivity", "ancova",
          f"ANCOVA of {primary.variable} at {primary.visit}, observed cases", _ancova)  # fmt: skip

    def _slope() -> dict[str, pd.DataFrame]:
        r = slopes.random_slope(
            bds_pop, param=primary.parameter, reference=ref, visit=primary.visit,
            at=float(definition.visit(primary.visit).day), variable=primary.variable,
            arms=arms, alpha=a.alpha,
        )  # fmt: skip
        return {"sensitivity_random_slope": r.diffs}

    c.run("sensitivity", "random_slope",
          "Random intercept and slope mixed model (REML, statsmodels MixedLM's criterion), arm "
          "difference at the primary visit's scheduled day", _slope)  # fmt: skip
    if param.integer:

        def _gee() -> dict[str, pd.DataFrame]:
            post = [v.code for v in definition.post_baseline_visits]
            r = counts.nb_gee(
                bds_pop, param=primary.parameter, reference=ref, visits=post, arms=arms,
                alpha=a.alpha,
            )  # fmt: skip
            return {"sensitivity_nb_gee": r.rate_ratios}

        c.run("sensitivity", "nb_gee", "Negative binomial GEE of counts: rate ratios", _gee)


def _binary_endpoint(
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    plan: ModelPlan,
    endpoint: Endpoint,
    stem: str,
    population: str | None = None,
    method: str | None = None,
    missing: str | None = None,
) -> dict[str, pd.DataFrame]:
    """A binary endpoint's arms and comparisons (the plan's method unless ``method``)."""
    from trialkit.analysis.binary import run_binary_endpoint
    from trialkit.analysis.plan import comparison_pairs

    r = run_binary_endpoint(
        definition, adsl, bds, plan, endpoint, population or definition.analysis.population,
        comparison_pairs(definition), method, missing,
    )  # fmt: skip
    contrasts = r.contrasts.rename(columns={"ARMCD": "arm", "versus": "reference"})
    return {f"{stem}_arms": r.arms, f"{stem}_diffs": contrasts}


def _binary_sensitivity(
    c: _Collector,
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    plan: ModelPlan,
) -> None:
    """Sensitivity analyses of a binary primary: per-protocol population, observed cases, and
    the other binary method."""
    primary = definition.primary
    other = "cmh" if definition.analysis.binary_method == "logistic" else "logistic"
    c.run("sensitivity", "binary_per_protocol",
          "The primary binary analysis in the per-protocol population",
          partial(_binary_endpoint, definition, adsl, bds, plan, primary,
                  "sensitivity_binary_pp", "PP"))  # fmt: skip
    if primary.missing != "exclude":
        c.run("sensitivity", "binary_observed_cases",
              "The primary binary analysis of observed cases (subjects without a value left out)",
              partial(_binary_endpoint, definition, adsl, bds, plan, primary,
                      "sensitivity_binary_observed", missing="exclude"))  # fmt: skip
    c.run("sensitivity", f"binary_{other}",
          f"The primary endpoint analysed by the {other} method",
          partial(_binary_endpoint, definition, adsl, bds, plan, primary,
                  f"sensitivity_binary_{other}", method=other))  # fmt: skip


def _responders(
    c: _Collector,
    definition: TrialDefinition,
    bds_pop: pd.DataFrame,
    pop: pd.DataFrame,
    arms: list[str],
    ref: str,
) -> None:
    from trialkit.estimators import responders

    a = definition.analysis
    primary = definition.primary
    param = definition.parameter(primary.parameter)

    def _run() -> dict[str, pd.DataFrame]:
        flags = responders.responder_flags(
            bds_pop, pop, param=primary.parameter, visit=primary.visit,
            threshold=a.responder_pct_change, direction=param.direction,
        )  # fmt: skip
        r = responders.responder_analysis(flags, reference=ref, arms=arms, alpha=a.alpha)
        return {
            "responders_proportions": r.proportions,
            "responders_differences": r.differences,
            "responders_odds_ratios": r.odds_ratios,
        }

    c.run("responders", "primary_parameter",
          f"Responders: {param.label} at {primary.visit}, change >= "
          f"{a.responder_pct_change}%", _run)  # fmt: skip


def _secondary(
    c: _Collector,
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    bds_pop: pd.DataFrame,
    plan: ModelPlan,
    arms: list[str],
    ref: str,
) -> None:
    from trialkit.estimators import ordinal

    a = definition.analysis
    for i, ep in enumerate(definition.secondary):
        p = definition.parameter(ep.parameter)
        name = ep.name or f"{ep.parameter}_{ep.visit}"
        stem = f"secondary_{i + 1}_{ep.parameter.lower()}_{ep.visit.lower()}"
        if ep.kind == "binary":
            c.run("secondary", name, f"{p.label}: {ep.responder.text if ep.responder else ''} "
                  f"at {ep.visit} ({a.binary_method}; missing: {ep.missing})",
                  partial(_binary_endpoint, definition, adsl, bds, plan, ep, stem))  # fmt: skip
        elif p.scale == "ordinal":

            def _ordinal(ep: Any = ep, p: Any = p, stem: str = stem) -> dict[str, pd.DataFrame]:
                r = ordinal.proportional_odds(
                    bds_pop, param=ep.parameter, visit=ep.visit, reference=ref,
                    levels=list(p.levels or ()), arms=arms, alpha=a.alpha,
                )  # fmt: skip
                return {
                    f"{stem}_odds_ratios": r.odds_ratios,
                    f"{stem}_distribution": r.distribution,
                }

            c.run("secondary", name, f"{p.label} at {ep.visit}: proportional odds", _ordinal)
        else:
            c.run("secondary", name, f"{p.label} ({ep.variable}) at {ep.visit}: MMRM",
                  partial(_endpoint_mmrm, definition, adsl, bds, plan, ep, a.population,
                          stem))  # fmt: skip
        c.sections["secondary"][name]["order"] = i + 1  # the SAP's order (results.json sorts keys)


def _safety(
    c: _Collector, adae: pd.DataFrame, adsl: pd.DataFrame, arms: list[str], meddra: str | None
) -> None:
    from trialkit.analysis import safety

    terms = safety.meddra_suffix(meddra)
    c.run("safety", "teae_overview", "Treatment-emergent adverse events: overview",
          lambda: {"safety_teae_overview": safety.teae_overview(
              adae, adsl, arms=arms)})  # fmt: skip
    c.run("safety", "teae_by_term", f"TEAEs by body system and preferred term{terms}",
          lambda: {"safety_teae_by_term": safety.teae_by_term(adae, adsl, arms=arms)})  # fmt: skip
    c.run("safety", "teae_by_severity", "Subjects by worst TEAE severity",
          lambda: {"safety_teae_by_severity": safety.teae_by_worst_severity(
              adae, adsl, arms=arms)})  # fmt: skip
    if "AEACN" in adae.columns:  # optional column
        c.run("safety", "teae_withdrawal",
              f"TEAEs leading to withdrawal of study treatment (AEACN){terms}",
              lambda: {"safety_teae_withdrawal": safety.teae_by_term(
                  adae, adsl, arms=arms, subset="withdrawn")})  # fmt: skip
    c.run("safety", "serious_ae_listing", "Serious adverse events",
          lambda: {"safety_serious_ae_listing": safety.serious_ae_listing(adae)})  # fmt: skip
    # the pooled tables' rule (every AE of every randomised subject) is safety's docstring
    overview = partial(safety.teae_overview, by_arm=False, population=safety.POOLED_POPULATION,
                       treatment_emergent=False)  # fmt: skip
    by_term = partial(safety.teae_by_term, by_arm=False, population=safety.POOLED_POPULATION,
                      treatment_emergent=False)  # fmt: skip
    c.run("safety", "pooled_ae_overview",
          "All adverse events of randomised subjects, pooled over arms: overview",
          lambda: {"pooled_ae_overview": overview(adae, adsl)})  # fmt: skip
    c.run("safety", "pooled_ae_by_term",
          "All adverse events of randomised subjects, pooled over arms, by term",
          lambda: {"pooled_ae_by_term": by_term(adae, adsl)})  # fmt: skip
    c.run("safety", "pooled_sae_by_term",
          f"Serious adverse events of randomised subjects, pooled over arms, by term{terms}",
          lambda: {"pooled_sae_by_term": by_term(adae, adsl, subset="serious")})  # fmt: skip
    c.run("safety", "pooled_serious_ae_listing", "Serious adverse events, without arm",
          lambda: {"pooled_serious_ae_listing": safety.serious_ae_listing(
              adae, by_arm=False)})  # fmt: skip


def _vital_signs(
    c: _Collector, definition: TrialDefinition, advs: pd.DataFrame, adsl: pd.DataFrame,
    arms: list[str],
) -> None:  # fmt: skip
    """Vital signs by visit and alert-limit counts: as treated in SAFFL (``adsl``'s ARMCD is
    ACTARMCD), and pooled over the randomised subjects (ITTFL) for the open report."""
    from trialkit.analysis import vital_signs

    params = [p for p in definition.parameters if p.kind == "safety"]
    visits = [definition.baseline_visit.code, *(v.code for v in definition.post_baseline_visits)]

    def table(stem: str, compute: Callable[[], pd.DataFrame]) -> Callable[[], dict[str, Any]]:
        return lambda: {stem: compute()}

    pooled = {"by_arm": False, "population": "ITTFL"}
    for stem, what, kw in (
        ("vital_signs", "as treated (SAFFL)", {"arms": arms}),
        ("pooled_vital_signs", "pooled over arms (ITTFL)", pooled),
    ):
        by_visit = partial(vital_signs.by_visit, advs, adsl, params, visits, **kw)
        alerts = partial(vital_signs.alerts, advs, adsl, params, **kw)
        c.run("safety", f"{stem}_by_visit", f"Vital signs and change from baseline, {what}",
              table(f"{stem}_by_visit", by_visit))  # fmt: skip
        c.run("safety", f"{stem}_alerts", f"Subjects beyond a vital-sign alert limit, {what}",
              table(f"{stem}_alerts", alerts))  # fmt: skip


__all__ = ["SECTIONS", "announce_failures", "merge", "preload", "run_supporting"]
