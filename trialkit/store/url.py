"""Parse ``--store``: a path (an SQLite file) or a ``postgresql://`` URL, shown without secrets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trialkit.errors import StoreError

#: URL schemes accepted for a server store, all served by the psycopg driver.
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


@dataclass(frozen=True)
class StoreURL:
    """Where a store lives: ``url`` is what SQLAlchemy opens, ``shown`` is safe to print."""

    url: str
    shown: str
    path: Path | None  # the SQLite file, None for a server

    @property
    def is_sqlite(self) -> bool:
        """True for an embedded SQLite store."""
        return self.path is not None


def parse_store_url(text: str) -> StoreURL:
    """``text`` as a store location; an unknown scheme or a malformed URL is a StoreError."""
    from sqlalchemy.engine import URL, make_url
    from sqlalchemy.exc import ArgumentError

    if "://" not in text:
        path = Path(text).expanduser().absolute()
        if path.is_dir():
            raise StoreError(f"--store {path}: is a folder; give a database file or a URL")
        return StoreURL(url=f"sqlite:///{path}", shown=str(path), path=path)
    scheme = text.split("://", 1)[0].lower()
    if scheme not in POSTGRES_SCHEMES:
        shown_scheme = scheme if scheme.isascii() and scheme.isprintable() else "?"
        raise StoreError(
            f"--store: unknown scheme {shown_scheme!r}; give a file path or a postgresql:// URL"
        )
    try:
        url = make_url("postgresql+psycopg://" + text.split("://", 1)[1])
        _ = url.port  # a port that is not a number fails here
    except (ArgumentError, ValueError):
        raise StoreError("--store: not a valid postgresql:// URL") from None
    if not url.database:
        raise StoreError("--store: the postgresql:// URL names no database (…/DBNAME)")
    bare = URL.create("postgresql", host=url.host, port=url.port, database=url.database)
    return StoreURL(
        url=url.render_as_string(hide_password=False), shown=bare.render_as_string(), path=None
    )


def store_inputs(text: str) -> list[tuple[Path, str]]:
    """The store's file as an input an output folder may not be or hold (none for a server)."""
    path = parse_store_url(text).path
    return [] if path is None else [(path, "the store")]
