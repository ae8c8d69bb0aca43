"""``missing_data_section`` on a bundled trial: results.json's section and its tables, and the
same numbers for 1 and 2 workers (seeds fixed per sample up front)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache, partial
from typing import Any

import numpy as np
import pandas as pd
import pytest

from trialkit.analysis.missing_data import (
    ANALYSIS_COLUMNS,
    ParallelRunner,
    missing_data_section,
    run_missing_data,
)
from trialkit.analysis.plan import check_plan
from trialkit.derive import apply_estimand, derive_adsl, derive_bds
from trialkit.errors import TrialkitWarning
from trialkit.missing_data.plan import MissingDataPlan
from trialkit.parallel import run_batches
from trialkit.resources import example_trials_dir
from trialkit.validation import validate_trial


@cache
def _trial() -> tuple[Any, ...]:
    report = validate_trial(example_trials_dir() / "dhurat2013", None)
    d = report.definition
    fr = {k: v.frame for k, v in report.datasets.items()}
    adsl = derive_adsl(d, fr["subjects"], fr["exposure"], fr["assessments"], None, None)
    bds = apply_estimand(derive_bds(d, fr["assessments"], adsl, None), adsl, d.estimand)
    return d, check_plan(d, list(adsl.columns), list(bds.columns)), adsl, bds


def _run(plan: dict[str, Any], workers: int = 1) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    d, model_plan, adsl, bds = _trial()
    runner = partial(run_batches, workers=workers, batch_size=7)
    return missing_data_section(
        d, MissingDataPlan.from_mapping(plan), model_plan, adsl, bds, runner=runner
    )


J2R = {
    "strategies": [{"event": "discontinuation", "strategy": "J2R"}],
    "tipping_point": {"deltas": [0, -1000, -2000, -3000, -4000]},
}


def test_section_and_tables() -> None:
    section, tables = _run(J2R)
    analyses = tables["missing_data_analyses"]
    assert list(analyses.columns) == list(ANALYSIS_COLUMNS)
    assert set(analyses["strategy"]) == {"MAR", "J2R"}
    d, _, adsl, _ = _trial()
    day = (adsl["DISCDT"] - adsl["RANDDT"]).dt.days + 1
    last = d.post_baseline_visits[-1].day
    # events before the last visit, less any whose visits were all collected before the event
    assert 0 < section["subjects_by_strategy"]["J2R"] <= int((day < last).sum())
    assert section["method"]["samples"] == section["subjects"] + 1
    tip = tables["missing_data_tipping_point"]
    visit = section["primary_visit"]
    primary = analyses.loc[(analyses["strategy"] == "J2R") & (analyses["visit"] == visit)]
    at_zero = tip.loc[tip["delta"] == 0].iloc[0]
    assert at_zero["estimate"] == pytest.approx(primary["estimate"].iloc[0], abs=1e-12)
    # the estimate falls with delta: every imputed active-arm value moves by delta
    assert np.all(np.diff(tip.sort_values("delta")["estimate"].to_numpy()) > 0)
    tipping = section["tipping_delta"]["MINOX_MN"]
    rows = tip.sort_values("delta", ascending=False)
    lower = rows["lower"].to_numpy()
    k = int(np.flatnonzero(lower <= 0)[0])
    d0, d1 = rows["delta"].iloc[k - 1], rows["delta"].iloc[k]
    assert d1 < tipping < d0
    assert section["analyses"] == analyses.to_dict(orient="records")


def test_no_tipping_delta_in_range_is_null() -> None:
    section, _ = _run({**J2R, "tipping_point": {"deltas": [0, -1]}})
    assert section["tipping_delta"] == {"MINOX_MN": None}


@pytest.mark.slow
def test_one_and_two_workers_agree() -> None:
    plan = {"method": "approximate_bayes", "samples": 20, "seed": 7, **J2R}
    one, _ = _run(plan, workers=1)
    two, _ = _run(plan, workers=2)
    assert one == two
    assert one["analyses"] != _run({**plan, "seed": 8})[0]["analyses"]


def test_results_json_describes_the_tables() -> None:
    """results.json's table list describes the section's tables (not just their stems)."""
    from trialkit.analysis import missing_data
    from trialkit.analysis.results import TABLE_DESCRIPTIONS

    for stem, text in missing_data.TABLE_DESCRIPTIONS.items():
        assert TABLE_DESCRIPTIONS[stem] == text


def test_parallel_runner_counts_every_refit_and_changes_nothing() -> None:
    """One progress count over both imputations' jackknife refits; the same numbers as here."""
    d, model_plan, adsl, bds = _trial()
    plan = MissingDataPlan.from_mapping(J2R)
    calls: list[tuple[int, int]] = []
    runner = ParallelRunner(workers=2, progress=lambda done, total: calls.append((done, total)))
    section, _ = missing_data_section(d, plan, model_plan, adsl, bds, runner=runner)
    here, _ = missing_data_section(d, plan, model_plan, adsl, bds)
    assert section == here
    refits = 2 * (section["subjects"] + 1)  # MAR and J2R: the full fit and one per subject
    assert calls[-1] == (refits, refits)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_failed_section_is_recorded_and_the_run_goes_on() -> None:
    """No active-arm value after baseline: the imputation model cannot be fitted."""
    d, model_plan, adsl, bds = _trial()
    d = replace(d, missing_data=MissingDataPlan.from_mapping(J2R))
    active = set(adsl.loc[adsl["ARMCD"] != d.reference_arm.code, "USUBJID"])
    bds = bds.loc[~(bds["USUBJID"].isin(active) & bds["ABLFL"].ne("Y"))]
    with pytest.warns(TrialkitWarning, match=r"^missing_data analysis not run: Model"):
        section, tables = run_missing_data(d, model_plan, adsl, bds)
    assert section["status"] == "failed"
    assert section["reason"].startswith("ModelSpecificationError: factor 'ARMCD' has one level")
    assert tables == {}
    ok, _ = run_missing_data(d, model_plan, *_trial()[2:])
    assert ok["status"] == "ok"


def test_sections_follow_the_results_schema() -> None:
    """schemas/results.schema.json describes the section as written, ok or failed."""
    import json

    import jsonschema

    from trialkit.analysis.results import clean
    from trialkit.resources import schemas_dir

    schema = json.loads((schemas_dir() / "results.schema.json").read_text(encoding="utf-8"))
    check = jsonschema.Draft202012Validator(schema["properties"]["missing_data"])
    section, _ = _run(J2R)
    check.validate(clean(section))
    check.validate({"status": "failed", "reason": "ConvergenceError: imputation model: ..."})
    assert not check.is_valid({"status": "ok"})
    assert not check.is_valid({**clean(section), "analyses": [{"strategy": "MAR"}]})
