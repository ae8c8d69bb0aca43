"""The primary analysis dataset: population, post-baseline visits, and who contributes.

Pure functions: ADSL and the estimand-applied BDS in, new frames out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialkit.analysis.plan import ModelPlan
from trialkit.definition import Endpoint, TrialDefinition
from trialkit.vocabulary import POPULATION_FLAGS

POPULATION_COLUMNS = (
    "arm", "randomized", "in_population", "with_post_baseline", "without_post_baseline",
    "analysed",
)  # fmt: skip


def _is_y(series: pd.Series) -> np.ndarray:
    return series.astype("string").eq("Y").fillna(False).to_numpy(dtype=bool)


def primary_dataset(
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    plan: ModelPlan,
    endpoint: Endpoint | None = None,
    population: str | None = None,
) -> pd.DataFrame:
    """One row per population subject and post-baseline visit with a value of the endpoint.

    The endpoint defaults to the primary one and the population to ``analysis.population``;
    the response column is ``plan.response``. Columns: USUBJID, ARMCD, AVISIT, AVISITN, BASE,
    the covariates and the response. Factors (ARMCD, AVISIT, categorical covariates) are plain
    strings; rows sorted by subject and day.
    """
    primary = endpoint or definition.primary
    flag = POPULATION_FLAGS[population or definition.analysis.population]
    pop_ids = adsl.loc[_is_y(adsl[flag]), "USUBJID"].astype(str)
    visits = [v.code for v in definition.post_baseline_visits]
    keep = (
        bds["PARAMCD"].astype("string").eq(primary.parameter).fillna(False).to_numpy(dtype=bool)
        & _is_y(bds["ANL01FL"])
        & ~_is_y(bds["ABLFL"])
        & bds["AVISIT"].astype("string").isin(visits).fillna(False).to_numpy(dtype=bool)
        & bds["USUBJID"].astype(str).isin(set(pop_ids)).to_numpy(dtype=bool)
    )
    from_adsl = [c for c in plan.covariates if c in adsl.columns]
    from_bds = [c for c in plan.covariates if c not in adsl.columns]
    base_cols = ["USUBJID", "AVISIT", "AVISITN", "BASE", plan.response, *from_bds]
    rec = bds.loc[keep, list(dict.fromkeys(base_cols))].copy()
    subject_cols = ["ARMCD", *from_adsl]
    subj = adsl[["USUBJID", *subject_cols]].copy()
    subj["USUBJID"] = subj["USUBJID"].astype(str)
    rec["USUBJID"] = rec["USUBJID"].astype(str)
    rec = rec.merge(subj, on="USUBJID", how="left", validate="many_to_one")
    rec = rec.loc[rec[plan.response].notna() & rec["BASE"].notna()]
    factors = {"ARMCD", "AVISIT", *plan.strata, "SITEGR1", "SITEID"}
    for col in ["ARMCD", "AVISIT", *plan.covariates]:
        if col in factors or not pd.api.types.is_numeric_dtype(rec[col]):
            # strata and sites are factors even when coded as numbers
            rec[col] = rec[col].astype("string").astype(object)
    rec["AVISITN"] = rec["AVISITN"].astype("int64")
    rec[plan.response] = rec[plan.response].astype("float64")
    rec["BASE"] = rec["BASE"].astype("float64")
    rec = rec.dropna(subset=list(plan.covariates))
    cols = ["USUBJID", "ARMCD", "AVISIT", "AVISITN", "BASE", *plan.covariates, plan.response]
    cols = list(dict.fromkeys(cols))
    return rec.sort_values(["USUBJID", "AVISITN"], kind="stable")[cols].reset_index(drop=True)


def with_subject_columns(
    bds: pd.DataFrame, adsl: pd.DataFrame, columns: Sequence[str]
) -> pd.DataFrame:
    """``bds`` with the subject-level ``columns`` it lacks (e.g. SEX, AGE) joined from ADSL, so
    every model that names a subject-level covariate finds it on its records."""
    missing = [c for c in dict.fromkeys(columns) if c not in bds.columns and c in adsl.columns]
    if not missing:
        return bds
    subj = adsl[["USUBJID", *missing]].copy()
    subj["USUBJID"] = subj["USUBJID"].astype(str)
    keys = bds["USUBJID"].astype(str)
    joined = subj.set_index("USUBJID").reindex(keys.to_numpy())
    return bds.assign(**{c: joined[c].to_numpy() for c in missing})


def itt_exclusions(definition: TrialDefinition, adsl: pd.DataFrame) -> pd.DataFrame:
    """Subjects of the subjects dataset left out of the randomised (ITT) population because of
    their data, by ID and reason (USUBJID, reason): no randomisation date, or no arm of the
    trial (analysed with ``--allow-errors``)."""
    arms = {a.code for a in definition.arms}
    out = adsl.loc[adsl["ITTFL"].astype("string").ne("Y").fillna(True), ["USUBJID"]].copy()
    rows = adsl.loc[out.index]
    no_date = rows["RANDDT"].isna().to_numpy(dtype=bool)
    arm = rows["ARMCD"].astype("string")
    no_arm = (arm.isna() | ~arm.isin(arms)).to_numpy(dtype=bool)
    reasons = np.where(
        no_date & no_arm,
        "no randomisation date (RANDDT) and no arm of the trial (ARMCD)",
        np.where(no_date, "no randomisation date (RANDDT)", "no arm of the trial (ARMCD)"),
    )
    out["USUBJID"] = out["USUBJID"].astype(str)
    out["reason"] = reasons
    return out.sort_values("USUBJID").reset_index(drop=True)


def population_table(
    definition: TrialDefinition, adsl: pd.DataFrame, data: pd.DataFrame
) -> pd.DataFrame:
    """Per arm (and TOTAL): randomised, in population, with/without post-baseline value, analysed.

    "with_post_baseline" and "analysed" both count population subjects in the fitted dataset
    (at least one post-baseline value of the primary variable after the estimand, with BASE and
    the covariates present); "without_post_baseline" the other population subjects.
    """
    flag = POPULATION_FLAGS[definition.analysis.population]
    arm = adsl["ARMCD"].astype("string")
    randomized = _is_y(adsl["ITTFL"])
    in_pop = _is_y(adsl[flag])
    analysed_ids = set(data["USUBJID"].astype(str))
    analysed = adsl["USUBJID"].astype(str).isin(analysed_ids).to_numpy(dtype=bool)
    rows = []
    arms: Sequence[str] = [a.code for a in definition.arms]
    for code in [*arms, "TOTAL"]:
        sel = np.ones(len(adsl), dtype=bool) if code == "TOTAL" else arm.eq(code).fillna(False)
        sel = np.asarray(sel, dtype=bool)
        n_pop = int((sel & in_pop).sum())
        n_an = int((sel & in_pop & analysed).sum())
        rows.append(
            {
                "arm": code,
                "randomized": int((sel & randomized).sum()),
                "in_population": n_pop,
                "with_post_baseline": n_an,
                "without_post_baseline": n_pop - n_an,
                "analysed": n_an,
            }
        )
    return pd.DataFrame(rows, columns=list(POPULATION_COLUMNS))


__all__ = [
    "POPULATION_COLUMNS",
    "itt_exclusions",
    "population_table",
    "primary_dataset",
    "with_subject_columns",
]
