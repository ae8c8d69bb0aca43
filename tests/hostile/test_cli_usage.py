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


def test_warnings_are_one_line_each_and_other_warnings_pass_through(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
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
    with pytest.warns(UserWarning, match="a library's own warning") as shown:
        assert main(["verify", "somewhere"]) == 0
    err = capsys.readouterr().err
    assert "trialkit: warning: report.pdf: not fetched: http://x" in err.splitlines()
    assert [w.category for w in shown] == [UserWarning]  # passed on once, as Python shows it


def test_a_command_after_a_stopped_one_is_not_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
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
    assert main(["validate", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "SIGTERM" not in err and "nowhere" in err
