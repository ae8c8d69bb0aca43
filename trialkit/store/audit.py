"""The audit trail: append-only entries, each hashed with the previous entry's hash.

``entry_hash = SHA-256(prev_hash, seq, at, user, action, transfer, subject, detail)``, so an
entry edited, removed or inserted behind the store's back breaks the chain from there on.
Record contents are covered by the digest each ingest entry carries (see ``digest.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from trialkit.store.schema import audit

#: The ``prev_hash`` of the first entry.
GENESIS = "0" * 64


@dataclass(frozen=True)
class Event:
    """One thing to record: who did what, to which transfer and subject, with what detail."""

    action: str
    user: str
    detail: Mapping[str, Any]
    transfer: int | None = None
    subject: str = ""


def now() -> str:
    """The current time in UTC, ISO 8601 to the second (how the store writes times)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def entry_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """The hash of an audit row given the previous entry's hash."""
    fields = [
        row["seq"],
        row["at"],
        row["user_name"],
        row["action"],
        row["transfer"],
        row["subject"],
        row["detail"],
    ]
    text = prev_hash + json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append(conn: Connection, events: Iterable[Event]) -> int:
    """Append ``events`` in order inside the caller's write transaction; how many were added."""
    last = conn.execute(
        select(audit.c.seq, audit.c.entry_hash).order_by(audit.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (int(last.seq), str(last.entry_hash)) if last else (0, GENESIS)
    at = now()
    rows = []
    for event in events:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "user_name": event.user,
            "action": event.action,
            "transfer": event.transfer,
            "subject": event.subject,
            "detail": json.dumps(dict(event.detail), sort_keys=True, ensure_ascii=False),
        }
        row["prev_hash"] = prev
        row["entry_hash"] = prev = entry_hash(prev, row)
        rows.append(row)
    if rows:
        conn.execute(audit.insert(), rows)
    return len(rows)


def chain_problem(rows: Iterable[Mapping[str, Any]]) -> str | None:
    """The first entry (in ``seq`` order) that breaks the chain, as one line; None if intact."""
    prev, expected_seq = GENESIS, 1
    for row in rows:
        name = f"audit entry {row['seq']} ({row['action']}, {row['at']})"
        if int(row["seq"]) != expected_seq:
            return f"audit entry {expected_seq}: missing (the next entry is {row['seq']})"
        if row["prev_hash"] != prev:
            return f"{name}: does not follow the entry before it (previous hash differs)"
        if entry_hash(prev, row) != row["entry_hash"]:
            return f"{name}: its content does not match its hash (edited after it was written)"
        prev, expected_seq = str(row["entry_hash"]), expected_seq + 1
    return None
