"""A report built from the wrong results, and collected text that a spreadsheet would run."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from trialkit.cli import main
from trialkit.resources import example_trials_dir

FORMULA = '=HYPERLINK("http://evil.example/","click")'


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """dhurat2013 with a formula as an AE term and a site-reported value, analysed once."""
    root = tmp_path_factory.mktemp("formula")
    trial = root / "trial"
    shutil.copytree(example_trials_dir() / "dhurat2013", trial)
    ae = pd.read_csv(trial / "adverse_events.csv", dtype=str, keep_default_na=False)
    ae.loc[0, ["AETERM", "AEDECOD"]] = FORMULA
    ae.loc[1, "AETERM"] = "-1 dose missed"
    ae.to_csv(trial / "adverse_events.csv", index=False)
    assert main(["analyze", str(trial), "--out", str(root / "analysis")]) == 0
    return trial, root / "analysis"


def cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def test_formula_cells_are_text_in_csv_outputs(analysed: tuple[Path, Path]) -> None:
    _, analysis = analysed
    adae = cells(analysis / "adam" / "adae.csv")
    assert "'" + FORMULA in adae and FORMULA not in adae
    assert "'-1 dose missed" in adae
    for path in [*analysis.rglob("*.csv")]:
        risky = [c for c in cells(path) if c[:1] in ("=", "@", "+") or c[:1] in ("\t", "\r")]
        assert risky == [], f"{path}: {risky[:3]}"


def test_results_json_keeps_the_exact_value(analysed: tuple[Path, Path]) -> None:
    _, analysis = analysed
    text = (analysis / "results.json").read_text(encoding="utf-8")
    assert "'=HYPERLINK" not in text  # neutralising is for CSV files only


def test_report_shows_the_collected_text(analysed: tuple[Path, Path], tmp_path: Path) -> None:
    trial, analysis = analysed
    out = tmp_path / "report"
    args = ["report", str(trial), "--out", str(out), "--results", str(analysis), "--format", "html"]
    assert main(args) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "=HYPERLINK(&#34;http" in html or "=HYPERLINK(&quot;http" in html
    assert "&#39;=HYPERLINK" not in html and "'=HYPERLINK" not in html


def test_query_listing_neutralises_formulas(tmp_path: Path) -> None:
    trial = tmp_path / "trial"
    shutil.copytree(example_trials_dir() / "dhurat2013", trial)
    subjects = pd.read_csv(trial / "subjects.csv", dtype=str, keep_default_na=False)
    subjects.loc[0, "SEX"] = "=1+1"  # not a valid sex: a finding that quotes the value
    subjects.to_csv(trial / "subjects.csv", index=False)
    assert main(["validate", str(trial), "--out", str(tmp_path / "q")]) == 1
    listing = cells(tmp_path / "q" / "query_listing.csv")
    assert "'=1+1" in listing and "=1+1" not in listing


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("trialkit: error: ")
    return err[0]


def test_report_refuses_results_of_another_trial(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, analysis = analysed
    other = example_trials_dir() / "tk_aga_301"
    out = tmp_path / "report"
    args = ["report", str(other), "--out", str(out), "--results", str(analysis)]
    assert main(args) == 2
    line = _one_line(capsys)
    assert "DHURAT2013" in line and "TK-AGA-301" in line and not out.exists()


def test_report_refuses_results_of_changed_data(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial, analysis = analysed
    changed = tmp_path / "trial"
    shutil.copytree(trial, changed)
    with (changed / "assessments.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    out = tmp_path / "report"
    assert main(["report", str(changed), "--out", str(out), "--results", str(analysis)]) == 2
    assert "assessments.csv" in _one_line(capsys) and not out.exists()


def test_report_refuses_results_without_manifest(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial, analysis = analysed
    bare = tmp_path / "bare"
    shutil.copytree(analysis, bare)
    (bare / "manifest.json").unlink()
    out = tmp_path / "report"
    assert main(["report", str(trial), "--out", str(out), "--results", str(bare)]) == 2
    assert "manifest.json" in _one_line(capsys) and not out.exists()


def test_report_refuses_a_results_file_that_is_not_json(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial, analysis = analysed
    bad = tmp_path / "bad"
    shutil.copytree(analysis, bad)
    (bad / "results.json").write_text(json.dumps([1, 2]) + "garbage")
    assert main(["report", str(trial), "--out", str(tmp_path / "r"), "--results", str(bad)]) == 2
    assert "results.json" in _one_line(capsys)


def test_report_refuses_another_schema_version(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial, analysis = analysed
    old = tmp_path / "old"
    shutil.copytree(analysis, old)
    data = json.loads((old / "results.json").read_text(encoding="utf-8"))
    data["schema_version"] = "0"
    (old / "results.json").write_text(json.dumps(data), encoding="utf-8")
    assert main(["report", str(trial), "--out", str(tmp_path / "r"), "--results", str(old)]) == 2
    line = _one_line(capsys)
    assert "schema_version '0'" in line and "schema_version '1'" in line
