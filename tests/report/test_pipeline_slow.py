"""End to end with the real analysis: reports from a generated trial, blinding under permutation.

The analysis runs inside ``run_report`` (in a temporary folder outside OUT); treatment
assignments are permuted with the analysis' own ``dummy_randomize`` (ARMCD and, consistently,
each subject's exposure records), written back as a trial folder.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from trialkit.datasets import read_trial_datasets
from trialkit.examples import write_small_trial, write_trial
from trialkit.output import MARKER_NAME
from trialkit.report import run_report

from .test_blinding import arm_level_numbers, leaked, text_of

pytestmark = pytest.mark.slow

CUTOFF = date(2030, 1, 1)


def _permuted(trial: Path, dest: Path, seed: int) -> Path:
    from trialkit.derive.dummy import dummy_randomize

    frames = {name: ds.frame for name, ds in read_trial_datasets(trial).items()}
    frames["subjects"], frames["exposure"] = dummy_randomize(
        frames["subjects"], frames["exposure"], seed
    )
    subjects = frames["subjects"].drop(columns=["ARM"], errors="ignore")
    frames["subjects"] = subjects
    # the moved records must fit the receiving subject's time on study (no finding created)
    ex = frames["exposure"].merge(subjects[["USUBJID", "EOSDT"]], on="USUBJID", how="left")
    ex = ex[ex["EOSDT"].isna() | (ex["EXSTDT"] <= ex["EOSDT"])].copy()
    ex["EXENDT"] = ex["EXENDT"].where(ex["EOSDT"].isna(), ex[["EXENDT", "EOSDT"]].min(axis=1))
    frames["exposure"] = ex.drop(columns=["EOSDT"]).reset_index(drop=True)
    write_trial(frames, dest)
    (dest / "trial.toml").write_bytes((trial / "trial.toml").read_bytes())
    return dest


def _report(trial: Path, out: Path, blinded: bool) -> str:
    run_report(trial, out, kind="interim", cutoff=CUTOFF, blinded=blinded, formats=["html"])
    return (out / "report.html").read_text(encoding="utf-8")


def test_open_report_blind_with_real_analysis(tmp_path: Path) -> None:
    trial = write_small_trial(tmp_path / "trial", seed=5)
    frames = read_trial_datasets(trial)
    base = frames["subjects"].frame.drop(columns=["ARM"], errors="ignore")
    write_trial({**{n: d.frame for n, d in frames.items()}, "subjects": base}, trial)
    open_ = _report(trial, tmp_path / "open", blinded=True)
    closed = _report(trial, tmp_path / "closed", blinded=False)
    # nothing but the report and a results-free manifest in the open report's folder
    assert sorted(p.name for p in (tmp_path / "open").iterdir()) == [
        MARKER_NAME, "manifest.json", "report.html",
    ]  # fmt: skip
    manifest = json.loads((tmp_path / "open" / "manifest.json").read_text())
    assert not {"lsmeans", "contrasts", "primary", "results"} & set(manifest)
    numbers = arm_level_numbers(closed)
    assert numbers and not leaked(numbers, text_of(open_))
    # with the real analysis: diagnostics from marginal residuals, monitoring from [interim]
    assert "Model diagnostics: not available" not in closed
    assert "Primary analysis: not available" not in closed
    for seed in (3, 4):
        shuffled = _permuted(trial, tmp_path / f"perm{seed}", seed)
        again = _report(shuffled, tmp_path / f"open{seed}", blinded=True)
        assert text_of(again) == text_of(open_)
        # figures too: strip only the provenance block before comparing the markup
        strip = re.compile(r'<dd data-provenance="[^"]*">.*?</dd>', re.S)
        assert strip.sub("", again) == strip.sub("", open_)
        if seed == 3:  # while the closed report does change
            closed_again = _report(shuffled, tmp_path / f"closed{seed}", blinded=False)
            assert text_of(closed_again) != text_of(closed)


def test_demo_end_to_end(tmp_path: Path) -> None:
    from trialkit.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    for name in ("final", "interim_open", "interim_closed"):
        assert (out / name / "report.html").is_file()
        assert (out / name / "report.pdf").stat().st_size > 10_000
    assert (out / "analysis" / "results.json").is_file()
    # written the way trialkit analyze writes it: with its manifest, and verifiable
    manifest = json.loads((out / "analysis" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command"] == "analyze" and "results.json" in manifest["outputs"]
    final_look = json.loads((out / "analysis" / "results.json").read_text())["interim"]
    assert final_look["final"] is True
    assert (out / "validation" / "query_listing.csv").is_file()
    # one error-rate plan: the final analysis read the interim analysis as its look 1 and kept
    # its boundary as used (not the planned fraction 0.5)
    look1 = json.loads((out / "interim_analysis" / "results.json").read_text())["interim"]
    assert final_look["previous_fractions"] == [look1["information_fraction"]] != [0.5]
    assert final_look["looks"][0]["arms"] == look1["looks"][0]["arms"]
    assert manifest["options"]["previous_looks"] == ["../interim_analysis"]
    assert sorted(p.name for p in out.iterdir()) == [
        MARKER_NAME, "analysis", "final", "interim_analysis", "interim_closed", "interim_open",
        "tk_aa_201", "validation",
    ]  # fmt: skip
    # the second bundled multi-arm trial: a responder primary, validated, analysed, reported
    second = out / "tk_aa_201"
    assert sorted(p.name for p in second.iterdir()) == ["analysis", "final", "validation"]
    aa = json.loads((second / "analysis" / "results.json").read_text())
    assert aa["primary"]["kind"] == "binary"
    assert "Responders n (%)" in (second / "final" / "report.html").read_text()
    assert main(["verify", str(out / "analysis")]) == 0  # reruns with its earlier look
    open_html = (out / "interim_open" / "report.html").read_text(encoding="utf-8")
    closed_html = (out / "interim_closed" / "report.html").read_text(encoding="utf-8")
    assert not leaked(arm_level_numbers(closed_html), text_of(open_html))


def test_results_at_another_cutoff_are_refused(tmp_path: Path) -> None:
    from trialkit.cli import main

    trial = write_small_trial(tmp_path / "trial", seed=9)
    results = tmp_path / "results"
    from trialkit.report.api import run_analysis

    run_analysis(trial, results, None)
    code = main(["report", str(trial), "--out", str(tmp_path / "o"), "--kind", "interim",
                 "--unblinded", "--cutoff", "2030-01-01", "--results", str(results)])  # fmt: skip
    assert code == 2
