"""``trialkit analyze`` runs the [missing_data] plan (issue 15): results.json and tables carry
the section, identical for one and two workers, and the console shows nothing but the summary
when it succeeds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trialkit.cli import main
from trialkit.resources import example_trials_dir

pytestmark = pytest.mark.slow

PLAN = """
[missing_data]
method = "conditional_mean"
resampling = "jackknife"
seed = 20240101
[[missing_data.strategies]]
event = "discontinuation"
strategy = "J2R"
[missing_data.tipping_point]
deltas = [0, -10, -20]
"""


def test_analyze_writes_the_missing_data_section(tmp_path: Path) -> None:
    trial = tmp_path / "trial"
    shutil.copytree(example_trials_dir() / "dhurat2013", trial)
    with (trial / "trial.toml").open("a", encoding="utf-8") as f:
        f.write(PLAN)
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        assert main(["analyze", str(trial), "--out", str(out), "--workers", workers]) == 0
        outs.append(out)
    docs = [json.loads((o / "results.json").read_text())["missing_data"] for o in outs]
    assert docs[0] == docs[1]  # the same for any number of workers
    md = docs[0]
    assert md["status"] == "ok" and md["method"]["resampling"] == "jackknife"
    strategies = {row["strategy"] for row in md["analyses"]}
    assert {"MAR", "J2R"} <= strategies
    assert [row["delta"] for row in md["tipping_point"]][:3] == [0, -10, -20]
    names = {t["name"] for t in json.loads((outs[0] / "results.json").read_text())["tables"]}
    assert {"missing_data_analyses", "missing_data_tipping_point"} <= names

    # the final report shows the section; the open report does not
    final, open_ = tmp_path / "final", tmp_path / "open"
    assert main(["report", str(trial), "--results", str(outs[0]), "--out", str(final),
                 "--format", "html"]) == 0  # fmt: skip
    assert 'id="missing_data"' in (final / "report.html").read_text()
    assert main(["report", str(trial), "--out", str(open_), "--format", "html", "--kind",
                 "interim", "--blinded", "--cutoff", "2030-01-01"]) == 0  # fmt: skip
    assert 'id="missing_data"' not in (open_ / "report.html").read_text()
