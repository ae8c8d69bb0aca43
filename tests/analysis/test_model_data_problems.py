"""``trialkit analyze`` of data no model can fit: exit 2, one line naming the data problem."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pandas as pd
import pytest

from trialkit.cli import main
from trialkit.resources import example_trials_dir

Edit = Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]


def _constant_stratum(s: pd.DataFrame, a: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    return s.assign(SEVERITY=s["SEVERITY"].iloc[0]), a


def _same_baseline_for_all(s: pd.DataFrame, a: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    return s, a.assign(AVAL=a["AVAL"].where(a["VISIT"] != "BASELINE", "150"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_constant_stratum, "factor 'SEVERITY' has one level"),
        (_same_baseline_for_all, "covariate 'BASE' is constant (150)"),
    ],
)
def test_data_problem_is_exit_2_naming_it(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    edit: Edit,
    message: str,
) -> None:
    root = tmp_path_factory.mktemp("trial")
    trial = root / "trial"
    shutil.copytree(example_trials_dir() / "dhurat2013", trial)
    read = {n: pd.read_csv(trial / f"{n}.csv", dtype=str, keep_default_na=False)
            for n in ("subjects", "assessments")}  # fmt: skip
    subjects, assessments = edit(read["subjects"], read["assessments"])
    subjects.to_csv(trial / "subjects.csv", index=False)
    assessments.to_csv(trial / "assessments.csv", index=False)
    before = {p.name: p.read_bytes() for p in trial.iterdir()}
    code = main(["analyze", str(trial), "--out", str(root / "out"), "--allow-errors"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "no covariance structure converged" not in err
    assert {p.name: p.read_bytes() for p in trial.iterdir()} == before
    assert not (root / "out").exists() and sorted(p.name for p in root.iterdir()) == ["trial"]
