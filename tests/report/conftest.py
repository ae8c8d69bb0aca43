"""Shared fixtures: a small generated trial, its analysis, rendered reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from trialkit.definition import load_definition
from trialkit.examples import write_small_trial
from trialkit.report import AnalysisOutput, ReportOptions, build_report

from .analysis_results import plant_ae_term, write_test_results

EVIL = "<script>alert('x')</script>"
CUTOFF = date(2030, 1, 1)


@pytest.fixture(scope="session")
def small_trial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh small trial folder (trial.toml and CSV datasets) whose first adverse event is a
    serious one with a script tag as its term."""
    trial = write_small_trial(tmp_path_factory.mktemp("trial") / "trial", seed=11)
    plant_ae_term(trial, EVIL)
    return trial


@pytest.fixture(scope="session")
def analysis_output(small_trial: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``trialkit analyze``'s output of the small trial (a script tag in an adverse-event term)."""
    return write_test_results(small_trial, tmp_path_factory.mktemp("res") / "results")


def render(trial: Path, results: Path, kind: str = "final", blinded: bool = False) -> str:
    """HTML of a report from a results folder (fixed generation time)."""
    from datetime import UTC, datetime

    options = ReportOptions(
        kind="interim" if kind == "interim" else "final",
        blinded=blinded,
        cutoff=CUTOFF if kind == "interim" else None,
        generated=datetime(2030, 1, 2, tzinfo=UTC),
        input_hashes={"subjects.csv": "ab" * 32},
    )
    return build_report(load_definition(trial), AnalysisOutput.load(results), options)


@pytest.fixture(scope="session")
def html_reports(small_trial: Path, analysis_output: Path) -> dict[str, str]:
    """The final, open and closed reports' HTML."""
    return {
        "final": render(small_trial, analysis_output),
        "open": render(small_trial, analysis_output, "interim", blinded=True),
        "closed": render(small_trial, analysis_output, "interim", blinded=False),
    }
