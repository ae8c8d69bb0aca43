"""Small hand-made trial data for the derivation tests (dates relative to 2024-01-01)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from trialkit.definition import TrialDefinition, parse_definition

FIXTURE = Path(__file__).parents[1] / "fixtures" / "issue_example.toml"
DAY1 = pd.Timestamp("2024-01-01")


def day(n: int) -> pd.Timestamp:
    """The date of study day ``n`` (day 1 = 2024-01-01, no day 0)."""
    return DAY1 + pd.Timedelta(days=n - 1 if n > 0 else n)


def definition(**changes: Any) -> TrialDefinition:
    """The issue's example definition with top-level tables updated by ``changes``."""
    data = tomllib.loads(FIXTURE.read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return parse_definition(data)


def subjects(*rows: dict[str, Any]) -> pd.DataFrame:
    """A subjects frame; each row overrides a randomised, completed 50-year-old man."""
    base = {
        "SITEID": "S1", "ARMCD": "MINOX", "RANDDT": DAY1, "AGE": 50, "SEX": "M",
        "SEVERITY": "MODERATE", "EOSSTT": "COMPLETED", "EOSDT": day(170), "DCSREAS": None,
    }  # fmt: skip
    frame = pd.DataFrame([{**base, **r} for r in rows])
    for col in ("RANDDT", "EOSDT"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    return frame


def exposure(*rows: dict[str, Any]) -> pd.DataFrame:
    """An exposure frame; each row overrides a one-day minoxidil record on day 1."""
    base = {
        "EXTRT": "minoxidil", "EXSTDT": DAY1, "EXENDT": DAY1, "EXDOSE": 1.0, "EXDOSU": "mL",
        "DEVICE": None, "SETTING": None, "NEEDLE_DEPTH_MM": float("nan"),
        "VOLUME_ML": float("nan"),
    }  # fmt: skip
    cols = ["USUBJID", *base]
    frame = pd.DataFrame([{**base, **r} for r in rows], columns=cols)
    for col in ("EXSTDT", "EXENDT"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    return frame


def assessments(*rows: tuple[str, str, int, float], param: str = "HAIRCNT") -> pd.DataFrame:
    """Assessments from (USUBJID, VISIT, study day, AVAL) tuples."""
    frame = pd.DataFrame(
        {
            "USUBJID": [r[0] for r in rows],
            "VISIT": [r[1] for r in rows],
            "ADT": [day(r[2]) for r in rows],
            "PARAMCD": param,
            "AVAL": [r[3] for r in rows],
        }
    )
    frame["ADT"] = frame["ADT"].astype("datetime64[ns]")
    return frame


@pytest.fixture
def trial() -> TrialDefinition:
    """The issue's example trial definition."""
    return definition()
