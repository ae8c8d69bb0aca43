"""The trial data store: transfers, record versions, queries, lock and a hash-chained audit trail.

One SQLAlchemy Core code path serves an embedded SQLite file and a PostgreSQL server; the
schema is created and upgraded by the Alembic migrations shipped in ``migrations/``.
See ``docs/store.md``.
"""
