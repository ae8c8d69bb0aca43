"""``trialkit store verify``: the audit chain is intact and the tables agree with it.

Checked in order: every audit entry's hash (the chain); each ingest's record digest against
the records and layouts now stored; each transfer's content hash; each query's status and the
lock against their last audit entry. The first entry that does not match is named.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from trialkit.store.audit import chain_problem
from trialkit.store.bulk import read_frame, read_versions
from trialkit.store.connection import open_store, reading
from trialkit.store.digest import change_digest
from trialkit.store.schema import audit, layouts, queries, records, store_info, transfers


def _entry(row: dict[str, Any]) -> str:
    return f"audit entry {row['seq']} ({row['action']}, transfer {row['transfer']})"


def _records_problem(conn: Connection, row: dict[str, Any], detail: dict[str, Any]) -> str | None:
    number, name = int(str(row["transfer"])), str(detail["dataset"])
    layout = conn.execute(
        select(layouts).where(layouts.c.transfer == number, layouts.c.dataset == name)
    ).first()
    added = read_versions(conn, (records.c.dataset == name) & (records.c.added_in == number))
    ended = read_frame(
        conn, select(records.c.id).where(records.c.dataset == name, records.c.removed_in == number)
    )["id"].to_numpy(dtype="int64")
    if layout is None:
        digest = change_digest([], "", b"", added, ended)
    else:
        columns = json.loads(layout.columns)
        digest = change_digest(columns, layout.file_name, layout.record_order, added, ended)
    if digest != detail["digest"]:
        return f"{_entry(row)}: the stored records of {name} do not match it (changed since)"
    return None


def store_problem(conn: Connection) -> tuple[str | None, int]:
    """The first problem found (None when the store verifies) and the number of entries."""
    log = [dict(r) for r in conn.execute(select(audit).order_by(audit.c.seq)).mappings()]
    problem = chain_problem(log)
    if problem is not None:
        return problem, len(log)
    hashes = dict(conn.execute(select(transfers.c.number, transfers.c.content_hash)).all())
    status = dict(conn.execute(select(queries.c.query_id, queries.c.status)).all())
    last_status: dict[str, tuple[str, dict[str, Any]]] = {}
    locked: int | None = None
    ingested = set()
    for row in log:
        detail = json.loads(str(row["detail"]))
        if row["action"] == "ingest":
            ingested.add(int(row["transfer"]))
            if hashes.get(int(row["transfer"])) != detail["content_hash"]:
                return f"{_entry(row)}: transfer {row['transfer']} does not match it", len(log)
        elif row["action"] == "records":
            found = _records_problem(conn, row, detail)
            if found is not None:
                return found, len(log)
        elif str(row["action"]).startswith("query "):
            last_status[str(detail["query_id"])] = (str(detail["status"]), row)
        elif row["action"] in ("lock", "unlock"):
            locked = int(detail["transfer"]) if row["action"] == "lock" else None
    for qid, (expected, row) in sorted(last_status.items(), key=lambda kv: int(kv[1][1]["seq"])):
        if status.get(qid) != expected:
            return (
                f"{_entry(row)}: query {qid} is {status.get(qid)!r} in the store, not {expected!r}",
                len(log),
            )
    extra = sorted(set(status) - set(last_status))
    if extra:
        return f"query {extra[0]}: has no audit entry (added behind the store's back)", len(log)
    unlogged = sorted(set(hashes) - ingested)
    if unlogged:
        return f"transfer {unlogged[0]}: has no audit entry (added behind the store's back)", len(
            log
        )
    actual = conn.execute(select(store_info.c.locked_transfer)).scalar()
    if actual != locked:
        return (
            f"lock: the store says transfer {actual} is locked, the audit trail says {locked}",
            len(log),
        )
    return None, len(log)


def verify_store(store_url: str) -> tuple[str, bool]:
    """The account ``trialkit store verify`` prints and whether the store verified."""
    store = open_store(store_url)
    with reading(store) as conn:
        problem, entries = store_problem(conn)
    if problem is None:
        return f"{store.shown}: verified ({entries} audit entries, chain and records intact)", True
    return f"{store.shown}: NOT verified: {problem}", False


__all__ = ["store_problem", "verify_store"]
