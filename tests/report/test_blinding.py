"""The open interim report is blind: no arm-level result, invariant to permuted assignments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trialkit.report.blinding import (
    INTERIM_KEYS,
    POOLED_TABLES,
    SAE_LISTING,
    VALIDATION_KEYS,
    pool,
)
from trialkit.report.results import AnalysisOutput

from .analysis_results import write_test_results
from .conftest import render


def text_of(html: str) -> str:
    """Visible text with provenance (generation time, input-file hashes) removed."""
    html = re.sub(r'<dd data-provenance="[^"]*">.*?</dd>', "", html, flags=re.S)
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def arm_level_numbers(html: str) -> set[str]:
    """Estimates, CIs and p-values of the closed report's arm-level tables.

    Counts with percentages (``10 (25.0%)``) and cells of zeros (``0.0 (0.0)``) are left out:
    the same count can occur in a pooled table by coincidence; estimates with decimals and
    intervals cannot.
    """
    found: set[str] = set()
    for sec in ("primary", "sensitivity", "forest", "responders", "consort", "exposure"):
        m = re.search(rf'<section id="{sec}".*?</section>', html, re.S)
        assert m, sec
        found |= set(re.findall(r"<td[^>]*>([^<]*\d\.\d[^<]*)</td>", m.group(0)))
    return {c for c in found if len(c) >= 4 and "%" not in c and re.search(r"[1-9]", c)}


def leaked(numbers: set[str], text: str) -> set[str]:
    """The numbers that occur in ``text`` as whole numbers (``0.41`` is not in ``0.417``)."""
    return {n for n in numbers if re.search(rf"(?<![\d.]){re.escape(n)}(?!\d)", text)}


def test_open_report_has_no_arm_level_results(html_reports: dict[str, str]) -> None:
    closed, open_ = html_reports["closed"], html_reports["open"]
    numbers = arm_level_numbers(closed)
    assert len(numbers) > 20
    visible = text_of(open_)
    assert not leaked(numbers, visible)
    for word in ("LS mean", "Difference vs reference", "Dunnett", "MINOX", "Adjusted p"):
        assert word not in open_
    # and no arm label or code at all
    for code, _label in (("MINOX_MN", "microneedling"), ("MN_PRP", "PRP")):
        assert code not in open_


def test_pooled_material_is_the_allow_list_only(analysis_output: Path) -> None:
    """The open report's material: the pooled tables (no arm column, no treatment emergence
    or safety flag) and the validation totals; every allowed table the analysis wrote is there
    (the serious AE listing only when the plan allows it)."""
    output = AnalysisOutput.load(analysis_output)
    written = {name for name in POOLED_TABLES if output.table(name) is not None}
    assert SAE_LISTING in written and "pooled_ae_by_term" in written
    pooled = pool(output)
    assert set(pooled.tables) == written - {SAE_LISTING}
    assert pooled.table(SAE_LISTING) is None
    assert set(pool(output, sae_listing=True).tables) == written
    assert all(name.startswith("pooled_") or name == "validation_findings_by_rule"
               for name in POOLED_TABLES)  # fmt: skip
    assert tuple(pooled.validation_totals) == VALIDATION_KEYS
    for name, frame in pool(output, sae_listing=True).tables.items():
        assert not {"ARMCD", "ACTARMCD", "ARM", "TRTEMFL", "SAFFL", "message"} & set(
            frame.columns
        ), name
        if "arm" in frame.columns:
            assert set(frame["arm"]) == {"Total"}, name


def test_pooled_interim_is_the_blinded_summary_only(analysis_output: Path) -> None:
    """Of the group sequential look only the look and the information fraction pass."""
    from trialkit.analysis.interim import InterimLook

    output = AnalysisOutput.load(analysis_output)
    pooled = pool(output)
    assert pooled.interim is not None
    assert tuple(pooled.interim) == INTERIM_KEYS == ("look", "information_fraction")
    look = output.get("interim")
    assert pooled.interim == {k: look[k] for k in INTERIM_KEYS}
    # the same keys as InterimLook.blinded_summary(), never information_observed or arms
    fields = {f: None for f in InterimLook.__dataclass_fields__}
    assert set(InterimLook.blinded_summary(InterimLook(**fields))) == set(INTERIM_KEYS)  # type: ignore[arg-type]
    assert "information_observed" not in INTERIM_KEYS


@pytest.mark.slow
def test_open_report_is_invariant_to_permuted_assignments(
    small_trial: Path, tmp_path: Path
) -> None:
    """Arms permuted by the analysis' dummy randomisation (exposure follows the arm): the open
    report does not change by a byte, the closed one does."""
    base = write_test_results(small_trial, tmp_path / "r1", dummy_seed=1)
    base_open = render(small_trial, base, "interim", blinded=True)
    base_closed = render(small_trial, base, "interim", blinded=False)
    for seed in (2, 3):
        results = write_test_results(small_trial, tmp_path / f"r{seed}", dummy_seed=seed)
        open_ = render(small_trial, results, "interim", blinded=True)
        closed = render(small_trial, results, "interim", blinded=False)
        assert text_of(open_) == text_of(base_open)
        assert open_ == base_open  # the figures too, byte for byte
        assert text_of(closed) != text_of(base_closed)
