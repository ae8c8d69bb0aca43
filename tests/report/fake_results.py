"""A small fake ``trialkit analyze`` output folder (per docs/results.md) for report tests.

Subject-level files come from a generated trial (``trialkit.examples``), so pooled summaries
are real; model results are made up but shaped exactly as documented. Arm-level numbers
are deterministic functions of the data so they differ between arms and runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialkit.definition import TrialDefinition, load_definition
from trialkit.manifest import RunInfo, record_run


def _adsl(subjects: pd.DataFrame) -> pd.DataFrame:
    adsl = subjects.copy()
    adsl["ITTFL"] = "Y"
    adsl["SAFFL"] = "Y"
    adsl["SITEGR1"] = adsl["SITEID"]
    return adsl


def _adbds(assess: pd.DataFrame, subjects: pd.DataFrame, d: TrialDefinition) -> pd.DataFrame:
    a = assess.merge(subjects[["USUBJID", "ARMCD"]], on="USUBJID", how="left")
    a = a.rename(columns={"VISIT": "AVISIT"})
    day = {v.code: v.day for v in d.visits}
    a["AVISITN"] = a["AVISIT"].map(day)
    a["ABLFL"] = np.where(a["AVISIT"] == d.baseline_visit.code, "Y", "")
    base = a[a["ABLFL"] == "Y"].groupby(["USUBJID", "PARAMCD"])["AVAL"].first()
    a["BASE"] = [base.get((u, p), np.nan) for u, p in zip(a["USUBJID"], a["PARAMCD"], strict=True)]
    a["CHG"] = a["AVAL"] - a["BASE"]
    return a


def write_fake_results(
    trial_dir: Path,
    out: Path,
    cutoff: str | None = None,
    ae_term: str | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """Write a fake results folder for the trial in ``trial_dir`` into ``out``.

    ``ae_term`` replaces the first adverse event's term (escaping tests); ``drop`` removes
    top-level keys of results.json (sections that are "not available").
    """
    d = load_definition(trial_dir)
    subjects = pd.read_csv(trial_dir / "subjects.csv", dtype=str, keep_default_na=False)
    subjects["AGE"] = subjects["AGE"].astype(int)
    assess = pd.read_csv(trial_dir / "assessments.csv", dtype={"USUBJID": str})
    aes = pd.read_csv(trial_dir / "adverse_events.csv", dtype={"USUBJID": str})
    if ae_term is not None:
        aes.loc[0, "AETERM"] = ae_term
        aes.loc[0, "AEDECOD"] = ae_term
        aes.loc[0, "AESER"] = "Y"
    aes["TRTEMFL"] = "Y"
    (out / "adam").mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    adsl = _adsl(subjects)
    adsl.to_csv(out / "adam" / "adsl.csv", index=False)
    bds = _adbds(assess, subjects, d)
    bds.to_csv(out / "adam" / "adbds.csv", index=False)
    aes.to_csv(out / "adam" / "adae.csv", index=False)
    primary = bds[(bds["PARAMCD"] == d.primary.parameter) & (bds["ABLFL"] != "Y")].dropna(
        subset=["CHG"]
    )
    rng = np.random.default_rng(len(primary))
    primary = primary.assign(
        FITTED=primary["CHG"] + rng.normal(0, 1, len(primary)), RESID=rng.normal(0, 5, len(primary))
    )
    primary[["USUBJID", "ARMCD", "AVISIT", "AVISITN", "BASE", "CHG", "FITTED", "RESID"]].to_csv(
        out / "adam" / "analysis_primary.csv", index=False
    )
    arms = [a.code for a in d.arms]
    ref = d.reference_arm.code
    visits = [v.code for v in d.post_baseline_visits]
    means = primary.groupby(["ARMCD", "AVISIT"])["CHG"].mean()
    lsmeans, contrasts = [], []
    for arm in arms:
        for v in visits:
            est = float(means.get((arm, v), 0.0)) + 0.123
            lsmeans.append({"arm": arm, "visit": v, "estimate": est, "se": 1.5, "df": 80.0,
                            "lower": est - 3.0, "upper": est + 3.0})  # fmt: skip
    for arm in arms:
        if arm == ref:
            continue
        for v in visits:
            est = float(means.get((arm, v), 0.0) - means.get((ref, v), 0.0)) + 0.0456
            contrasts.append({
                "arm": arm, "reference": ref, "visit": v, "estimate": est, "se": 2.1, "df": 79.5,
                "t": est / 2.1, "p": 0.0004 if v == d.primary.visit else 0.0312,
                "lower": est - 4.2, "upper": est + 4.2, "primary_visit": v == d.primary.visit,
                "p_adjusted": 0.0009 if v == d.primary.visit else None,
                "simultaneous_lower": est - 5.0 if v == d.primary.visit else None,
                "simultaneous_upper": est + 5.0 if v == d.primary.visit else None,
            })  # fmt: skip
    pop = []
    for arm in [*arms, "TOTAL"]:
        n = int((subjects["ARMCD"] == arm).sum()) if arm != "TOTAL" else len(subjects)
        pop.append({"arm": arm, "randomized": n, "in_population": n, "with_post_baseline": n,
                    "without_post_baseline": 0, "analysed": n})  # fmt: skip
    subgroups = []
    for sg in d.subgroups:
        levels = ["<40", ">=40"] if sg.cuts else sorted(subjects[sg.variable].unique())
        est_rows = []
        for level in levels:
            for arm in arms:
                if arm != ref:
                    est_rows.append({"level": level, "arm": arm, "reference": ref,
                                     "visit": d.primary.visit, "n": 10, "estimate": 7.77,
                                     "se": 3.0, "df": 40.0, "lower": 1.7, "upper": 13.8,
                                     "p": 0.02})  # fmt: skip
        subgroups.append({"variable": sg.variable, "label": sg.label, "cuts": list(sg.cuts),
                          "visit": d.primary.visit, "interaction_p": 0.4567, "converged": True,
                          "covariance": "us", "levels": levels, "estimates": est_rows})  # fmt: skip
    sens_rows = [
        {"arm": c["arm"], "visit": c["visit"], "estimate": c["estimate"] + 0.5,
         "lower": c["lower"], "upper": c["upper"], "p": 0.0021}
        for c in contrasts
    ]  # fmt: skip
    pd.DataFrame(sens_rows).to_csv(out / "tables" / "sensitivity_pp.csv", index=False)
    resp = [{"arm": a, "n": 10, "responders": 4, "percent": 40.0} for a in arms]
    pd.DataFrame(resp).to_csv(out / "tables" / "responders.csv", index=False)
    findings = pd.DataFrame([
        {"rule": "TK030", "severity": "warning", "dataset": "assessments", "row": 3,
         "usubjid": subjects["USUBJID"].iloc[0], "column": "ADT", "value": "2023-01-01",
         "message": f"assessment outside window; arm {subjects['ARMCD'].iloc[0]}"},
    ])  # fmt: skip
    findings.to_csv(out / "tables" / "validation_findings.csv", index=False)
    results: dict[str, Any] = {
        "schema_version": "1",
        "trialkit_version": "0.1.0",
        "trial": {"id": d.trial.id, "title": d.trial.title, "indication": d.trial.indication},
        "cutoff": cutoff,
        "dummy": False,
        "dummy_seed": None,
        "alpha": d.analysis.alpha,
        "confidence_level": 1 - d.analysis.alpha,
        "arms": [{"code": a.code, "label": a.label, "reference": a.reference} for a in d.arms],
        "visits": [
            {"code": v.code, "day": v.day, "label": v.label} for v in d.post_baseline_visits
        ],
        "population": {"name": "ITT", "flag": "ITTFL", "by_arm": pop},
        "estimand": {
            "description": "Treatment policy estimand: difference in mean change.",
            "intercurrent_events": [{"event": "discontinuation", "strategy": "treatment_policy"}],
        },
        "validation": {"errors": 0, "warnings": 1, "allowed_errors": False, "findings": []},
        "primary": {
            "endpoint": {
                "parameter": d.primary.parameter,
                "visit": d.primary.visit,
                "variable": d.primary.variable,
                "name": None,
            },
            "model": {
                "formula": "CHG ~ ARMCD * AVISIT + BASE * AVISIT",
                "covariance": "us",
                "covariance_requested": "us",
                "fallback_used": False,
                "fallback_reason": None,
                "df_method": "kenward-roger",
                "method": "reml",
                "converged": True,
                "subjects": len(subjects),
                "observations": len(primary),
            },
            "lsmeans": lsmeans,
            "contrasts": contrasts,
            "multiplicity": {"method": d.analysis.multiplicity},
        },
        "subgroups": subgroups,
        "sensitivity": {"pp": {"table": "sensitivity_pp", "description": "Per-protocol set."}},
        "responders": {"primary": {"table": "responders", "description": "At least 20% increase."}},
        "tables": [],
        "adam": [],
    }
    if d.interim is not None:  # the look as the analysis computes it, from these contrasts
        from trialkit.analysis.interim import interim_look

        look = interim_look(d.interim, None, pd.DataFrame(contrasts), primary, d)
        results["interim"] = look.to_json()
    for key in drop:
        results.pop(key, None)
    (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    # the manifest a real analysis leaves: reports check it names this trial's inputs
    run = RunInfo(command="analyze", trial_dir=trial_dir, options={}, cutoff=cutoff)
    record_run(out, run, datetime.now(UTC))
    return out
