"""What a version 5 transport file cannot hold is refused before anything is written: one line
per problem, exit 2, no file left behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from trialkit.cli import main
from trialkit.resources import example_trials_dir
from trialkit.submission.adam import AdamDataset
from trialkit.submission.metadata import Variable, dataset_spec
from trialkit.submission.xpt import IBM_MAX, transport_problems

from .conftest import Exported


def _problems(**columns: tuple[Variable, list[object]]) -> list[str]:
    variables = [v for v, _ in columns.values()]
    frame = pd.DataFrame({v.name: pd.Series(vals, dtype=object if v.kind == "text" else float)
                          for v, vals in columns.values()})  # fmt: skip
    return transport_problems(AdamDataset(dataset_spec("ADSL"), variables, frame))


def test_each_problem_is_one_line() -> None:
    ok = Variable("USUBJID", "Unique Subject Identifier", "text")
    assert _problems(a=(ok, ["S1"])) == []
    cases = {
        "is 9 characters": (Variable("LONGNAME9", "x", "text"), ["a"]),
        "must be upper case": (Variable("lower", "x", "text"), ["a"]),
        "start with a letter": (Variable("_X", "x", "text"), ["a"]),
        "label is 41 characters": (Variable("LBL", "x" * 41, "text"), ["a"]),
        "is not ASCII": (Variable("LBLU", "Größe", "text"), ["a"]),
        "text of 201 bytes": (Variable("LONG", "x", "text"), ["a" * 200, "b" * 201]),
        "text is not ASCII": (Variable("TXT", "x", "text"), ["Érythème"]),
        "1e+300 is beyond the IBM": (Variable("BIG", "x", "float"), [1.0, 1e300]),
        "inf is beyond the IBM": (Variable("INF", "x", "float"), [float("inf")]),
        "below the IBM": (Variable("TINY", "x", "float"), [1e-300]),
    }
    for words, column in cases.items():
        found = _problems(a=column)
        assert len(found) == 1 and words in found[0], (words, found)
    assert _problems(a=(Variable("EDGE", "x" * 40, "float"), [IBM_MAX, -IBM_MAX, 0.0])) == []
    assert "row 2" in _problems(a=cases["text of 201 bytes"])[0]


@pytest.fixture(scope="module")
def bad_analysis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An analysis whose data hold a 9-character column, 1e300, a 201-byte and a non-ASCII
    adverse-event term (none of which the analysis itself minds)."""
    root = tmp_path_factory.mktemp("bad")
    trial = root / "trial"
    shutil.copytree(example_trials_dir() / "dhurat2013", trial)
    subjects = pd.read_csv(trial / "subjects.csv", dtype=str, keep_default_na=False)
    subjects["LONGNAME9"] = "x"
    subjects["BMI"] = ["1e300", *["24.5"] * (len(subjects) - 1)]
    subjects.to_csv(trial / "subjects.csv", index=False)
    ae = pd.read_csv(trial / "adverse_events.csv", dtype=str, keep_default_na=False)
    ae.loc[0, "AETERM"] = "z" * 201
    ae.loc[1, "AETERM"] = "Érythème du cuir chevelu"
    ae.to_csv(trial / "adverse_events.csv", index=False)
    assert main(["analyze", str(trial), "--out", str(root / "analysis")]) == 0
    return root / "analysis"


def test_export_refuses_and_leaves_nothing(
    bad_analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "package"
    code = main(["export", "adam", str(bad_analysis), "--out", str(out), "--format", "xpt,csv"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0] == "trialkit: error: 4 problem(s) for SAS transport v5; nothing written:"
    problems = sorted(line.strip() for line in lines[1:])
    assert problems[0].startswith("adae.xpt: AETERM: row 1: text of 201 bytes")
    assert problems[1].startswith("adae.xpt: AETERM: row 2: text is not ASCII")
    assert problems[2].startswith("adsl.xpt: BMI: row 1: 1e+300 is beyond the IBM")
    assert problems[3].startswith("adsl.xpt: variable name 'LONGNAME9' is 9 characters")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_format_option(dhurat_analysis_dir: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code = main(["export", "adam", str(dhurat_analysis_dir), "--out", str(tmp_path / "o"),
                 "--format", "xpt,sas"])  # fmt: skip
    assert code == 2 and "--format" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_only_trial_toml_is_read_from_the_trial_folder(
    dhurat: Exported, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ADEX comes from the analysis folder (adam/adex.csv): an exposure file edited since the
    analysis does not matter; an edited trial.toml (the plan the export describes) is refused."""
    trial = tmp_path / "trial"
    shutil.copytree(dhurat.trial, trial)
    (trial / "exposure.csv").write_text("USUBJID\n", encoding="utf-8")
    args = ["export", "adam", str(dhurat.analysis), "--trial", str(trial), "--out"]
    assert main([*args, str(tmp_path / "a")]) == 0
    with (trial / "trial.toml").open("a", encoding="utf-8") as toml:
        toml.write("\n# edited after the analysis\n")
    assert main([*args, str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert f"{trial / 'trial.toml'}: input changed since the run" in err
    assert not (tmp_path / "b").exists()
