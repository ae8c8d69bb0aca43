"""Hostile input to the store's commands: each is one line on stderr and exit 2, no
traceback, the inputs unchanged and nothing written (the SQLite store where it is usable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import assert_clean_run, watch
from tests.store.helpers import run as run_store


@pytest.fixture
def trial(work: Path) -> Path:
    return work / "trial"


@pytest.fixture
def store(capsys: pytest.CaptureFixture[str], work: Path) -> str:
    path = str(work / "store.db")
    assert run_store(capsys, "ingest", "trial", "--store", path)[0] == 0
    return path


def refused(capsys: pytest.CaptureFixture[str], *args: object, named: list[str]) -> str:
    """``trialkit ARGS`` in the work folder: exit 2, one line naming ``named``, nothing
    written or changed (the store included); the line."""
    before = watch(Path.cwd())
    code, out, err = run_store(capsys, *args)
    return assert_clean_run(code, err, expected_code=2, names=named, before=before, stdout=out)


def test_unreachable_server(capsys: pytest.CaptureFixture[str], trial: Path) -> None:
    url, named = "postgresql://u:pw@127.0.0.1:1/db", ["postgresql://127.0.0.1:1/db", "connection"]
    line = refused(capsys, "ingest", trial, "--store", url, named=named)
    assert "pw" not in line.replace("postgresql", "")


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mysql://u:p@host/db", "unknown scheme 'mysql'"),
        ("postgresql://u:p@host:notaport/db", "not a valid postgresql:// URL"),
        ("postgresql://u:p@host:5432", "names no database"),
    ],
)
def test_wrong_url(capsys: pytest.CaptureFixture[str], trial: Path, url: str, named: str) -> None:
    assert ":p@" not in refused(capsys, "ingest", trial, "--store", url, named=[named])


def test_store_is_a_folder_or_not_a_store(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    refused(capsys, "ingest", "trial", "--store", work, named=["is a folder"])
    junk = work / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    refused(capsys, "diff", "--store", junk, named=[str(junk)])
    refused(capsys, "queries", "--store", "missing.db", named=["missing.db", "no store there"])


def test_store_of_another_trial(capsys: pytest.CaptureFixture[str], store: str, work: Path) -> None:
    toml = work / "trial" / "trial.toml"
    toml.write_text(toml.read_text().replace('id = "DHURAT2013"', 'id = "X2"', 1))
    refused(capsys, "ingest", "trial", "--store", store,
            named=["holds trial 'DHURAT2013', not 'X2'"])  # fmt: skip


def test_unknown_query_and_closed_query(capsys: pytest.CaptureFixture[str], store: str) -> None:
    refused(capsys, "queries", "answer", "Q0000", "--store", store, "--text", "t",
            named=["'Q0000'", "no such query"])  # fmt: skip
    refused(capsys, "queries", "close", "Q0000", "--store", store, "--reason", "r",
            named=["'Q0000'"])  # fmt: skip


def test_ingest_while_locked_and_lock_errors(
    capsys: pytest.CaptureFixture[str], store: str, trial: Path
) -> None:
    refused(capsys, "unlock", "--store", store, "--reason", "r", named=["no transfer is locked"])
    refused(capsys, "lock", "--store", store, "--reason", " ", named=["--reason"])
    refused(capsys, "lock", "--store", store, "--transfer", "7", "--reason", "r",
            named=["no transfer 7"])  # fmt: skip
    assert run_store(capsys, "lock", "--store", store, "--reason", "final")[0] == 0
    (trial / "assessments.csv").write_text(
        (trial / "assessments.csv").read_text().replace(",124\n", ",125\n", 1)
    )
    refused(capsys, "ingest", trial, "--store", store, named=["transfer 1 is locked"])
    refused(capsys, "lock", "--store", store, "--reason", "again", named=["locked already"])


def test_bad_transfer_and_import_file(
    capsys: pytest.CaptureFixture[str], store: str, work: Path
) -> None:
    refused(capsys, "export", "--store", store, "--transfer", "locked", "--out", "e",
            named=["no transfer is locked"])  # fmt: skip
    refused(capsys, "export", "--store", store, "--transfer", "x1", "--out", "e",
            named=["'x1'"])  # fmt: skip
    bad = work / "answers.csv"
    bad.write_text("query_id,answer\nQ1,yes\n")
    refused(capsys, "queries", "import", bad, "--store", store, named=["answers.csv", "status"])
    refused(capsys, "queries", "--store", store, "--status", "pending", named=["'pending'"])


def test_separator_in_a_cell(capsys: pytest.CaptureFixture[str], trial: Path) -> None:
    ae = trial / "adverse_events.csv"
    ae.write_text(ae.read_text().replace("Scalp itching", "Scalp\x1fitching", 1))
    refused(capsys, "ingest", trial, "--store", "s.db",
            named=["adverse_events", "row 1", "AETERM"])  # fmt: skip


@pytest.mark.parametrize("mark", ["\x1d", "\x1e", "\x1f"])
def test_a_cell_holding_a_store_separator(
    capsys: pytest.CaptureFixture[str], trial: Path, mark: str
) -> None:
    path = trial / "assessments.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace(",", f",x{mark}y", 1)  # the second column of file row 3
    path.write_text("".join(lines), encoding="utf-8")
    column = lines[0].split(",")[1].strip()
    named = ["'assessments'", "row 3", f"column {column}", "0x1D-0x1F"]
    refused(capsys, "ingest", trial, "--store", "new.db", named=named)  # refused before it is made
