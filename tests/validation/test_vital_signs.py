"""The optional vital_signs dataset: validated like assessments, for safety parameters only."""

from __future__ import annotations

import tomllib
from typing import Any

import pandas as pd
import pytest

from tests.validation.conftest import FIXTURE, clean_frames
from trialkit.definition import TrialDefinition, parse_definition
from trialkit.validation import validate_datasets
from trialkit.validation.schemas import load_schema

SYSBP: dict[str, Any] = {
    "code": "SYSBP", "label": "Systolic blood pressure", "unit": "mmHg", "min": 40, "max": 300,
    "kind": "safety", "alert_low": 90, "alert_high": 160,
}  # fmt: skip


@pytest.fixture
def definition() -> TrialDefinition:
    toml = tomllib.loads(FIXTURE.read_text())
    toml["parameters"].append(SYSBP)
    return parse_definition(toml)


def _frames() -> dict[str, pd.DataFrame]:
    frames = clean_frames()
    a = frames["assessments"]
    vs = a[a.VISIT.isin(["BASELINE", "WEEK4", "WEEK12"])].assign(PARAMCD="SYSBP", AVAL=125.0)
    return {**frames, "vital_signs": vs.reset_index(drop=True)}


def _rules(definition: TrialDefinition, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    found = validate_datasets(definition, frames).findings
    return found


def test_clean_vital_signs_have_no_finding(definition: TrialDefinition) -> None:
    assert _rules(definition, _frames()).empty
    assert _rules(definition, clean_frames()).empty  # the dataset is optional


def test_record_key_is_declared() -> None:
    assert load_schema("vital_signs").metadata["record_key"] == ["USUBJID", "VISIT", "PARAMCD"]


@pytest.mark.parametrize(
    ("dataset", "column", "value", "rule"),
    [
        ("vital_signs", "PARAMCD", "HAIRCNT", "TK003"),  # an efficacy parameter among vitals
        ("assessments", "PARAMCD", "SYSBP", "TK003"),  # a safety parameter among assessments
        ("vital_signs", "VISIT", "WEEK5", "TK003"),
        ("vital_signs", "AVAL", 301.0, "TK004"),
        ("vital_signs", "USUBJID", "S9", "TK010"),
        ("vital_signs", "ADT", pd.Timestamp("2024-02-15"), "TK030"),  # WEEK4 target 2024-01-29
        ("vital_signs", "AVAL", None, "TK001"),
    ],
)
def test_each_rule_applies(
    definition: TrialDefinition, dataset: str, column: str, value: object, rule: str
) -> None:
    frames = _frames()
    frame = frames[dataset].astype({column: "object"})
    row = int(frame.index[(frame.USUBJID == "S1") & (frame.VISIT == "WEEK4")][0])
    frame.loc[row, column] = value
    frames[dataset] = frame
    found = _rules(definition, frames)
    hit = found[(found.rule == rule) & (found.dataset == dataset)]
    assert len(hit) == 1 and hit["row"].iloc[0] == row + 1, found.to_string()


def test_duplicates_are_found(definition: TrialDefinition) -> None:
    frames = _frames()
    vs = frames["vital_signs"]
    frames["vital_signs"] = pd.concat([vs, vs.iloc[[1, 0]]], ignore_index=True)
    found = _rules(definition, frames)
    assert set(found.loc[found.dataset == "vital_signs", "rule"]) == {"TK011", "TK012"}


def test_cutoff_sets_vital_signs_aside(definition: TrialDefinition) -> None:
    """Vital signs dated after the cutoff, and all of a subject randomised after it, are set
    aside like assessments (not reported as TK010 of a subject cut from subjects)."""
    frames = _frames()
    subjects = frames["subjects"].copy()
    subjects.loc[subjects.USUBJID == "S3", "RANDDT"] = pd.Timestamp("2024-03-01")
    frames["subjects"] = subjects
    result = validate_datasets(definition, frames, cutoff="2024-02-15")
    assert result.findings.empty, result.findings.to_string()
    kept = result.kept["vital_signs"]
    assert sorted(zip(kept.USUBJID, kept.VISIT, strict=True)) == [
        ("S1", "BASELINE"), ("S1", "WEEK4"), ("S2", "BASELINE"), ("S2", "WEEK4"),
    ]  # fmt: skip
    assert result.set_aside["vital_signs"] == 5  # S3's three, the WEEK12 ones of S1 and S2
