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


def _vitals_run(advs: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    definition = load_definition(example_trials_dir() / "tk_aa_201")
    adsl, adae = _frames()
    adsl = adsl.assign(ARMCD=["CTRL", "CTRL", "MN_PRP"], ACTARMCD=["CTRL", "MN_PRP", "MN_PRP"])
    _, tables = run_supporting(
        definition,
        adsl,
        pd.DataFrame({"USUBJID": pd.Series(dtype=str)}),
        adae,
        plan=None,  # type: ignore[arg-type]
        advs=advs,
        sections=("safety",),
    )
    return tables


def test_vital_signs_tables_as_treated_and_pooled() -> None:
    """S2, randomised to CTRL, received MN_PRP: its high SYSBP counts under MN_PRP; the pooled
    tables have the total only; without vital signs there are no such tables."""
    advs = pd.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S2", "S2"],
            "PARAMCD": ["SYSBP"] * 4,
            "AVISIT": ["BASELINE", "WEEK4", "BASELINE", "WEEK4"],
            "AVAL": [120.0, 125.0, 130.0, 170.0],
            "CHG": [None, 5.0, None, 40.0],
            "ABLFL": ["Y", None, "Y", None],
            "ANL01FL": ["Y"] * 4,
            "ALRTIND": ["NORMAL", "NORMAL", "NORMAL", "HIGH"],
            "ARMCD": ["CTRL"] * 4,
        }
    )
    tables = _vitals_run(advs)
    stems = {"vital_signs_by_visit", "vital_signs_alerts", "pooled_vital_signs_by_visit",
             "pooled_vital_signs_alerts"}  # fmt: skip
    assert stems <= set(tables)
    t = tables["vital_signs_alerts"]
    high = t[(t["parameter"] == "SYSBP") & (t["variable"] == "HIGH") & (t["statistic"] == "n")]
    assert high.set_index("arm")["value"].to_dict() == {"CTRL": 0, "MN_PRP": 1, "MN_MINOX": 0,
                                                        "Total": 1}  # fmt: skip
    assert set(tables["pooled_vital_signs_by_visit"]["arm"]) == {"Total"}
    assert not stems & set(_vitals_run(None))
