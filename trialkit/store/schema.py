"""The store's tables (SQLAlchemy 2 Core). Created and changed only by ``migrations/``.

Records are versioned, not copied: a version is valid for transfers ``added_in <= t <
removed_in`` (``removed_in`` empty while current), so a transfer that changes 1% of the
records writes 1% of the rows. Each (transfer, dataset) keeps its column layout and the
order of its records, so a transfer can be written back exactly as it came.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: The migration (``migrations/versions``) these tables are at; a test keeps it Alembic's head.
SCHEMA_REVISION = "0003"

#: One row (id 1): the trial the store belongs to and the locked transfer; ingests lock it.
store_info = Table(
    "store_info",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("trial_id", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("locked_transfer", Integer, nullable=True),
)

transfers = Table(
    "transfers",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("ingested_at", String(40), nullable=False),
    Column("user_name", String(200), nullable=False),
    Column("note", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("files", Text, nullable=False),  # JSON: file name -> SHA-256
    Column("trial_toml", Text, nullable=False),
)

#: The columns (JSON list), source file and record order of one dataset in one transfer.
layouts = Table(
    "layouts",
    metadata,
    Column("transfer", Integer, ForeignKey("transfers.number"), primary_key=True),
    Column("dataset", String(64), primary_key=True),
    Column("columns", Text, nullable=False),
    Column("file_name", String(300), nullable=False),
    Column("record_order", LargeBinary, nullable=False),  # zlib of delta-coded record ids
)

records = Table(
    "records",
    metadata,
    # on SQLite the rowid (INTEGER PRIMARY KEY): no second index to keep (migration 0003)
    Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("dataset", String(64), nullable=False),
    Column("record_key", Text, nullable=False),
    Column("seq", Integer, nullable=False),  # which of the records sharing the key (0, 1, ..)
    Column("subject", Text, nullable=False),
    Column("cells", Text, nullable=False),  # the layout's cells joined by CELL_SEPARATOR
    Column("added_in", Integer, nullable=False),
    Column("removed_in", Integer, nullable=True),
)  # no secondary index: each read scans much of it, and indexes slow ingest (migration 0002)

queries = Table(
    "queries",
    metadata,
    Column("query_id", String(20), primary_key=True),
    Column("rule", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("dataset", String(64), nullable=False),
    Column("record_key", Text, nullable=False),
    Column("column_name", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("opened_transfer", Integer, nullable=False),
    Column("closed_transfer", Integer, nullable=True),
    Column("answer", Text, nullable=False),
    Column("last_seen", Integer, nullable=False),  # the last transfer with its finding
)

#: Append-only; ``entry_hash`` = SHA-256 of the previous entry's hash and this entry's fields.
audit = Table(
    "audit",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("user_name", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("transfer", Integer, nullable=True),
    Column("subject", Text, nullable=False),
    Column("detail", Text, nullable=False),  # JSON
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Index("audit_subject", "subject"),
)
