"""Bulk reads and writes of many rows: one executemany on SQLite, COPY on PostgreSQL.

The ORM or one INSERT per row would make ingesting millions of records take minutes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Table,
    bindparam,
    cast,
    func,
    select,
    update,
)

from trialkit.store.records import FIELD_SEPARATOR, RECORD_END
from trialkit.store.schema import records


def insert_table(
    conn: Connection,
    table: Table,
    data: pa.Table,
    constants: Mapping[str, str | int] | None = None,
) -> None:
    """Insert every row of ``data`` (columns named as ``table``'s) into ``table``, with the
    columns ``constants`` names set to one value in every row."""
    if data.num_rows == 0:
        return
    constants = constants or {}
    raw = conn.connection.driver_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        for column, value in constants.items():
            data = data.append_column(column, pa.repeat(value, data.num_rows))
        buffer = io.BytesIO()
        # every text quoted, so '' is an empty string and not NULL
        options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        pacsv.write_csv(data, buffer, options)
        columns = ", ".join(data.column_names)
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {table.name} ({columns}) FROM STDIN (FORMAT csv)") as copy,
        ):
            copy.write(buffer.getbuffer())
        return
    # constants as SQL literals: SQLite's time goes by the values bound per row
    columns = ", ".join([*data.column_names, *constants])
    values = ", ".join(["?"] * data.num_columns + [_literal(v) for v in constants.values()])
    cursor = raw.cursor()
    cursor.executemany(
        f"INSERT INTO {table.name} ({columns}) VALUES ({values})",
        zip(*(_python_values(c) for c in data.columns), strict=True),
    )
    cursor.close()


def _literal(value: str | int) -> str:
    """``value`` as an SQL literal."""
    if isinstance(value, int):
        return str(int(value))
    return "'" + value.replace("'", "''") + "'"


def _python_values(column: pa.ChunkedArray) -> list[object]:
    """A column as Python values for the driver; whole numbers through NumPy (faster)."""
    if pa.types.is_integer(column.type) and column.null_count == 0:
        return list(column.to_numpy().tolist())
    return column.to_pylist()


def set_removed(conn: Connection, table: Table, ids: Sequence[int], transfer: int) -> None:
    """Mark the record versions ``ids`` as removed in ``transfer``."""
    if len(ids):
        stmt = update(table).where(table.c.id == bindparam("rid")).values(removed_in=transfer)
        conn.execute(stmt, [{"rid": int(i)} for i in ids])


def read_frame(conn: Connection, stmt: Select[tuple[object, ...]]) -> pd.DataFrame:
    """The rows of ``stmt`` as a frame, columns named as selected."""
    result = conn.execute(stmt)
    columns = list(result.keys())
    # the driver's own rows: SQLAlchemy's Row objects cost more than the query
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame({c: list(v) for c, v in zip(columns, values, strict=True)})


def read_versions(conn: Connection, where: ColumnElement[bool]) -> pa.Table:
    """The record versions ``where`` selects: id, record_key, seq, cells (in no order).

    The database joins them into a few long strings (``id FS key FS seq FS cells RE`` ...),
    which Arrow splits: a million versions without a million Python rows.
    """
    fs = FIELD_SEPARATOR
    line = (
        cast(records.c.id, String) + fs + records.c.record_key + fs
        + cast(records.c.seq, String) + fs + records.c.cells
    )  # fmt: skip
    stmt = select(func.aggregate_strings(line, RECORD_END)).where(where)
    chunks = [r[0] for r in conn.execute(stmt.group_by(records.c.id // 65536)) if r[0]]
    lines = pc.list_flatten(pc.split_pattern(pa.array(chunks, pa.large_string()), RECORD_END))
    fields = pc.list_flatten(pc.split_pattern(lines, fs, max_splits=3))
    column = np.arange(len(fields)) % 4
    part = [fields.filter(pa.array(column == i)) for i in range(4)]
    return pa.table(
        {
            "id": pc.cast(part[0], pa.int64()),
            "record_key": pc.cast(part[1], pa.string()),
            "seq": pc.cast(part[2], pa.int64()),
            "cells": pc.cast(part[3], pa.string()),
        }
    )
