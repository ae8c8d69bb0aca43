"""Running trialkit commands in-process for the store tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trialkit.cli import main
from trialkit.datasets import read_trial_datasets


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``trialkit ARGS``."""
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *names: str) -> None:
    """Exit 2 with one line on stderr naming each of ``names``, no traceback."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for name in names:
        assert name in lines[0], (name, lines[0])


def same_records(transfer: Path, exported: Path) -> None:
    """The datasets of ``exported`` hold the records of ``transfer`` (compared as frames)."""
    original, written = read_trial_datasets(transfer), read_trial_datasets(exported)
    assert sorted(original) == sorted(written)
    for name, dataset in original.items():
        pd.testing.assert_frame_equal(
            dataset.frame.reset_index(drop=True),
            written[name].frame.reset_index(drop=True),
            check_dtype=False,
            obj=name,
        )
    assert (transfer / "trial.toml").read_bytes() == (exported / "trial.toml").read_bytes()
