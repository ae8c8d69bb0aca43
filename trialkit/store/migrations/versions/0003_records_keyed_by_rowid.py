"""Records keyed by SQLite's rowid: a column ``id INTEGER PRIMARY KEY`` is the key of the
table's own B-tree, where ``BIGINT PRIMARY KEY`` kept a second index beside it that every one
of an ingest's million inserts had to update. PostgreSQL's table is unchanged.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _retype_id(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    """Rebuild SQLite's records table (rows kept) with ``id`` of type ``new``."""
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("records", recreate="always") as batch:
        batch.alter_column("id", existing_type=old, type_=new, existing_nullable=False)


def upgrade() -> None:
    """``id`` becomes SQLite's rowid."""
    _retype_id(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    """``id`` is a BIGINT key again."""
    _retype_id(sa.Integer(), sa.BigInteger())
