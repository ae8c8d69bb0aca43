"""Nothing silent: a supporting analysis that fails is one warning line naming it and the
reason, keeps ``status``/``message`` in results.json, and the reports show the reason where its
table would be (the open report only for pooled analyses) (issue 13)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trialkit.cli import main
from trialkit.errors import ModelSpecificationError
from trialkit.resources import example_trials_dir

pytestmark = pytest.mark.slow

#: (module, function, section, analysis name) of the failures planted below
PLANTED = (
    ("trialkit.estimators.linear", "ancova", "sensitivity", "ancova"),
    ("trialkit.estimators.slopes", "random_slope", "sensitivity", "random_slope"),
    ("trialkit.analysis.safety", "teae_by_worst_severity", "safety", "teae_by_severity"),
    ("trialkit.analysis.descriptive", "visit_attendance", "descriptive", "pooled_visit_attendance"),
)


def _planted(name: str):  # type: ignore[no-untyped-def]
    def fail(*args: object, **kwargs: object) -> None:
        raise ModelSpecificationError(f"planted failure of {name}")

    return fail


@pytest.fixture
def failed_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    import importlib

    for module, function, _, name in PLANTED:
        monkeypatch.setattr(importlib.import_module(module), function, _planted(name))
    trial = tmp_path / "trial"
    shutil.copytree(example_trials_dir() / "dhurat2013", trial)
    return trial, tmp_path / "out"


def test_each_failure_is_announced_recorded_and_reported(
    failed_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    trial, out = failed_run
    assert main(["analyze", str(trial), "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    results = json.loads((out / "results.json").read_text())
    for _, _, section, name in PLANTED:
        lines = [line for line in err if f"'{name}' not run" in line]
        assert len(lines) == 1, err
        assert lines[0].startswith(f"trialkit: warning: {section} analysis '{name}' not run: ")
        assert lines[0].endswith(f"planted failure of {name}")
        entry = results[section][name]
        assert entry["status"] == "failed"
        assert f"planted failure of {name}" in entry["message"]
    assert "Traceback" not in "\n".join(err)

    reports = out.parent / "reports"
    assert main(["report", str(trial), "--results", str(out), "--out", str(reports),
                 "--format", "html"]) == 0  # fmt: skip
    html = (reports / "report.html").read_text()
    assert "Analyses not run" in html
    for _, _, _, name in PLANTED:
        assert f"planted failure of {name}" in html
    # where the table would be: the sensitivity item says why it has none
    assert "not run: ModelSpecificationError: planted failure of random_slope" in html


def test_open_report_shows_only_pooled_failures(
    failed_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    trial, out = failed_run
    reports = out.parent / "open"
    assert main(["report", str(trial), "--out", str(reports), "--kind", "interim", "--blinded",
                 "--cutoff", "2011-04-20", "--format", "html"]) == 0  # fmt: skip
    html = (reports / "report.html").read_text()
    assert "planted failure of pooled_visit_attendance" in html
    for name in ("ancova", "random_slope", "teae_by_severity"):
        assert f"planted failure of {name}" not in html
