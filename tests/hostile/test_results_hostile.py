"""A report built from the wrong results, and collected text that a spreadsheet would run."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest

from tests.hostile.conftest import assert_clean_run, run_clean, watch
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
    args = ["analyze", str(trial), "--out", str(root / "analysis")]
    run_clean(args, watched=[root], outputs=[root / "analysis"], tmpdir=root / "tmpdir")
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


def report(
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    expected_code: int,
    names: list[str],
    watched: list[Path],
    outputs: Sequence[Path] = (),
) -> str:
    """``trialkit ARGS`` with the checks of every case (``watched`` folders unchanged but for
    ``outputs``); the stderr line."""
    before = watch(*watched)
    code = main(args)
    captured = capsys.readouterr()
    return assert_clean_run(
        code, captured.err, expected_code=expected_code, names=names, before=before,
        outputs=outputs, stdout=captured.out,
    )  # fmt: skip


def test_report_shows_the_collected_text(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial, analysis = analysed
    out = tmp_path / "report"
    args = ["report", str(trial), "--out", str(out), "--results", str(analysis), "--format", "html"]
    report(capsys, args, 0, [], [tmp_path, trial.parent], [out])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "=HYPERLINK(&#34;http" in html or "=HYPERLINK(&quot;http" in html
    assert "&#39;=HYPERLINK" not in html and "'=HYPERLINK" not in html


def test_query_listing_neutralises_formulas(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subjects = pd.read_csv(work / "trial" / "subjects.csv", dtype=str, keep_default_na=False)
    subjects.loc[0, "SEX"] = "=1+1"  # not a valid sex: a finding that quotes the value
    subjects.to_csv(work / "trial" / "subjects.csv", index=False)
    report(capsys, ["validate", "trial", "--out", "q"], 1, [], [work], [work / "q"])
    listing = cells(work / "q" / "query_listing.csv")
    assert "'=1+1" in listing and "=1+1" not in listing


def refused(
    capsys: pytest.CaptureFixture[str], args: list[str], watched: list[Path], *named: str
) -> str:
    """Exit 2 and one error line naming each of ``named``; nothing written; the line."""
    line = report(capsys, args, 2, list(named), watched)
    assert line.startswith("trialkit: error: "), line
    return line


def test_report_refuses_results_of_another_trial(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, analysis = analysed
    other = example_trials_dir() / "tk_aga_301"
    args = ["report", str(other), "--out", str(tmp_path / "report"), "--results", str(analysis)]
    refused(capsys, args, [tmp_path, analysis.parent, other], "DHURAT2013", "TK-AGA-301")


def test_report_refuses_results_of_changed_data(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial, analysis = analysed
    changed = tmp_path / "trial"
    shutil.copytree(trial, changed)
    with (changed / "assessments.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    args = ["report", str(changed), "--out", str(tmp_path / "report"), "--results", str(analysis)]
    refused(capsys, args, [tmp_path, analysis.parent], "assessments.csv")


def copy_of(analysis: Path, folder: Path) -> Path:
    """A copy of ``analysis`` at ``folder``, for a case to spoil."""
    shutil.copytree(analysis, folder)
    return folder


def test_report_refuses_results_without_manifest(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial, analysis = analysed
    bare = copy_of(analysis, tmp_path / "bare")
    (bare / "manifest.json").unlink()
    args = ["report", str(trial), "--out", str(tmp_path / "report"), "--results", str(bare)]
    refused(capsys, args, [tmp_path, trial.parent], "manifest.json")


def test_report_refuses_a_results_file_that_is_not_json(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial, analysis = analysed
    bad = copy_of(analysis, tmp_path / "bad")
    (bad / "results.json").write_text(json.dumps([1, 2]) + "garbage")
    args = ["report", str(trial), "--out", str(tmp_path / "r"), "--results", str(bad)]
    refused(capsys, args, [tmp_path, trial.parent], "results.json")


def test_report_refuses_another_schema_version(
    analysed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial, analysis = analysed
    old = copy_of(analysis, tmp_path / "old")
    data = json.loads((old / "results.json").read_text(encoding="utf-8"))
    data["schema_version"] = "0"
    (old / "results.json").write_text(json.dumps(data), encoding="utf-8")
    args = ["report", str(trial), "--out", str(tmp_path / "r"), "--results", str(old)]
    refused(capsys, args, [tmp_path, trial.parent], "schema_version '0'", "schema_version '1'")
