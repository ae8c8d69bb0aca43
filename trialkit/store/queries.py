"""Queries: validation findings kept across transfers, with a stable ID and a lifecycle.

A query's ID is derived from its rule, dataset, record key and column, so the same problem
has the same ID in every transfer. Lifecycle: ``open`` (raised by transfer N) -> ``answered``
(a site's answer) -> ``closed`` (by a person, or by a later transfer without the finding:
"resolved by data in transfer M"); a query closed by data whose finding comes back is
``reopened``. Every change of status is an audit entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, select, update

from trialkit.errors import StoreError
from trialkit.store.audit import Event, append
from trialkit.store.bulk import insert_table, read_frame
from trialkit.store.connection import Store, writing
from trialkit.store.records import KEY_SEPARATOR
from trialkit.store.schema import queries

OPEN, ANSWERED, CLOSED, REOPENED = "open", "answered", "closed", "reopened"
STATUSES = (OPEN, ANSWERED, CLOSED, REOPENED)
#: Statuses of a query still waiting for the site or the data.
PENDING = (OPEN, ANSWERED, REOPENED)

#: The store's own rules: records a transfer cannot be matched by (they are kept anyway).
KEY_RULES = {
    "SK001": ("warning", "record key given more than once; records matched by order"),
    "SK002": ("warning", "record key incomplete"),
}

#: Columns of queries.csv (and of the file ``queries import`` reads).
QUERY_COLUMNS = (
    "query_id",
    "rule",
    "severity",
    "dataset",
    "key",
    "column",
    "message",
    "status",
    "opened_transfer",
    "closed_transfer",
    "answer",
)


def query_id(rule: str, dataset: str, key: str, column: str) -> str:
    """The stable ID of a query: the same rule, dataset, record key and column, the same ID."""
    text = "\x1f".join((rule, dataset, key, column))
    return "Q" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12].upper()


def found_queries(findings: pd.DataFrame, keys: dict[str, pa.ChunkedArray]) -> pd.DataFrame:
    """One row per query ID among ``findings`` (with ``row``); ``keys`` each dataset's keys."""
    parts = []
    for name, group in findings.groupby("dataset", sort=False):
        key = keys.get(str(name), pa.chunked_array([], pa.string()))
        rows = group["row"].astype("Int64").to_numpy(dtype="int64", na_value=0)
        on_record = (rows >= 1) & (rows <= len(key))
        record_keys = pd.Series("", index=group.index, dtype=object)
        record_keys[on_record] = key.take(pa.array(rows[on_record] - 1)).to_numpy()
        parts.append(group.assign(key=record_keys))
    if not parts:
        return pd.DataFrame(columns=[*QUERY_COLUMNS[:7], "subject"])
    found = pd.concat(parts, ignore_index=True)
    found["query_id"] = [
        query_id(r, d, k, c)
        for r, d, k, c in zip(
            found["rule"], found["dataset"], found["key"], found["column"], strict=True
        )
    ]
    found["subject"] = found["key"].str.split(KEY_SEPARATOR, regex=False).str[0].fillna("")
    return found.drop_duplicates("query_id")[[*QUERY_COLUMNS[:7], "subject"]]


@dataclass(frozen=True)
class QueryCounts:
    """How many queries one ingest opened, closed and reopened."""

    opened: int
    closed: int
    reopened: int


def apply_findings(
    conn: Connection, transfer: int, found: pd.DataFrame, user: str
) -> tuple[QueryCounts, list[Event]]:
    """Open, close and reopen queries for the findings ``found`` in ``transfer``."""
    known = read_frame(
        conn,
        select(
            queries.c.query_id,
            queries.c.status,
            queries.c.last_seen,
            queries.c.record_key,
            queries.c.dataset,
        ),
    ).set_index("query_id")
    ids = pd.Index(found["query_id"])
    new = found[~ids.isin(known.index)]
    insert_table(
        conn,
        queries,
        pa.Table.from_pandas(
            pd.DataFrame(
                {
                    "query_id": new["query_id"],
                    "rule": new["rule"],
                    "severity": new["severity"],
                    "dataset": new["dataset"],
                    "record_key": new["key"],
                    "column_name": new["column"],
                    "message": new["message"],
                    "status": OPEN,
                    "opened_transfer": transfer,
                    "answer": "",
                    "last_seen": transfer,
                }
            ),
            preserve_index=False,
        ),
    )
    events = [
        Event("query opened", user, {"query_id": q, "status": OPEN, "message": m}, transfer, s)
        for q, m, s in zip(new["query_id"], new["message"], new["subject"], strict=True)
    ]
    seen = known[known.index.isin(ids)]
    back = seen[(seen["status"] == CLOSED) & (seen["last_seen"] < transfer - 1)]
    gone = known[~known.index.isin(ids) & known["status"].isin(PENDING)]
    subject = found.set_index("query_id")["subject"]
    for qid in back.index:
        reason = f"found again in transfer {transfer}"
        events.append(
            _set_status(conn, qid, REOPENED, None, reason, user, transfer, str(subject[qid]))
        )
    for qid, row in gone.iterrows():
        reason, who = f"resolved by data in transfer {transfer}", _subject(str(row["record_key"]))
        events.append(_set_status(conn, str(qid), CLOSED, transfer, reason, user, transfer, who))
    if len(seen):
        conn.execute(
            update(queries)
            .where(queries.c.query_id.in_(list(seen.index)))
            .values(last_seen=transfer)
        )
    return QueryCounts(opened=len(new), closed=len(gone), reopened=len(back)), events


def _set_status(
    conn: Connection,
    qid: str,
    status: str,
    closed_transfer: int | None,
    reason: str,
    user: str,
    transfer: int,
    subject: str,
) -> Event:
    """Set a query's status by what ``transfer``'s data show; the audit event of the change."""
    conn.execute(
        update(queries)
        .where(queries.c.query_id == qid)
        .values(status=status, closed_transfer=closed_transfer)
    )
    detail = {"query_id": qid, "status": status, "reason": reason}
    return Event(f"query {status}", user, detail, transfer, subject)


def _subject(key: str) -> str:
    return key.split(KEY_SEPARATOR, 1)[0]


def list_queries(conn: Connection, status: str | None = None) -> pd.DataFrame:
    """The queries (queries.csv's columns), optionally only those of one status."""
    if status is not None and status not in STATUSES:
        raise StoreError(f"--status: {status!r} is not one of {', '.join(STATUSES)}")
    stmt = select(
        queries.c.query_id,
        queries.c.rule,
        queries.c.severity,
        queries.c.dataset,
        queries.c.record_key.label("key"),
        queries.c.column_name.label("column"),
        queries.c.message,
        queries.c.status,
        queries.c.opened_transfer,
        queries.c.closed_transfer,
        queries.c.answer,
    ).order_by(
        queries.c.opened_transfer, queries.c.dataset, queries.c.record_key, queries.c.query_id
    )
    if status is not None:
        stmt = stmt.where(queries.c.status == status)
    frame = read_frame(conn, stmt)
    frame["closed_transfer"] = frame["closed_transfer"].astype("Int64")
    return frame


@dataclass(frozen=True)
class Change:
    """A person's change to one query: an answer (``text``) or a close (``reason``)."""

    query_id: str
    answer: str | None = None
    reason: str | None = None
    where: str = ""  # how a message names its origin, e.g. "answers.csv row 3: "
    bulk: bool = False  # from a file listing every query: what is already so is skipped


def change_queries(store: Store, changes: Iterable[Change], user: str) -> int:
    """Answer or close queries in one transaction; an unknown or closed query is refused."""
    changes = list(changes)
    with writing(store) as conn:
        rows = read_frame(
            conn,
            select(queries.c.query_id, queries.c.status, queries.c.record_key, queries.c.answer),
        )
        state = dict(zip(rows["query_id"], rows["status"], strict=True))
        keys = dict(zip(rows["query_id"], rows["record_key"], strict=True))
        answers = dict(zip(rows["query_id"], rows["answer"], strict=True))
        events = []
        for change in changes:
            status = state.get(change.query_id)
            if (
                change.bulk
                and status is not None
                and (
                    (change.answer is not None and answers[change.query_id] == change.answer)
                    or (change.reason is not None and status == CLOSED)
                )
            ):
                continue
            if status is None:
                raise StoreError(
                    f"{change.where}query {change.query_id!r}: no such query in {store.shown}"
                )
            if status == CLOSED:
                what = "answered" if change.answer is not None else "closed"
                raise StoreError(
                    f"{change.where}query {change.query_id}: is closed; it cannot be {what}"
                )
            values: dict[str, str | None]
            if change.answer is not None:
                values = {"status": ANSWERED, "answer": change.answer}
                detail: dict[str, str | None] = {
                    "query_id": change.query_id,
                    "status": ANSWERED,
                    "answer": change.answer,
                }
                action = "query answered"
            else:
                values = {"status": CLOSED, "closed_transfer": None}
                detail = {"query_id": change.query_id, "status": CLOSED, "reason": change.reason}
                action = "query closed"
            conn.execute(
                update(queries).where(queries.c.query_id == change.query_id).values(**values)
            )
            state[change.query_id] = str(values["status"])
            events.append(Event(action, user, detail, None, _subject(str(keys[change.query_id]))))
        append(conn, events)
    return len(events)


def read_answers(path: Path) -> list[Change]:
    """The answers and closes of a site's ``queries.csv`` (the columns queries.csv has)."""
    from trialkit.csv_safety import restore_formulas

    try:
        frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    except FileNotFoundError:
        raise StoreError(f"{path}: file not found") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: cannot be read as CSV ({exc})") from None
    missing = [c for c in ("query_id", "status", "answer") if c not in frame.columns]
    if missing:
        raise StoreError(f"{path}: missing column(s) {', '.join(missing)}")
    frame = restore_formulas(frame)
    changes = []
    for number, row in enumerate(frame.itertuples(index=False), start=1):
        where = f"{path} row {number}: "
        qid, status, answer = str(row.query_id).strip(), str(row.status).strip(), str(row.answer)
        if status not in STATUSES:
            raise StoreError(f"{where}status {status!r} is not one of {', '.join(STATUSES)}")
        if answer.strip() and status != CLOSED:
            changes.append(Change(qid, answer=answer, where=where, bulk=True))
        elif status == CLOSED:
            changes.append(Change(qid, reason=f"closed in {path.name}", where=where, bulk=True))
    return changes
