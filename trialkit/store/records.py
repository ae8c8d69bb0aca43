"""Records as the store keeps them: each cell as text, a record's cells joined in one string,
and the record key each dataset declares in its schema (``metadata.record_key``).

Text keeps every value exactly as collected (numbers in their shortest exact form, dates as
ISO dates); a cell that validation set missing because it did not convert is restored from
its finding, so the store holds what the site sent, not what the analysis could use.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from trialkit.datasets import REQUIRED_COLUMNS
from trialkit.errors import DatasetError

#: Separates a record's cells; with RECORD_END (digests only) it may not occur in a cell.
CELL_SEPARATOR = "\x1f"
FIELD_SEPARATOR = "\x1e"
RECORD_END = "\x1d"
#: Joins the parts of a record key (``key`` in diff.csv and queries.csv).
KEY_SEPARATOR = "|"
#: Findings whose cell validation set missing; their ``value`` is the cell as collected.
UNCONVERTED_RULES = ("TK002", "TK021", "TK022")


@cache
def record_keys() -> dict[str, tuple[str, ...]]:
    """Each dataset's record key, as declared in ``schemas/<dataset>.yaml``."""
    from trialkit.validation.schemas import load_schema

    return {name: tuple(load_schema(name).metadata["record_key"]) for name in REQUIRED_COLUMNS}


def column_text(values: pd.Series) -> np.ndarray:
    """A column's cells as text, whatever type the file gave them: '' for missing, whole
    numbers without '.0' (so 124 and 124.0 are one value), dates as YYYY-MM-DD (and the
    time, if any has one)."""
    from trialkit.validation.findings import format_values

    if pd.api.types.is_datetime64_any_dtype(values):
        with_time = bool((values.dropna() != values.dropna().dt.normalize()).any())
        if with_time:
            text = values.dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
            return text.to_numpy(dtype=object)
    return format_values(values).to_numpy(dtype=object)


def cell_table(name: str, frame: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """The dataset's cells as text (index = 0-based file row), unconverted cells restored."""
    table = pd.DataFrame(
        {c: column_text(frame[c]) for c in frame.columns}, index=frame.index, dtype=object
    )
    restore = findings[(findings["dataset"] == name) & findings["rule"].isin(UNCONVERTED_RULES)]
    for column, group in restore.groupby("column"):
        if column in table.columns:
            rows = group["row"].to_numpy(dtype="int64") - 1
            table.loc[rows, column] = group["value"].to_numpy(dtype=object)
    return table


def join_cells(name: str, table: pd.DataFrame) -> pd.Series:
    """Each record's cells in one string; a cell holding a separator is refused (one line)."""
    columns = list(table.columns)
    if not columns:
        return pd.Series([], dtype=object, index=table.index)
    joined = table[columns[0]].to_numpy(dtype=object)
    for c in columns[1:]:
        joined = joined + CELL_SEPARATOR + table[c].to_numpy(dtype=object)
    whole = "".join(joined)
    expected = len(table) * (len(columns) - 1)
    if whole.count(CELL_SEPARATOR) != expected or RECORD_END in whole or FIELD_SEPARATOR in whole:
        for c in columns:
            bad = table[c].str.contains("[\x1d-\x1f]", regex=True).to_numpy(dtype=bool)
            if bad.any():
                row = int(table.index[bad][0]) + 1
                raise DatasetError(
                    f"dataset {name!r}, row {row}, column {c}: holds a control character "
                    "(0x1D-0x1F) the store cannot keep"
                )
    return pd.Series(joined, index=table.index, dtype=object)


def split_cells(cells: pd.Series, columns: list[str]) -> pd.DataFrame:
    """The inverse of :func:`join_cells`: one text column per name, '' for missing."""
    if not columns:
        return pd.DataFrame(index=cells.index)
    if cells.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    parts = cells.str.split(CELL_SEPARATOR, expand=True, regex=False)
    parts.columns = pd.Index(columns)
    return parts


def key_text(name: str, table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each record's key (parts joined by ``|``) and its place among records sharing it."""
    parts = [table[c] for c in record_keys()[name]]  # key columns are required columns
    key = parts[0].astype(object)
    for p in parts[1:]:
        key = key + KEY_SEPARATOR + p.astype(object)
    return key, key.groupby(key, sort=False).cumcount()


def key_incomplete(name: str, table: pd.DataFrame) -> np.ndarray:
    """Mask of records with a key part missing."""
    mask = np.zeros(len(table), dtype=bool)
    for c in record_keys()[name]:
        mask |= (table[c] == "").to_numpy()
    return mask
