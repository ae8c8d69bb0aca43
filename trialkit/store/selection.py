"""Which transfer a command means: a number, ``locked``, or by default the latest."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from trialkit.errors import StoreError
from trialkit.store.connection import Store
from trialkit.store.schema import store_info, transfers

LOCKED = "locked"


def latest_transfer(conn: Connection, store: Store) -> int:
    """The number of the last transfer; a store without one is refused."""
    last = conn.execute(select(func.max(transfers.c.number))).scalar()
    if last is None:
        raise StoreError(f"--store {store.shown}: holds no transfer yet")
    return int(last)


def resolve_transfer(conn: Connection, store: Store, spec: str | None) -> int:
    """The transfer ``spec`` names (``K``, ``locked`` or None for the latest), checked."""
    if spec is None:
        return latest_transfer(conn, store)
    if spec == LOCKED:
        locked = conn.execute(select(store_info.c.locked_transfer)).scalar()
        if locked is None:
            raise StoreError(f"--store {store.shown}: no transfer is locked")
        return int(locked)
    if not spec.isdigit():
        raise StoreError(f"--transfer: {spec!r} is not a transfer number or 'locked'")
    number = int(spec)
    if number < 1 or number > latest_transfer(conn, store):
        raise StoreError(f"--store {store.shown}: has no transfer {number}")
    return number
