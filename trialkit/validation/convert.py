"""Convert dataset columns to the types their schema declares, reporting cells that do not fit.

Numbers become float64 and dates datetime64[ns]. A cell that is not a number (TK002), not a
finite number (TK022: inf, -inf, nan), not a valid date (TK002) or a date outside the plausible
range (TK021) becomes missing and is reported once, never again as TK001 (missing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialkit.datasets import (
    DATE_OUT_OF_RANGE,
    EARLIEST_DATE,
    LATEST_DATE,
    NOT_A_DATE,
    parse_dates,
)
from trialkit.validation.findings import cell_findings, combine

#: Rule and message of each reason a date cell is set missing (see ``parse_dates``).
DATE_PROBLEMS = {
    NOT_A_DATE: ("TK002", "not a valid date (YYYY-MM-DD)"),
    DATE_OUT_OF_RANGE: ("TK021", f"outside {EARLIEST_DATE:%Y-%m-%d} to {LATEST_DATE:%Y-%m-%d}"),
}

#: (mask of the cells, rule, what is wrong) of one converted column.
Problems = list[tuple[pd.Series, str, str]]


def convert_frame(
    name: str,
    frame: pd.DataFrame,
    kinds: dict[str, str],
    bad_dates: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame with converted columns, and the findings of cells that did not convert.

    ``bad_dates`` (``row``, ``column``, ``value``, ``problem``; 0-based rows) are date cells
    the reader already set missing (``Dataset.bad_dates``).
    """
    out = frame.copy(deep=False)
    parts = []
    for column, kind in kinds.items():
        if column not in out:
            continue
        raw = out[column]
        problems: Problems = []
        if kind == "number":
            out[column], problems = _to_number(raw)
        elif kind == "date":
            out[column], problems = _to_date(raw)
        else:
            out[column] = _to_text(raw)
        for mask, rule, what in problems:
            parts.append(cell_findings(name, frame, mask, column, rule, f"{column} {what}"))
    if bad_dates is not None and len(bad_dates):
        for (date_column, problem), group in bad_dates.groupby(["column", "problem"]):
            text = pd.Series(group["value"].to_numpy(), index=group["row"].to_numpy())
            rule, what = DATE_PROBLEMS[str(problem)]
            parts.append(
                cell_findings(
                    name, out, out.index.isin(text.index), str(date_column), rule,
                    f"{date_column} {what}", text.reindex(out.index),
                )
            )  # fmt: skip
    return out, combine(parts)


def _to_number(raw: pd.Series) -> tuple[pd.Series, Problems]:
    """Numbers as float64; text that is no number and values that are not finite are missing."""
    if pd.api.types.is_bool_dtype(raw):
        return pd.Series(np.nan, index=raw.index), [(raw.notna(), "TK002", "not a number")]
    nan_text = pd.Series(False, index=raw.index)
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
        not_number = nan_text
    else:
        text = raw.astype("str").str.strip()
        values = pd.to_numeric(text, errors="coerce").astype("float64")
        failed = values.isna() & text.notna() & (text != "")
        if failed.any():  # lower-case only the few failed cells: 'nan' is no value either
            nan_text[failed] = text[failed].str.lower().str.lstrip("+-").eq("nan").to_numpy()
        not_number = failed & ~nan_text
    not_finite = nan_text | np.isinf(values.to_numpy())
    problems: Problems = [
        (not_number, "TK002", "not a number"),
        (not_finite, "TK022", "not a finite number"),
    ]
    return values.mask(not_finite), problems


def _to_date(raw: pd.Series) -> tuple[pd.Series, Problems]:
    dates, not_date, out_of_range = parse_dates(raw)
    return dates, [
        (mask, *DATE_PROBLEMS[problem])
        for mask, problem in ((not_date, NOT_A_DATE), (out_of_range, DATE_OUT_OF_RANGE))
    ]


def _to_text(raw: pd.Series) -> pd.Series:
    text = raw if raw.dtype == "str" else raw.astype("str")
    return text.mask(text == "")
