"""``analyze --store`` of the locked transfer equals ``analyze`` of the exported folder, its
manifest names the store (no credentials), transfer and content hash, and ``verify`` checks
the same snapshot exported again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.store.helpers import assert_one_line_error, run
from trialkit.store.url import parse_store_url

pytestmark = pytest.mark.slow


def _outputs(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def test_analyze_store_equals_analyze_of_export(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path], tmp_path: Path
) -> None:
    for folder in transfers[:2]:
        assert run(capsys, "ingest", folder, "--store", store_url)[0] == 0
    assert run(capsys, "lock", "--store", store_url, "--transfer", "1", "--reason", "r")[0] == 0
    stored, exported, plain = tmp_path / "stored", tmp_path / "exported", tmp_path / "plain"
    code, out, err = run(capsys, "analyze", "--store", store_url, "--transfer", "locked",
                         "--out", stored, "--allow-errors")  # fmt: skip
    assert code == 0, err
    assert "Results written to" in out
    assert (
        run(capsys, "export", "--store", store_url, "--transfer", "locked", "--out", exported)[0]
        == 0
    )
    code, _, err = run(capsys, "analyze", exported, "--out", plain, "--allow-errors")
    assert code == 0, err
    assert _outputs(stored) == _outputs(plain)
    manifest = json.loads((stored / "manifest.json").read_text())
    assert manifest["store"]["transfer"] == 1
    assert manifest["store"]["url"] == parse_store_url(store_url).shown
    assert "@" not in manifest["store"]["url"] and len(manifest["store"]["content_hash"]) == 64
    assert "store" not in json.loads((plain / "manifest.json").read_text())
    code, out, err = run(capsys, "verify", stored, "--trial", exported)
    assert code == 0, out + err


def test_analyze_needs_one_source(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "analyze", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "TRIAL_DIR")
    code, _, err = run(capsys, "analyze", tmp_path, "--store", tmp_path / "s.db",
                       "--out", tmp_path / "o")  # fmt: skip
    assert_one_line_error(code, err, "not both")
