"""Descriptive tables: baseline characteristics, disposition, exposure, and listings.

Every table is a long tidy frame with columns ``variable, level, statistic, arm, value``
(numbers unrounded; reports format them) and one function serves both reports: with
``by_arm=True`` one column per arm (ARMCD, sorted or in ``arms`` order) then "Total"; with
``by_arm=False`` only "Total" (the blinded, pooled interim report). Row order is deterministic:
variables in the order asked, levels sorted (missing last, as "Missing"), statistics in a fixed
order, arms in column order. Percentages are 100 x n / N, N the subjects of that column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialkit.errors import DatasetError

TOTAL = "Total"
MISSING = "Missing"
COLUMNS = ["variable", "level", "statistic", "arm", "value"]
CONTINUOUS_STATS = ("n", "mean", "sd", "median", "min", "max")
EXPOSURE_VARIABLES = (
    "MN_SESSIONS",
    "PRP_SESSIONS",
    "MEAN_NEEDLE_DEPTH",
    "PRP_VOLUME_TOTAL",
)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Refuse a frame lacking a column the table needs, naming the frame and the column."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(f"{name}: column(s) {', '.join(missing)} missing")


def in_population(adsl: pd.DataFrame, flag: str | None) -> pd.DataFrame:
    """Subjects with ``flag == "Y"`` (all subjects when ``flag`` is None)."""
    if flag is None:
        return adsl
    require_columns(adsl, [flag], "ADSL")
    return adsl[adsl[flag].astype("string").fillna("") == "Y"]


def arm_groups(
    frame: pd.DataFrame, *, by_arm: bool, arms: Sequence[str] | None = None
) -> list[tuple[str, pd.DataFrame]]:
    """(column name, rows) pairs: each arm then Total, or Total alone when not ``by_arm``."""
    groups: list[tuple[str, pd.DataFrame]] = []
    if by_arm:
        require_columns(frame, ["ARMCD"], "ADSL")
        present = sorted(frame["ARMCD"].dropna().astype(str).unique())
        order = present if arms is None else list(arms)  # an arm without subjects stays, zeros
        groups += [(a, frame[frame["ARMCD"].astype(str) == a]) for a in order]
    groups.append((TOTAL, frame))
    return groups


def _continuous(values: pd.Series) -> dict[str, float]:
    """n, mean, SD (n-1), median, min, max of the non-missing values (NaN when none)."""
    v = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    n = len(v)
    return {
        "n": float(n),
        "mean": float(v.mean()) if n else np.nan,
        "sd": float(v.std(ddof=1)) if n > 1 else np.nan,
        "median": float(v.median()) if n else np.nan,
        "min": float(v.min()) if n else np.nan,
        "max": float(v.max()) if n else np.nan,
    }


def summarize_continuous(
    groups: list[tuple[str, pd.DataFrame]], variable: str, label: str | None = None
) -> pd.DataFrame:
    """Rows ``variable, "", statistic, arm, value`` for n, mean, sd, median, min, max."""
    rows = []
    stats_by_arm = {arm: _continuous(g[variable]) for arm, g in groups}
    for stat in CONTINUOUS_STATS:
        for arm, _ in groups:
            rows.append((label or variable, "", stat, arm, stats_by_arm[arm][stat]))
    return pd.DataFrame(rows, columns=COLUMNS)


def summarize_categorical(
    groups: list[tuple[str, pd.DataFrame]],
    variable: str,
    levels: Sequence[str] | None = None,
    label: str | None = None,
) -> pd.DataFrame:
    """Rows ``variable, level, n|pct, arm, value``; a "Missing" level when any value is missing."""
    total = groups[-1][1][variable]
    observed = sorted(total.dropna().astype(str).unique())
    lv = list(levels) if levels is not None else observed
    lv += [x for x in observed if x not in lv]
    if total.isna().any():
        lv.append(MISSING)
    rows = []
    for level in lv:
        for stat in ("n", "pct"):
            for arm, g in groups:
                s = g[variable].astype("string").fillna(MISSING)
                n = int((s == level).sum())
                value = float(n) if stat == "n" else (100.0 * n / len(g) if len(g) else np.nan)
                rows.append((label or variable, level, stat, arm, value))
    return pd.DataFrame(rows, columns=COLUMNS)


def subject_counts(groups: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """The header row: subjects (N) in each column."""
    return pd.DataFrame(
        [("Subjects", "", "N", arm, float(len(g))) for arm, g in groups], columns=COLUMNS
    )


def baseline_characteristics(
    adsl: pd.DataFrame,
    bds: pd.DataFrame | None = None,
    *,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
    population: str | None = "ITTFL",
    continuous: Sequence[str] = ("AGE",),
    categorical: Sequence[str] = ("AGEGR1", "SEX", "SEVERITY", "SITEGR1"),
    params: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Baseline characteristics of the ``population`` by arm and total (long: COLUMNS).

    Continuous: n, mean, sd, median, min, max; categorical: n and pct per level. The baseline
    (ABLFL = "Y" AVAL) of each BDS parameter in ``params`` (default all, sorted) is a continuous
    variable named "<PARAMCD> baseline". Columns of ADSL that are absent are skipped.
    """
    require_columns(adsl, ["USUBJID"], "ADSL")
    subj = in_population(adsl, population)
    if bds is not None:
        require_columns(bds, ["USUBJID", "PARAMCD", "AVAL", "ABLFL"], "BDS")
        bl = bds[bds["ABLFL"].astype("string").fillna("") == "Y"]
        codes = sorted(bl["PARAMCD"].dropna().unique()) if params is None else list(params)
        wide = bl.pivot_table(index="USUBJID", columns="PARAMCD", values="AVAL", aggfunc="first")
        subj = subj.merge(
            wide.reindex(columns=codes).add_suffix(" baseline").reset_index(),
            on="USUBJID",
            how="left",
        )
        continuous = [*continuous, *(f"{c} baseline" for c in codes)]
    groups = arm_groups(subj, by_arm=by_arm, arms=arms)
    parts = [subject_counts(groups)]
    for var in continuous:
        if var in subj.columns:
            parts.append(summarize_continuous(groups, var))
    for var in categorical:
        if var in subj.columns:
            parts.append(summarize_categorical(groups, var))
    return pd.concat(parts, ignore_index=True)


def disposition(
    adsl: pd.DataFrame, *, by_arm: bool = True, arms: Sequence[str] | None = None
) -> pd.DataFrame:
    """Subject disposition by arm and total (long: COLUMNS, statistic n or pct of randomized).

    Variables in order: Randomized (a subject of ADSL with an ARMCD, or ITTFL = "Y" when
    present), Treated (TRTSDT present), Completed, Discontinued (then one level per DCSREAS,
    sorted, "Missing" for none given), Ongoing (EOSSTT).
    """
    require_columns(adsl, ["USUBJID", "EOSSTT"], "ADSL")
    rand = adsl[adsl["ARMCD"].notna()] if "ARMCD" in adsl.columns else adsl
    if "ITTFL" in rand.columns:
        rand = rand[rand["ITTFL"].astype("string").fillna("") == "Y"]
    groups = arm_groups(rand, by_arm=by_arm, arms=arms)
    status = {arm: g["EOSSTT"].astype("string").str.upper() for arm, g in groups}
    disc_all = rand[rand["EOSSTT"].astype("string").str.upper() == "DISCONTINUED"]
    reasons = (
        disc_all["DCSREAS"].astype("string").fillna(MISSING)
        if "DCSREAS" in disc_all.columns
        else pd.Series(MISSING, index=disc_all.index, dtype="string")
    )
    reason_levels = sorted(set(reasons) - {MISSING}) + (
        [MISSING] if (reasons == MISSING).any() else []
    )
    rows: list[tuple[str, str, str, str, float]] = []

    def add(variable: str, level: str, masks: dict[str, pd.Series]) -> None:
        for stat in ("n", "pct"):
            for arm, g in groups:
                n = int(masks[arm].sum())
                value = float(n) if stat == "n" else (100.0 * n / len(g) if len(g) else np.nan)
                rows.append((variable, level, stat, arm, value))

    add("Randomized", "", {arm: pd.Series(True, index=g.index) for arm, g in groups})
    if "TRTSDT" in rand.columns:
        add("Treated", "", {arm: g["TRTSDT"].notna() for arm, g in groups})
    add("Completed", "", {arm: status[arm] == "COMPLETED" for arm, _ in groups})
    add("Discontinued", "", {arm: status[arm] == "DISCONTINUED" for arm, _ in groups})
    for reason in reason_levels:
        masks = {}
        for arm, g in groups:
            r = g["DCSREAS"].astype("string").fillna(MISSING) if "DCSREAS" in g.columns else None
            is_reason = (r == reason) if r is not None else pd.Series(reason == MISSING, g.index)
            masks[arm] = (status[arm] == "DISCONTINUED") & is_reason.fillna(False)
        add("Discontinued", reason, masks)
    add("Ongoing", "", {arm: status[arm] == "ONGOING" for arm, _ in groups})
    return pd.DataFrame(rows, columns=COLUMNS)


def exposure_summary(
    adsl: pd.DataFrame,
    *,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
    population: str | None = "SAFFL",
    variables: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Exposure to each study treatment by arm and total (long: COLUMNS, continuous stats).

    Default variables: MN_SESSIONS, PRP_SESSIONS, MEAN_NEEDLE_DEPTH, PRP_VOLUME_TOTAL and every
    DRUG_DAYS* column of ADSL (days on each drug). Statistics use the subjects with a value
    (an arm without microneedling has n = 0 for needle depth).
    """
    subj = in_population(adsl, population)
    if variables is None:
        drug = sorted(c for c in subj.columns if str(c).startswith("DRUG_DAYS"))
        variables = [v for v in EXPOSURE_VARIABLES if v in subj.columns] + drug
    require_columns(subj, variables, "ADSL")
    groups = arm_groups(subj, by_arm=by_arm, arms=arms)
    parts = [subject_counts(groups)] + [summarize_continuous(groups, v) for v in variables]
    return pd.concat(parts, ignore_index=True)


def discontinuation_listing(adsl: pd.DataFrame, *, by_arm: bool = True) -> pd.DataFrame:
    """Subjects who discontinued: USUBJID, (ARMCD), SITEID, RANDDT, EOSDT, DCSREAS; by arm
    then subject.

    Without ``by_arm`` (blinded report) the arm column is dropped and rows sort by subject.
    """
    require_columns(adsl, ["USUBJID", "EOSSTT"], "ADSL")
    disc = adsl[adsl["EOSSTT"].astype("string").str.upper() == "DISCONTINUED"]
    wanted = ("USUBJID", "ARMCD", "SITEID", "RANDDT", "EOSDT", "DCSREAS")
    cols = [c for c in wanted if c in disc.columns]
    if not by_arm:
        cols = [c for c in cols if c != "ARMCD"]
    keys = ["ARMCD", "USUBJID"] if by_arm and "ARMCD" in cols else ["USUBJID"]
    return disc[cols].sort_values(keys, kind="stable").reset_index(drop=True)


def visit_attendance(
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    param: str,
    visits: Sequence[str],
    *,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
    population: str | None = "ITTFL",
) -> pd.DataFrame:
    """Subjects of the ``population`` with a value of ``param`` at each of ``visits`` (long:
    COLUMNS; a "Subjects" N row, then variable = visit code, statistic n or pct of N). A value
    counts as collected, also one the estimand sets aside (ANL01FL = "N" after an event):
    attendance is retention, not the analysis."""
    require_columns(bds, ["USUBJID", "PARAMCD", "AVISIT", "AVAL"], "BDS")
    groups = arm_groups(in_population(adsl, population), by_arm=by_arm, arms=arms)
    valued = bds[(bds["PARAMCD"] == param) & bds["AVAL"].notna()]
    rows: list[tuple[str, str, str, str, float]] = []
    for visit in visits:
        seen = valued.loc[valued["AVISIT"].astype(str) == visit, "USUBJID"]
        for stat in ("n", "pct"):
            for arm, g in groups:
                n = int(g["USUBJID"].isin(seen).sum())
                value = float(n) if stat == "n" else (100.0 * n / len(g) if len(g) else np.nan)
                rows.append((visit, "", stat, arm, value))
    return pd.concat([subject_counts(groups), pd.DataFrame(rows, columns=COLUMNS)],
                     ignore_index=True)  # fmt: skip


def recruitment(
    adsl: pd.DataFrame, *, period: str = "month", population: str | None = "ITTFL"
) -> pd.DataFrame:
    """Subjects randomised per ``period`` ("month": YYYY-MM, or "date") and site, pooled over
    arms: columns ``period, site, n, cumulative`` (site "Total" for all sites; cumulative
    within the site). Periods and sites sorted; by month every site has a row in every month,
    by date only the dates on which the site randomised (the cumulative figure's steps)."""
    require_columns(adsl, ["USUBJID", "RANDDT", "SITEID"], "ADSL")
    subj = in_population(adsl, population)
    dates = pd.to_datetime(subj["RANDDT"], errors="coerce")
    fmt = "%Y-%m" if period == "month" else "%Y-%m-%d"
    frame = pd.DataFrame({"period": dates.dt.strftime(fmt), "site": subj["SITEID"].astype(str)})
    frame = frame.dropna(subset=["period"])
    periods = sorted(frame["period"].unique())
    parts = []
    for site in [*sorted(frame["site"].unique()), TOTAL]:
        sel = frame if site == TOTAL else frame[frame["site"] == site]
        n = sel.groupby("period").size().reindex(periods, fill_value=0).astype(float)
        parts.append(
            pd.DataFrame(
                {
                    "period": periods,
                    "site": site,
                    "n": n.to_numpy(),
                    "cumulative": n.cumsum().to_numpy(),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    if period != "month":
        out = out[out["n"] > 0]
    return out.sort_values("period", kind="stable").reset_index(drop=True)


def findings_by_rule(findings: pd.DataFrame) -> pd.DataFrame:
    """Validation findings counted by rule, severity and dataset (no subject, value or
    message): columns ``rule, severity, dataset, n, rule_n`` (``rule_n``: findings of the rule
    and severity over all datasets); sorted by rule, severity, dataset."""
    require_columns(findings, ["rule", "severity", "dataset"], "findings")
    keys = ["rule", "severity", "dataset"]
    f = findings[keys].astype("string").fillna(MISSING)
    out = f.groupby(keys).size().rename("n").reset_index()
    out["rule_n"] = out.groupby(["rule", "severity"])["n"].transform("sum")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def protocol_deviation_listing(
    findings: pd.DataFrame,
    adsl: pd.DataFrame | None = None,
    *,
    by_arm: bool = True,
    severity: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Protocol deviations: the validation findings frame (warnings by default), one row each.

    ``findings`` has the validation listing columns (dataset, row, USUBJID, VISIT, column,
    value, rule, severity, message). With ``by_arm`` and ``adsl``, ARMCD is added after
    USUBJID. ``severity`` keeps those severities (default: "warning" only; pass ("warning",
    "error") for all). Rows sort by (ARMCD,) USUBJID, rule, dataset, row.
    """
    require_columns(findings, ["USUBJID", "rule"], "findings")
    keep = ("warning",) if severity is None else tuple(severity)
    out = findings
    if "severity" in out.columns:
        out = out[out["severity"].astype("string").isin(keep).fillna(False)]
    out = out.copy()
    keys = ["USUBJID", "rule"] + [c for c in ("dataset", "row") if c in out.columns]
    if by_arm and adsl is not None:
        require_columns(adsl, ["USUBJID", "ARMCD"], "ADSL")
        out = out.drop(columns=["ARMCD"], errors="ignore").merge(
            adsl[["USUBJID", "ARMCD"]], on="USUBJID", how="left"
        )
        cols = list(out.columns)
        cols.remove("ARMCD")
        cols.insert(cols.index("USUBJID") + 1, "ARMCD")
        out = out[cols]
        keys = ["ARMCD", *keys]
    elif not by_arm:
        out = out.drop(columns=["ARMCD"], errors="ignore")
    return out.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
