"""``trialkit ingest``: validate a transfer folder and store it as the next transfer, in one
transaction (a killed ingest leaves the store at the previous transfer).

Records are matched to the previous transfer by record key (and order among records sharing
a key): unchanged ones keep their version, changed and added ones get a new version, and
missing ones are ended. Findings become queries; their lifecycle follows (``queries.py``).
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, func, select

from trialkit.datasets import REQUIRED_COLUMNS, Dataset, read_trial_datasets
from trialkit.definition import TrialDefinition, load_definition
from trialkit.errors import DatasetError, FindingsError, StoreError
from trialkit.manifest import sha256_file, trial_inputs
from trialkit.processes import Background
from trialkit.store.audit import Event, append, now
from trialkit.store.bulk import insert_table, read_versions, set_removed
from trialkit.store.connection import Store, open_store, writing
from trialkit.store.digest import change_digest, decode_order, encode_order
from trialkit.store.queries import KEY_RULES, QueryCounts, apply_findings, found_queries
from trialkit.store.records import (
    UNCONVERTED_RULES,
    cell_table,
    join_cells,
    key_incomplete,
    key_text,
    record_keys,
    split_cells,
)
from trialkit.store.schema import layouts, records, store_info, transfers

if TYPE_CHECKING:
    from trialkit.validation import ValidationReport


@dataclass(frozen=True)
class Prepared:
    """One dataset of a transfer as the store keeps it, before anything is written."""

    name: str
    file_name: str
    columns: list[str]
    table: pa.Table  # record_key, seq, subject, cells; in file order


@dataclass(frozen=True)
class DatasetChange:
    """What one ingest did to one dataset."""

    dataset: str
    added: int
    changed: int
    removed: int

    def line(self) -> str:
        """The summary line ingest prints."""
        return f"{self.dataset}: {self.added} added, {self.changed} changed, {self.removed} removed"


@dataclass(frozen=True)
class IngestSummary:
    """What ``ingest`` stored."""

    transfer: int
    changes: list[DatasetChange]
    queries: QueryCounts
    findings: int

    def lines(self) -> list[str]:
        """What ``trialkit ingest`` prints: one line per dataset, then the queries."""
        q = self.queries
        return [
            f"transfer {self.transfer} stored ({self.findings} finding(s))",
            *(f"  {c.line()}" for c in self.changes),
            f"  queries: {q.opened} opened, {q.closed} closed, {q.reopened} reopened",
        ]


def _prepare(
    report_findings: pd.DataFrame, name: str, frame: pd.DataFrame, path: Path
) -> tuple[Prepared, pd.DataFrame]:
    """The dataset's records and the key findings (SK001, SK002) of its records."""
    table = cell_table(name, frame, report_findings)
    key, seq = key_text(name, table)
    prepared = Prepared(
        name=name,
        file_name=path.name,
        columns=table.column_names,
        table=pa.table(
            {
                "record_key": key,
                "seq": seq,
                "subject": table["USUBJID"],
                "cells": join_cells(name, table),
            }
        ),
    )
    rows = np.arange(1, table.num_rows + 1)
    parts = []
    for rule, mask in (("SK001", seq > 0), ("SK002", key_incomplete(name, table))):
        if mask.any():
            severity, message = KEY_RULES[rule]
            parts.append(
                pd.DataFrame(
                    {
                        "dataset": name,
                        "row": rows[mask],
                        "column": "",
                        "rule": rule,
                        "severity": severity,
                        "message": message,
                    }
                )
            )
    return prepared, pd.concat(parts) if parts else pd.DataFrame()


def content_hash(files: dict[str, str]) -> str:
    """The hash of a transfer: of its files' names and SHA-256s."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()


def _checks(definition: TrialDefinition, datasets: dict[str, Dataset]) -> ValidationReport:
    """The validation of the datasets read, with each kept frame that equals the frame read
    left out (the caller has it; only what differs comes back from a child process)."""
    from trialkit.validation import validate_read

    report = validate_read(definition, datasets)
    kept = {n: d for n, d in report.datasets.items() if not d.frame.equals(datasets[n].frame)}
    return replace(report, kept={}, datasets=kept)


def _draft(name: str, dataset: Dataset) -> tuple[Prepared, pd.DataFrame] | None:
    """The dataset's records as read, before validation's findings (None if they cannot be
    made: validation names the problem first)."""
    if not set(record_keys()[name]) <= set(dataset.frame.columns):
        return None
    from trialkit.validation.findings import FINDING_COLUMNS

    try:
        return _prepare(pd.DataFrame(columns=FINDING_COLUMNS), name, dataset.frame, dataset.path)
    except DatasetError:
        return None


def ingest(
    store_url: str, transfer_dir: Path, user: str, note: str = "", reject_errors: bool = False
) -> IngestSummary:
    """Validate ``transfer_dir`` and store it as the next transfer (see the module docstring).

    The validation's checks run in a child process while this one turns the records read
    into the store's cells; a dataset whose cells validation changed is turned again.
    """
    transfer_dir = Path(transfer_dir)
    definition = load_definition(transfer_dir)
    datasets = read_trial_datasets(transfer_dir)
    checks = Background(_checks, definition, datasets)
    try:
        files = {p.name: sha256_file(p) for p in trial_inputs(transfer_dir)}
        drafts = {n: _draft(n, d) for n, d in datasets.items() if n in REQUIRED_COLUMNS}
        report = checks.result()
    finally:
        checks.close()
    if reject_errors and report.has_errors:
        n = int((report.findings["severity"] == "error").sum())
        raise FindingsError(f"{transfer_dir}: {n} error finding(s); not stored (--reject-errors)")
    restored = report.findings["dataset"][report.findings["rule"].isin(UNCONVERTED_RULES)]
    prepared, key_findings, keys = {}, [report.findings], {}
    for name in [n for n in REQUIRED_COLUMNS if n in drafts]:
        draft = drafts[name]
        if draft is None or name in report.datasets or (restored == name).any():
            d = report.datasets.get(name, datasets[name])
            draft = _prepare(report.findings, name, d.frame, d.path)
        prepared[name], found = draft
        key_findings.append(found)
        keys[name] = prepared[name].table["record_key"]
    found = found_queries(
        pd.concat([report.findings, *(f for f in key_findings[1:] if len(f))], ignore_index=True),
        keys,
    )
    toml = (transfer_dir / "trial.toml").read_bytes().decode("utf-8")
    store = open_store(store_url, create=True)
    with writing(store) as conn:
        number = _check_and_number(conn, store, definition.trial.id, files)
        conn.execute(
            transfers.insert().values(
                number=number,
                ingested_at=now(),
                user_name=user,
                note=note,
                content_hash=content_hash(files),
                files=json.dumps(files, sort_keys=True),
                trial_toml=toml,
            )
        )
        events = [
            Event(
                "ingest",
                user,
                {
                    "content_hash": content_hash(files),
                    "files": files,
                    "note": note,
                    "source": str(transfer_dir.resolve()),
                },
                number,
            )
        ]
        changes = []
        previous = _previous_layouts(conn, number - 1)
        for name in [n for n in REQUIRED_COLUMNS if n in prepared or n in previous]:
            change, digest = _store_dataset(
                conn, number, name, prepared.get(name), previous.get(name)
            )
            changes.append(change)
            detail = {
                "dataset": name,
                "added": change.added,
                "changed": change.changed,
                "removed": change.removed,
                "digest": digest,
            }
            events.append(Event("records", user, detail, number))
        counts, query_events = apply_findings(conn, number, found, user)
        append(conn, [*events, *query_events])
    return IngestSummary(number, changes, counts, len(report.findings))


def _check_and_number(conn: Connection, store: Store, trial_id: str, files: dict[str, str]) -> int:
    """The next transfer's number; another trial, a lock or the same files again is refused."""
    info = conn.execute(select(store_info)).first()
    if info is None:
        conn.execute(store_info.insert().values(id=1, trial_id=trial_id, created_at=now()))
    elif info.trial_id != trial_id:
        raise StoreError(
            f"--store {store.shown}: holds trial {info.trial_id!r}, not {trial_id!r}; "
            "use another store"
        )
    elif info.locked_transfer is not None:
        raise StoreError(
            f"--store {store.shown}: transfer {info.locked_transfer} is locked; "
            "no transfer can be ingested until it is unlocked"
        )
    same = conn.execute(
        select(transfers.c.number).where(transfers.c.content_hash == content_hash(files))
    ).first()
    if same is not None:
        raise StoreError(
            f"--store {store.shown}: these files were ingested already as transfer {same.number}"
        )
    last = conn.execute(select(func.max(transfers.c.number))).scalar()
    return int(last or 0) + 1


@dataclass(frozen=True)
class Layout:
    """A dataset's columns and record ids in file order, in one transfer."""

    columns: list[str]
    order: np.ndarray


def _previous_layouts(conn: Connection, transfer: int) -> dict[str, Layout]:
    rows = conn.execute(
        select(layouts.c.dataset, layouts.c.columns, layouts.c.record_order).where(
            layouts.c.transfer == transfer
        )
    )
    return {r.dataset: Layout(json.loads(r.columns), decode_order(r.record_order)) for r in rows}


def _current(conn: Connection, name: str, previous: Layout | None) -> pa.Table:
    """The dataset's current record versions (id, record_key, seq, cells), in the previous
    transfer's file order."""
    old = read_versions(conn, (records.c.dataset == name) & records.c.removed_in.is_(None))
    if previous is None or len(previous.order) != len(old):
        return old
    at = pd.Index(old["id"].to_numpy()).get_indexer(previous.order)
    return old if (at < 0).any() else old.take(pa.array(at))


def _matches(new: pa.Table, old: pa.Table) -> np.ndarray:
    """For each new record, the row of ``old`` with its record key and seq, or -1.

    Transfers mostly list the records as the one before did: then the rows match in order,
    without a join.
    """
    if (
        len(new) == len(old)
        and np.array_equal(new["seq"].to_numpy(), old["seq"].to_numpy())
        and pc.all(pc.equal(new["record_key"], old["record_key"])).as_py()
    ):
        return np.arange(len(new))
    at = pa.table(
        {"record_key": new["record_key"], "seq": new["seq"], "row": np.arange(len(new))}
    ).join(
        old.select(["record_key", "seq"]).append_column("at", pa.array(np.arange(len(old)))),
        ["record_key", "seq"],
        join_type="inner",
    )
    found = np.full(len(new), -1, dtype="int64")
    found[at["row"].to_numpy()] = at["at"].to_numpy()
    return found


def _store_dataset(
    conn: Connection, number: int, name: str, new: Prepared | None, previous: Layout | None
) -> tuple[DatasetChange, str]:
    """Write one dataset's versions for transfer ``number``; what changed and its digest."""
    old = _current(conn, name, previous)
    old_ids = old["id"].to_numpy()
    if new is None:  # an optional dataset no longer sent: every record removed
        set_removed(conn, records, old_ids.tolist(), number)
        return DatasetChange(name, 0, 0, len(old)), change_digest(
            [], "", b"", old.slice(0, 0), old_ids
        )
    at = _matches(new.table, old)
    matched = at >= 0
    old_cells = old["cells"]
    if previous is not None and previous.columns != new.columns:
        old_cells = _relayout(old_cells, previous.columns, new.columns)
    same = np.zeros(len(at), dtype=bool)
    if matched.any():
        same[matched] = pc.equal(
            new.table["cells"].filter(pa.array(matched)), old_cells.take(pa.array(at[matched]))
        ).to_numpy()
    keep = same if previous is not None and previous.columns == new.columns else same & False
    ended_old = np.ones(len(old), dtype=bool)
    ended_old[at[keep]] = False
    ended = old_ids[ended_old]
    set_removed(conn, records, ended.tolist(), number)
    fresh = ~keep
    start = int(conn.execute(select(func.max(records.c.id))).scalar() or 0) + 1
    ids = np.empty(len(at), dtype="int64")
    ids[keep] = old_ids[at[keep]]
    ids[fresh] = np.arange(start, start + int(fresh.sum()))
    written = new.table.filter(pa.array(fresh))
    written = pa.table(
        {
            "id": ids[fresh],
            "dataset": pa.repeat(name, len(written)),
            **{c: written[c] for c in written.column_names},
            "added_in": pa.repeat(number, len(written)),
        }
    )
    order = encode_order(ids)
    # hashing (Arrow and hashlib) runs beside the insert (the database's work): both free the GIL
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(change_digest, new.columns, new.file_name, order, written, ended)
        insert_table(
            conn,
            records,
            written.drop_columns(["dataset", "added_in"]),
            {"dataset": name, "added_in": number},
        )
        conn.execute(
            layouts.insert().values(
                transfer=number,
                dataset=name,
                columns=json.dumps(new.columns),
                file_name=new.file_name,
                record_order=order,
            )
        )
    change = DatasetChange(
        name, int((~matched).sum()), int((matched & ~same).sum()), len(old) - int(matched.sum())
    )
    return change, digest.result()


def _relayout(cells: pa.ChunkedArray, old: list[str], new: list[str]) -> pa.ChunkedArray:
    """Cells written under the ``old`` columns, rewritten under the ``new`` ones ('' if absent)."""
    table = split_cells(cells.to_pandas(), old).reindex(columns=new, fill_value="")
    return join_cells("", pa.Table.from_pandas(table, preserve_index=False))


__all__ = ["IngestSummary", "ingest"]
