"""Convert dataset columns to the types their schema declares, reporting cells that do not fit.

Numbers become float64 and dates datetime64[ns]; a cell whose text is not a number or not a
valid date becomes missing and is reported once, as TK002, never again as TK001 (missing).
"""

from __future__ import annotations

import pandas as pd

from trialkit.validation.findings import cell_findings, combine

_MIN, _MAX = pd.Timestamp.min, pd.Timestamp.max


def convert_frame(
    name: str,
    frame: pd.DataFrame,
    kinds: dict[str, str],
    bad_dates: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame with converted columns, and the TK002 findings of cells that did not convert.

    ``bad_dates`` (``row``, ``column``, ``value``; 0-based rows) are date cells the reader
    already found unparseable and set to missing.
    """
    out = frame.copy(deep=False)
    parts = []
    for column, kind in kinds.items():
        if column not in out:
            continue
        raw = out[column]
        if kind == "number":
            converted, bad = _to_number(raw)
            what = "not a number"
        elif kind == "date":
            converted, bad = _to_date(raw)
            what = "not a valid date (YYYY-MM-DD)"
        else:
            converted, bad = _to_text(raw), None
        out[column] = converted
        if bad is not None and bad.any():
            parts.append(
                cell_findings(
                    name, frame, bad, column, "TK002", f"{column} {what}", raw.astype("str")
                )
            )
    if bad_dates is not None and len(bad_dates):
        for date_column, group in bad_dates.groupby("column"):
            text = pd.Series(group["value"].to_numpy(), index=group["row"].to_numpy())
            mask = out.index.isin(text.index)
            value = text.reindex(out.index)
            parts.append(
                cell_findings(
                    name, out, mask, str(date_column), "TK002",
                    f"{date_column} not a valid date (YYYY-MM-DD)", value,
                )
            )  # fmt: skip
    return out, combine(parts)


def _to_number(raw: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64"), raw.notna()
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype("float64"), None
    text = raw.astype("str").str.strip()
    converted = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = converted.isna() & text.notna() & (text != "")
    return converted, bad


def _to_date(raw: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed, bad = raw, None
    else:
        text = raw.astype("str").str.strip()
        text = text.mask(text == "")
        try:
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        except ValueError:  # mixed UTC offsets: compare in UTC
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        bad = parsed.isna() & text.notna()
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    if parsed.dtype == "datetime64[ns]" and bad is None:
        return parsed, None
    # A date outside datetime64[ns] (year 3024, 0001) is reported as not a valid date.
    in_range = parsed.isna() | ((parsed >= _MIN) & (parsed <= _MAX))
    bad = ~in_range if bad is None else bad | ~in_range
    return parsed.where(in_range).astype("datetime64[ns]"), bad


def _to_text(raw: pd.Series) -> pd.Series:
    text = raw if raw.dtype == "str" else raw.astype("str")
    return text.mask(text == "")
