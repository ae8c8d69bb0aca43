"""Open a store: an engine for its URL, the schema migrated, and write or read transactions.

Writes are serialised: on SQLite each write transaction starts with ``BEGIN IMMEDIATE`` (a
second writer waits for the first, up to ``BUSY_SECONDS``); on PostgreSQL it takes a
transaction-level advisory lock. Readers never wait: SQLite runs in WAL mode and PostgreSQL
reads a snapshot (REPEATABLE READ). Connections are not pooled: each transaction opens and
closes its own (a command runs a few). Database errors become one-line StoreErrors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from trialkit.errors import StoreError
from trialkit.store.schema import SCHEMA_REVISION
from trialkit.store.url import StoreURL, parse_store_url

#: How long a writer waits for another one before giving up.
BUSY_SECONDS = 600
#: PostgreSQL advisory lock key of store writes ("trkt").
WRITE_LOCK_KEY = 0x74726B74

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class Store:
    """An opened store: where it is and its engine."""

    location: StoreURL
    engine: Engine

    @property
    def shown(self) -> str:
        """The store's location without credentials, for messages."""
        return self.location.shown


def _sqlite_engine(location: StoreURL) -> Engine:
    engine = create_engine(location.url, connect_args={"timeout": BUSY_SECONDS}, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # a page cache of up to 256 MB: a million-record transfer is written without spilling
        # pages to the WAL twice (about 20% less CPU); it grows only as a transaction uses it
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("trialkit_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _problem(exc: BaseException, location: StoreURL) -> str:
    """The first line of a database error, with any password taken out."""
    orig = getattr(exc, "orig", None) or exc
    line = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    from sqlalchemy.engine import make_url

    if not location.is_sqlite:
        password = make_url(location.url).password
        if password:
            line = line.replace(str(password), "***")
    return line


def open_store(text_url: str, create: bool = False) -> Store:
    """Open the store at ``text_url``; ``create`` makes a missing SQLite file (ingest only)."""
    location = parse_store_url(text_url)
    if location.is_sqlite:
        assert location.path is not None
        if not location.path.exists() and not create:
            raise StoreError(f"--store {location.shown}: no store there (ingest a transfer first)")
        if not location.path.parent.is_dir():
            raise StoreError(f"--store {location.shown}: folder {location.path.parent} not found")
        engine = _sqlite_engine(location)
    else:
        engine = create_engine(
            location.url, connect_args={"connect_timeout": 10}, poolclass=NullPool
        )
    store = Store(location, engine)
    _migrate(store, create)
    return store


def _revision(conn: Connection) -> str | None:
    """The schema revision Alembic recorded in the store, read without Alembic."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _migrate(store: Store, create: bool) -> None:
    """Bring the schema to this version's head (creating it if ``create``), in one write."""
    with reading(store) as conn:
        current = _revision(conn)
    if current == SCHEMA_REVISION:
        return  # the usual case, decided without importing Alembic (~0.4 s)
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    if current == scripts.get_current_head():
        return
    if current is None and not create:
        raise StoreError(f"--store {store.shown}: no store there (ingest a transfer first)")
    if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
        raise StoreError(
            f"--store {store.shown}: made by a newer trialkit (schema {current}); upgrade trialkit"
        )
    with writing(store) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@contextmanager
def _transaction(store: Store, write: bool) -> Iterator[Connection]:
    try:
        with store.engine.connect() as conn:
            if write:
                conn.execution_options(trialkit_write=True)
            elif not store.location.is_sqlite:
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                if write and not store.location.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
                yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"--store {store.shown}: {_problem(exc, store.location)}") from None


def writing(store: Store) -> AbstractContextManager[Connection]:
    """One write transaction, serialised with every other writer of the store."""
    return _transaction(store, write=True)


def reading(store: Store) -> AbstractContextManager[Connection]:
    """One read transaction on a consistent snapshot; it never waits for a writer."""
    return _transaction(store, write=False)
