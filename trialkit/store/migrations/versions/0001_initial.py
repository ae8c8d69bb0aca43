"""The first store schema: store_info, transfers, layouts, records, queries, audit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables and the indexes diff, export and audit read by."""
    op.create_table(
        "store_info",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trial_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("locked_transfer", sa.Integer, nullable=True),
    )
    op.create_table(
        "transfers",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ingested_at", sa.String(40), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("trial_toml", sa.Text, nullable=False),
    )
    op.create_table(
        "layouts",
        sa.Column("transfer", sa.Integer, sa.ForeignKey("transfers.number"), primary_key=True),
        sa.Column("dataset", sa.String(64), primary_key=True),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("record_order", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("record_key", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("cells", sa.Text, nullable=False),
        sa.Column("added_in", sa.Integer, nullable=False),
        sa.Column("removed_in", sa.Integer, nullable=True),
    )
    op.create_index("records_added_in", "records", ["added_in"])
    op.create_index("records_removed_in", "records", ["removed_in"])
    op.create_index("records_subject", "records", ["subject"])
    op.create_table(
        "queries",
        sa.Column("query_id", sa.String(20), primary_key=True),
        sa.Column("rule", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("record_key", sa.Text, nullable=False),
        sa.Column("column_name", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_transfer", sa.Integer, nullable=False),
        sa.Column("closed_transfer", sa.Integer, nullable=True),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("last_seen", sa.Integer, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("transfer", sa.Integer, nullable=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.create_index("audit_subject", "audit", ["subject"])
