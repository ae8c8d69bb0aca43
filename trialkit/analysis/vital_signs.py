"""Vital signs tables from ADVS: summaries by parameter, visit and arm, and alert-limit counts.

Only the analysis values count (ANL01FL = "Y": the baseline and one value per subject,
parameter and post-baseline visit), of subjects in the population of ADSL (SAFFL, by arm as
the caller's ADSL says: as treated for the safety tables), the arm taken from ADSL. Tables are
long frames (numbers unrounded) with an ``arm`` column: each ARMCD (``arms`` order) then
"Total", or "Total" alone with ``by_arm=False`` (the pooled tables of the open report, over the
randomised subjects, ITTFL); each starts with a "Subjects" row (statistic N, the column's
population subjects). Summaries: n, mean, SD (n - 1), median, min, max of AVAL at every visit
and of CHG at the post-baseline visits. Alerts: per parameter and limit (LOW below
``alert_low``, HIGH above ``alert_high``, ADVS's ALRTIND), the subjects with a post-baseline
analysis value beyond it (n) among those with a post-baseline analysis value (N), and
100 x n / N.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialkit.analysis.descriptive import (
    CONTINUOUS_STATS,
    arm_groups,
    in_population,
    require_columns,
    subject_counts,
)
from trialkit.definition import Parameter

VISIT_COLUMNS = ["parameter", "visit", "variable", "statistic", "arm", "value"]
ALERT_COLUMNS = ["parameter", "variable", "limit", "statistic", "arm", "value"]
#: The alert directions (ADVS ALRTIND values) and the parameter attribute of each limit.
ALERTS = (("LOW", "alert_low"), ("HIGH", "alert_high"))


def _analysis_values(
    advs: pd.DataFrame, adsl: pd.DataFrame, population: str | None, by_arm: bool,
    arms: Sequence[str] | None,
) -> tuple[pd.DataFrame, list[tuple[str, pd.DataFrame]]]:  # fmt: skip
    """ADVS analysis records of population subjects (ARMCD from ADSL) and the column groups."""
    require_columns(advs, ["USUBJID", "PARAMCD", "AVISIT", "AVAL", "ABLFL", "ANL01FL"], "ADVS")
    subj = in_population(adsl, population)
    groups = arm_groups(subj, by_arm=by_arm, arms=arms)
    keep = advs["USUBJID"].isin(subj["USUBJID"]) & advs["ANL01FL"].astype("string").eq("Y")
    records = advs.loc[keep.fillna(False).to_numpy(dtype=bool)]
    return records.drop(columns=["ARMCD"], errors="ignore"), groups


def _summary(values: pd.Series) -> list[float]:
    """n, mean, SD, median, min, max of the non-missing ``values`` (NaN where undefined)."""
    v = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if v.empty:
        return [0.0, *[np.nan] * (len(CONTINUOUS_STATS) - 1)]
    sd = float(v.std(ddof=1)) if len(v) > 1 else np.nan
    return [float(len(v)), float(v.mean()), sd, float(v.median()), float(v.min()), float(v.max())]


def by_visit(
    advs: pd.DataFrame,
    adsl: pd.DataFrame,
    parameters: Sequence[Parameter],
    visits: Sequence[str],
    *,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
    population: str | None = "SAFFL",
) -> pd.DataFrame:
    """AVAL (every visit) and CHG (visits after ``visits[0]``, the baseline) summarised by
    parameter, visit and column (long: VISIT_COLUMNS, parameters and visits in the given order;
    a visit without values has n = 0)."""
    records, groups = _analysis_values(advs, adsl, population, by_arm, arms)
    rows: list[tuple[object, ...]] = []
    for p in parameters:
        of_param = records.loc[records["PARAMCD"].astype("string").eq(p.code).fillna(False)]
        for i, visit in enumerate(visits):
            at = of_param.loc[of_param["AVISIT"].astype("string").eq(visit).fillna(False)]
            for variable in ("AVAL", "CHG") if i else ("AVAL",):
                stats = {arm: _summary(at.loc[at["USUBJID"].isin(g["USUBJID"]), variable])
                         for arm, g in groups}  # fmt: skip
                rows += [(p.code, visit, variable, stat, arm, stats[arm][k])
                         for k, stat in enumerate(CONTINUOUS_STATS)
                         for arm, _ in groups]  # fmt: skip
    header = subject_counts(groups).rename(columns={"level": "visit"}).assign(parameter="")
    return pd.concat([header[VISIT_COLUMNS], pd.DataFrame(rows, columns=VISIT_COLUMNS)],
                     ignore_index=True)  # fmt: skip


def alerts(
    advs: pd.DataFrame,
    adsl: pd.DataFrame,
    parameters: Sequence[Parameter],
    *,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
    population: str | None = "SAFFL",
) -> pd.DataFrame:
    """Subjects with a post-baseline analysis value beyond each alert limit a parameter has:
    n, N (subjects with a post-baseline analysis value of it) and pct (long: ALERT_COLUMNS,
    ``variable`` LOW or HIGH, ``limit`` the limit's value)."""
    require_columns(advs, ["ALRTIND"], "ADVS")
    records, groups = _analysis_values(advs, adsl, population, by_arm, arms)
    post = records.loc[~records["ABLFL"].astype("string").eq("Y").fillna(False).to_numpy(bool)]
    post = post.loc[post["AVAL"].notna()]
    indicator = post["ALRTIND"].astype("string")
    rows: list[tuple[object, ...]] = []
    for p in parameters:
        of_param = post["PARAMCD"].astype("string").eq(p.code).fillna(False)
        assessed = post.loc[of_param, "USUBJID"]
        for direction, attribute in ALERTS:
            limit = getattr(p, attribute)
            if limit is None:
                continue
            beyond = post.loc[of_param & indicator.eq(direction).fillna(False), "USUBJID"]
            n = np.array([g["USUBJID"].isin(beyond).sum() for _, g in groups], dtype=float)
            total = np.array([g["USUBJID"].isin(assessed).sum() for _, g in groups], dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                pct = np.where(total > 0, 100.0 * n / total, np.nan)
            rows += [(p.code, direction, float(limit), stat, arm, float(values[j]))
                     for stat, values in (("n", n), ("N", total), ("pct", pct))
                     for j, (arm, _) in enumerate(groups)]  # fmt: skip
    header = subject_counts(groups).drop(columns=["level"]).assign(parameter="", limit=np.nan)
    return pd.concat([header[ALERT_COLUMNS], pd.DataFrame(rows, columns=ALERT_COLUMNS)],
                     ignore_index=True)  # fmt: skip


__all__ = ["ALERTS", "ALERT_COLUMNS", "VISIT_COLUMNS", "alerts", "by_visit"]
