"""``trialkit diff``: every record added, removed or changed between two transfers, field by
field (``diff.csv``: dataset, key, column, change, old, new, from_transfer, to_transfer)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, select

from trialkit.datasets import REQUIRED_COLUMNS
from trialkit.errors import StoreError
from trialkit.store.bulk import read_frame
from trialkit.store.connection import Store, open_store, reading
from trialkit.store.records import split_cells
from trialkit.store.schema import layouts, records
from trialkit.store.selection import latest_transfer, resolve_transfer

DIFF_COLUMNS = ("dataset", "key", "column", "change", "old", "new", "from_transfer", "to_transfer")


def layout_columns(conn: Connection) -> dict[tuple[int, str], list[str]]:
    """The columns of every (transfer, dataset)."""
    rows = conn.execute(select(layouts.c.transfer, layouts.c.dataset, layouts.c.columns))
    return {(r.transfer, r.dataset): json.loads(r.columns) for r in rows}


def wide(versions: pd.DataFrame, columns_of: dict[tuple[int, str], list[str]]) -> pd.DataFrame:
    """Versions (dataset, added_in, cells, ...) with one text column per field ('' if absent)."""
    parts = [
        split_cells(group["cells"], columns_of[(int(str(added)), str(name))])
        for (added, name), group in versions.groupby(["added_in", "dataset"], sort=False)
    ]
    fields = pd.concat(parts) if parts else pd.DataFrame(index=versions.index)
    return fields.reindex(versions.index).fillna("")


def field_changes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Cell by cell, where the aligned rows of ``old`` and ``new`` differ: row, column, old, new."""
    columns = list(dict.fromkeys([*old.columns, *new.columns]))
    old = old.reindex(columns=columns, fill_value="")
    new = new.reindex(columns=columns, fill_value="").set_axis(old.index)
    stacked = pd.Series(old.ne(new).stack())
    where = stacked.index[stacked.to_numpy(dtype=bool)]
    return pd.DataFrame(
        {
            "row": where.get_level_values(0),
            "column": where.get_level_values(1),
            "old": old.stack()[where].to_numpy(dtype=object),
            "new": new.stack()[where].to_numpy(dtype=object),
        }
    )


def diff_transfers(conn: Connection, first: int, second: int) -> pd.DataFrame:
    """The rows of ``diff.csv`` from transfer ``first`` to a later transfer ``second``."""
    cols = (
        records.c.dataset,
        records.c.record_key,
        records.c.seq,
        records.c.cells,
        records.c.added_in,
    )
    gone = read_frame(
        conn,
        select(*cols).where(
            records.c.added_in <= first,
            records.c.removed_in > first,
            records.c.removed_in <= second,
        ),
    )
    came = read_frame(
        conn,
        select(*cols).where(
            records.c.added_in > first,
            records.c.added_in <= second,
            (records.c.removed_in.is_(None)) | (records.c.removed_in > second),
        ),
    )
    pairs = gone.merge(
        came,
        on=["dataset", "record_key", "seq"],
        how="outer",
        indicator=True,
        suffixes=("_old", "_new"),
    )
    columns_of = layout_columns(conn)
    both = pairs[pairs["_merge"] == "both"].astype(
        {"added_in_old": "int64", "added_in_new": "int64"}
    )
    old = wide(both.rename(columns={"cells_old": "cells", "added_in_old": "added_in"}), columns_of)
    new = wide(both.rename(columns={"cells_new": "cells", "added_in_new": "added_in"}), columns_of)
    cells = field_changes(old, new)
    changed = pd.DataFrame(
        {
            "dataset": both.loc[cells["row"], "dataset"].to_numpy(dtype=object),
            "key": both.loc[cells["row"], "record_key"].to_numpy(dtype=object),
            "column": cells["column"].to_numpy(dtype=object),
            "change": "changed",
            "old": cells["old"].to_numpy(dtype=object),
            "new": cells["new"].to_numpy(dtype=object),
        }
    )
    whole = pairs[pairs["_merge"] != "both"]
    records_rows = pd.DataFrame(
        {
            "dataset": whole["dataset"],
            "key": whole["record_key"],
            "column": "",
            "change": whole["_merge"]
            .map({"left_only": "removed", "right_only": "added"})
            .astype(str),
            "old": "",
            "new": "",
        }
    )
    out = pd.concat([records_rows, changed], ignore_index=True)
    out["from_transfer"], out["to_transfer"] = first, second
    order = {name: i for i, name in enumerate(REQUIRED_COLUMNS)}
    out = out.sort_values(
        ["dataset", "key", "column"], key=lambda s: s.map(order) if s.name == "dataset" else s
    )
    return out.reset_index(drop=True)[list(DIFF_COLUMNS)]


def run_diff(store_url: str, first: str | None, second: str | None) -> pd.DataFrame:
    """``trialkit diff``: the changes from ``first`` to ``second`` (default: the last two)."""
    store: Store = open_store(store_url)
    with reading(store) as conn:
        to = resolve_transfer(conn, store, second)
        if first is None and to == 1 and latest_transfer(conn, store) == 1:
            raise StoreError(f"--store {store.shown}: holds one transfer; nothing to compare")
        start = resolve_transfer(conn, store, first) if first is not None else to - 1
        if start >= to:
            raise StoreError(f"--from {start} --to {to}: --from must be an earlier transfer")
        return diff_transfers(conn, start, to)


def summary_lines(diff: pd.DataFrame) -> list[str]:
    """One line per dataset: records added, removed and changed, and the fields changed."""
    lines = []
    for name, group in diff.groupby("dataset", sort=False):
        counts = group["change"].value_counts()
        changed_records = group.loc[group["change"] == "changed", "key"].nunique()
        lines.append(
            f"{name}: {counts.get('added', 0)} added, {counts.get('removed', 0)} removed, "
            f"{changed_records} changed ({counts.get('changed', 0)} field(s))"
        )
    return lines


def write_diff(diff: pd.DataFrame, out: Path) -> None:
    """``diff.csv`` with formula-safe cells (it is opened in spreadsheets)."""
    from trialkit.csv_safety import neutralise_formulas

    neutralise_formulas(diff).to_csv(out / "diff.csv", index=False)
