"""Fixtures of the submission tests: the bundled trials analysed once per session, in memory
(the analysis' own frames) and on disk, and their export packages."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from trialkit.analysis.results import AnalysisResults
from trialkit.cli import main
from trialkit.resources import example_trials_dir


@dataclass
class Exported:
    """A bundled trial, its analysis (folder and in-memory results) and its export."""

    trial: Path
    analysis: Path
    results: AnalysisResults
    export: Path


def export_trial(name: str, root: Path) -> Exported:
    """Copy, analyse and export a bundled trial under ``root`` (XPT and CSV)."""
    from trialkit.analysis.run import write_analysis

    trial = root / name
    shutil.copytree(example_trials_dir() / name, trial)
    analysis, export = root / "analysis", root / "export"
    results = write_analysis(trial, analysis)
    code = main(["export", "adam", str(analysis), "--out", str(export), "--format", "xpt,csv"])
    assert code == 0
    return Exported(trial, analysis, results, export)


@pytest.fixture(scope="session")
def dhurat(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    return export_trial("dhurat2013", tmp_path_factory.mktemp("dhurat"))


@pytest.fixture(scope="session")
def aga(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    return export_trial("tk_aga_301", tmp_path_factory.mktemp("aga"))


@pytest.fixture(scope="session")
def aa(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """tk_aa_201: binary (responder) primary and secondary, vital signs, sham and vehicle."""
    return export_trial("tk_aa_201", tmp_path_factory.mktemp("aa"))


@pytest.fixture
def dhurat_analysis_dir(dhurat: Exported) -> Path:
    return dhurat.analysis
