"""Shared fixtures: a small generated trial, a fake analysis output, rendered reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from trialkit.definition import load_definition
from trialkit.examples import write_small_trial
from trialkit.report import AnalysisOutput, ReportOptions, build_report

from .fake_results import write_fake_results

EVIL = "<script>alert('x')</script>"
CUTOFF = date(2030, 1, 1)


@pytest.fixture(scope="session")
def small_trial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh small trial folder (trial.toml and CSV datasets)."""
    return write_small_trial(tmp_path_factory.mktemp("trial") / "trial", seed=11)


@pytest.fixture(scope="session")
def fake_results(small_trial: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake ``trialkit analyze`` output with a script tag in an adverse-event term."""
    return write_fake_results(small_trial, tmp_path_factory.mktemp("res") / "results", ae_term=EVIL)


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
    return build_report(load_definition(trial), AnalysisOutput.load(results), options, trial)


@pytest.fixture(scope="session")
def html_reports(small_trial: Path, fake_results: Path) -> dict[str, str]:
    """The final, open and closed reports' HTML."""
    return {
        "final": render(small_trial, fake_results),
        "open": render(small_trial, fake_results, "interim", blinded=True),
        "closed": render(small_trial, fake_results, "interim", blinded=False),
    }
