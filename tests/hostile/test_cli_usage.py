"""Bad command lines: exit 2 and one line that names the option and points at the help."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import assert_clean_run, watch
from trialkit.cli import main

TRIAL = "trial"  # the copy in the case's work folder


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
        (["verify", TRIAL, "--rtol", "nan"], "--rtol"),
        (["verify", TRIAL, "--atol", "-inf"], "--atol"),
        (["design", "gsd", "--looks", "3"], "trialkit design gsd --help"),
        (["bogus"], "trialkit --help"),
    ],
)
def test_bad_command_line_is_one_line(
    args: list[str], named: str, capsys: pytest.CaptureFixture[str], work: Path
) -> None:
    before = watch(work)
    code = main(args)
    captured = capsys.readouterr()
    line = assert_clean_run(
        code, captured.err, expected_code=2, names=[named], before=before, stdout=captured.out
    )
    assert line.startswith("trialkit: error: ")


def test_no_arguments_prints_the_help(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    before = watch(work)
    code = main([])
    captured = capsys.readouterr()
    assert_clean_run(code, captured.err, expected_code=2, before=before, stdout=captured.out)
    assert "Usage: trialkit" in captured.out


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["design", "--help"]])
def test_help_and_version_exit_zero(
    capsys: pytest.CaptureFixture[str], work: Path, args: list[str]
) -> None:
    before = watch(work)
    code = main(args)
    captured = capsys.readouterr()
    assert_clean_run(code, captured.err, expected_code=0, before=before, stdout=captured.out)
    assert captured.out


def test_warnings_are_one_line_each_and_other_warnings_pass_through(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], work: Path
) -> None:
    """trialkit's warnings print as one line each; another library's warning is shown once (a
    regression: showing it while still recording looped without end)."""
    import warnings

    from trialkit.errors import RenderWarning

    def noisy(*args: object, **kwargs: object) -> tuple[str, int]:
        warnings.warn("report.pdf: not fetched: http://x", RenderWarning, stacklevel=1)
        warnings.warn("a library's own warning", UserWarning, stacklevel=1)
        return "reproduced", 0

    monkeypatch.setattr("trialkit.verify.run_verify", noisy)
    before = watch(work)
    with pytest.warns(UserWarning, match="a library's own warning") as shown:
        code = main(["verify", "somewhere"])
    captured = capsys.readouterr()
    line = assert_clean_run(
        code, captured.err, expected_code=0, names=["not fetched"], before=before,
        stdout=captured.out,
    )  # fmt: skip
    assert line == "trialkit: warning: report.pdf: not fetched: http://x"
    assert [w.category for w in shown] == [UserWarning]  # passed on once, as Python shows it


def test_a_command_after_a_stopped_one_is_not_stopped(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stop signal ends its own command only: the next command in the same process (a
    library caller, a test session) runs normally."""
    import os
    import signal

    from trialkit.errors import Interrupted
    from trialkit.processes import stop_on_signals

    with pytest.raises(Interrupted), stop_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()  # the handler raises Interrupted
    before = watch(work)
    code = main(["validate", "nowhere"])
    err = capsys.readouterr().err
    assert_clean_run(code, err, expected_code=2, names=["nowhere"], before=before)
    assert "SIGTERM" not in err
