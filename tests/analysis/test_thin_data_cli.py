"""Thin data through ``analyze`` and the three reports (issue 13): an arm or a visit without
enough data at a look, a declared arm with no subjects, all subjects in one arm, an arm with
one subject, no value yet at the primary visit. Exit 0, the console and every report say "not
estimable at this look", never an internal error."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from trialkit.cli import main
from trialkit.resources import example_trials_dir

pytestmark = pytest.mark.slow

Frames = dict[str, pd.DataFrame]
NOT_ESTIMABLE = "not estimable at this look"


def _arm_without_post_baseline(f: Frames) -> None:
    ids = set(f["subjects"].loc[f["subjects"]["ARMCD"] == "MN_PRP", "USUBJID"])
    a = f["assessments"]
    f["assessments"] = a[~a["USUBJID"].isin(ids) | (a["VISIT"] == "BASELINE")]


def _declared_arm_without_subjects(f: Frames) -> None:
    ids = set(f["subjects"].loc[f["subjects"]["ARMCD"] == "MN_PRP", "USUBJID"])
    for name, frame in f.items():
        f[name] = frame[~frame["USUBJID"].isin(ids)]


def _arm_with_one_subject(f: Frames) -> None:
    s = f["subjects"]
    ids = list(s.loc[s["ARMCD"] == "MN_PRP", "USUBJID"])[1:]
    for name, frame in f.items():
        f[name] = frame[~frame["USUBJID"].isin(ids)]


def _visit_with_one_value(f: Frames) -> None:
    a = f["assessments"]
    week4 = a.index[(a["VISIT"] == "WEEK4") & (a["PARAMCD"] == "HAIRCNT")]
    f["assessments"] = a.drop(week4[1:])


def _all_in_one_arm(f: Frames) -> None:
    f["subjects"] = f["subjects"].assign(ARMCD="MINOX", ARM="5% minoxidil")


CASES: dict[str, tuple[Callable[[Frames], None], bool]] = {
    # name: (edit, a comparison is not estimable)
    "arm_without_post_baseline": (_arm_without_post_baseline, True),
    "declared_arm_without_subjects": (_declared_arm_without_subjects, True),
    "arm_with_one_subject": (_arm_with_one_subject, False),
    "visit_with_one_value": (_visit_with_one_value, False),
    "all_in_one_arm": (_all_in_one_arm, True),
}


def _trial(root: Path, edit: Callable[[Frames], None]) -> Path:
    trial = root / "trial"
    shutil.copytree(example_trials_dir() / "tk_aga_301", trial)
    toml = trial / "trial.toml"
    text = toml.read_text()
    toml.write_text(text[: text.index("[interim]")])  # the plan's looks are tested elsewhere
    names = ("subjects", "assessments", "exposure", "adverse_events", "concomitant_medications")
    frames = {n: pd.read_csv(trial / f"{n}.csv", dtype=str, keep_default_na=False) for n in names}
    edit(frames)
    for name, frame in frames.items():
        frame.to_csv(trial / f"{name}.csv", index=False)
    return trial


@pytest.mark.parametrize("case", sorted(CASES))
def test_thin_data_is_analysed_and_reported(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit, thin = CASES[case]
    trial = _trial(tmp_path, edit)
    out = tmp_path / "out"
    code = main(["analyze", str(trial), "--out", str(out), "--allow-errors"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "internal error" not in err and "Traceback" not in err
    doc = json.loads((out / "results.json").read_text())
    statuses = {c["status"] for c in doc["primary"]["contrasts"] if c["primary_visit"]}
    if thin:
        assert NOT_ESTIMABLE in statuses and NOT_ESTIMABLE in err
    for kind in (
        ["--kind", "final"],
        ["--kind", "interim", "--unblinded", "--cutoff", "2099-01-01"],
    ):
        folder = tmp_path / f"report-{kind[1]}"
        args = ["report", str(trial), "--results", str(out), "--out", str(folder),
                "--format", "html", *kind]  # fmt: skip
        if kind[1] == "interim":  # a closed report of its own analysis at a cutoff
            args = [a for a in args if a not in ("--results", str(out))]
        assert main(args) == 0, capsys.readouterr().err
        html = (folder / "report.html").read_text()
        if thin:
            assert NOT_ESTIMABLE in html
    folder = tmp_path / "report-open"
    args = ["report", str(trial), "--out", str(folder), "--format", "html", "--kind", "interim",
            "--blinded", "--cutoff", "2099-01-01"]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
