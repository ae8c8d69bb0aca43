"""A bad scenarios file: one line naming the key, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.simulation.trials import scenarios_toml, trial_toml, write
from trialkit.cli import main

MEANS = {"A0": [1.0, 2.0, 3.0], "A1": [2.0, 4.0, 6.0]}
KEEP = {"A0": [0.95, 0.9, 0.8], "A1": [0.95, 0.9, 0.8]}
AR1 = '{ structure = "ar1", rho = 0.6 }'


def good(**changes: object) -> str:
    args: dict[str, object] = {
        "means": MEANS,
        "retention": KEEP,
        "sd": [8.0, 9.0, 10.0],
        "correlation": AR1,
        "subjects": 40,
        "replicates": 2,
    }
    args.update(changes)
    return scenarios_toml(**args)  # type: ignore[arg-type]


CASES = {
    "arm not in the trial": (
        good(means={**MEANS, "B9": [1.0, 1.0, 1.0]}),
        "scenarios[0].mean_change.B9: 'B9' is not an arm",
    ),
    "arm missing": (
        good(retention={"A0": [0.9, 0.9, 0.9]}),
        "scenarios[0].retention.A1: arm 'A1' is not given",
    ),
    "length": (
        good(sd=[8.0, 9.0]),
        "scenarios[0].sd: 2 values for the trial's 3 post-baseline visits",
    ),
    "not positive definite": (
        good(correlation="[[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]"),
        "scenarios[0].correlation: not positive definite",
    ),
    "retention rising": (
        good(retention={"A0": [0.8, 0.9, 0.9], "A1": [0.9, 0.9, 0.9]}),
        "scenarios[0].retention.A0: must not increase",
    ),
    "retention above 1": (
        good(retention={"A0": [1.2, 0.9, 0.9], "A1": [0.9, 0.9, 0.9]}),
        "scenarios[0].retention.A0[0]: 1.2 is not in [0, 1]",
    ),
    "unknown key": (good() + "colour = 1\n", "scenarios[0].colour: unknown key"),
    "bad structure": (
        good(correlation='{ structure = "toep", rho = 0.5 }'),
        "scenarios[0].correlation.structure",
    ),
    "rho out of range": (
        good(correlation='{ structure = "cs", rho = 1.0 }'),
        "scenarios[0].correlation.rho",
    ),
    "negative sd": (good(sd=[8.0, -1.0, 10.0]), "scenarios[0].sd[1]"),
    "dropout": (good() + 'dropout = "mnar"\n', "scenarios[0].dropout"),
    "subjects": (good(subjects=1), "subjects"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_scenarios_file_is_one_line_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, expected = CASES[case]
    path = write(tmp_path / "in", trial_toml(2, 3), text)
    out = tmp_path / "out"
    assert main(["simulate", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err
    assert expected in err, err
    assert not out.exists()


def test_a_missing_scenarios_file_or_trial_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", str(tmp_path / "none.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "scenarios file not found" in capsys.readouterr().err
    path = tmp_path / "s.toml"
    path.write_text(good(), encoding="utf-8")  # its trial.toml is not there
    assert main(["sample-size", str(path)]) == 2
    err = capsys.readouterr().err
    assert "trial.toml" in err and err.count("\n") == 1
