"""Reproducibility (issue 6): byte-identical reruns, `trialkit verify`, safe output folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trialkit.cli import main
from trialkit.examples.bundled import write_small_trial
from trialkit.manifest import read_manifest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_trial(tmp_path_factory.mktemp("trial") / "t", seed=7, n_per_arm=12)


@pytest.fixture(scope="module")
def analysed(trial: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "out"
    assert main(["analyze", str(trial), "--out", str(out)]) == 0
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_two_runs_write_identical_bytes(trial: Path, analysed: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert main(["analyze", str(trial), "--out", str(again)]) == 0
    first, second = _files(analysed), _files(again)
    assert set(first) == set(second)
    for name in first:
        if name != "manifest.json":  # times live only in the manifest
            assert first[name] == second[name], name
    m1, m2 = read_manifest(analysed), read_manifest(again)
    assert m1["outputs"] == m2["outputs"] and m1["inputs"] == m2["inputs"]


def test_manifest_records_what_a_reviewer_needs(trial: Path, analysed: Path) -> None:
    m = read_manifest(analysed)
    assert m["command"] == "analyze"
    assert {"trial.toml", "subjects.csv", "assessments.csv"} <= set(m["inputs"])
    assert any(name.startswith("schemas/") for name in m["support_files"])
    assert {"numpy", "scipy", "pandas", "statsmodels", "pandera", "jinja2"} <= set(m["libraries"])
    assert "results.json" in m["outputs"] and m["started_at"] <= m["finished_at"]


def test_verify_passes_on_untouched_output(
    analysed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(analysed)]) == 0
    assert "reproduced" in capsys.readouterr().out


def test_changed_input_fails_and_is_named(
    trial: Path, analysed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = tmp_path / "trial"
    moved.mkdir()
    for p in trial.iterdir():
        (moved / p.name).write_bytes(p.read_bytes())
    lines = (moved / "assessments.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    aval = header.index("AVAL")
    row[aval] = str(float(row[aval]) + 1)
    lines[1] = ",".join(row)
    (moved / "assessments.csv").write_text("\n".join(lines) + "\n")
    assert main(["verify", str(analysed), "--trial", str(moved)]) == 1
    out = capsys.readouterr().out
    assert f"{moved / 'assessments.csv'}: input changed" in out
    assert "trial.toml" not in out


def test_changed_number_is_reported_with_its_path(
    analysed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for name, data in _files(analysed).items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    doc = json.loads((copy / "results.json").read_text())
    doc["primary"]["contrasts"][0]["estimate"] += 1e-3
    (copy / "results.json").write_text(json.dumps(doc, indent=2, sort_keys=True))
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "results.json: primary.contrasts[0].estimate:" in out
    assert "output changed since the run" in out
    # within a loose enough tolerance the rerun agrees; the hand edit is still named
    assert main(["verify", str(copy), "--rtol", "1"]) == 1
    out = capsys.readouterr().out
    assert "primary.contrasts[0].estimate" not in out and "results.json: output changed" in out


def test_verify_without_manifest_is_unusable(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("{}")
    assert main(["verify", str(tmp_path)]) == 2
    assert main(["verify", str(tmp_path / "absent")]) == 2


def test_existing_output_is_not_overwritten(trial: Path, analysed: Path) -> None:
    before = _files(analysed)
    assert main(["analyze", str(trial), "--out", str(analysed)]) == 2
    assert _files(analysed) == before


def test_killed_run_leaves_no_partial_output(trial: Path, tmp_path: Path) -> None:
    """Kill `trialkit analyze` at several moments: OUT is either absent or complete."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    for delay in (0.5, 2.0, 4.0):
        out = tmp_path / f"out{delay}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "trialkit", "analyze", str(trial), "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if out.exists():  # finished before the kill: then it is whole
            assert (out / "manifest.json").is_file()
            assert main(["verify", str(out)]) == 0
    for entry in tmp_path.iterdir():  # anything else is a hidden staging folder, never OUT
        assert entry.name.startswith("out") or (
            entry.name.startswith(".out") and entry.name.endswith(".partial")
        ), entry.name


def test_rerun_passes_the_recorded_options_back(
    trial: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every option the manifest records reaches the rerun (the earlier looks included, read
    relative to the analysis folder)."""
    from trialkit import verify

    seen: dict[str, object] = {}

    class Written:
        def files(self) -> dict[str, bytes]:
            return {"results.json": b"{}"}

    def fake_analyze(trial_dir: Path, **kwargs: object) -> Written:
        seen.update(kwargs, trial_dir=trial_dir)
        return Written()

    monkeypatch.setattr("trialkit.analysis.run.analyze", fake_analyze)
    options = {"allow_errors": True, "dummy_seed": 3, "previous_looks": ["../look1"]}
    manifest = {"options": options, "cutoff": "2030-01-01"}
    out = tmp_path / "look2"
    assert verify._rerun(manifest, trial, out) == {"results.json": b"{}"}  # in memory only
    assert seen["previous_looks"] == [out / "../look1"]
    assert seen["allow_errors"] is True and seen["dummy_seed"] == 3
    assert str(seen["cutoff"]) == "2030-01-01"
