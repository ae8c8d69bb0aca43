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
import pyarrow as pa
import pyarrow.compute as pc

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


def column_text(values: pd.Series) -> pa.Array:
    """A column's cells as text, whatever type the file gave them: '' for missing, whole
    numbers without '.0' (so 124 and 124.0 are one value), dates as YYYY-MM-DD (and the
    time, if any has one). Computed with Arrow: a dataset's million cells in milliseconds."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)  # the wall time, as strftime gives it
    if pd.api.types.is_datetime64_any_dtype(values):
        return _date_text(values)
    if values.dtype == np.float64:
        return _number_text(values.to_numpy())
    if pd.api.types.is_integer_dtype(values) or isinstance(values.dtype, pd.StringDtype):
        return pc.cast(pa.array(values), pa.string()).fill_null("")
    from trialkit.validation.findings import format_values  # bool, object: listing text

    return pa.array(format_values(values).to_numpy(dtype=object), type=pa.string())


def _date_text(values: pd.Series) -> pa.Array:
    """Dates as YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS (seconds floored) when any has a time."""
    ns = values.to_numpy(dtype="datetime64[ns]")
    stamps = pa.array(ns, mask=np.isnat(ns))
    if (ns[~np.isnat(ns)].view("int64") % 86_400_000_000_000).any():
        seconds = pc.cast(pc.floor_temporal(stamps, unit="second"), pa.timestamp("s"))
        text = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S")
    else:
        text = pc.cast(pc.cast(stamps, pa.date32()), pa.string())
    return text.fill_null("")


def _number_text(values: np.ndarray) -> pa.Array:
    """Floats as Python writes them (``str``), whole ones without '.0', missing as ''.

    Arrow writes the same shortest digits as Python; the few values it would write in
    another notation (exponents, very large or small, -0, inf) are written by Python.
    """
    finite = np.isfinite(values)
    magnitude = np.abs(np.where(finite, values, 0.0))
    whole = finite & (values == np.round(values))
    as_int = whole & (magnitude < 1e15) & ~((values == 0) & np.signbit(values))
    as_float = finite & ~whole & (magnitude >= 1e-4) & (magnitude < 1e15)
    text = pc.if_else(
        pa.array(as_int),
        pc.cast(pa.array(np.where(as_int, values, 0.0).astype("int64")), pa.string()),
        pc.cast(pa.array(values), pa.string()),
    )
    exponent = pc.match_substring(text, "e").to_numpy(zero_copy_only=False)
    by_python = (~np.isnan(values) & ~as_int & ~as_float) | (as_float & exponent)
    if by_python.any():
        rows = np.flatnonzero(by_python)
        out = text.to_numpy(zero_copy_only=False).astype(object)
        out[rows] = [_python_text(v) for v in values[rows]]
        text = pa.array(out, type=pa.string())
    return pc.if_else(pa.array(np.isnan(values)), "", text)


def _python_text(value: float) -> str:
    return f"{value:.0f}" if np.isfinite(value) and value == round(value) else str(value)


def cell_table(name: str, frame: pd.DataFrame, findings: pd.DataFrame) -> pa.Table:
    """The dataset's cells as text (rows in file order), unconverted cells restored."""
    columns = {str(c): column_text(frame[c]) for c in frame.columns}
    restore = findings[(findings["dataset"] == name) & findings["rule"].isin(UNCONVERTED_RULES)]
    for column, group in restore.groupby("column"):
        if column in columns:
            rows = frame.index.get_indexer(pd.Index(group["row"].to_numpy(dtype="int64") - 1))
            cells = columns[str(column)].to_numpy(zero_copy_only=False).astype(object)
            cells[rows] = group["value"].to_numpy(dtype=object)
            columns[str(column)] = pa.array(cells, type=pa.string())
    return pa.table(columns) if columns else pa.table({}).take(np.zeros(0, dtype="int64"))


def join_cells(name: str, table: pa.Table) -> pa.ChunkedArray:
    """Each record's cells in one string; a cell holding a separator is refused (one line)."""
    if table.num_columns == 0:
        return pa.chunked_array([pa.array([""] * table.num_rows, type=pa.string())])
    joined = pc.binary_join_element_wise(*table.columns, CELL_SEPARATOR)
    separators = pc.count_substring(joined, CELL_SEPARATOR)
    if (
        pc.all(pc.equal(separators, table.num_columns - 1)).as_py()
        and not pc.any(pc.match_substring_regex(joined, "[\x1d\x1e]")).as_py()
    ):  # one pass over the records; the columns are searched only to name a bad cell
        return joined
    for column, cells in zip(table.column_names, table.columns, strict=True):
        bad = pc.match_substring_regex(cells, "[\x1d-\x1f]").to_numpy(zero_copy_only=False)
        if bad.any():
            raise DatasetError(
                f"dataset {name!r}, row {int(np.flatnonzero(bad)[0]) + 1}, column {column}: "
                "holds a control character (0x1D-0x1F) the store cannot keep"
            )
    return joined


def split_cells(cells: pd.Series, columns: list[str]) -> pd.DataFrame:
    """The inverse of :func:`join_cells`: one text column per name, '' for missing."""
    if not columns:
        return pd.DataFrame(index=cells.index)
    if cells.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    parts = cells.str.split(CELL_SEPARATOR, expand=True, regex=False)
    parts.columns = pd.Index(columns)
    return parts


def key_text(name: str, table: pa.Table) -> tuple[pa.ChunkedArray, np.ndarray]:
    """Each record's key (parts joined by ``|``) and its place among records sharing it."""
    key = pc.binary_join_element_wise(*(table[c] for c in record_keys()[name]), KEY_SEPARATOR)
    n = len(key)
    ordered = key.take(pc.sort_indices(key))  # fast on the usual sorted file
    if n < 2 or not pc.any(pc.equal(ordered.slice(1), ordered.slice(0, n - 1))).as_py():
        return key, np.zeros(n, dtype="int64")  # every key once
    codes = pc.dictionary_encode(key).combine_chunks().indices.to_numpy()
    return key, pd.Series(codes).groupby(codes, sort=False).cumcount().to_numpy(dtype="int64")


def key_incomplete(name: str, table: pa.Table) -> np.ndarray:
    """Mask of records with a key part missing."""
    mask = np.zeros(table.num_rows, dtype=bool)
    for c in record_keys()[name]:
        mask |= pc.equal(table[c], "").to_numpy(zero_copy_only=False)
    return mask
