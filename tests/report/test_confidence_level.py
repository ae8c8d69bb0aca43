"""The report states the confidence level the analysis used (``results.json``), not one it
works out from the trial definition's alpha again."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from trialkit.definition import load_definition
from trialkit.report import AnalysisOutput, ReportOptions
from trialkit.report.context import build_context


def test_intervals_are_labelled_with_the_results_level(
    small_trial: Path, analysis_output: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    shutil.copytree(analysis_output, results)
    doc = json.loads((results / "results.json").read_text(encoding="utf-8"))
    assert doc["confidence_level"] == 0.95
    doc["confidence_level"] = 0.9
    (results / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    options = ReportOptions(kind="final", generated=datetime(2030, 1, 2, tzinfo=UTC))
    context = build_context(load_definition(small_trial), AnalysisOutput.load(results), options)
    text = json.dumps(context, default=str)
    assert "90% confidence" in text
    assert "95% confidence" not in text
