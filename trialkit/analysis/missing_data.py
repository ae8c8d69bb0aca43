"""The ``[missing_data]`` plan of ``trialkit analyze``: reference-based MI and the tipping point.

From the trial definition, its plan and the analysis frames (ADSL and the estimand-applied BDS)
to ``results.json["missing_data"]`` and the tables ``missing_data_analyses`` and
``missing_data_tipping_point``. The imputation model is the primary MMRM (its formula: arm by
visit, baseline by visit, the covariates; unstructured covariance, REML) of the population's
subjects with a baseline; each subject's strategy comes from its intercurrent events (ADSL's
DISCDT, RESCDT): from the first visit after the event (a visit's study day, ADY where the
value was collected, else its target day, later than the event's) the strategy of that event's
``[[missing_data.strategies]]`` entry applies; the earliest event wins. The analyses are MAR and
the plan's strategies, each an ANCOVA per visit with the primary's covariates.
:func:`run_missing_data` is ``analyze``'s call: a failure is recorded, not raised;
:class:`ParallelRunner` spreads the refits over :mod:`trialkit.parallel`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialkit.analysis.dataset import primary_dataset
from trialkit.analysis.plan import ModelPlan
from trialkit.definition import TrialDefinition
from trialkit.derive.estimands import ICE_COLUMNS
from trialkit.errors import ConvergenceError, ModelSpecificationError, TrialkitWarning
from trialkit.missing_data import (
    Imputation,
    LongData,
    analyse,
    draws,
    impute,
    in_process,
    long_data,
    pool,
    tipping_delta,
    tipping_point,
)
from trialkit.missing_data.draws import FitBatch, Runner
from trialkit.missing_data.plan import MissingDataPlan
from trialkit.models.refit import Refit
from trialkit.parallel import Progress, run_batches
from trialkit.processes import received_signal
from trialkit.vocabulary import POPULATION_FLAGS

ANALYSIS_COLUMNS = (
    "strategy", "arm", "versus", "visit", "estimate", "se", "df", "lower", "upper", "p",
)  # fmt: skip
TABLE_DESCRIPTIONS = {
    "missing_data_analyses": "Missing data: each arm minus the reference per visit, by strategy",
    "missing_data_tipping_point": "Missing data: delta-adjusted comparisons at the primary visit",
}


def _subjects(
    definition: TrialDefinition, adsl: pd.DataFrame, bds: pd.DataFrame, plan: ModelPlan
) -> pd.DataFrame:
    """Population subjects with a baseline of the primary parameter: ARMCD, BASE, covariates."""
    flag = POPULATION_FLAGS[definition.analysis.population]
    pop = adsl.loc[adsl[flag].astype("string").eq("Y").fillna(False).to_numpy(dtype=bool)]
    for i, c in enumerate(plan.covariates):
        if c not in adsl.columns:
            raise ModelSpecificationError(
                f"missing_data: covariate {c!r} (analysis.covariates[{i}]) is not a "
                "subject-level (ADSL) column"
            )
    base = bds.loc[
        bds["PARAMCD"].astype("string").eq(definition.primary.parameter).fillna(False)
        & bds["ABLFL"].astype("string").eq("Y").fillna(False),
        ["USUBJID", "BASE"],
    ].drop_duplicates("USUBJID")
    subj = pop[["USUBJID", "ARMCD", *plan.covariates]].merge(base, on="USUBJID", how="inner")
    subj = subj.assign(USUBJID=subj["USUBJID"].astype(str), ARMCD=subj["ARMCD"].astype(str))
    return subj.dropna().reset_index(drop=True)


def _events(
    definition: TrialDefinition,
    plan: MissingDataPlan,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    subjects: pd.Series,
    visits: list[str],
) -> pd.DataFrame:
    """Per subject with an event of a non-MAR strategy: its first affected visit and strategy."""
    days = {v.code: v.day for v in definition.post_baseline_visits}
    rec = bds.loc[
        bds["PARAMCD"].astype("string").eq(definition.primary.parameter).fillna(False)
        & bds["ANL01FL"].astype("string").eq("Y").fillna(False),
        ["USUBJID", "AVISIT", "ADY"],
    ].dropna()
    ady = {(str(s), str(v)): float(d) for s, v, d in rec.itertuples(index=False)}
    a = adsl.assign(USUBJID=adsl["USUBJID"].astype(str)).set_index("USUBJID")
    randomised = pd.to_datetime(a["RANDDT"])
    event_days = {
        event: ((pd.to_datetime(a[date_col]) - randomised).dt.days + 1).astype("float64").to_dict()
        for event, (date_col, _, _) in ICE_COLUMNS.items()
        if date_col in a.columns and plan.strategy(event) != "MAR"
    }
    rows = []
    for sid in subjects:
        first: tuple[int, str] | None = None
        for event, eday in event_days.items():
            day = float(eday[sid])
            if np.isnan(day):
                continue
            after = [t for t, v in enumerate(visits) if ady.get((sid, v), days[v]) > day]
            if after and (first is None or after[0] < first[0]):
                first = (after[0], plan.strategy(event))
        if first is not None:
            rows.append({"USUBJID": sid, "AVISIT": visits[first[0]], "strategy": first[1]})
    return pd.DataFrame(rows, columns=["USUBJID", "AVISIT", "strategy"])


def _long(
    subjects: pd.DataFrame, values: pd.DataFrame, response: str, covariates: list[str],
    visits: list[str], control: str, events: pd.DataFrame | None,
) -> LongData:  # fmt: skip
    """Observed values of the subjects (those without any: one empty row) as long data."""
    obs = values.loc[
        values["USUBJID"].isin(set(subjects["USUBJID"])), ["USUBJID", "AVISIT", response]
    ]
    empty = subjects.loc[~subjects["USUBJID"].isin(set(obs["USUBJID"])), ["USUBJID"]]
    empty = empty.assign(AVISIT=visits[0], **{response: np.nan})
    rows = pd.concat([obs, empty], ignore_index=True).merge(subjects, on="USUBJID", how="left")
    return long_data(
        rows, subject="USUBJID", visit="AVISIT", group="ARMCD", outcome=response,
        covariates=["BASE", *covariates], visits=visits, control=control, events=events,
    )  # fmt: skip


def _label(plan: MissingDataPlan) -> str:
    """The plan's analysis named by its strategy, or by event when events differ."""
    names = {s.strategy for s in plan.strategies}
    if len(names) == 1:
        return names.pop()
    return "; ".join(f"{s.event}: {s.strategy}" for s in plan.strategies) or "MAR"


def _rows(im: Imputation, strategy: str, alpha: float) -> list[dict[str, Any]]:
    d, m = im.draws.data, im.draws.method
    pooled = pool(analyse(im), m.pooling, alpha, m.interval, m.imputations)
    return [
        {
            "strategy": strategy,
            "arm": arm,
            "versus": d.control,
            "visit": v,
            "estimate": p.estimate,
            "se": p.se,
            "df": p.df,
            "lower": p.lower,
            "upper": p.upper,
            "p": p.p,
        }
        for arm, per_visit in zip(d.effect_arms, pooled, strict=True)
        for v, p in zip(d.visits, per_visit, strict=True)
    ]


def long_data_of(
    definition: TrialDefinition,
    plan: MissingDataPlan,
    model_plan: ModelPlan,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    with_events: bool = True,
) -> LongData:
    """The imputation's data: population subjects with a baseline at the analysed visits, each
    with the strategy of its events (all MAR when ``with_events`` is false)."""
    values = primary_dataset(definition, adsl, bds, model_plan)
    planned = [v.code for v in definition.post_baseline_visits]
    visits = [v for v in planned if v in set(values["AVISIT"])]
    subjects = _subjects(definition, adsl, bds, model_plan)
    events = None
    if with_events:
        events = _events(definition, plan, adsl, bds, subjects["USUBJID"], visits)
    control = plan.reference or definition.reference_arm.code
    covs = list(model_plan.covariates)
    return _long(subjects, values, model_plan.response, covs, visits, control, events)


def missing_data_section(
    definition: TrialDefinition,
    plan: MissingDataPlan,
    model_plan: ModelPlan,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    runner: Runner = in_process,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """``results.json["missing_data"]`` and its tables; ``runner`` spreads the refits."""
    plan.check(definition)
    a = definition.analysis
    control = plan.reference or definition.reference_arm.code
    covs = list(model_plan.covariates)
    formula = model_plan.formula()
    references = {arm.code: control for arm in definition.arms}
    ld_mar = long_data_of(definition, plan, model_plan, adsl, bds, with_events=False)
    mar = impute(draws(ld_mar, formula, plan.method, runner=runner), references)
    analyses = _rows(mar, "MAR", a.alpha)
    planned_im = mar
    ld = long_data_of(definition, plan, model_plan, adsl, bds)
    if (ld.ice < len(ld.visits)).any():
        planned_im = impute(draws(ld, formula, plan.method, runner=runner), references)
        analyses += _rows(planned_im, _label(plan), a.alpha)
    table = pd.DataFrame(analyses, columns=list(ANALYSIS_COLUMNS))
    direction = definition.parameter(definition.primary.parameter).direction
    tip = pd.DataFrame(columns=["arm", "delta", "estimate", "se", "lower", "upper", "p"])
    tipping: dict[str, float | None] = {}
    if plan.deltas:
        tip = tipping_point(planned_im, plan.deltas, definition.primary.visit, a.alpha)
        tipping = tipping_delta(tip, direction)
    m = plan.method
    d = planned_im.draws.data
    section = {
        "status": "ok",
        "method": {
            "name": m.name,
            "resampling": m.resampling if m.name == "conditional_mean" else None,
            "samples": len(planned_im.draws.samples),
            "imputations": m.imputations,
            "seed": m.seed,
            "interval": m.interval if m.pooling == "bootstrap" else None,
            "pooling": m.pooling,
            "failed_fits": planned_im.draws.failures,
        },
        "imputation_model": {"formula": formula, "covariance": "us", "fit": "reml"},
        "analysis_model": f"{model_plan.response} ~ ARMCD + " + " + ".join(["BASE", *covs]),
        "reference": control,
        "strategies": [{"event": s.event, "strategy": s.strategy} for s in plan.strategies],
        "subjects": d.n_subjects,
        "imputed_values": int(np.isnan(d.y).sum()),
        "subjects_by_strategy": {
            s: int((d.strategy == s).sum()) for s in sorted(set(d.strategy.tolist()))
        },
        "primary_visit": definition.primary.visit,
        "direction": direction,
        "alpha": a.alpha,
        "analyses": table.to_dict(orient="records"),
        "tipping_point": tip.to_dict(orient="records"),
        "tipping_delta": tipping,
    }
    tables = {"missing_data_analyses": table}
    if plan.deltas:
        tables["missing_data_tipping_point"] = tip
    return section, tables


@dataclass
class ParallelRunner:
    """A :data:`Runner` on :mod:`trialkit.parallel` (local workers or a Dask ``scheduler``);
    ``progress(done, total)`` counts the refits of every call, so one bar covers the section."""

    workers: int | None = None
    scheduler: str | None = None
    progress: Progress | None = None
    done: int = 0

    def __call__(self, func: FitBatch, tasks: Sequence[np.ndarray]) -> list[Refit]:
        start, shown = self.done, self.progress

        def moved(done: int, total: int) -> None:
            assert shown is not None
            shown(start + done, start + total)

        fits = run_batches(
            func, tasks, workers=self.workers, scheduler=self.scheduler,
            progress=None if shown is None else moved,
        )  # fmt: skip
        self.done = start + len(tasks)
        return fits


#: Failures of the imputation or its analyses that leave the rest of the run standing.
SECTION_FAILURES = (ConvergenceError, ModelSpecificationError, ValueError, ArithmeticError)


def run_missing_data(
    definition: TrialDefinition,
    model_plan: ModelPlan,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    runner: Runner = in_process,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """``analyze``'s missing-data section of the trial's plan; a sensitivity analysis that fails
    is recorded (``status: "failed"``, ``reason``) and warned of, and the run goes on."""
    plan = definition.missing_data
    assert plan is not None, "the trial has no [missing_data] plan"
    try:
        return missing_data_section(definition, plan, model_plan, adsl, bds, runner)
    except SECTION_FAILURES as exc:
        stopped = received_signal()  # a stop inside a library can come out as its own error
        if stopped is not None:
            raise stopped from None
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        warnings.warn(f"missing_data analysis not run: {reason}", TrialkitWarning, stacklevel=2)
        return {"status": "failed", "reason": reason}, {}


__all__ = [
    "ANALYSIS_COLUMNS",
    "SECTION_FAILURES",
    "TABLE_DESCRIPTIONS",
    "ParallelRunner",
    "long_data_of",
    "missing_data_section",
    "run_missing_data",
]
