"""The store's guarantees on both backends: a killed ingest changes nothing, concurrent
ingests are serialised, tampering is found by ``store verify``, the migrations give the
schema the code uses, and credentials are never printed or written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.store.helpers import run, same_records
from trialkit.store.connection import open_store, reading
from trialkit.store.schema import metadata

#: Runs an ingest that, once every record is written but before the commit, touches FLAG and
#: sleeps PAUSE seconds (the test's own hook; trialkit has none).
PAUSED_INGEST = """
import sys, time
from pathlib import Path
import trialkit.store.ingest as ingest
store, folder, flag, pause = sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])
real = ingest.apply_findings
def paused(*args, **kwargs):
    result = real(*args, **kwargs)
    flag.write_text("written")
    time.sleep(pause)
    return result
ingest.apply_findings = paused
print(ingest.ingest(store, Path(folder), "proc").transfer)
"""


def _paused_ingest(store: str, folder: Path, flag: Path, pause: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PAUSED_INGEST, store, str(folder), str(flag), str(pause)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(flag: Path, proc: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not flag.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the ingest never reached its pause"
        time.sleep(0.05)


def _transfer_numbers(store: str) -> list[int]:
    opened = open_store(store)
    with reading(opened) as conn:
        return [int(n) for n in conn.execute(sa.text("SELECT number FROM transfers")).scalars()]


@pytest.mark.slow
def test_killed_ingest_leaves_the_store_unchanged(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path], tmp_path: Path
) -> None:
    assert run(capsys, "ingest", transfers[0], "--store", store_url)[0] == 0
    flag = tmp_path / "flag"
    proc = _paused_ingest(store_url, transfers[1], flag, 60)
    _wait_for(flag, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _transfer_numbers(store_url) == [1]
    code, out, err = run(capsys, "store", "verify", "--store", store_url)
    assert code == 0, out + err
    run(capsys, "export", "--store", store_url, "--out", tmp_path / "after")
    same_records(transfers[0], tmp_path / "after")
    code, out, err = run(capsys, "ingest", transfers[1], "--store", store_url)
    assert code == 0 and "transfer 2 stored" in out, err


@pytest.mark.slow
def test_concurrent_ingests_are_serialised(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path], tmp_path: Path
) -> None:
    assert run(capsys, "ingest", transfers[0], "--store", store_url)[0] == 0
    first = _paused_ingest(store_url, transfers[1], tmp_path / "flag1", 3)
    _wait_for(tmp_path / "flag1", first)
    second = _paused_ingest(store_url, transfers[2], tmp_path / "flag2", 0)
    # a reader is not blocked while the first ingest holds the write lock
    code, _, err = run(capsys, "queries", "--store", store_url)
    assert code == 0, err
    assert first.poll() is None  # the reader ran while the writer was still in its transaction
    assert first.wait(timeout=120) == 0, first.communicate()
    assert second.wait(timeout=120) == 0, second.communicate()
    assert first.communicate()[0].strip() == "2"
    assert second.communicate()[0].strip() == "3"
    assert sorted(_transfer_numbers(store_url)) == [1, 2, 3]
    assert run(capsys, "store", "verify", "--store", store_url)[0] == 0
    for number, folder in enumerate(transfers, start=1):
        out_dir = tmp_path / f"export{number}"
        run(capsys, "export", "--store", store_url, "--transfer", number, "--out", out_dir)
        same_records(folder, out_dir)


def _raw(store: str, sql: str) -> None:
    opened = open_store(store)
    with opened.engine.begin() as conn:
        conn.execute(sa.text(sql))


def test_tampered_audit_entry_is_named(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path]
) -> None:
    for folder in transfers[:2]:
        assert run(capsys, "ingest", folder, "--store", store_url)[0] == 0
    assert run(capsys, "store", "verify", "--store", store_url)[0] == 0
    _raw(store_url, "UPDATE audit SET user_name = 'mallory' WHERE seq = 3")
    code, out, _ = run(capsys, "store", "verify", "--store", store_url)
    assert code == 1
    assert "NOT verified: audit entry 3 (records, " in out and "does not match its hash" in out


def test_tampered_record_is_named(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path]
) -> None:
    for folder in transfers[:2]:
        assert run(capsys, "ingest", folder, "--store", store_url)[0] == 0
    _raw(store_url, "UPDATE records SET cells = replace(cells, '130', '131') "
                    "WHERE dataset = 'assessments' AND added_in = 2")  # fmt: skip
    code, out, _ = run(capsys, "store", "verify", "--store", store_url)
    assert code == 1
    assert "audit entry 10 (records, transfer 2)" in out and "assessments do not match" in out


def test_tampered_query_status_is_named(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path]
) -> None:
    assert run(capsys, "ingest", transfers[0], "--store", store_url)[0] == 0
    _raw(store_url, "UPDATE queries SET status = 'closed'")
    code, out, _ = run(capsys, "store", "verify", "--store", store_url)
    assert code == 1 and "is 'closed' in the store, not 'open'" in out


def test_migrations_give_the_schema_of_the_code(store_url: str, transfers: list[Path]) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    opened = open_store(store_url, create=True)
    with reading(opened) as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0003"


def test_schema_revision_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from trialkit.store.connection import MIGRATIONS
    from trialkit.store.schema import SCHEMA_REVISION

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_a_current_store_opens_without_alembic(store_url: str) -> None:
    open_store(store_url, create=True)
    code = (
        "import sys; from trialkit.store.connection import open_store; "
        f"open_store({store_url!r}); print(sorted(m for m in sys.modules if 'alembic' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_store_of_the_first_schema_is_upgraded_and_verifies(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path]
) -> None:
    from alembic import command
    from alembic.config import Config

    from trialkit.store.connection import MIGRATIONS, writing

    assert run(capsys, "ingest", transfers[0], "--store", store_url)[0] == 0
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    opened = open_store(store_url)
    with writing(opened) as conn:  # back to schema 0001, with its record indexes
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    with reading(opened) as conn:
        assert "records_subject" in {i["name"] for i in sa.inspect(conn).get_indexes("records")}
    assert run(capsys, "ingest", transfers[1], "--store", store_url)[0] == 0
    with reading(open_store(store_url)) as conn:
        assert sa.inspect(conn).get_indexes("records") == []
    code, out, _ = run(capsys, "store", "verify", "--store", store_url)
    assert code == 0, out
    assert run(capsys, "diff", "--store", store_url)[0] == 0


def _sqlite_indexes(store: str) -> set[str]:
    """The indexes SQLite keeps on ``records`` (its own ones too), read without migrating."""
    import sqlite3

    with closing(sqlite3.connect(store)) as conn:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'"
        return {row[0] for row in conn.execute(sql)}


def test_a_store_of_schema_0002_is_upgraded_to_rowid_records_and_verifies(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path], tmp_path: Path
) -> None:
    from alembic import command
    from alembic.config import Config

    from trialkit.store.connection import MIGRATIONS, writing

    sqlite = not store_url.startswith("postgresql")
    assert run(capsys, "ingest", transfers[0], "--store", store_url)[0] == 0
    if sqlite:
        assert _sqlite_indexes(store_url) == set()  # id is the rowid: no index beside the table
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    opened = open_store(store_url)
    with writing(opened) as conn:  # back to schema 0002: a BIGINT id with its own index
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    if sqlite:
        assert _sqlite_indexes(store_url) == {"sqlite_autoindex_records_1"}
    assert run(capsys, "ingest", transfers[1], "--store", store_url)[0] == 0  # upgraded first
    if sqlite:
        assert _sqlite_indexes(store_url) == set()
    code, out, _ = run(capsys, "store", "verify", "--store", store_url)
    assert code == 0, out
    for number, folder in enumerate(transfers[:2], start=1):
        out_dir = tmp_path / f"export{number}"
        run(capsys, "export", "--store", store_url, "--transfer", number, "--out", out_dir)
        same_records(folder, out_dir)


def test_migrations_ship_inside_the_package() -> None:
    import trialkit.store

    folder = Path(trialkit.store.__file__).parent / "migrations"
    assert (folder / "env.py").is_file() and (folder / "versions" / "0001_initial.py").is_file()


def test_credentials_never_printed_or_written(
    capsys: pytest.CaptureFixture[str], postgres_url: str, transfers: list[Path], tmp_path: Path
) -> None:
    url = sa.engine.make_url(postgres_url)
    secret = "s3cr3t-Pa55"
    with_secret = url.set(password=secret).render_as_string(hide_password=False)
    outputs = []
    for args in (
        ("ingest", transfers[0]), ("ingest", transfers[1]), ("diff", "--out", tmp_path / "d"),
        ("audit", "--out", tmp_path / "a"), ("queries", "--out", tmp_path / "q"),
        ("export", "--out", tmp_path / "e"), ("store", "verify"), ("ingest", transfers[1]),
        ("queries", "answer", "QNOSUCH", "--text", "x"),
    ):  # fmt: skip
        code, out, err = run(capsys, *args, "--store", with_secret)
        outputs.append(out + err)
    unreachable = url.set(password=secret, port=1).render_as_string(hide_password=False)
    code, out, err = run(capsys, "ingest", transfers[0], "--store", unreachable)
    assert code == 2
    outputs.append(out + err)
    assert all(secret not in text for text in outputs)
    assert f"{url.username}@" not in err and f"{url.username}:" not in err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    opened = open_store(with_secret)
    with reading(opened) as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                assert secret not in repr(tuple(row)), table.name
