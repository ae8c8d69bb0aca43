"""The open interim report is blind: no arm-level result, invariant to permuted assignments."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialkit.report.blinding import INTERIM_KEYS, SUBJECT_COLUMNS, pool
from trialkit.report.results import AnalysisOutput

from .conftest import render
from .fake_results import write_fake_results


def text_of(html: str) -> str:
    """Visible text with provenance (generation time, input-file hashes) removed."""
    html = re.sub(r'<dd data-provenance="[^"]*">.*?</dd>', "", html, flags=re.S)
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def arm_level_numbers(html: str) -> set[str]:
    """Estimates, CIs and p-values of the closed report's arm-level tables.

    Counts with percentages (``10 (25.0%)``) are left out: the same count can occur in a pooled
    table by coincidence; estimates with decimals and intervals cannot.
    """
    found: set[str] = set()
    for sec in ("primary", "sensitivity", "forest", "responders", "consort", "exposure"):
        m = re.search(rf'<section id="{sec}".*?</section>', html, re.S)
        assert m, sec
        found |= set(re.findall(r"<td[^>]*>([^<]*\d\.\d[^<]*)</td>", m.group(0)))
    return {c for c in found if len(c) >= 4 and "%" not in c}


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


def test_pooled_material_has_no_arm_columns(fake_results: Path) -> None:
    pooled = pool(AnalysisOutput.load(fake_results))
    assert pooled.subjects is not None and set(pooled.subjects.columns) <= set(SUBJECT_COLUMNS)
    assert pooled.visits is not None
    post = pooled.visits[pooled.visits["ABLFL"].astype("string") != "Y"]
    assert post["AVAL"].isna().all()  # no post-baseline efficacy values
    assert pooled.findings is not None
    assert list(pooled.findings.columns) == ["rule", "severity", "dataset", "n"]
    for frame in (pooled.subjects, pooled.visits, pooled.adverse_events):
        assert frame is not None
        assert not {"ARMCD", "ARM", "TRT01P", "TRTP"} & set(frame.columns)


def test_pooled_interim_is_the_blinded_summary_only(fake_results: Path) -> None:
    """Of the group sequential look only the look and the information fraction pass."""
    from trialkit.analysis.interim import InterimLook

    output = AnalysisOutput.load(fake_results)
    pooled = pool(output)
    assert pooled.interim is not None
    assert tuple(pooled.interim) == INTERIM_KEYS == ("look", "information_fraction")
    look = output.get("interim")
    assert pooled.interim == {k: look[k] for k in INTERIM_KEYS}
    # the same keys as InterimLook.blinded_summary(), never information_observed or arms
    fields = {f: None for f in InterimLook.__dataclass_fields__}
    assert set(InterimLook.blinded_summary(InterimLook(**fields))) == set(INTERIM_KEYS)  # type: ignore[arg-type]
    assert "information_observed" not in INTERIM_KEYS


def permute_assignments(trial: Path, dest: Path, seed: int) -> Path:
    """A copy of ``trial`` with ARMCD (and ARM) permuted among subjects, each subject's exposure
    records following the assignment (shifted to the receiving subject's randomisation date)."""
    dest.mkdir(parents=True)
    for f in trial.iterdir():
        (dest / f.name).write_bytes(f.read_bytes())
    subj = pd.read_csv(trial / "subjects.csv", dtype=str, keep_default_na=False)
    ex = pd.read_csv(trial / "exposure.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    donor = rng.permutation(len(subj))
    new = subj.copy()
    for col in ("ARMCD", "ARM"):
        if col in subj.columns:
            new[col] = subj[col].to_numpy()[donor]
    rand = pd.to_datetime(subj["RANDDT"])
    parts = []
    for i, j in enumerate(donor):
        rows = ex[ex["USUBJID"] == subj["USUBJID"].iloc[j]].copy()
        shift = rand.iloc[i] - rand.iloc[j]
        for col in ("EXSTDT", "EXENDT"):
            d = pd.to_datetime(rows[col].replace("", None))
            rows[col] = (d + shift).dt.strftime("%Y-%m-%d").fillna("")
        rows["USUBJID"] = subj["USUBJID"].iloc[i]
        parts.append(rows)
    new.to_csv(dest / "subjects.csv", index=False)
    pd.concat(parts).to_csv(dest / "exposure.csv", index=False)
    assert (new["ARMCD"] != subj["ARMCD"]).any()
    return dest


@pytest.mark.slow
def test_open_report_is_invariant_to_permuted_assignments(
    small_trial: Path, tmp_path: Path
) -> None:
    base = render(small_trial, write_fake_results(small_trial, tmp_path / "r0"), "interim", True)
    for seed in (1, 2):
        trial = permute_assignments(small_trial, tmp_path / f"t{seed}", seed)
        results = write_fake_results(trial, tmp_path / f"r{seed}")
        open_ = render(trial, results, "interim", blinded=True)
        closed = render(trial, results, "interim", blinded=False)
        assert text_of(open_) == text_of(base)
        assert open_ == base  # the figures too, byte for byte
        assert text_of(closed) != text_of(render(small_trial, tmp_path / "r0", "interim", False))
