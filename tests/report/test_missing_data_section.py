"""The report's missing-data section on a real analysis of tk_aga_301 with a [missing_data]
plan (J2R after discontinuation, a tipping point): the numbers are results.json's, the primary
row is the primary MMRM's, the figure marks the tipping delta and the favourable side, a
failed analysis shows its reason, and the open report never shows the section."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from trialkit.analysis.missing_data import run_missing_data
from trialkit.analysis.plan import check_plan
from trialkit.analysis.results import clean, csv_text
from trialkit.analysis.run import write_analysis
from trialkit.definition import TrialDefinition, load_definition
from trialkit.derive import apply_estimand, derive_adsl, derive_bds
from trialkit.report import AnalysisOutput
from trialkit.report.formatting import fmt_est_ci, fmt_num, fmt_p
from trialkit.report.missing_data import missing_data_context
from trialkit.report.render import environment
from trialkit.report.tipping_figure import tipping_figure
from trialkit.resources import example_trials_dir
from trialkit.validation import validate_trial

pytestmark = pytest.mark.slow  # one analysis of tk_aga_301 with its imputations (~7 s)

PLAN = """
[missing_data]
method = "approximate_bayes"
samples = 4
seed = 11
[[missing_data.strategies]]
event = "discontinuation"
strategy = "J2R"
[missing_data.tipping_point]
deltas = [0, -10, -20, -30, -40, -60, -80]
"""


def plan_trial(folder: Path, plan: str = PLAN) -> Path:
    """A copy of tk_aga_301 with ``plan`` appended to its trial.toml."""
    trial = folder / "tk_aga_301"
    shutil.copytree(example_trials_dir() / "tk_aga_301", trial)
    with (trial / "trial.toml").open("a", encoding="utf-8") as f:
        f.write(plan)
    return trial


def _add_section(trial: Path, out: Path) -> None:
    """Write the missing-data section into an analysis folder that lacks it (``analyze`` before
    its hook): results.json's key, the tables and their entries in results.json's list."""
    report = validate_trial(trial, None)
    d = report.definition
    assert d is not None
    fr = {k: v.frame for k, v in report.datasets.items()}
    cm = fr.get("concomitant_medications")
    adsl = derive_adsl(d, fr["subjects"], fr["exposure"], fr["assessments"], cm, None)
    bds = apply_estimand(derive_bds(d, fr["assessments"], adsl, None), adsl, d.estimand)
    section, tables = run_missing_data(d, check_plan(d, list(adsl), list(bds)), adsl, bds)
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    doc["missing_data"] = clean(section)
    for stem, frame in tables.items():
        (out / "tables" / f"{stem}.csv").write_text(csv_text(frame, False), encoding="utf-8")
        doc["tables"].append({"name": stem, "path": f"tables/{stem}.csv", "description": stem})
    text = json.dumps(doc, sort_keys=True, indent=2, allow_nan=False) + "\n"
    (out / "results.json").write_text(text, encoding="utf-8")


def analysed(folder: Path, plan: str = PLAN) -> tuple[TrialDefinition, Path]:
    """The planned trial and its analysis folder, with the missing-data section."""
    trial = plan_trial(folder, plan)
    out = folder / "analysis"
    write_analysis(trial, out)
    if "missing_data" not in json.loads((out / "results.json").read_text(encoding="utf-8")):
        _add_section(trial, out)
    return load_definition(trial), out


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrialDefinition, AnalysisOutput]:
    d, out = analysed(tmp_path_factory.mktemp("missing_data"))
    return d, AnalysisOutput.load(out)


def _section(results: tuple[TrialDefinition, AnalysisOutput]) -> dict[str, Any]:
    d, output = results
    s = missing_data_context(output, d, 1 - d.analysis.alpha)
    assert s is not None
    return s


def test_table_shows_the_primary_then_each_strategy(results: Any) -> None:
    d, output = results
    s = _section(results)
    md = output.get("missing_data")
    assert md["status"] == "ok"
    rows = [r["cells"] for r in s["table"]["rows"]]
    assert [r[0] for r in rows] == [
        "Primary (MMRM)", "Missing at random (MAR), MI", "Jump to reference (J2R), MI",
    ]  # fmt: skip
    active = [a.code for a in d.arms if a.code != d.reference_arm.code]
    assert len(s["table"]["header"]) == 1 + 2 * len(active)
    visit = d.primary.visit
    # every cell is the analysis' own number at the primary visit, formatted
    primary = output.rows("primary", "contrasts")
    analyses = output.rows("missing_data", "analyses")
    for i, arm in enumerate(active):
        c = primary.loc[
            (primary["arm"] == arm)
            & (primary["reference"] == d.reference_arm.code)
            & (primary["visit"] == visit)
        ].iloc[0]
        assert rows[0][1 + 2 * i : 3 + 2 * i] == [
            fmt_est_ci(c["estimate"], c["lower"], c["upper"]), fmt_p(c["p"])
        ]  # fmt: skip
        for row, strategy in zip(rows[1:], ("MAR", "J2R"), strict=True):
            a = analyses.loc[
                (analyses["strategy"] == strategy)
                & (analyses["arm"] == arm)
                & (analyses["visit"] == visit)
            ].iloc[0]
            assert row[1 + 2 * i] == fmt_est_ci(a["estimate"], a["lower"], a["upper"])
            assert row[2 + 2 * i] == fmt_p(a["p"])
    # J2R moves every arm's effect towards the reference: its estimates differ from MAR's
    assert rows[1][1::2] != rows[2][1::2]
    assert s["method"].startswith(
        "Approximate Bayesian multiple imputation, Rubin's rules; 4 samples, seed 11."
    )
    assert f"{md['subjects']} subjects" in s["method"]


def test_tipping_point_table_and_deltas(results: Any) -> None:
    d, output = results
    s = _section(results)
    tip = output.rows("missing_data", "tipping_point")
    rows = [r["cells"] for r in s["tipping_table"]["rows"]]
    assert len(rows) == len(tip) == 3 * 7
    labels = {a.code: a.label for a in d.arms}
    active = [a.code for a in d.arms if a.code != d.reference_arm.code]
    # arms in trial.toml's order, each arm's rows as the analysis wrote them
    expected_rows = [
        [labels[arm], fmt_num(r["delta"], 2), fmt_est_ci(r["estimate"], r["lower"], r["upper"]),
         fmt_p(r["p"])]
        for arm in active
        for _, r in tip.loc[tip["arm"] == arm].iterrows()
    ]  # fmt: skip
    assert rows == expected_rows
    tipping = output.get("missing_data", "tipping_delta")
    assert s["tipping"] == [
        {
            "arm": labels[code],
            "delta": "none in range"
            if tipping[code] is None
            else f"{fmt_num(tipping[code], 2)} hairs/cm2",
        }
        for code in active
    ]
    assert any(delta is not None for delta in tipping.values())  # the plan's range tips one
    assert s["direction"] == "higher"


def test_figure_marks_the_tipping_delta_and_the_favourable_side(results: Any) -> None:
    d, output = results
    svg = _section(results)["figure"]
    assert svg.startswith("<svg") and 'id="tipping-' in svg
    marked = [v for v in output.get("missing_data", "tipping_delta").values() if v is not None]
    for delta in marked:
        assert f"tipping delta {fmt_num(delta, 2)}" in svg
    assert "↑ favours active arm" in svg and "↓ favours 5% minoxidil" in svg
    # lower is better: the labels swap sides
    tip = output.rows("missing_data", "tipping_point")
    arms = {a.code: a.label for a in d.arms if a.code != d.reference_arm.code}
    lower = tipping_figure(tip, {}, arms, [a.code for a in d.arms], "Placebo", "mm", "lower", 0.95)
    assert "↑ favours Placebo" in lower and "↓ favours active arm" in lower
    assert "tipping delta" not in lower
    assert re.search(r"Delta added to imputed values of the active arms \(mm\)", lower)


def test_failed_analysis_shows_its_reason(results: Any, tmp_path: Path) -> None:
    d, output = results
    doc = {**output.results, "missing_data": {"status": "failed", "reason": "ConvergenceError: x"}}
    failed = AnalysisOutput(root=tmp_path, results=doc)
    assert missing_data_context(failed, d, 0.95) == {"reason": "ConvergenceError: x"}
    assert _section(results)["reason"] is None
    without = {k: v for k, v in output.results.items() if k != "missing_data"}
    assert missing_data_context(AnalysisOutput(root=tmp_path, results=without), d, 0.95) is None


def test_section_renders_in_the_template(results: Any) -> None:
    """The shipped template renders the section in the report's strict environment (every key
    it reads is there; the figure passes the SVG checks)."""
    env = environment()
    source = '{% import "macros.html.j2" as m %}{% include "sections/missing_data.html.j2" %}'
    html = env.from_string(source).render(s=_section(results))
    assert "Jump to reference (J2R), MI" in html and "<h3>Tipping point</h3>" in html
    assert "<svg" in html
    failed = env.from_string(source).render(s={"reason": "ConvergenceError: x"})
    assert "not run: ConvergenceError: x" in failed and "Tipping point" not in failed
