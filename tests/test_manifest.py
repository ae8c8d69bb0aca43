"""Run manifests: input and output hashes, versions, and detection of changed inputs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trialkit.errors import InputError
from trialkit.manifest import (
    RunInfo,
    build_manifest,
    changed_inputs,
    read_manifest,
    write_manifest,
)


def _run(tmp_path: Path) -> tuple[Path, Path, dict[str, object]]:
    trial = tmp_path / "trial"
    trial.mkdir()
    (trial / "trial.toml").write_text("x = 1\n")
    (trial / "subjects.csv").write_text("USUBJID\nS1\n")
    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "results.json").write_text("{}\n")
    (out / "tables" / "t.csv").write_text("a\n1\n")
    run = RunInfo(command="analyze", trial_dir=trial, options={"allow_errors": False}, cutoff=None)
    manifest = build_manifest(
        run,
        out,
        inputs=[trial / "trial.toml", trial / "subjects.csv"],
        support_files={},
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    write_manifest(out, manifest)
    return trial, out, manifest


def test_manifest_records_hashes_and_versions(tmp_path: Path) -> None:
    _trial, out, manifest = _run(tmp_path)
    assert manifest["inputs"] == {
        "subjects.csv": hashlib.sha256(b"USUBJID\nS1\n").hexdigest(),
        "trial.toml": hashlib.sha256(b"x = 1\n").hexdigest(),
    }
    assert set(manifest["outputs"]) == {"results.json", "tables/t.csv"}  # type: ignore[arg-type]
    assert "numpy" in manifest["libraries"]  # type: ignore[operator]
    assert read_manifest(out)["command"] == "analyze"


def test_changed_input_is_named(tmp_path: Path) -> None:
    trial, out, _ = _run(tmp_path)
    assert changed_inputs(read_manifest(out)) == []
    (trial / "subjects.csv").write_text("USUBJID\nS2\n")
    (trial / "trial.toml").unlink()
    problems = changed_inputs(read_manifest(out))
    assert problems == [
        f"{trial / 'subjects.csv'}: input changed since the run (SHA-256 differs)",
        f"{trial / 'trial.toml'}: input is missing",
    ]


def test_missing_manifest_is_unusable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no manifest"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot be read"):
        read_manifest(tmp_path)
