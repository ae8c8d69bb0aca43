"""Safety tables in `trialkit analyze` count each subject under the arm actually received."""

from __future__ import annotations

import pandas as pd

from trialkit.analysis.supporting import run_supporting
from trialkit.definition import load_definition
from trialkit.resources import example_trials_dir


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    adsl = pd.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3"],
            "ARMCD": ["MINOX", "MINOX", "MINOX_MN"],
            "ACTARMCD": ["MINOX", "MINOX_MN", "MINOX_MN"],  # S2 received MN, not minoxidil alone
            "SAFFL": ["Y", "Y", "Y"],
            "ITTFL": ["Y", "Y", "Y"],
        }
    )
    adae = pd.DataFrame(
        {
            "USUBJID": ["S2"],
            "AEDECOD": ["Erythema"],
            "AEBODSYS": ["Skin"],
            "TRTEMFL": ["Y"],
            "AEREL": ["Y"],
            "AESER": ["N"],
            "ASEVN": [1],
            "ARMCD": ["MINOX"],
        }
    )
    return adsl, adae


def test_teae_counted_under_actual_arm() -> None:
    definition = load_definition(example_trials_dir() / "dhurat2013")
    adsl, adae = _frames()
    _, tables = run_supporting(
        definition,
        adsl,
        pd.DataFrame({"USUBJID": pd.Series(dtype=str)}),
        adae,
        plan=None,
        sections=("safety",),  # type: ignore[arg-type]
    )
    overview = tables["safety_teae_overview"]
    anyae = overview.loc[
        (overview["variable"] == "Any TEAE") & (overview["statistic"] == "n")
    ].set_index("arm")["value"]
    assert anyae["MINOX_MN"] == 1 and anyae["MINOX"] == 0
