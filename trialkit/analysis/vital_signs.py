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
from typing import Any

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
) -> tuple[list[tuple[str, pd.DataFrame]], list[pd.DataFrame]]:  # fmt: skip
    """The column groups of population subjects and, for each, its ADVS analysis records
    (the arm from ADSL, never ADVS's)."""
    require_columns(advs, ["USUBJID", "PARAMCD", "AVISIT", "AVAL", "ABLFL", "ANL01FL"], "ADVS")
    subj = in_population(adsl, population)
    groups = arm_groups(subj, by_arm=by_arm, arms=arms)
    analysis = advs["ANL01FL"].astype("string").eq("Y").fillna(False).to_numpy(dtype=bool)
    records = advs.loc[analysis & advs["USUBJID"].isin(subj["USUBJID"]).to_numpy(dtype=bool)]
    if not by_arm:
        return groups, [records]
    arm = records["USUBJID"].map(subj.set_index("USUBJID")["ARMCD"]).astype("string")
    columns = [records.loc[arm.eq(code).fillna(False).to_numpy(dtype=bool)]
               for code, _ in groups[:-1]]  # fmt: skip
    return groups, [*columns, records]


def _long(header: pd.DataFrame, rows: list[tuple[object, ...]], columns: list[str]) -> pd.DataFrame:
    """The ``Subjects`` N rows then ``rows``, as one frame of ``columns``."""
    return pd.concat([header[columns], pd.DataFrame(rows, columns=columns)], ignore_index=True)


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
    groups, records = _analysis_values(advs, adsl, population, by_arm, arms)
    aggs: list[Any] = ["count", "mean", "std", "median", "min", "max"]  # std: n - 1
    empty = dict.fromkeys(CONTINUOUS_STATS, np.nan) | {"n": 0.0}
    stats: dict[str, list[dict[Any, dict[Any, float]]]] = {
        variable: [
            r.assign(**{variable: pd.to_numeric(r[variable], errors="coerce")})
            .groupby(["PARAMCD", "AVISIT"])[variable]
            .agg(aggs)
            .set_axis(list(CONTINUOUS_STATS), axis=1)
            .to_dict("index")
            for r in records
        ]
        for variable in ("AVAL", "CHG")
    }
    rows: list[tuple[object, ...]] = []
    for p in parameters:
        for i, visit in enumerate(visits):
            for variable in ("AVAL", "CHG") if i else ("AVAL",):
                cells = [t.get((p.code, visit), empty) for t in stats[variable]]
                rows += [(p.code, visit, variable, stat, arm, float(cell[stat]))
                         for stat in CONTINUOUS_STATS
                         for (arm, _), cell in zip(groups, cells, strict=True)]  # fmt: skip
    header = subject_counts(groups).rename(columns={"level": "visit"}).assign(parameter="")
    return _long(header, rows, VISIT_COLUMNS)


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
    groups, records = _analysis_values(advs, adsl, population, by_arm, arms)
    post = [r.loc[~r["ABLFL"].astype("string").eq("Y").fillna(False).to_numpy(dtype=bool)
                  & r["AVAL"].notna().to_numpy(dtype=bool)] for r in records]  # fmt: skip
    assessed = [r.groupby("PARAMCD")["USUBJID"].nunique() for r in post]
    beyond = {
        direction: [r.loc[r["ALRTIND"].astype("string").eq(direction).fillna(False)
                          .to_numpy(dtype=bool)].groupby("PARAMCD")["USUBJID"].nunique()
                    for r in post]
        for direction, _ in ALERTS
    }  # fmt: skip
    rows: list[tuple[object, ...]] = []
    for p in parameters:
        for direction, attribute in ALERTS:
            limit = getattr(p, attribute)
            if limit is None:
                continue
            n = np.array([float(b.get(p.code, 0)) for b in beyond[direction]])
            total = np.array([float(a.get(p.code, 0)) for a in assessed])
            with np.errstate(divide="ignore", invalid="ignore"):
                pct = np.where(total > 0, 100.0 * n / total, np.nan)
            rows += [(p.code, direction, float(limit), stat, arm, float(values[j]))
                     for stat, values in (("n", n), ("N", total), ("pct", pct))
                     for j, (arm, _) in enumerate(groups)]  # fmt: skip
    header = subject_counts(groups).drop(columns=["level"]).assign(parameter="", limit=np.nan)
    return _long(header, rows, ALERT_COLUMNS)


__all__ = ["ALERTS", "ALERT_COLUMNS", "VISIT_COLUMNS", "alerts", "by_visit"]
