"""The bundled example trials: clean ones have no error finding; every planted problem is found."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trialkit.resources import example_trials_dir
from trialkit.validation import validate_trial


def _trials() -> list[Path]:
    try:
        root = example_trials_dir()
    except FileNotFoundError:
        return []
    return sorted(p for p in root.iterdir() if (p / "trial.toml").exists())


CLEAN = [p for p in _trials() if not (p / "planted_problems.csv").exists()]
DIRTY = [p for p in _trials() if (p / "planted_problems.csv").exists()]


@pytest.mark.parametrize("trial", CLEAN, ids=[p.name for p in CLEAN])
def test_clean_example_has_no_error_finding(trial: Path) -> None:
    report = validate_trial(trial)
    errors = report.findings[report.findings["severity"] == "error"]
    assert errors.empty, errors.to_string()


@pytest.mark.parametrize("trial", DIRTY, ids=[p.name for p in DIRTY])
def test_every_planted_problem_is_found(trial: Path) -> None:
    planted = pd.read_csv(trial / "planted_problems.csv", dtype="str", keep_default_na=False)
    findings = validate_trial(trial).findings
    keys = ["rule", "dataset", "USUBJID", "column"]
    found = planted[keys].merge(findings[keys].drop_duplicates(), how="left", indicator=True)
    missing = planted[(found["_merge"] == "left_only").to_numpy()]
    assert missing.empty, f"planted problems not reported:\n{missing.to_string()}"


@pytest.mark.parametrize("trial", DIRTY, ids=[p.name for p in DIRTY])
def test_every_finding_was_planted(trial: Path) -> None:
    """planted_problems.csv is the complete list: one row per finding, nothing unexpected."""
    planted = pd.read_csv(trial / "planted_problems.csv", dtype="str", keep_default_na=False)
    findings = validate_trial(trial).findings
    keys = ["rule", "dataset", "USUBJID", "column"]
    found = findings[keys].fillna("").astype(str)
    extra = found.merge(planted[keys], how="left", indicator=True)
    assert (extra["_merge"] == "both").all(), extra[extra["_merge"] == "left_only"].to_string()
    assert len(findings) == len(planted)
