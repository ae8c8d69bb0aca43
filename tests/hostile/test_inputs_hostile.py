"""Hostile datasets: files that are not regular files or lead out of the trial folder, dates and
numbers no analysis can use, repeated or missing content, huge cells. Each case: the exit
code, one line naming the file (or a finding naming row and column), no traceback, inputs
unchanged and nothing written outside the output folder."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest

from tests.hostile.conftest import Snapshot, assert_clean_run, watch
from trialkit.cli import main

TIMEOUT = 30  # seconds; a run that blocks on a FIFO or reads a device fails instead of hanging


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Write ``value`` into data row ``row`` (1-based) of CSV ``path``, all else as text."""
    frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    frame.loc[row - 1, column] = value
    frame.to_csv(path, index=False)


def header_only(path: Path) -> None:
    path.write_text(path.read_text().splitlines()[0] + "\n")


def run(
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    expected_code: int,
    names: list[str],
    outputs: Sequence[str] = (),
    before: dict[Path, Snapshot] | None = None,
) -> tuple[str, str]:
    """``trialkit ARGS`` in the work folder (the working directory), with the checks of every
    case: nothing but ``outputs`` written; the stderr line and stdout."""
    before = before if before is not None else watch(Path.cwd())
    code = main(args)
    captured = capsys.readouterr()
    line = assert_clean_run(
        code, captured.err, expected_code=expected_code, names=names, before=before,
        outputs=[Path(o) for o in outputs], stdout=captured.out,
    )  # fmt: skip
    return line, captured.out


def refused(capsys: pytest.CaptureFixture[str], args: list[str], *named: str) -> str:
    """Exit 2 and one error line naming each of ``named``, nothing written; the line."""
    line, _ = run(capsys, args, 2, list(named))
    assert line.startswith("trialkit: error: "), line
    return line


def finding(capsys: pytest.CaptureFixture[str], rule: str, dataset: str, column: str) -> str:
    """``validate``: exit 1 (an error finding; 0 for a TK03 warning), nothing on stderr, and a
    listing line of ``rule`` naming the dataset and column; the line."""
    _, out = run(capsys, ["validate", "trial"], 0 if rule.startswith("TK03") else 1, [])
    lines = [ln for ln in out.splitlines() if f" {rule} " in ln and column in ln]
    assert lines and lines[0].split()[0] == dataset, out
    return lines[0]


def data_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """``analyze`` without --allow-errors: exit 1 and one line pointing to the query listing."""
    run(capsys, ["analyze", "trial", "--out", "out"], 1, ["--allow-errors"])


def run_cli_process(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``trialkit ARGS`` in its own process: a timeout and a 2 GB memory cap end a regression."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "trialkit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=cap_memory,
    )


def process_refused(work: Path, args: list[str], *named: str) -> str:
    """``trialkit ARGS`` in its own process: exit 2, one line naming ``named``, nothing
    written; the line."""
    before = watch(work)
    result = run_cli_process(args, work)
    return assert_clean_run(
        result.returncode, result.stderr, expected_code=2, names=named, before=before,
        stdout=result.stdout,
    )  # fmt: skip


# --- only regular files inside the trial folder ------------------------------------------------


def test_dataset_fifo_is_refused_without_opening(work: Path) -> None:
    fifo = work / "trial" / "assessments.csv"
    fifo.unlink()
    os.mkfifo(fifo)
    line = process_refused(work, ["validate", "trial"], "trial/assessments.csv", "named pipe")
    assert fifo.is_fifo(), line


def test_dataset_fifo_is_refused_by_analyze(work: Path) -> None:
    fifo = work / "trial" / "exposure.csv"
    fifo.unlink()
    os.mkfifo(fifo)
    process_refused(work, ["analyze", "trial", "--out", "out"], "trial/exposure.csv")


def test_dataset_link_to_dev_zero_is_refused(work: Path) -> None:
    link = work / "trial" / "assessments.csv"
    link.unlink()
    link.symlink_to("/dev/zero")
    process_refused(work, ["validate", "trial"], "trial/assessments.csv", "device")


def test_dataset_folder_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = work / "trial" / "subjects.csv"
    folder.unlink()
    folder.mkdir()
    refused(capsys, ["validate", "trial"], "trial/subjects.csv", "folder")


@pytest.mark.parametrize("command", ["validate", "analyze", "report"])
def test_dataset_link_outside_the_trial_is_refused(
    work: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    outside = work / "elsewhere.csv"
    shutil.move(work / "trial" / "adverse_events.csv", outside)
    (work / "trial" / "adverse_events.csv").symlink_to(outside)
    extra = {
        "validate": [],
        "analyze": ["--out", "out"],
        "report": ["--out", "out", "--format", "html"],
    }
    args = [command, "trial", *extra[command]]
    refused(capsys, args, "trial/adverse_events.csv", str(outside), "outside")


def test_dataset_link_into_a_subfolder_is_read(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = work / "trial"
    (trial / "data").mkdir()
    shutil.move(trial / "subjects.csv", trial / "data" / "subjects.csv")
    (trial / "subjects.csv").symlink_to(Path("data") / "subjects.csv")
    run(capsys, ["validate", "trial"], 0, [])


def test_dangling_dataset_link_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    link = work / "trial" / "exposure.csv"
    link.unlink()
    link.symlink_to(work / "trial" / "gone.csv")
    refused(capsys, ["validate", "trial"], "trial/exposure.csv", "missing file")


def test_dataset_link_loop_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trial = work / "trial"
    (trial / "subjects.csv").unlink()
    (trial / "subjects.csv").symlink_to("loop.csv")
    (trial / "loop.csv").symlink_to("subjects.csv")
    refused(capsys, ["validate", "trial"], "trial/subjects.csv")


# --- dates and numbers no analysis can use -------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2262-04-12", "1677-09-21", "9999-12-31", "2262-04-11", "1899-12-31", "2201-01-01"]
)
def test_implausible_date_is_a_finding(
    work: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    set_cell(work / "trial" / "assessments.csv", 1, "ADT", value)
    line = finding(capsys, "TK021", "assessments", "ADT")
    assert value in line and " 1 " in line


def test_dates_at_the_plausible_limits_are_no_finding(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_cell(work / "trial" / "concomitant_medications.csv", 1, "CMENDT", "2200-12-31")
    run(capsys, ["validate", "trial"], 0, [])


@pytest.mark.slow
def test_edge_dates_are_refused_then_analysed_as_missing(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = work / "trial"
    set_cell(trial / "subjects.csv", 1, "RANDDT", "2262-04-11")
    set_cell(trial / "subjects.csv", 2, "EOSDT", "1677-09-22")
    set_cell(trial / "adverse_events.csv", 1, "AESTDT", "9999-12-31")
    set_cell(trial / "exposure.csv", 1, "EXENDT", "2262-04-12")
    data_refused(capsys)
    run(capsys, ["analyze", "trial", "--out", "out", "--allow-errors"], 0, [], ["out"])


@pytest.mark.parametrize(
    ("dataset", "column", "value"),
    [
        ("exposure", "EXDOSE", "inf"),
        ("assessments", "AVAL", "-inf"),
        ("assessments", "AVAL", "nan"),
        ("subjects", "AGE", "NaN"),
        ("exposure", "EXDOSE", "1e999"),
    ],
)
def test_number_not_finite_is_a_finding(
    work: Path, capsys: pytest.CaptureFixture[str], dataset: str, column: str, value: str
) -> None:
    set_cell(work / "trial" / f"{dataset}.csv", 1, column, value)
    line = finding(capsys, "TK022", dataset, column)
    assert " 1 " in line and "TK001" not in line


@pytest.mark.slow
def test_minus_inf_aval_is_analysed_as_missing(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: with --allow-errors, AVAL = -inf reached the MMRM ('no covariance ...')."""
    set_cell(work / "trial" / "assessments.csv", 2, "AVAL", "-inf")
    run(capsys, ["analyze", "trial", "--out", "out", "--allow-errors"], 0, [], ["out"])
    adbds = pd.read_csv(work / "out" / "adam" / "adbds.csv")
    assert adbds["AVAL"].notna().any() and not adbds["AVAL"].abs().eq(float("inf")).any()


# --- repeated columns, empty datasets, huge cells -------------------------------------------------


def _repeat_column(path: Path, column: str) -> None:
    lines = path.read_text().splitlines()
    frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    values = frame[column].tolist()
    out = [f"{lines[0]},{column}"] + [f"{ln},{v}" for ln, v in zip(lines[1:], values, strict=True)]
    path.write_text("\n".join(out) + "\n")


def test_repeated_required_column_is_an_error(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _repeat_column(work / "trial" / "assessments.csv", "AVAL")
    line = finding(capsys, "TK023", "assessments", "AVAL")
    assert "more than once" in line
    data_refused(capsys)


def test_repeated_other_column_is_a_warning(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _repeat_column(work / "trial" / "exposure.csv", "STUDYID")
    finding(capsys, "TK032", "exposure", "STUDYID")


def _append_to_rows(path: Path, text: str) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], *(ln + text for ln in lines[1:])]) + "\n")


def test_rows_longer_than_the_header_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: pandas took the first field of such rows for an index, shifting every value."""
    _append_to_rows(work / "trial" / "assessments.csv", ",x")
    refused(capsys, ["validate", "trial"], "trial/assessments.csv", "more fields than the header")


def test_trailing_comma_on_every_row_is_read_as_written(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: the same shift turned a clean file with trailing commas into 1,930 errors."""
    _append_to_rows(work / "trial" / "assessments.csv", ",")
    run(capsys, ["validate", "trial"], 0, [])


def test_header_only_assessments_is_an_error(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header_only(work / "trial" / "assessments.csv")
    assert "no records" in finding(capsys, "TK024", "assessments", "")


def test_header_only_adverse_events_is_no_finding(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header_only(work / "trial" / "adverse_events.csv")
    run(capsys, ["validate", "trial"], 0, [])


def test_megabyte_code_is_a_finding_shown_short(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_cell(work / "trial" / "adverse_events.csv", 1, "AESEV", "M" * 1_000_000)
    _, out = run(capsys, ["validate", "trial", "--out", "queries"], 1, [], ["queries"])
    assert "TK003" in out and len(out) < 20_000
    assert (work / "queries" / "query_listing.csv").stat().st_size > 1_000_000


@pytest.mark.slow
def test_megabyte_text_cell_goes_through_analyze_and_report(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_cell(work / "trial" / "adverse_events.csv", 1, "AETERM", "X" * 1_000_000)
    set_cell(work / "trial" / "adverse_events.csv", 2, "AEDECOD", "Y" * 1_000_000)
    before = watch(work)
    run(capsys, ["validate", "trial"], 0, [], before=before)
    run(capsys, ["analyze", "trial", "--out", "analysis"], 0, [], ["analysis"], before)
    report = ["report", "trial", "--out", "report", "--results", "analysis"]
    run(capsys, report, 0, [], ["analysis", "report"], before)
