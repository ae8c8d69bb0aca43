"""Fixtures of the store tests: a fresh store on each backend, and three transfers of the
bundled trial dhurat2013 (records added, changed and removed; a problem fixed and back).

PostgreSQL stores are made on the server ``TRIALKIT_TEST_POSTGRES_URL`` names (``.ci/run``
starts one): one new database per test. Without it the PostgreSQL cases skip, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from trialkit.resources import example_trials_dir

POSTGRES_ENV = "TRIALKIT_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")

#: Assessment rows (0-based) the transfers edit: K1's AVAL goes missing, is fixed and comes
#: back; K2's AVAL changes; K5's AVAL is text (a type error kept as collected).
K0, K1, K5 = 0, 1, 5


def postgres_admin_url() -> str:
    """The test server's URL; missing is a skip outside CI and a failure in CI."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        reason = f"{POSTGRES_ENV} is not set: no PostgreSQL server to test against"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (required in CI; .ci/run starts one)")
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped after the test."""
    import sqlalchemy as sa

    admin = postgres_admin_url()
    name = f"tk_test_{uuid.uuid4().hex[:12]}"
    url = sa.engine.make_url(admin.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield (
            url.set(database=name)
            .render_as_string(hide_password=False)
            .replace("postgresql+psycopg://", "postgresql://", 1)
        )
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store that does not exist yet: an SQLite file path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return str(request.getfixturevalue("postgres_url"))


def _edit(folder: Path, name: str, edit: object) -> None:
    path = folder / f"{name}.csv"
    frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    assert callable(edit)
    frame = edit(frame)
    frame.to_csv(path, index=False)


def _set(row: int, column: str, value: str) -> object:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame

    return edit


def make_transfers(root: Path) -> list[Path]:
    """Three transfers of dhurat2013.

    1: K1's AVAL missing (a query). 2: K1 as collected (closed by data), K0 changed, K5 'abc' (a
    query), an unscheduled assessment added, the first adverse event removed. 3: K1 missing
    again (reopened), the unscheduled assessment removed, a medication's end date changed.
    """
    source = example_trials_dir() / "dhurat2013"
    folders = [root / f"transfer{i}" for i in (1, 2, 3)]
    for folder in folders:
        shutil.copytree(source, folder)
    _edit(folders[0], "assessments", _set(K1, "AVAL", ""))
    _edit(folders[1], "assessments", _set(K0, "AVAL", "130"))
    _edit(folders[1], "assessments", _set(K5, "AVAL", "abc"))
    _edit(
        folders[1],
        "assessments",
        lambda f: pd.concat([f, f.iloc[[2]].assign(VISIT="UNSCHEDULED")], ignore_index=True),
    )
    for folder in folders[1:]:
        _edit(folder, "adverse_events", lambda f: f.iloc[1:])
    _edit(folders[2], "assessments", _set(K0, "AVAL", "130"))
    _edit(folders[2], "assessments", _set(K5, "AVAL", "abc"))
    _edit(folders[2], "assessments", _set(K1, "AVAL", ""))
    _edit(folders[2], "concomitant_medications", _set(0, "CMENDT", "2011-04-20"))
    return folders


@pytest.fixture
def transfers(tmp_path: Path) -> list[Path]:
    """The three transfer folders of :func:`make_transfers`."""
    return make_transfers(tmp_path / "transfers")
