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
from pathlib import Path

import pandas as pd
import pytest

from trialkit.cli import main
from trialkit.resources import example_trials_dir

TIMEOUT = 30  # seconds; a run that blocks on a FIFO or reads a device fails instead of hanging


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp/work`` (working directory and $HOME) holding a copy of dhurat2013 as ``trial/``."""
    work = tmp_path / "work"
    shutil.copytree(example_trials_dir() / "dhurat2013", work / "trial")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(work))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # fonts: not ours
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    return work


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file (content), link (target) and special file under ``root``."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = f"-> {os.readlink(path)}"
        elif path.is_fifo():
            out[rel] = "fifo"
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Write ``value`` into data row ``row`` (1-based) of CSV ``path``, all else as text."""
    frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    frame.loc[row - 1, column] = value
    frame.to_csv(path, index=False)


def header_only(path: Path) -> None:
    path.write_text(path.read_text().splitlines()[0] + "\n")


def run(*args: str) -> int:
    return main(list(args))


def assert_refused(code: int, capsys: pytest.CaptureFixture[str], *named: str) -> str:
    """Exit 2 and one error line naming each of ``named``; the line."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err + captured.out
    assert len(lines) == 1 and lines[0].startswith("trialkit: error: "), captured.err
    assert all(n in lines[0] for n in named), lines[0]
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def assert_finding(
    code: int, capsys: pytest.CaptureFixture[str], rule: str, dataset: str, column: str
) -> str:
    """Exit ``code`` (1: an error finding, 0: a warning) and a listing line naming the cell."""
    captured = capsys.readouterr()
    assert code == (0 if rule.startswith("TK03") else 1), captured.err + captured.out
    assert "Traceback" not in captured.err + captured.out and captured.err == ""
    lines = [ln for ln in captured.out.splitlines() if f" {rule} " in ln and column in ln]
    assert lines and lines[0].split()[0] == dataset, captured.out
    return lines[0]


def assert_data_refused(code: int, capsys: pytest.CaptureFixture[str]) -> None:
    """``analyze`` without --allow-errors: exit 1 and one line pointing to the query listing."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 1, captured.err + captured.out
    assert len(lines) == 1 and "--allow-errors" in lines[0], captured.err
    assert "Traceback" not in captured.err + captured.out


def without(files: dict[str, bytes | str], folder: str) -> dict[str, bytes | str]:
    """``files`` but those in the output folder ``folder``."""
    return {k: v for k, v in files.items() if not k.startswith(f"{folder}/")}


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


def assert_process_refused(result: subprocess.CompletedProcess[str], name: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and name in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# --- only regular files inside the trial folder ------------------------------------------------


def test_dataset_fifo_is_refused_without_opening(work: Path) -> None:
    fifo = work / "trial" / "assessments.csv"
    fifo.unlink()
    os.mkfifo(fifo)
    before = snapshot(work)
    result = run_cli_process(["validate", "trial"], work)
    assert_process_refused(result, "trial/assessments.csv")
    assert "named pipe" in result.stderr
    assert snapshot(work) == before and fifo.is_fifo()


def test_dataset_fifo_is_refused_by_analyze(work: Path) -> None:
    fifo = work / "trial" / "exposure.csv"
    fifo.unlink()
    os.mkfifo(fifo)
    before = snapshot(work)
    result = run_cli_process(["analyze", "trial", "--out", "out"], work)
    assert_process_refused(result, "trial/exposure.csv")
    assert snapshot(work) == before


def test_dataset_link_to_dev_zero_is_refused(work: Path) -> None:
    link = work / "trial" / "assessments.csv"
    link.unlink()
    link.symlink_to("/dev/zero")
    before = snapshot(work)
    result = run_cli_process(["validate", "trial"], work)
    assert_process_refused(result, "trial/assessments.csv")
    assert "device" in result.stderr
    assert snapshot(work) == before


def test_dataset_folder_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = work / "trial" / "subjects.csv"
    folder.unlink()
    folder.mkdir()
    before = snapshot(work)
    line = assert_refused(run("validate", "trial"), capsys, "trial/subjects.csv")
    assert "folder" in line and snapshot(work) == before


@pytest.mark.parametrize("command", ["validate", "analyze", "report"])
def test_dataset_link_outside_the_trial_is_refused(
    work: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    outside = work / "elsewhere.csv"
    shutil.move(work / "trial" / "adverse_events.csv", outside)
    (work / "trial" / "adverse_events.csv").symlink_to(outside)
    before = snapshot(work)
    extra = {
        "validate": [],
        "analyze": ["--out", "out"],
        "report": ["--out", "out", "--format", "html"],
    }
    code = run(command, "trial", *extra[command])
    line = assert_refused(code, capsys, "trial/adverse_events.csv", str(outside))
    assert "outside" in line and snapshot(work) == before


def test_dataset_link_into_a_subfolder_is_read(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = work / "trial"
    (trial / "data").mkdir()
    shutil.move(trial / "subjects.csv", trial / "data" / "subjects.csv")
    (trial / "subjects.csv").symlink_to(Path("data") / "subjects.csv")
    before = snapshot(work)
    assert run("validate", "trial") == 0, capsys.readouterr().err
    assert snapshot(work) == before


def test_dangling_dataset_link_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    link = work / "trial" / "exposure.csv"
    link.unlink()
    link.symlink_to(work / "trial" / "gone.csv")
    before = snapshot(work)
    line = assert_refused(run("validate", "trial"), capsys, "trial/exposure.csv")
    assert "missing file" in line and snapshot(work) == before


def test_dataset_link_loop_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trial = work / "trial"
    (trial / "subjects.csv").unlink()
    (trial / "subjects.csv").symlink_to("loop.csv")
    (trial / "loop.csv").symlink_to("subjects.csv")
    before = snapshot(work)
    assert_refused(run("validate", "trial"), capsys, "trial/subjects.csv")
    assert snapshot(work) == before


# --- dates and numbers no analysis can use -------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2262-04-12", "1677-09-21", "9999-12-31", "2262-04-11", "1899-12-31", "2201-01-01"]
)
def test_implausible_date_is_a_finding(
    work: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    set_cell(work / "trial" / "assessments.csv", 1, "ADT", value)
    before = snapshot(work)
    line = assert_finding(run("validate", "trial"), capsys, "TK021", "assessments", "ADT")
    assert value in line and " 1 " in line
    assert snapshot(work) == before


def test_dates_at_the_plausible_limits_are_no_finding(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_cell(work / "trial" / "concomitant_medications.csv", 1, "CMENDT", "2200-12-31")
    assert run("validate", "trial") == 0, capsys.readouterr().out


@pytest.mark.slow
def test_edge_dates_are_refused_then_analysed_as_missing(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = work / "trial"
    set_cell(trial / "subjects.csv", 1, "RANDDT", "2262-04-11")
    set_cell(trial / "subjects.csv", 2, "EOSDT", "1677-09-22")
    set_cell(trial / "adverse_events.csv", 1, "AESTDT", "9999-12-31")
    set_cell(trial / "exposure.csv", 1, "EXENDT", "2262-04-12")
    before = snapshot(work)
    assert_data_refused(run("analyze", "trial", "--out", "out"), capsys)
    assert run("analyze", "trial", "--out", "out", "--allow-errors") == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert without(snapshot(work), "out") == before


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
    before = snapshot(work)
    line = assert_finding(run("validate", "trial"), capsys, "TK022", dataset, column)
    assert " 1 " in line and "TK001" not in line
    assert snapshot(work) == before


@pytest.mark.slow
def test_minus_inf_aval_is_analysed_as_missing(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: with --allow-errors, AVAL = -inf reached the MMRM ('no covariance ...')."""
    set_cell(work / "trial" / "assessments.csv", 2, "AVAL", "-inf")
    before = snapshot(work)
    assert run("analyze", "trial", "--out", "out", "--allow-errors") == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert without(snapshot(work), "out") == before
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
    before = snapshot(work)
    line = assert_finding(run("validate", "trial"), capsys, "TK023", "assessments", "AVAL")
    assert "more than once" in line
    assert_data_refused(run("analyze", "trial", "--out", "out"), capsys)
    assert snapshot(work) == before


def test_repeated_other_column_is_a_warning(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _repeat_column(work / "trial" / "exposure.csv", "STUDYID")
    before = snapshot(work)
    assert_finding(run("validate", "trial"), capsys, "TK032", "exposure", "STUDYID")
    assert snapshot(work) == before


def _append_to_rows(path: Path, text: str) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], *(ln + text for ln in lines[1:])]) + "\n")


def test_rows_longer_than_the_header_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: pandas took the first field of such rows for an index, shifting every value."""
    _append_to_rows(work / "trial" / "assessments.csv", ",x")
    before = snapshot(work)
    line = assert_refused(run("validate", "trial"), capsys, "trial/assessments.csv")
    assert "more fields than the header" in line and snapshot(work) == before


def test_trailing_comma_on_every_row_is_read_as_written(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: the same shift turned a clean file with trailing commas into 1,930 errors."""
    _append_to_rows(work / "trial" / "assessments.csv", ",")
    assert run("validate", "trial") == 0, capsys.readouterr().out


def test_header_only_assessments_is_an_error(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header_only(work / "trial" / "assessments.csv")
    before = snapshot(work)
    line = assert_finding(run("validate", "trial"), capsys, "TK024", "assessments", "")
    assert "no records" in line and snapshot(work) == before


def test_header_only_adverse_events_is_no_finding(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header_only(work / "trial" / "adverse_events.csv")
    assert run("validate", "trial") == 0, capsys.readouterr().out


def test_megabyte_code_is_a_finding_shown_short(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_cell(work / "trial" / "adverse_events.csv", 1, "AESEV", "M" * 1_000_000)
    before = snapshot(work)
    code = run("validate", "trial", "--out", "queries")
    captured = capsys.readouterr()
    assert code == 1 and "TK003" in captured.out and len(captured.out) < 20_000
    assert (work / "queries" / "query_listing.csv").stat().st_size > 1_000_000
    assert without(snapshot(work), "queries") == before


@pytest.mark.slow
def test_megabyte_text_cell_goes_through_analyze_and_report(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_cell(work / "trial" / "adverse_events.csv", 1, "AETERM", "X" * 1_000_000)
    set_cell(work / "trial" / "adverse_events.csv", 2, "AEDECOD", "Y" * 1_000_000)
    before = snapshot(work)
    assert run("validate", "trial") == 0
    assert run("analyze", "trial", "--out", "analysis") == 0
    assert run("report", "trial", "--out", "report", "--results", "analysis") == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert without(without(snapshot(work), "analysis"), "report") == before
