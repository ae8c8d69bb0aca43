"""Bad command lines: exit 2 and one line that names the option and points at the help."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialkit.cli import main
from trialkit.resources import example_trials_dir

TRIAL = str(example_trials_dir() / "dhurat2013")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["analyze", TRIAL], "--out"),
        (["analyze", TRIAL, "--out", "o", "--bogus"], "--bogus"),
        (["analyze", TRIAL, "--out", "o", "--dummy-randomization", "-1"], "--dummy-randomization"),
        (["analyze", TRIAL, "--out", "o", "--dummy-randomization", str(2**64)], "--dummy-rand"),
        (["analyze", TRIAL, "--out", "o", "--cutoff", "2300-01-01"], "--cutoff"),
        (["analyze", TRIAL, "--out", "o", "--cutoff", "1677-09-21"], "--cutoff"),
        (["analyze", TRIAL, "--out", "o", "--cutoff", "2262-04-12"], "--cutoff"),
        (["validate", TRIAL, "--cutoff", "9999-12-31"], "--cutoff"),
        (["analyze", TRIAL, "--out", "o", "--previous-fractions", "nan"], "--previous-fractions"),
        (["verify", TRIAL, "--rtol", "nan"], "--rtol"),
        (["verify", TRIAL, "--atol", "-inf"], "--atol"),
        (["design", "gsd", "--looks", "3"], "trialkit design gsd --help"),
        (["bogus"], "trialkit --help"),
    ],
)
def test_bad_command_line_is_one_line(
    args: list[str], named: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main([a if a != "o" else str(tmp_path / "o") for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("trialkit: error: ") and named in err[0]
    assert not (tmp_path / "o").exists()


def test_no_arguments_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "Usage: trialkit" in capsys.readouterr().out


def test_help_and_version_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0 and main(["--version"]) == 0 and main(["design", "--help"]) == 0
