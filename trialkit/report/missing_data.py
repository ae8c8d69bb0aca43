"""The missing-data section of the final and closed reports (never the open one): the
strategies side by side with the primary MMRM at the primary visit, and the tipping point.

Reads only what ``analyze`` wrote (``results.json["missing_data"]`` and the primary contrasts);
nothing is computed here. The shape is documented in
``report_templates/sections/missing_data.html.j2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from trialkit.definition import TrialDefinition
from trialkit.report.efficacy import P_VALUE
from trialkit.report.formatting import MISSING, fmt_est_ci, fmt_int, fmt_num, fmt_p
from trialkit.report.results import AnalysisOutput
from trialkit.report.tables import make_table
from trialkit.report.tipping_figure import tipping_figure
from trialkit.vocabulary import IMPUTATION_METHOD_LABELS, IMPUTATION_STRATEGY_LABELS

POOLING = {
    "jackknife": "jackknife standard errors",
    "rubin": "Rubin's rules",
    "bmlmi": "von Hippel and Bartlett's pooling",
}


def missing_data_context(
    output: AnalysisOutput, definition: TrialDefinition, confidence: float
) -> dict[str, Any] | None:
    """The template's ``s`` (see the template's header); ``{"reason"}`` when the analysis
    failed; ``None`` when the results hold no missing-data section."""
    md = output.get("missing_data")
    if not isinstance(md, Mapping):
        return None
    if md.get("status") == "failed":
        return {"reason": str(md.get("reason") or "no reason recorded")}
    analyses = output.rows("missing_data", "analyses")
    if analyses is None:
        return None
    labels = {a.code: a.label for a in definition.arms}
    param = definition.parameter(definition.primary.parameter)
    unit = param.unit or "units"
    visit = str(md.get("primary_visit") or definition.primary.visit)
    at_visit = analyses.loc[analyses["visit"].astype(str) == visit]
    arm_versus = zip(at_visit["arm"].astype(str), at_visit["versus"].astype(str), strict=True)
    order = {code: i for i, code in enumerate(labels)}  # arms in trial.toml's order
    pairs = sorted(dict.fromkeys(arm_versus), key=lambda pair: order[pair[0]])
    level = f"{confidence:.0%}"
    header = ["Analysis"]
    for arm, versus in pairs:
        header += [f"{labels.get(arm, arm)} vs {labels.get(versus, versus)} ({level} CI)", P_VALUE]
    rows = []
    contrasts = output.rows("primary", "contrasts")
    if contrasts is not None and output.get("primary", "kind") != "binary":
        primary = contrasts.loc[contrasts["visit"].astype(str) == visit]
        rows.append(["Primary (MMRM)", *_cells(primary, pairs, "reference")])
    for strategy, group in at_visit.groupby("strategy", sort=False):
        rows.append([_strategy_label(str(strategy)), *_cells(group, pairs, "versus")])
    reference = str(md.get("reference") or definition.reference_arm.code)
    section: dict[str, Any] = {
        "reason": None,
        "method": _method_line(md, labels.get(reference, reference)),
        "table": make_table(header, rows),
        "tipping_table": None,
        "figure": None,
        "tipping": [],
        "direction": str(md.get("direction") or param.direction),
    }
    tip = output.rows("missing_data", "tipping_point")
    if tip is not None:
        tip = tip.assign(arm=tip["arm"].astype(str))
        tip = tip.sort_values("arm", key=lambda a: a.map(order), kind="stable")
        arms = {c: labels.get(c, c) for c in dict.fromkeys(tip["arm"])}
        tipping = md.get("tipping_delta") or {}
        section["tipping_table"] = make_table(
            ["Arm", f"Delta ({unit})", f"Difference vs {labels.get(reference, reference)} "
             f"({level} CI)", P_VALUE],
            [
                [arms[str(r["arm"])], fmt_num(r["delta"], 2),
                 fmt_est_ci(r["estimate"], r["lower"], r["upper"]), fmt_p(r["p"])]
                for _, r in tip.iterrows()
            ],
        )  # fmt: skip
        section["tipping"] = [
            {
                "arm": label,
                "delta": "none in range"
                if tipping.get(code) is None
                else f"{fmt_num(tipping[code], 2)} {unit}",
            }
            for code, label in arms.items()
        ]
        section["figure"] = tipping_figure(
            tip, tipping, arms, [a.code for a in definition.arms],
            labels.get(reference, reference), unit, section["direction"], confidence,
        )  # fmt: skip
    return section


def _cells(rows: pd.DataFrame, pairs: list[tuple[str, str]], versus: str) -> list[str]:
    """Estimate (CI) and p of each (arm, versus) pair; missing where the rows lack it."""
    cells = []
    for arm, ref in pairs:
        hit = rows.loc[(rows["arm"].astype(str) == arm) & (rows[versus].astype(str) == ref)]
        if hit.empty:
            cells += [MISSING, MISSING]
            continue
        r = hit.iloc[0]
        cells += [fmt_est_ci(r["estimate"], r["lower"], r["upper"]), fmt_p(r["p"])]
    return cells


def _strategy_label(strategy: str) -> str:
    """``J2R`` as "Jump to reference (J2R), MI"; a per-event label stays as written."""
    name = IMPUTATION_STRATEGY_LABELS.get(strategy)
    return f"{name[0].upper()}{name[1:]} ({strategy}), MI" if name else f"{strategy}, MI"


def _method_line(md: Mapping[str, Any], reference: str) -> str:
    """One line: method, resampling or pooling, samples, seed, reference arm, subjects."""
    m = md.get("method") or {}
    name = str(m.get("name"))
    label = IMPUTATION_METHOD_LABELS.get(name, name)
    text = label[:1].upper() + label[1:]
    pooling = str(m.get("pooling"))
    if pooling == "bootstrap":
        text += f" with bootstrap ({m.get('interval')} intervals)"
    else:
        text += f", {POOLING.get(pooling, pooling)}"
    text += f"; {fmt_int(m.get('samples'))} samples"
    if m.get("imputations", 1) > 1:
        text += f" x {fmt_int(m.get('imputations'))} imputations"
    if m.get("seed") is not None:
        text += f", seed {m.get('seed')}"
    if m.get("failed_fits"):
        text += f" ({fmt_int(m.get('failed_fits'))} failed fits replaced)"
    strategies = md.get("strategies") or []
    plan = ", ".join(f"{s['strategy']} after {s['event'].replace('_', ' ')}" for s in strategies)
    return (
        f"{text}. Reference arm: {reference}. Imputation model: the primary MMRM "
        f"(unstructured covariance, REML); each completed dataset analysed by ANCOVA per visit. "
        f"{fmt_int(md.get('subjects'))} subjects, {fmt_int(md.get('imputed_values'))} values "
        f"imputed; strategies: {plan or 'MAR only'} (other missing values MAR)."
    )


__all__ = ["missing_data_context"]
