"""``trialkit export``: write a stored transfer back as a trial folder (``trial.toml`` and one
CSV per dataset, records in the transfer's order, cells exactly as stored)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import ColumnElement, Connection, or_, select

from trialkit.output import staged_output_dir
from trialkit.store.bulk import read_frame
from trialkit.store.connection import Store, open_store, reading
from trialkit.store.digest import decode_order
from trialkit.store.records import split_cells
from trialkit.store.schema import layouts, records, transfers
from trialkit.store.selection import resolve_transfer
from trialkit.store.url import store_inputs


@dataclass(frozen=True)
class Snapshot:
    """One transfer as stored: its number, content hash, ``trial.toml`` and datasets as text."""

    number: int
    content_hash: str
    trial_toml: str
    tables: dict[str, pd.DataFrame]


def valid_at(number: int) -> ColumnElement[bool]:
    """The condition of record versions that belong to transfer ``number``."""
    return (records.c.added_in <= number) & or_(
        records.c.removed_in.is_(None), records.c.removed_in > number
    )


def read_snapshot(conn: Connection, store: Store, spec: str | None) -> Snapshot:
    """The transfer ``spec`` names (a number, ``locked`` or None for the latest)."""
    number = resolve_transfer(conn, store, spec)
    transfer = conn.execute(select(transfers).where(transfers.c.number == number)).one()
    tables = {}
    for layout in conn.execute(select(layouts).where(layouts.c.transfer == number)):
        found = read_frame(
            conn,
            select(records.c.id, records.c.cells).where(
                records.c.dataset == layout.dataset, valid_at(number)
            ),
        ).set_index("id")
        cells = found["cells"].reindex(decode_order(layout.record_order))
        tables[layout.dataset] = split_cells(cells, json.loads(layout.columns)).reset_index(
            drop=True
        )
    return Snapshot(number, transfer.content_hash, transfer.trial_toml, tables)


def write_trial_folder(folder: Path, snapshot: Snapshot) -> None:
    """Write ``snapshot`` into ``folder`` as a trial folder."""
    (folder / "trial.toml").write_bytes(snapshot.trial_toml.encode("utf-8"))
    for name, table in snapshot.tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)


def export_transfer(store_url: str, spec: str | None, out: Path, force: bool = False) -> int:
    """Write the transfer ``spec`` names to ``out`` (a new trialkit output folder)."""
    store = open_store(store_url)
    with reading(store) as conn:
        snapshot = read_snapshot(conn, store, spec)
    inputs = store_inputs(store_url)
    with staged_output_dir(Path(out), force=force, input_dirs=inputs, command="export") as staging:
        write_trial_folder(staging, snapshot)
    return snapshot.number
