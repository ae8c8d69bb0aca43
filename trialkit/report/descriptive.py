"""Descriptive tables of the reports, laid out from the tables ``trialkit analyze`` wrote.

Nothing here counts, averages or divides: every number is a value of an analysis table
(``tables/*.csv``, see docs/results.md), formatted. The long tables (``variable, level,
statistic, arm, value``) become one column per arm then "Total" (final and closed reports) or
"Total" alone (the open report's ``pooled_*`` tables); column headers take N from the table's
own "Subjects" row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from trialkit.report.formatting import (
    MISSING,
    fmt_date,
    fmt_int,
    fmt_mean_sd,
    fmt_n_pct,
    fmt_num,
    fmt_text,
)
from trialkit.report.tables import group_row, make_table

Arms = Sequence[tuple[str, str]]  # (ARMCD, label) in trial.toml order
TOTAL = "Total"
CONTINUOUS = ("n", "mean", "sd", "median", "min", "max")


def _columns(arms: Arms, pooled: str = "All subjects") -> list[tuple[str, str]]:
    """(value of the ``arm`` column, header label): each arm then the total, or the total alone
    (labelled ``pooled``) when pooled."""
    if not arms:
        return [(TOTAL, pooled)]
    return [*arms, (TOTAL, "Total")]


def _value(frame: pd.DataFrame, **where: str) -> Any:
    """The ``value`` of the one row of ``frame`` matching ``where`` (``None`` without one)."""
    mask = pd.Series(True, index=frame.index)
    for column, wanted in where.items():
        mask &= frame[column].astype("string").fillna("") == wanted
    hit = frame.loc[mask, "value"]
    return hit.iloc[0] if len(hit) else None


def _headers(frame: pd.DataFrame, columns: list[tuple[str, str]], variable: str) -> list[str]:
    """Column headers ``label (N=n)``, N from the table's ``variable`` row (statistic N or n)."""
    rows = frame[frame["variable"] == variable]
    out = []
    for code, label in columns:
        n = _value(rows, arm=code, statistic="N")
        n = _value(rows, arm=code, statistic="n", level="") if n is None else n
        out.append(f"{label} (N={fmt_int(n)})")
    return out


def _n_pct(frame: pd.DataFrame, code: str, **where: str) -> str:
    """``n (pct%)`` of one cell of a long table."""
    n = _value(frame, arm=code, statistic="n", **where)
    if n is None:
        return MISSING
    return fmt_n_pct(int(n), _value(frame, arm=code, statistic="pct", **where))


def _continuous_rows(
    frame: pd.DataFrame, columns: list[tuple[str, str]], digits: int
) -> list[list[str]]:
    """Rows n, mean (SD), median and range of one variable's rows."""
    return _stat_rows([(frame, code) for code, _ in columns], digits)


def _stat_rows(cells: list[tuple[pd.DataFrame, str]], digits: int) -> list[list[str]]:
    """Rows n, mean (SD), median and range, one column per (rows of a long table, arm)."""

    def v(frame: pd.DataFrame, code: str, stat: str) -> Any:
        return _value(frame, arm=code, statistic=stat)

    rows = [["  n", *[fmt_int(v(f, c, "n")) for f, c in cells]]]
    rows.append(
        ["  Mean (SD)", *[fmt_mean_sd(v(f, c, "mean"), v(f, c, "sd"), digits) for f, c in cells]]
    )
    rows.append(["  Median", *[fmt_num(v(f, c, "median"), digits) for f, c in cells]])
    rows.append(
        ["  Min, max",
         *[MISSING if v(f, c, "min") is None or pd.isna(v(f, c, "min"))
           else f"{fmt_num(v(f, c, 'min'), digits)}, {fmt_num(v(f, c, 'max'), digits)}"
           for f, c in cells]]
    )  # fmt: skip
    return rows


def summary_table(
    frame: pd.DataFrame,
    arms: Arms,
    labels: Mapping[str, str],
    first: str,
    caption: str,
    digits: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A long descriptive table (baseline characteristics, exposure): per variable a group row
    then n, mean (SD), median, range (continuous) or ``n (%)`` per level (categorical)."""
    columns = _columns(arms)
    width = len(columns) + 1
    rows: list[Any] = []
    for variable in dict.fromkeys(frame["variable"]):
        if variable == "Subjects":
            continue
        part = frame[frame["variable"] == variable]
        stats = set(part["statistic"])
        if stats <= set(CONTINUOUS):
            rows.append(group_row(labels.get(variable, variable), width))
            rows += _continuous_rows(part, columns, (digits or {}).get(variable, 1))
        else:
            rows.append(group_row(f"{labels.get(variable, variable)}, n (%)", width))
            for level in dict.fromkeys(part["level"].astype("string").fillna("")):
                rows.append(
                    [f"  {fmt_text(level)}", *[_n_pct(part, c, level=level) for c, _ in columns]]
                )
    return make_table([first, *_headers(frame, columns, "Subjects")], rows, caption=caption)


def disposition(frame: pd.DataFrame, arms: Arms) -> list[dict[str, Any]]:
    """Per arm then total (or the total alone): randomised, completed, ongoing, discontinued
    with reasons, from the analysis' disposition table."""
    out = []
    for code, label in _columns(arms):
        col = frame[frame["arm"].astype(str) == code]
        level = col["level"].astype("string").fillna("")  # no reason at all: read as floats
        reasons = col[(col["variable"] == "Discontinued") & (level != "")]
        counts = reasons[reasons["statistic"] == "n"]
        out.append(
            {
                "label": label,
                "randomized": fmt_int(_value(col, variable="Randomized", statistic="n")),
                "completed": fmt_int(_value(col, variable="Completed", statistic="n")),
                "ongoing": fmt_int(_value(col, variable="Ongoing", statistic="n")),
                "discontinued": fmt_int(
                    _value(col, variable="Discontinued", level="", statistic="n")
                ),
                "reasons": [
                    {"reason": fmt_text(r), "n": fmt_int(n)}
                    for r, n in sorted(
                        zip(counts["level"], counts["value"], strict=True),
                        key=lambda kv: (-kv[1], str(kv[0])),
                    )
                    if n > 0
                ],
            }
        )
    return out


def row_table(
    frame: pd.DataFrame,
    arms: Arms,
    labels: Mapping[str, str],
    first: str,
    header_table: pd.DataFrame | None = None,
    caption: str | None = None,
    note: str | None = None,
    pooled: str = "All subjects",
) -> dict[str, Any]:
    """One row per variable of a long table, ``n (%)`` per column (AE overview, visit
    attendance); headers take N from ``header_table`` (default ``frame``), the pooled column
    is labelled ``pooled``."""
    columns = _columns(arms, pooled)
    rows = [
        [labels.get(v, v), *[_n_pct(frame, c, variable=v) for c, _ in columns]]
        for v in dict.fromkeys(frame["variable"])
        if v != "Subjects"
    ]
    header = [first, *_headers(frame if header_table is None else header_table, columns,
                               "Subjects")]  # fmt: skip
    return make_table(header, rows, caption=caption, note=note)


def _n_pct_events(frame: pd.DataFrame, code: str, **where: str) -> str:
    """``n (pct%) [events]`` of one cell of an AE table (``0`` alone without a subject)."""
    cell = _n_pct(frame, code, **where)
    events = _value(frame, arm=code, statistic="events", **where)
    if events is None or not _value(frame, arm=code, statistic="n", **where):
        return cell
    return f"{cell} [{fmt_int(events)}]"


def ae_by_term(
    frame: pd.DataFrame, arms: Arms, header_table: pd.DataFrame, caption: str
) -> dict[str, Any]:
    """Subjects with any AE, then by body system (a row of its own) and preferred term, in the
    analysis table's order: ``n (%) [events]`` per column."""
    columns = _columns(arms)
    rows: list[Any] = []
    terms = frame[["body_system", "preferred_term"]].astype(object)  # empty terms read as floats
    keys = terms.fillna("").astype(str).drop_duplicates()
    for soc, pt in keys.itertuples(index=False):
        where = {"body_system": soc, "preferred_term": pt}
        label = "Any adverse event" if soc == "ANY" else f"  {pt}" if pt else soc
        rows.append([label, *[_n_pct_events(frame, c, **where) for c, _ in columns]])
    header = ["System organ class / preferred term", *_headers(header_table, columns,
                                                                 "Subjects")]  # fmt: skip
    note = ("n (%) [events]: subjects with at least one such adverse event (counted once per "
            "row), percent of N, and the number of events.")  # fmt: skip
    return make_table(header, rows, caption=caption, note=note)


def vital_signs_by_visit(
    frame: pd.DataFrame,
    arms: Arms,
    parameter: tuple[str, str],
    visit_labels: Mapping[str, str],
    caption: str,
) -> dict[str, Any]:
    """One parameter's analysis values and changes from baseline: per visit (a heading row)
    n, mean (SD), median and range, a value and a change column per arm (the analysis'
    ``vital_signs_by_visit`` table)."""
    code, label = parameter
    columns = _columns(arms)
    rows_of = frame[frame["parameter"].astype(str) == code]
    width = 2 * len(columns) + 1
    rows: list[Any] = []
    for visit in dict.fromkeys(rows_of["visit"].astype(str)):
        at = rows_of[rows_of["visit"].astype(str) == visit]
        rows.append(group_row(visit_labels.get(visit, visit), width))
        values, changes = at[at["variable"] == "AVAL"], at[at["variable"] == "CHG"]
        rows += _stat_rows([(part, c) for c, _ in columns for part in (values, changes)], 1)
    header = [label]
    for h in _headers(frame, columns, "Subjects"):
        header += [f"{h}: value", f"{h}: change"]
    return make_table(header, rows, caption=caption)


def _n_of_total(frame: pd.DataFrame, code: str) -> str:
    """``n/N (pct%)`` of one cell (``0/N`` without a subject)."""
    n, total = _value(frame, arm=code, statistic="n"), _value(frame, arm=code, statistic="N")
    if n is None or total is None:
        return MISSING
    share = f"{fmt_int(n)}/{fmt_int(total)}"
    return f"{share} ({fmt_num(_value(frame, arm=code, statistic='pct'))}%)" if n else share


def vital_signs_alerts(
    frame: pd.DataFrame, arms: Arms, parameters: Mapping[str, tuple[str, str]], caption: str
) -> dict[str, Any]:
    """Subjects beyond each alert limit, ``n/N (%)`` per column (``parameters``: code ->
    (label, unit) as in trial.toml), from the analysis' ``vital_signs_alerts`` table."""
    columns = _columns(arms)
    width = len(columns) + 1
    rows: list[Any] = []
    limits = frame[frame["variable"] != "Subjects"]
    for code in dict.fromkeys(limits["parameter"].astype(str)):
        label, unit = parameters.get(code, (code, ""))
        rows.append(group_row(label, width))
        of_param = limits[limits["parameter"].astype(str) == code]
        for direction, part in of_param.groupby("variable", sort=False):
            limit = f"{float(part['limit'].iloc[0]):g}"  # as in trial.toml
            word = "Below" if direction == "LOW" else "Above"
            rows.append([f"  {word} {limit} {fmt_text(unit)}".rstrip(),
                         *[_n_of_total(part, c) for c, _ in columns]])  # fmt: skip
    header = ["Alert limit", *_headers(frame, columns, "Subjects")]
    note = ("n/N (%): subjects with a post-baseline analysis value beyond the limit, of the "
            "subjects with a post-baseline value of the parameter (N).")  # fmt: skip
    return make_table(header, rows, caption=caption, note=note)


def listing(
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str]],
    arm_labels: Mapping[str, str] | None,
    max_rows: int | None = None,
) -> dict[str, Any]:
    """A listing of ``(column, header)`` of the analysis' listing table; ARMCD shown by the
    arm's label; dates as dates, other cells as text."""
    shown = [(c, h) for c, h in columns if c in frame.columns]
    rows = []
    for _, r in (frame if max_rows is None else frame.head(max_rows)).iterrows():
        cells = []
        for c, _ in shown:
            if c == "ARMCD" and arm_labels is not None:
                cells.append(arm_labels.get(str(r[c]), fmt_text(r[c])))
            elif c.endswith("DT"):
                cells.append(fmt_date(r[c]))
            else:
                cells.append(fmt_text(r[c]))
        rows.append(cells)
    note = (
        f"First {max_rows} of {len(frame)} rows shown."
        if max_rows is not None and len(frame) > max_rows
        else None
    )
    header = [h for _, h in shown]
    return make_table(header, rows, numeric=[False] * len(header), note=note)


def recruitment_table(frame: pd.DataFrame) -> dict[str, Any]:
    """Subjects randomised per month and site, with the cumulative total (pooled)."""
    sites = [s for s in dict.fromkeys(frame["site"].astype(str)) if s != TOTAL]
    n = {(str(p), str(s)): v for p, s, v in zip(frame["period"], frame["site"], frame["n"],
                                               strict=True)}  # fmt: skip
    total = frame[frame["site"].astype(str) == TOTAL]
    rows = [
        [str(p), *[fmt_int(n[(str(p), s)]) for s in sites], fmt_int(k), fmt_int(cum)]
        for p, k, cum in zip(total["period"], total["n"], total["cumulative"], strict=True)
    ]
    return make_table(["Month", *[f"Site {s}" for s in sites], "All sites", "Cumulative"], rows)


def findings_by_rule(frame: pd.DataFrame, titles: Mapping[str, str]) -> dict[str, Any]:
    """Validation findings by rule and severity, with the datasets (no subject, value or
    message), from the analysis' ``validation_findings_by_rule`` table."""
    rows = []
    for (rule, severity), grp in frame.groupby(["rule", "severity"], sort=False, dropna=False):
        datasets = ", ".join(
            f"{fmt_text(d)} ({fmt_int(k)})" for d, k in zip(grp["dataset"], grp["n"], strict=True)
        )
        rows.append(
            [str(rule), fmt_text(severity), titles.get(str(rule), ""), datasets,
             fmt_int(grp["rule_n"].iloc[0])]
        )  # fmt: skip
    return make_table(
        ["Rule", "Severity", "Check", "Datasets (findings)", "Findings"],
        rows,
        numeric=[False, False, False, False, True],
    )
