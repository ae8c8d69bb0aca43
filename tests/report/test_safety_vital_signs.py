"""The reports' safety layout and vital signs: by arm as treated in the final and closed
reports, pooled only in the open one, serious AEs listed there only when the plan allows."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from trialkit.analysis import safety
from trialkit.report.results import AnalysisOutput
from trialkit.resources import example_trials_dir

from .analysis_results import write_test_results
from .conftest import render
from .test_blinding import text_of

AA = example_trials_dir() / "tk_aa_201"


def section(html: str, name: str) -> str:
    """The HTML of one report section ("" when the report has none)."""
    m = re.search(rf'<section id="{name}".*?</section>', html, re.S)
    return m.group(0) if m else ""


def row_cells(html: str, label: str) -> list[list[str]]:
    """The cells after the first of each table row whose first cell is ``label``."""
    rows = re.findall(rf"<tr><td>\s*{re.escape(label)}</td>(.*?)</tr>", html, re.S)
    return [[c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


@pytest.fixture(scope="module")
def aa_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tk_aa_201 (vital signs with alert limits, AEACN, MedDRA 27.1) analysed once, with the
    tables of AEs leading to withdrawal and of pooled serious AEs as the analysis' safety
    functions make them."""
    out = write_test_results(AA, tmp_path_factory.mktemp("aa") / "results")
    output = AnalysisOutput.load(out)
    adae, adsl = output.adam("adae"), output.adam("adsl")
    assert adae is not None and adsl is not None
    as_treated = adsl.assign(ARMCD=adsl["ACTARMCD"])
    arms = ["CTRL", "MN_PRP", "MN_MINOX"]
    extra = {
        "safety_teae_withdrawal": safety.teae_by_term(
            adae, as_treated, arms=arms, subset="withdrawn"
        ),
        "pooled_sae_by_term": safety.teae_by_term(
            adae, adsl, by_arm=False, population=safety.POOLED_POPULATION,
            treatment_emergent=False, subset="serious",
        ),
    }  # fmt: skip
    for name, frame in extra.items():
        frame.to_csv(out / "tables" / f"{name}.csv", index=False)
    return out


@pytest.fixture(scope="module")
def aa_reports(aa_results: Path) -> dict[str, str]:
    return {
        "final": render(AA, aa_results),
        "closed": render(AA, aa_results, "interim", blinded=False),
        "open": render(AA, aa_results, "interim", blinded=True),
    }


def _expected_alert(table: pd.DataFrame, param: str, direction: str, arm: str) -> str:
    """``n/N (pct%)`` of one cell, from the analysis table's own values."""
    cell = table[(table["parameter"] == param) & (table["variable"] == direction)
                 & (table["arm"] == arm)].set_index("statistic")["value"]  # fmt: skip
    share = f"{int(cell['n'])}/{int(cell['N'])}"
    return f"{share} ({cell['pct']:.1f}%)" if cell["n"] else share


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["final", "closed"])
def test_full_reports_show_vital_signs_by_arm(
    aa_reports: dict[str, str], aa_results: Path, kind: str
) -> None:
    html = aa_reports[kind]
    vs = section(html, "vital_signs")
    assert vs and not section(html, "vital_signs_pooled")
    for label in ("Systolic blood pressure (mmHg)", "Diastolic blood pressure", "Pulse rate"):
        assert f"{label}" in vs
    alerts = AnalysisOutput.load(aa_results).table("vital_signs_alerts")
    assert alerts is not None
    for direction, label in (("LOW", "Below 90 mmHg"), ("HIGH", "Above 160 mmHg")):
        [cells] = row_cells(vs, label)
        assert cells == [_expected_alert(alerts, "SYSBP", direction, arm)
                         for arm in ("CTRL", "MN_PRP", "MN_MINOX", "Total")]  # fmt: skip
    assert "Vehicle + sham microneedling (N=50): change" in vs


@pytest.mark.slow
def test_open_report_shows_pooled_vital_signs_only(aa_reports: dict[str, str]) -> None:
    html = aa_reports["open"]
    vs = section(html, "vital_signs_pooled")
    assert vs and not section(html, "vital_signs")
    assert "All subjects (N=" in vs
    for code, label in (("CTRL", "Vehicle + sham microneedling"), ("MN_PRP", "Microneedling + PRP"),
                        ("MN_MINOX", "Microneedling + 5% minoxidil")):  # fmt: skip
        assert code not in html and label not in html
    # no arm's mean (SD) of the closed report (each row's last two cells are the total's)
    closed = section(aa_reports["closed"], "vital_signs")
    by_arm = {c for cells in row_cells(closed, "Mean (SD)") for c in cells[:-2] if c != "–"}
    assert len(by_arm) > 100
    assert not {c for c in by_arm if c in text_of(vs)}


@pytest.mark.slow
def test_safety_tables_as_the_field_expects(aa_reports: dict[str, str], aa_results: Path) -> None:
    """Terms by descending total frequency with events, the MedDRA version in the titles, AEs
    leading to withdrawal; serious AEs: pooled counts in the open report, no listing."""
    output = AnalysisOutput.load(aa_results)
    by_term = output.table("safety_teae_by_term")
    assert by_term is not None
    for kind in ("final", "closed"):
        sec = section(aa_reports[kind], "safety")
        assert sec.count("(MedDRA 27.1)") >= 2
        assert "leading to withdrawal of study treatment" in sec
        total_n = by_term[(by_term["statistic"] == "n") & (by_term["arm"] == "Total")
                          & (by_term["preferred_term"].isna())]  # fmt: skip
        socs = [s for s in total_n["body_system"] if s != "ANY"]
        shown = [s for s in re.findall(r"<tr><td>([^<]*)</td>", sec) if s in socs]
        assert shown[: len(socs)] == socs  # the analysis' order, descending in the total
        assert total_n.set_index("body_system")["value"].loc[socs].is_monotonic_decreasing
    open_ = section(aa_reports["open"], "safety_pooled")
    assert "Serious adverse events by system organ class" in open_
    assert "not listed one by one" in open_ and "Onset" not in open_
    sae = output.table("pooled_serious_ae_listing")
    assert sae is not None and len(sae)
    for term in sae["AETERM"]:
        assert f">{term}<" not in open_  # verbatim terms are not shown


def test_trial_without_vital_signs_has_no_such_section(html_reports: dict[str, str]) -> None:
    for html in html_reports.values():
        assert 'id="vital_signs' not in html


def _with_listing(small_trial: Path, tmp_path: Path) -> Path:
    trial = tmp_path / "trial"
    shutil.copytree(small_trial, trial)
    toml = trial / "trial.toml"
    text = toml.read_text(encoding="utf-8")
    assert text.count("[interim]\n") == 1
    toml.write_text(text.replace("[interim]\n", "[interim]\nopen_report_sae_listing = true\n"))
    return trial


def test_open_report_lists_serious_aes_only_when_the_plan_allows(
    small_trial: Path, analysis_output: Path, html_reports: dict[str, str], tmp_path: Path
) -> None:
    off = section(html_reports["open"], "safety_pooled")
    on = section(render(_with_listing(small_trial, tmp_path), analysis_output, "interim",
                        blinded=True), "safety_pooled")  # fmt: skip
    sae = AnalysisOutput.load(analysis_output).table("pooled_serious_ae_listing")
    assert sae is not None and len(sae)
    listed = "listed without arm"
    assert listed in on and listed not in off
    assert "not listed one by one" in off and "not listed one by one" not in on
    first = str(sae["USUBJID"].iloc[0])
    assert text_of(on).count(first) > text_of(off).count(first)
    assert "Arm" not in re.findall(r"<thead>.*?</thead>", on.split(listed)[1], re.S)[0]
