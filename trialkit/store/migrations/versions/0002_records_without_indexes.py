"""Records without secondary indexes: an ingest writes a million record versions, and keeping
three indexes on them took longer than writing them; every read of records (diff, export,
audit, verify, ingest) reads a large part of the table, which a scan does as fast.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "records_added_in": ["added_in"],
    "records_removed_in": ["removed_in"],
    "records_subject": ["subject"],
}


def upgrade() -> None:
    """Drop the record indexes."""
    for name in INDEXES:
        op.drop_index(name, table_name="records")


def downgrade() -> None:
    """Create them again."""
    for name, columns in INDEXES.items():
        op.create_index(name, "records", columns)
