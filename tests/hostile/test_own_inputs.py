"""Hostile files in trialkit's own outputs read back as inputs: ``results.json``, tables and
``manifest.json`` of an analysis folder (``report --results``, ``verify``, ``export adam``,
``--previous-looks``) and user templates (``--templates``). Only regular files are read: a
FIFO or a folder in their place is refused at once, with exit 2 and one line naming it, never
opened (a FIFO would block the command forever) and never passed over."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import assert_clean_run, watch
from trialkit.cli import main
from trialkit.resources import example_trials_dir

TIMEOUT = 30  # seconds; a command that opens a FIFO blocks, and fails here instead of hanging


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``trial/`` (dhurat2013) and ``analysis/``, its analysis, made once for the module."""
    root = tmp_path_factory.mktemp("own-inputs")
    shutil.copytree(example_trials_dir() / "dhurat2013", root / "trial")
    assert main(["analyze", str(root / "trial"), "--out", str(root / "analysis")]) == 0
    return root


@pytest.fixture
def work(tmp_path: Path, analysed: Path) -> Iterator[Path]:
    """A copy of the trial and its analysis (the analysis of ``trial/`` as recorded)."""
    work = tmp_path / "work"
    shutil.copytree(analysed, work, symlinks=True)
    yield work
    shutil.rmtree(work)  # the suite reads every results.json a test leaves: not a FIFO


def fifo_in_place_of(path: Path) -> Path:
    path.unlink()
    os.mkfifo(path)
    return path


def trialkit(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``trialkit ARGS`` in its own process, ended by a timeout if it blocks."""
    env = {**os.environ, "HOME": str(cwd), "OPENBLAS_NUM_THREADS": "1"}
    env |= {"XDG_CACHE_HOME": str(cwd.parent / "cache"), "MPLCONFIGDIR": str(cwd.parent / "mpl")}
    return subprocess.run(
        [sys.executable, "-m", "trialkit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def refused(args: list[str], cwd: Path, *names: str) -> str:
    """``trialkit ARGS`` in its own process: exit 2 and one line naming ``names``, with the
    checks of every hostile case (nothing written, no staging folder, nothing in $TMPDIR);
    the line."""
    before = watch(cwd)
    result = trialkit(args, cwd)
    return assert_clean_run(
        result.returncode, result.stderr, expected_code=2, names=names, before=before,
        stdout=result.stdout,
    )  # fmt: skip


def report_of(results: str, *extra: str) -> list[str]:
    return ["report", "trial", "--results", results, "--out", "report", "--format", "html", *extra]


def test_report_refuses_a_fifo_results_json(work: Path) -> None:
    fifo_in_place_of(work / "analysis" / "results.json")
    refused(report_of("analysis"), work, "analysis/results.json", "named pipe")


def test_report_refuses_a_fifo_table(work: Path) -> None:
    fifo_in_place_of(work / "analysis" / "tables" / "baseline_characteristics.csv")
    refused(report_of("analysis"), work, "tables/baseline_characteristics.csv", "named pipe")


def test_report_refuses_a_folder_as_results_json(work: Path) -> None:
    (work / "analysis" / "results.json").unlink()
    (work / "analysis" / "results.json").mkdir()
    refused(report_of("analysis"), work, "analysis/results.json", "a folder")


def test_report_refuses_a_fifo_manifest(work: Path) -> None:
    fifo_in_place_of(work / "analysis" / "manifest.json")
    refused(report_of("analysis"), work, "analysis/manifest.json", "named pipe")


def test_verify_refuses_a_fifo_manifest(work: Path) -> None:
    fifo_in_place_of(work / "analysis" / "manifest.json")
    refused(["verify", "analysis"], work, "analysis/manifest.json", "named pipe")


def test_export_refuses_a_fifo_manifest(work: Path) -> None:
    fifo_in_place_of(work / "analysis" / "manifest.json")
    args = ["export", "adam", "analysis", "--out", "pkg"]
    refused(args, work, "analysis/manifest.json", "named pipe")


@pytest.mark.parametrize("name", ["manifest.json", "results.json"])
def test_previous_looks_refuse_a_fifo(work: Path, name: str) -> None:
    fifo_in_place_of(work / "analysis" / name)
    trial = str(example_trials_dir() / "tk_aga_301")  # has an [interim] plan
    args = ["analyze", trial, "--previous-looks", "analysis", "--out", "final"]
    refused(args, work, "analysis", name)


@pytest.mark.parametrize("name", ["report.html.j2", "sections/primary.html.j2", "primary.html.j2"])
def test_a_fifo_template_is_refused(work: Path, name: str) -> None:
    (work / "templates" / "sections").mkdir(parents=True)
    os.mkfifo(work / "templates" / name)
    args = report_of("analysis", "--templates", "templates")
    refused(args, work, f"templates/{name}", "template error: not a regular file")


def test_a_folder_named_as_a_template_is_refused(work: Path) -> None:
    (work / "templates" / "report.html.j2").mkdir(parents=True)
    args = report_of("analysis", "--templates", "templates")
    refused(args, work, "templates/report.html.j2", "not a regular file")
