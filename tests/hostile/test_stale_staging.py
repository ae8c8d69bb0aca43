"""What a killed run left beside ``--out`` is cleared by the next run into it: its staging
folder goes, and an earlier output it had set aside (a kill between --force's two renames) is
put back; folders of live runs, links and foreign folders stay."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trialkit.output import MARKER_NAME, staged_output_dir

MARKER = '{"command": "analyze", "version": "0", "written_by": "trialkit"}\n'


def dead_pid() -> int:
    """The id of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def trialkit_folder(path: Path, content: str = "x") -> Path:
    path.mkdir(parents=True)
    (path / MARKER_NAME).write_text(MARKER, encoding="utf-8")
    (path / "results.json").write_text(content, encoding="utf-8")
    return path


def test_a_dead_runs_staging_folder_goes_a_live_ones_stays(tmp_path: Path) -> None:
    dead = trialkit_folder(tmp_path / f".out.abc123.{dead_pid()}.partial")
    live = trialkit_folder(tmp_path / f".out.def456.{os.getpid()}.partial")
    foreign = tmp_path / f".out.ghi789.{dead_pid()}.partial"
    foreign.mkdir()  # no marker: not trialkit's
    (tmp_path / f".out.link.{dead_pid()}.partial").symlink_to(dead)
    with staged_output_dir(tmp_path / "out") as stage:
        (stage / "a.txt").write_text("a", encoding="utf-8")
    assert not dead.exists() and live.is_dir() and foreign.is_dir()
    assert (tmp_path / "out" / "a.txt").is_file()


def test_an_earlier_output_set_aside_by_a_killed_force_is_put_back(tmp_path: Path) -> None:
    holder = tmp_path / f".out.abc123.{dead_pid()}.old"
    trialkit_folder(holder / "out", content="earlier")
    with staged_output_dir(tmp_path / "other") as stage:  # another --out: not touched
        (stage / "b.txt").write_text("b", encoding="utf-8")
    assert holder.is_dir()
    try:
        with staged_output_dir(tmp_path / "out"):
            raise RuntimeError("stop before the end")
    except RuntimeError:
        pass
    assert (tmp_path / "out" / "results.json").read_text(encoding="utf-8") == "earlier"
    assert not holder.exists()
