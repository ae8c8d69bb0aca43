"""``trialkit validate``: exit codes, the written listing, --force, --cutoff; inputs unchanged."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from trialkit.cli import main
from trialkit.definition import TrialDefinition
from trialkit.resources import example_trials_dir
from trialkit.validation import validate_datasets, validate_trial
from trialkit.validation.findings import FINDING_COLUMNS


def _example(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(example_trials_dir() / name, tmp_path / name))


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_dirty_trial_exit_1_listing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = _example("tk_aga_301_dirty", tmp_path)
    before = _digest(trial)
    out = tmp_path / "listing"
    assert main(["validate", str(trial), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "TK005" in printed and "more finding(s)" in printed
    listing = pd.read_csv(out / "query_listing.csv", dtype="str", keep_default_na=False)
    assert tuple(listing.columns) == FINDING_COLUMNS
    assert {"error", "warning"} <= set(listing["severity"])
    html = (out / "query_listing.html").read_text()
    assert "<table" in html and "TK-AGA-301-101-011" in html
    assert _digest(trial) == before, "validation must not change its inputs"
    assert main(["validate", str(trial), "--out", str(out)]) == 2  # exists, no --force
    assert main(["validate", str(trial), "--out", str(out), "--force"]) == 1


def test_row_is_the_1_based_data_row(tmp_path: Path) -> None:
    trial = _example("tk_aga_301_dirty", tmp_path)
    findings = validate_trial(trial).findings
    f = findings[(findings["rule"] == "TK003") & (findings["column"] == "SEX")].iloc[0]
    subjects = pd.read_csv(trial / "subjects.csv", dtype="str")
    assert subjects.loc[int(f["row"]) - 1, "USUBJID"] == f["USUBJID"]
    assert subjects.loc[int(f["row"]) - 1, "SEX"] == f["value"]


def test_clean_trial_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trial = _example("dhurat2013", tmp_path)
    assert main(["validate", str(trial)]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_unusable_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nowhere")]) == 2
    assert "trialkit: error:" in capsys.readouterr().err


def test_cutoff_sets_records_aside(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trial = _example("tk_aga_301_dirty", tmp_path)
    full = validate_trial(trial)
    cutoff = pd.Timestamp(full.datasets["subjects"].frame["RANDDT"].median()).date()
    report = validate_trial(trial, cutoff=cutoff)
    assert report.set_aside["subjects"] > 0 and report.set_aside["assessments"] > 0
    kept = report.datasets["assessments"].frame
    assert (kept["ADT"].dropna() <= pd.Timestamp(cutoff)).all()
    assert len(kept) + report.set_aside["assessments"] == len(full.datasets["assessments"].frame)
    assert len(report.findings) < len(full.findings)
    main(["validate", str(trial), "--cutoff", cutoff.isoformat()])
    assert "records set aside" in capsys.readouterr().out


def test_cutoff_findings_after_it_not_reported(
    definition: TrialDefinition, frames: dict[str, pd.DataFrame]
) -> None:
    ae = frames["adverse_events"].astype({"AESEV": "object"})
    ae.loc[0, "AESEV"] = "HUGE"  # AE starts 2024-01-09
    frames["adverse_events"] = ae
    assert "TK003" in set(validate_datasets(definition, frames).findings["rule"])
    result = validate_datasets(definition, frames, cutoff="2024-01-08")
    assert "TK003" not in set(result.findings["rule"])
    assert result.set_aside["adverse_events"] == 1


def test_html_escapes_values(
    tmp_path: Path, definition: TrialDefinition, frames: dict[str, pd.DataFrame]
) -> None:
    from trialkit.validation.listing import write_html

    subjects = frames["subjects"].copy()
    subjects.loc[0, "SEX"] = "<script>alert(1)</script>"
    findings = validate_datasets(definition, frames | {"subjects": subjects}).findings
    write_html(findings, "summary & <b>", tmp_path / "x.html")
    page = (tmp_path / "x.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
