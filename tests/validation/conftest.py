"""A small clean trial (definition + frames) that each rule test breaks in one place."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from trialkit.definition import TrialDefinition, parse_definition

FIXTURE = Path(__file__).parents[1] / "fixtures" / "issue_example.toml"


def load_example_definition() -> TrialDefinition:
    """The issue's example trial: arms MINOX, MINOX_MN, MN_PRP; visits BASELINE..WEEK24."""
    return parse_definition(tomllib.loads(FIXTURE.read_text()))


def _d(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def clean_frames() -> dict[str, pd.DataFrame]:
    """Three subjects, one per arm, with every scheduled visit and protocol-conform exposure."""
    rand = _d("2024-01-01")
    subjects = pd.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3"],
            "SITEID": ["01", "01", "02"],
            "ARMCD": ["MINOX", "MINOX_MN", "MN_PRP"],
            "RANDDT": [rand] * 3,
            "AGE": [30, 45, 60],
            "SEX": ["M", "F", "M"],
            "SEVERITY": ["III", "IV", "III"],
            "EOSSTT": ["COMPLETED", "DISCONTINUED", "ONGOING"],
            "EOSDT": [_d("2024-07-01"), _d("2024-06-20"), pd.NaT],
            "DCSREAS": [None, "withdrew consent", None],
        }
    )
    days = {"BASELINE": 1, "WEEK4": 29, "WEEK8": 57, "WEEK12": 85, "WEEK16": 113, "WEEK24": 169}
    rows = []
    for s in ("S1", "S2", "S3"):
        for visit, day in days.items():
            if s == "S2" and visit == "WEEK24":
                continue  # discontinued before week 24
            rows.append((s, visit, rand + pd.Timedelta(days=day - 1), "HAIRCNT", 150.0 + day))
    assessments = pd.DataFrame(rows, columns=["USUBJID", "VISIT", "ADT", "PARAMCD", "AVAL"])
    ex: list[tuple[object, ...]] = [
        ("S1", "minoxidil", rand, _d("2024-06-30"), 1.0, "mL", None, "home", None, None),
        ("S2", "minoxidil", rand, _d("2024-06-19"), 1.0, "mL", None, "home", None, None),
    ]
    for k in range(4):
        wk = rand + pd.Timedelta(days=7 * k)
        ex.append(("S2", "microneedling", wk, wk, 1.0, "session", "dermapen", "clinic", 1.0, None))
        mo = rand + pd.Timedelta(days=28 * k)
        ex.append(("S3", "microneedling", mo, mo, 1.0, "session", "dermapen", "clinic", 1.5, None))
        ex.append(("S3", "prp", mo, mo, 4.0, "mL", None, "clinic", None, 4.0))
    exposure = pd.DataFrame(
        ex,
        columns=[
            "USUBJID", "EXTRT", "EXSTDT", "EXENDT", "EXDOSE", "EXDOSU", "DEVICE", "SETTING",
            "NEEDLE_DEPTH_MM", "VOLUME_ML",
        ],
    )  # fmt: skip
    adverse_events = pd.DataFrame(
        {
            "USUBJID": ["S2"],
            "AETERM": ["scalp redness"],
            "AEDECOD": ["Erythema"],
            "AEBODSYS": ["Skin and subcutaneous tissue disorders"],
            "AESTDT": [_d("2024-01-09")],
            "AEENDT": [_d("2024-01-11")],
            "AESEV": ["MILD"],
            "AEREL": ["Y"],
            "AESER": ["N"],
        }
    )
    cm = pd.DataFrame(
        {
            "USUBJID": ["S1"],
            "CMTRT": ["ibuprofen"],
            "CMSTDT": [_d("2024-02-01")],
            "CMENDT": [_d("2024-02-03")],
            "CMRESCUE": ["N"],
        }
    )
    return {
        "subjects": subjects,
        "assessments": assessments,
        "exposure": exposure,
        "adverse_events": adverse_events,
        "concomitant_medications": cm,
    }


@pytest.fixture
def definition() -> TrialDefinition:
    return load_example_definition()


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    return clean_frames()
