"""Findings: the rows of the query listing, built from boolean masks without per-row Python.

A frame being validated keeps its original index, the 0-based data row of the file, so a
finding's ``row`` is ``index + 1``: the 1-based data row number, header line not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from trialkit.validation.rules import RULES
from trialkit.vocabulary import DATASETS

#: Columns of the query listing, in order.
FINDING_COLUMNS = (
    "dataset", "row", "USUBJID", "VISIT", "column", "value", "rule", "severity", "message",
)  # fmt: skip


_EMPTY = pd.DataFrame(
    {c: pd.Series(dtype="Int64" if c == "row" else "str") for c in FINDING_COLUMNS}
)


def empty_findings() -> pd.DataFrame:
    """A findings frame with no rows and the listing's columns and dtypes."""
    return _EMPTY.copy(deep=False)


def format_values(values: pd.Series) -> pd.Series:
    """Values as listing text: dates as YYYY-MM-DD, whole floats without '.0', missing as ''."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_float_dtype(values):
        whole = values.notna() & np.isfinite(values) & (values == values.round())
        out = values.astype("str")
        out[whole] = values[whole].map(lambda v: f"{v:.0f}")
    else:
        out = values.astype("str")
    return out.fillna("").astype("str")


def cell_findings(
    dataset: str,
    frame: pd.DataFrame,
    mask: pd.Series | np.ndarray,
    column: str,
    rule: str,
    message: str | Callable[[np.ndarray], pd.Series | np.ndarray],
    value: pd.Series | None = None,
) -> pd.DataFrame:
    """One finding per row of ``frame`` where ``mask`` is true, about cell ``column``.

    ``message`` is one text for all, or a function of the mask giving the selected rows' texts
    (called only when there are findings, so that clean data costs no formatting).
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return empty_findings()
    rows = frame[mask]
    shown = value[mask] if value is not None else rows.get(column)
    n = len(rows)
    msg = message if isinstance(message, str) else message(mask)
    return pd.DataFrame(
        {
            "dataset": dataset,
            "row": pd.array(rows.index.to_numpy() + 1, dtype="Int64"),
            "USUBJID": _text(rows, "USUBJID"),
            "VISIT": _text(rows, "VISIT"),
            "column": column,
            "value": format_values(shown).to_numpy() if shown is not None else [""] * n,
            "rule": rule,
            "severity": RULES[rule].severity,
            "message": msg if isinstance(msg, str) else np.asarray(msg, dtype=object),
        }
    ).astype({c: "str" for c in FINDING_COLUMNS if c != "row"})


def dataset_finding(dataset: str, column: str, rule: str, message: str) -> pd.DataFrame:
    """One finding about a dataset as a whole or one of its columns, not a row (row blank)."""
    return pd.DataFrame(
        {
            "dataset": [dataset],
            "row": pd.array([pd.NA], dtype="Int64"),
            "USUBJID": "",
            "VISIT": "",
            "column": column,
            "value": "",
            "rule": rule,
            "severity": RULES[rule].severity,
            "message": message,
        }
    ).astype({c: "str" for c in FINDING_COLUMNS if c != "row"})


def _text(rows: pd.DataFrame, column: str) -> np.ndarray:
    if column not in rows:
        return np.full(len(rows), "", dtype=object)
    return format_values(rows[column]).to_numpy()


def combine(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate findings frames and sort them by dataset, row and rule."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_findings()
    out = pd.concat(parts, ignore_index=True)
    out["_order"] = out["dataset"].map(_DATASET_ORDER).fillna(99)
    out = out.sort_values(["_order", "row", "rule", "column"], na_position="last", kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


_DATASET_ORDER = {name: i for i, name in enumerate(DATASETS)}
