"""Alembic migrations of the store schema, run from code by ``trialkit.store.connection``."""
