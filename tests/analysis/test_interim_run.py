"""The group sequential look inside ``trialkit analyze``: TK-AGA-301 at its interim cutoff.

One analysis of the bundled example at ``scenario.toml``'s ``interim_cutoff`` (2024-02-15):
the look is computed by ``interim_look`` (each arm at its share of alpha), written to
results.json (schema-valid) and the interim tables, and presented, not recomputed, by the
closed report; the open report shows the information fraction only.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import trialkit
from trialkit.analysis.interim import interim_look, primary_subjects
from trialkit.analysis.results import AnalysisResults
from trialkit.definition import load_definition
from trialkit.design.update import update_design
from trialkit.examples import load_scenario
from trialkit.report import AnalysisOutput, ReportOptions, build_report
from trialkit.report.formatting import fmt_num
from trialkit.resources import example_trials_dir, schemas_dir

pytestmark = pytest.mark.slow

TRIAL = example_trials_dir() / "tk_aga_301"
CUTOFF = date(2024, 2, 15)


@pytest.fixture(scope="module")
def results() -> AnalysisResults:
    assert load_scenario(TRIAL).interim_cutoff == CUTOFF
    return trialkit.analyze(TRIAL, cutoff=CUTOFF)


@pytest.fixture(scope="module")
def written(results: AnalysisResults, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("interim") / "out"
    results.write(out)
    return out


def _doc(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "results.json").read_text(encoding="utf-8")))


def test_interim_look_has_the_per_arm_alpha_split(results: AnalysisResults) -> None:
    definition = load_definition(TRIAL)
    plan = definition.interim
    assert plan is not None and plan.active_arms == 3
    look = results.interim
    assert look is not None and look.look == 1 and not look.final
    assert look.previous_fractions == ()
    split = plan.alpha / 3
    assert list(look.arms["alpha"]) == pytest.approx([split] * 3)
    assert list(look.arms["arm"]) == [a.code for a in definition.arms if not a.reference]
    # the information: subjects with the primary endpoint in the fitted rows, over max_subjects
    fitted = results.adam["analysis_primary"]
    assert look.information_observed == primary_subjects(fitted, definition)
    assert look.information_fraction == pytest.approx(look.information_observed / 300)
    assert 0 < look.information_fraction < 1
    # each arm's boundaries are its own design's, at its share (not the first arm's, not alpha)
    for arm in look.arms["arm"]:
        expected = update_design(plan.design(alpha=split), [look.information_fraction]).table()
        pd.testing.assert_frame_equal(look.boundary_table(arm), expected)
        assert look.boundary_table(arm)["cumulative_alpha"].iloc[-1] == pytest.approx(split)
    # exactly what interim_look gives for these contrasts and rows
    again = interim_look(plan, None, results.primary.contrasts, fitted, definition)
    assert again.to_json() == look.to_json()


def test_results_json_and_tables_carry_the_look(results: AnalysisResults, written: Path) -> None:
    import jsonschema

    doc = _doc(written)
    assert results.interim is not None and doc["interim"] == results.interim.to_json()
    schema = json.loads((schemas_dir() / "results.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(doc)
    arms = pd.read_csv(written / "tables" / "interim_arms.csv")
    assert list(arms["arm"]) == [r["arm"] for r in doc["interim"]["arms"]]
    assert list(arms["alpha"]) == pytest.approx([r["alpha"] for r in doc["interim"]["arms"]])
    bounds = pd.read_csv(written / "tables" / "interim_boundaries.csv")
    assert len(bounds) == 3 * 2  # three arms, two looks


def _report(out: Path, blinded: bool) -> str:
    options = ReportOptions(
        kind="interim",
        blinded=blinded,
        cutoff=CUTOFF,
        generated=datetime(2030, 1, 2, tzinfo=UTC),
    )
    return build_report(load_definition(TRIAL), AnalysisOutput.load(out), options)


def _section(html: str, name: str) -> str:
    m = re.search(rf'<section id="{name}".*?</section>', html, re.S)
    assert m, name
    return re.sub(r"<svg.*?</svg>", "", m.group(0), flags=re.S)


def test_closed_report_presents_the_analysis_look(written: Path) -> None:
    look = _doc(written)["interim"]
    section = _section(_report(written, blinded=False), "boundaries")
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", section)
    for row in look["arms"]:
        assert fmt_num(row["z"], 3) in cells
        assert fmt_num(row["efficacy_z"], 3) in cells
        crossed = "crossed" if row["efficacy_crossed"] else "not crossed"
        i = cells.index(fmt_num(row["z"], 3))
        assert crossed in cells[i : i + 5]
    for b in look["boundaries"]:
        assert fmt_num(b["efficacy_z"], 3) in cells
        assert fmt_num(b["information_fraction"], 3) in cells
    assert f"{look['arms'][0]['alpha']:.4g}" in cells  # each arm's share of alpha


def test_open_report_shows_the_fraction_and_no_z(written: Path) -> None:
    look = _doc(written)["interim"]
    html = _report(written, blinded=True)
    assert "boundaries" not in re.findall(r'<section id="([^"]+)"', html)
    info = _section(html, "information")
    assert fmt_num(look["information_fraction"], 3) in info
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|svg)\b.*?</\1>", "", html, flags=re.S))
    for row in look["arms"]:
        for key in ("z", "efficacy_z", "conditional_power_trend"):
            if row[key] is not None:
                assert fmt_num(row[key], 3) not in text, key
