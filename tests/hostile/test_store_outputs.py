"""An output folder of a store command may not be or hold the store it reads: with --force on
an earlier trialkit output that holds the SQLite file, each command refuses (exit 2, one line)
and the store is untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import assert_clean_run, watch
from tests.store.helpers import run as run_store


@pytest.fixture
def held_store(capsys: pytest.CaptureFixture[str], work: Path) -> str:
    """A store inside an earlier trialkit output folder (``earlier/s.db``)."""
    assert run_store(capsys, "ingest", "trial", "--store", "first.db")[0] == 0
    assert run_store(capsys, "export", "--store", "first.db", "--out", "earlier")[0] == 0
    assert run_store(capsys, "ingest", "trial", "--store", "earlier/s.db")[0] == 0
    return "earlier/s.db"


@pytest.mark.parametrize(
    "command",
    [
        ["export"],
        ["diff"],
        ["audit"],
        ["queries"],
        ["analyze"],
    ],
)
def test_force_never_replaces_the_folder_holding_the_store(
    capsys: pytest.CaptureFixture[str], work: Path, held_store: str, command: list[str]
) -> None:
    before = watch(Path.cwd())
    code, out, err = run_store(capsys, *command, "--store", held_store, "--out", "earlier",
                               "--force")  # fmt: skip
    line = assert_clean_run(
        code, err, expected_code=2, names=["earlier", "the store"], before=before, stdout=out
    )
    assert "contains the store" in line
