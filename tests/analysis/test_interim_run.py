"""The group sequential look inside ``trialkit analyze``: TK-AGA-301 at its interim cutoff.

One analysis of the bundled example at ``scenario.toml``'s ``interim_cutoff`` (2024-02-15):
the look is computed by ``interim_look`` (each arm at its share of alpha), written to
results.json (schema-valid) and the interim tables, and presented, not recomputed, by the
closed report; the open report shows the information fraction only.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import trialkit
from trialkit.analysis.interim import (
    describe_previous_looks,
    interim_look,
    primary_subjects,
    read_previous_looks,
)
from trialkit.analysis.results import AnalysisResults
from trialkit.analysis.run import write_analysis
from trialkit.definition import load_definition
from trialkit.design.update import update_design
from trialkit.errors import InputError
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
    again = interim_look(plan, None, results.primary.contrasts, fitted, definition, cutoff=CUTOFF)
    assert again.to_json() == look.to_json()
    assert look.to_json()["cutoff"] == CUTOFF.isoformat()


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


# --- three looks: interim 1, interim 2 after it, the final after both ---------------------------

RPACT = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "design" / "rpact_designs.json").read_text()
)["realisedLooks"]
LOOK_CUTOFFS = (date(2024, 1, 1), date(2024, 5, 15))


@pytest.fixture(scope="module")
def three_looks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """TK-AGA-301 planned with looks at 0.3, 0.6 and 1: looks 1 and 2 written by write_analysis
    at two cutoffs, each read back as an earlier look; the final analysis after both."""
    base = tmp_path_factory.mktemp("looks")
    trial = base / "trial"
    shutil.copytree(TRIAL, trial)
    toml = trial / "trial.toml"
    text = toml.read_text(encoding="utf-8")
    assert "information_fractions = [0.5, 1.0]" in text
    toml.write_text(text.replace("[0.5, 1.0]", "[0.3, 0.6, 1.0]"), encoding="utf-8")
    definition = load_definition(trial)
    plan = definition.interim
    assert plan is not None
    out1, out2 = base / "look1", base / "look2"
    # the analyze command's own path: each look reads the earlier ones from their folders
    first = write_analysis(trial, out1, LOOK_CUTOFFS[0])
    second = write_analysis(trial, out2, LOOK_CUTOFFS[1], previous_looks=[out1])
    final = write_analysis(trial, base / "final", None, previous_looks=[out1, out2])
    assert first.interim is not None and second.interim is not None
    assert final.interim is not None
    again, final_look = second.interim, final.interim
    return {
        "definition": definition, "out": (out1, out2),
        "looks": (first.interim, again, final_look), "final_dir": base / "final",
    }  # fmt: skip


def test_every_boundary_of_three_looks_matches_rpact(three_looks: dict[str, Any]) -> None:
    """Each look's boundaries: rpact's getDesignGroupSequential at the realised information
    rates (final look: the rates rescaled, alpha spent at looks 1 and 2 kept), to 1e-6."""
    looks = three_looks["looks"]
    assert [lk.information_observed for lk in looks] == RPACT["subjects"]
    assert [lk.look for lk in looks] == [1, 2, 3] and looks[2].final
    for look, ref in zip(looks, RPACT["looks"], strict=True):
        for arm in look.arms["arm"]:
            table = look.boundary_table(arm)
            assert list(table["efficacy_z"]) == pytest.approx(ref["criticalValues"], abs=1e-6)
            assert table["cumulative_alpha"].iloc[-1] == pytest.approx(RPACT["alpha"], abs=1e-9)
        assert list(look.arms["alpha"]) == pytest.approx([RPACT["alpha"]] * 3)
    # the final folder's results.json carries the same boundaries, and records its earlier
    # looks relative to itself
    written = json.loads((three_looks["final_dir"] / "results.json").read_text())["interim"]
    assert [e["look"] for e in written["looks"]] == [1, 2, 3]
    manifest = json.loads((three_looks["final_dir"] / "manifest.json").read_text())
    assert manifest["options"]["previous_looks"] == ["../look1", "../look2"]


def test_final_analysis_lists_every_look_with_its_boundary_and_decision(
    three_looks: dict[str, Any],
) -> None:
    first, second, final = three_looks["looks"]
    doc = final.to_json()
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    assert [e["look"] for e in doc["looks"]] == [1, 2, 3]
    assert [e["cutoff"] for e in doc["looks"]] == [c.isoformat() for c in LOOK_CUTOFFS] + [None]
    assert [e["final"] for e in doc["looks"]] == [False, False, True]
    assert doc["looks"][0]["arms"] == first.record()["arms"]
    assert doc["looks"][1]["arms"] == second.record()["arms"]
    for rec in doc["looks"][2]["arms"]:
        assert rec["status"] == "estimated"
        assert rec["efficacy_z"] == pytest.approx(RPACT["looks"][2]["criticalValues"][2], abs=1e-6)
        assert rec["efficacy_crossed"] is (rec["z"] >= rec["efficacy_z"])
    assert doc["previous_fractions"] == [first.information_fraction, second.information_fraction]
    assert doc["plan_fingerprint"] == three_looks["definition"].interim.fingerprint()
    assert "0.00833333" in doc["alpha_rule"] and "Bonferroni" in doc["alpha_rule"]
    line = describe_previous_looks(final.earlier)
    assert "look 1 at cutoff 2024-01-01" in line and str(three_looks["out"][1]) in line


def _altered(src: Path, dest: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    shutil.copytree(src, dest)
    doc = json.loads((dest / "results.json").read_text(encoding="utf-8"))
    change(doc)
    (dest / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    return dest


def test_earlier_looks_are_checked_and_refused_in_one_line(
    three_looks: dict[str, Any], tmp_path: Path
) -> None:
    definition = three_looks["definition"]
    out1, out2 = three_looks["out"]
    other = _altered(out1, tmp_path / "other", lambda d: d["trial"].update(id="TK-OTHER"))
    plan = _altered(
        out1, tmp_path / "plan", lambda d: d["interim"].update(plan_fingerprint="0" * 64)
    )
    cases = [
        ([out2, out1], f"{out2}: is look 2, but it is given as look 1"),
        ([out1, out1], f"{out1}: is look 1, but it is given as look 2"),
        ([other], f"{other}: an analysis of trial TK-OTHER, not TK-AGA-301"),
        ([plan], f"{plan}: its [interim] plan is not trial.toml's"),
        ([tmp_path / "missing"], f"{tmp_path / 'missing'}: no results.json"),
    ]
    for dirs, message in cases:
        with pytest.raises(InputError) as err:
            read_previous_looks(dirs, definition)
        assert str(err.value).startswith(message) and "\n" not in str(err.value)
