"""``trialkit lock`` / ``unlock``: freeze a transfer for the analysis; both are audited."""

from __future__ import annotations

from sqlalchemy import select, update

from trialkit.errors import StoreError
from trialkit.store.audit import Event, append
from trialkit.store.connection import open_store, writing
from trialkit.store.schema import store_info
from trialkit.store.selection import resolve_transfer


def _reason(reason: str) -> str:
    if not reason.strip():
        raise StoreError("--reason: give the reason (it goes into the audit trail)")
    return reason


def lock(store_url: str, transfer: str | None, reason: str, user: str) -> int:
    """Lock ``transfer`` (default the latest); later ingests are refused until unlocked."""
    reason = _reason(reason)
    store = open_store(store_url)
    with writing(store) as conn:
        number = resolve_transfer(conn, store, transfer)
        locked = conn.execute(select(store_info.c.locked_transfer)).scalar()
        if locked is not None:
            raise StoreError(f"--store {store.shown}: transfer {locked} is locked already")
        conn.execute(update(store_info).values(locked_transfer=number))
        append(conn, [Event("lock", user, {"transfer": number, "reason": reason}, number)])
    return number


def unlock(store_url: str, reason: str, user: str) -> int:
    """Unlock the locked transfer; the reason is kept in the audit trail."""
    reason = _reason(reason)
    store = open_store(store_url)
    with writing(store) as conn:
        locked = conn.execute(select(store_info.c.locked_transfer)).scalar()
        if locked is None:
            raise StoreError(f"--store {store.shown}: no transfer is locked")
        conn.execute(update(store_info).values(locked_transfer=None))
        append(conn, [Event("unlock", user, {"transfer": locked, "reason": reason}, locked)])
    return int(locked)
