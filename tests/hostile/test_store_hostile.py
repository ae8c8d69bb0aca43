"""Hostile input to the store's commands: each is one line on stderr and exit 2, no
traceback, the inputs unchanged and nothing written (the SQLite store where it is usable)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.store.helpers import assert_one_line_error, run
from trialkit.resources import example_trials_dir


@pytest.fixture
def trial(tmp_path: Path) -> Path:
    folder = tmp_path / "transfer"
    shutil.copytree(example_trials_dir() / "dhurat2013", folder)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def store(capsys: pytest.CaptureFixture[str], trial: Path, tmp_path: Path) -> str:
    path = str(tmp_path / "store.db")
    assert run(capsys, "ingest", trial, "--store", path)[0] == 0
    return path


def test_unreachable_server(capsys: pytest.CaptureFixture[str], trial: Path) -> None:
    before = _snapshot(trial)
    code, _, err = run(capsys, "ingest", trial, "--store", "postgresql://u:pw@127.0.0.1:1/db")
    assert_one_line_error(code, err, "postgresql://127.0.0.1:1/db", "connection")
    assert "pw" not in err.replace("postgresql", "")
    assert _snapshot(trial) == before


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mysql://u:p@host/db", "unknown scheme 'mysql'"),
        ("postgresql://u:p@host:notaport/db", "not a valid postgresql:// URL"),
        ("postgresql://u:p@host:5432", "names no database"),
    ],
)
def test_wrong_url(capsys: pytest.CaptureFixture[str], trial: Path, url: str, named: str) -> None:
    code, _, err = run(capsys, "ingest", trial, "--store", url)
    assert_one_line_error(code, err, named)
    assert ":p@" not in err


def test_store_is_a_folder_or_not_a_store(
    capsys: pytest.CaptureFixture[str], trial: Path, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "ingest", trial, "--store", tmp_path)
    assert_one_line_error(code, err, "is a folder")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    code, _, err = run(capsys, "diff", "--store", junk)
    assert_one_line_error(code, err, str(junk))
    assert junk.read_bytes() == b"this is not a database" * 100
    code, _, err = run(capsys, "queries", "--store", tmp_path / "missing.db")
    assert_one_line_error(code, err, "missing.db", "no store there")
    assert not (tmp_path / "missing.db").exists()


def test_store_of_another_trial(
    capsys: pytest.CaptureFixture[str], store: str, trial: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(trial, other)
    toml = other / "trial.toml"
    toml.write_text(toml.read_text().replace('id = "DHURAT2013"', 'id = "X2"', 1))
    code, _, err = run(capsys, "ingest", other, "--store", store)
    assert_one_line_error(code, err, "holds trial 'DHURAT2013', not 'X2'")


def test_unknown_query_and_closed_query(capsys: pytest.CaptureFixture[str], store: str) -> None:
    code, _, err = run(capsys, "queries", "answer", "Q0000", "--store", store, "--text", "t")
    assert_one_line_error(code, err, "'Q0000'", "no such query")
    code, _, err = run(capsys, "queries", "close", "Q0000", "--store", store, "--reason", "r")
    assert_one_line_error(code, err, "'Q0000'")


def test_ingest_while_locked_and_lock_errors(
    capsys: pytest.CaptureFixture[str], store: str, trial: Path
) -> None:
    code, _, err = run(capsys, "unlock", "--store", store, "--reason", "r")
    assert_one_line_error(code, err, "no transfer is locked")
    code, _, err = run(capsys, "lock", "--store", store, "--reason", " ")
    assert_one_line_error(code, err, "--reason")
    code, _, err = run(capsys, "lock", "--store", store, "--transfer", "7", "--reason", "r")
    assert_one_line_error(code, err, "no transfer 7")
    assert run(capsys, "lock", "--store", store, "--reason", "final")[0] == 0
    (trial / "assessments.csv").write_text(
        (trial / "assessments.csv").read_text().replace(",124\n", ",125\n", 1)
    )
    code, _, err = run(capsys, "ingest", trial, "--store", store)
    assert_one_line_error(code, err, "transfer 1 is locked")
    code, _, err = run(capsys, "lock", "--store", store, "--reason", "again")
    assert_one_line_error(code, err, "locked already")


def test_bad_transfer_and_import_file(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "export", "--store", store, "--transfer", "locked",
                       "--out", tmp_path / "e")  # fmt: skip
    assert_one_line_error(code, err, "no transfer is locked")
    code, _, err = run(capsys, "export", "--store", store, "--transfer", "x1",
                       "--out", tmp_path / "e")  # fmt: skip
    assert_one_line_error(code, err, "'x1'")
    assert not (tmp_path / "e").exists()
    bad = tmp_path / "answers.csv"
    bad.write_text("query_id,answer\nQ1,yes\n")
    code, _, err = run(capsys, "queries", "import", bad, "--store", store)
    assert_one_line_error(code, err, "answers.csv", "status")
    code, _, err = run(capsys, "queries", "--store", store, "--status", "pending")
    assert_one_line_error(code, err, "'pending'")


def test_separator_in_a_cell(
    capsys: pytest.CaptureFixture[str], trial: Path, tmp_path: Path
) -> None:
    ae = trial / "adverse_events.csv"
    ae.write_text(ae.read_text().replace("Scalp itching", "Scalp\x1fitching", 1))
    code, _, err = run(capsys, "ingest", trial, "--store", tmp_path / "s.db")
    assert_one_line_error(code, err, "adverse_events", "row 1", "AETERM")


@pytest.mark.parametrize("mark", ["\x1d", "\x1e", "\x1f"])
def test_a_cell_holding_a_store_separator(
    capsys: pytest.CaptureFixture[str], trial: Path, tmp_path: Path, mark: str
) -> None:
    path = trial / "assessments.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace(",", f",x{mark}y", 1)  # the second column of file row 3
    path.write_text("".join(lines), encoding="utf-8")
    column = lines[0].split(",")[1].strip()
    code, _, err = run(capsys, "ingest", trial, "--store", str(tmp_path / "new.db"))
    assert_one_line_error(code, err, "'assessments'", "row 3", f"column {column}", "0x1D-0x1F")
    assert not (tmp_path / "new.db").exists()  # refused before the store is made
