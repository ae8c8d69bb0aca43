"""TEAE tables on a hand-made ADAE with known answers."""

from __future__ import annotations

import pandas as pd
import pytest

from trialkit.analysis.safety import (
    meddra_suffix,
    serious_ae_listing,
    teae_by_term,
    teae_by_worst_severity,
    teae_overview,
)
from trialkit.errors import DatasetError


@pytest.fixture
def adsl() -> pd.DataFrame:
    """Two subjects per arm in the safety population; S5 (arm B) is not."""
    return pd.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4", "S5"],
            "ARMCD": ["A", "A", "B", "B", "B"],
            "SAFFL": ["Y", "Y", "Y", "Y", "N"],
        }
    )


@pytest.fixture
def adae() -> pd.DataFrame:
    """S1: erythema twice (mild, moderate) and a serious severe headache; S2: a non-TEAE;
    S3: mild related erythema; S5 (not in safety population): severe erythema."""
    rows = [
        ("S1", "SKIN", "ERYTHEMA", 1, "Y", "N", "Y", "2024-01-05"),
        ("S1", "SKIN", "ERYTHEMA", 2, "N", "N", "Y", "2024-01-09"),
        ("S1", "NERV", "HEADACHE", 3, "N", "Y", "Y", "2024-01-07"),
        ("S2", "SKIN", "PRURITUS", 1, "N", "N", "", "2023-12-01"),
        ("S3", "SKIN", "ERYTHEMA", 1, "Y", "N", "Y", "2024-01-06"),
        ("S5", "SKIN", "ERYTHEMA", 3, "N", "Y", "Y", "2024-01-06"),
    ]
    cols = ["USUBJID", "AEBODSYS", "AEDECOD", "ASEVN", "AEREL", "AESER", "TRTEMFL", "AESTDT"]
    ae = pd.DataFrame(rows, columns=cols)
    ae["ARMCD"] = ae["USUBJID"].map({"S1": "A", "S2": "A", "S3": "B", "S5": "B"})
    return ae


def _v(t: pd.DataFrame, **keys: str) -> float:
    m = pd.Series(True, index=t.index)
    for k, v in keys.items():
        m &= t[k] == v
    assert m.sum() == 1, keys
    return float(t.loc[m, "value"].iloc[0])


def test_overview(adae: pd.DataFrame, adsl: pd.DataFrame) -> None:
    t = teae_overview(adae, adsl)
    assert _v(t, variable="Any TEAE", statistic="n", arm="A") == 1
    assert _v(t, variable="Any TEAE", statistic="events", arm="A") == 3
    assert _v(t, variable="Any TEAE", statistic="pct", arm="Total") == 50.0
    assert _v(t, variable="Any TEAE", statistic="events", arm="Total") == 4
    assert _v(t, variable="Related TEAE", statistic="n", arm="Total") == 2
    assert _v(t, variable="Serious TEAE", statistic="n", arm="B") == 0
    assert _v(t, variable="Severe TEAE", statistic="n", arm="A") == 1
    assert list(t["arm"].unique()) == ["A", "B", "Total"]


def test_by_term_counts_subject_once(adae: pd.DataFrame, adsl: pd.DataFrame) -> None:
    t = teae_by_term(adae, adsl)
    keys = list(dict.fromkeys(zip(t["body_system"], t["preferred_term"], strict=True)))
    # SKIN (S1, S3) before NERV (S1): descending subjects in the total column
    assert keys == [("ANY", ""), ("SKIN", ""), ("SKIN", "ERYTHEMA"), ("NERV", ""),
                    ("NERV", "HEADACHE")]  # fmt: skip
    assert _v(t, body_system="SKIN", preferred_term="ERYTHEMA", statistic="n", arm="A") == 1
    assert _v(t, body_system="SKIN", preferred_term="ERYTHEMA", statistic="events", arm="A") == 2
    assert _v(t, body_system="SKIN", preferred_term="", statistic="n", arm="Total") == 2
    assert _v(t, body_system="SKIN", preferred_term="", statistic="pct", arm="B") == 50.0
    assert _v(t, body_system="NERV", preferred_term="HEADACHE", statistic="n", arm="B") == 0


def test_related_and_serious_subsets(adae: pd.DataFrame, adsl: pd.DataFrame) -> None:
    rel = teae_by_term(adae, adsl, subset="related")
    assert _v(rel, body_system="ANY", preferred_term="", statistic="events", arm="Total") == 2
    assert set(rel["preferred_term"]) == {"", "ERYTHEMA"}
    ser = teae_by_term(adae, adsl, subset="serious")
    assert _v(ser, body_system="NERV", preferred_term="HEADACHE", statistic="n", arm="A") == 1
    assert _v(ser, body_system="ANY", preferred_term="", statistic="n", arm="Total") == 1


def test_worst_severity(adae: pd.DataFrame, adsl: pd.DataFrame) -> None:
    t = teae_by_worst_severity(adae, adsl, by_term=True)
    anyrow = t[t["body_system"] == "ANY"]
    assert _v(anyrow, severity="SEVERE", statistic="n", arm="A") == 1
    assert _v(anyrow, severity="MILD", statistic="n", arm="A") == 0
    assert _v(anyrow, severity="MILD", statistic="n", arm="B") == 1
    ery = t[t["preferred_term"] == "ERYTHEMA"]
    assert _v(ery, severity="MODERATE", statistic="n", arm="A") == 1
    assert _v(ery, severity="MILD", statistic="n", arm="A") == 0
    assert _v(ery, severity="MILD", statistic="n", arm="Total") == 1
    # each subject once per row: the severity counts add up to the subjects with a TEAE
    tot = anyrow[(anyrow["statistic"] == "n") & (anyrow["arm"] == "Total")]["value"].sum()
    assert tot == 2


def test_pooled_tables_have_only_total(adae: pd.DataFrame, adsl: pd.DataFrame) -> None:
    for t in (teae_overview(adae, adsl, by_arm=False), teae_by_term(adae, adsl, by_arm=False),
              teae_by_worst_severity(adae, adsl, by_arm=False)):  # fmt: skip
        assert set(t["arm"]) == {"Total"}
    pooled = teae_by_term(adae, adsl, by_arm=False)
    split = teae_by_term(adae, adsl)
    pd.testing.assert_frame_equal(
        pooled.reset_index(drop=True),
        split[split["arm"] == "Total"].reset_index(drop=True),
    )


def test_serious_listing(adae: pd.DataFrame) -> None:
    lst = serious_ae_listing(adae)
    assert list(lst["USUBJID"]) == ["S1", "S5"]
    assert "ARMCD" in lst.columns
    te = serious_ae_listing(adae, by_arm=False, treatment_emergent_only=True)
    assert "ARMCD" not in te.columns and len(te) == 2


def test_inputs_not_mutated(adae: pd.DataFrame, adsl: pd.DataFrame) -> None:
    a, s = adae.copy(), adsl.copy()
    teae_by_term(adae, adsl)
    teae_by_worst_severity(adae, adsl, by_term=True)
    pd.testing.assert_frame_equal(adae, a)
    pd.testing.assert_frame_equal(adsl, s)


def test_pooled_tables_count_every_ae_of_the_population(
    adae: pd.DataFrame, adsl: pd.DataFrame
) -> None:
    """Without treatment emergence every AE counts (S2's non-TEAE too), over all subjects."""
    t = teae_overview(adae, adsl, by_arm=False, population=None, treatment_emergent=False)
    assert _v(t, variable="Subjects", statistic="N", arm="Total") == 5
    assert _v(t, variable="Any AE", statistic="n", arm="Total") == 4
    assert _v(t, variable="Any AE", statistic="events", arm="Total") == 6
    terms = teae_by_term(adae, adsl, by_arm=False, population=None, treatment_emergent=False)
    assert _v(terms, body_system="SKIN", preferred_term="PRURITUS", statistic="n",
              arm="Total") == 1  # fmt: skip


def test_overview_heads_with_the_population_per_arm(adae: pd.DataFrame, adsl: pd.DataFrame) -> None:
    t = teae_overview(adae, adsl)
    assert t.iloc[0]["variable"] == "Subjects"
    assert _v(t, variable="Subjects", statistic="N", arm="B") == 2  # S5 is not in SAFFL


def test_pooled_serious_listing_has_no_arm_or_emergence(adae: pd.DataFrame) -> None:
    assert not {"ARMCD", "TRTEMFL"} & set(serious_ae_listing(adae, by_arm=False).columns)


def _terms(table: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(zip(table["body_system"], table["preferred_term"], strict=True)))


def test_terms_by_descending_total_then_alphabetical() -> None:
    """Frequency counts subjects, not events, in the total column; ties go alphabetically."""
    adsl = pd.DataFrame({"USUBJID": [f"S{i}" for i in range(1, 7)], "ARMCD": list("AAABBB"),
                         "SAFFL": ["Y"] * 6})  # fmt: skip
    rows = [
        ("S1", "EYE", "BLURRED"), ("S1", "EYE", "BLURRED"), ("S1", "EYE", "BLURRED"),
        ("S1", "EYE", "BLURRED"),  # one subject, four events
        ("S2", "SKIN", "PRURITUS"), ("S4", "SKIN", "PRURITUS"), ("S5", "SKIN", "ACNE"),
        ("S6", "SKIN", "ACNE"), ("S3", "SKIN", "ERYTHEMA"),
        ("S2", "GASTRO", "NAUSEA"), ("S3", "GASTRO", "NAUSEA"),
        ("S6", "CARDIAC", "PALPITATIONS"), ("S5", "CARDIAC", "TACHYCARDIA"),
    ]  # fmt: skip
    adae = pd.DataFrame(rows, columns=["USUBJID", "AEBODSYS", "AEDECOD"]).assign(TRTEMFL="Y")
    t = teae_by_term(adae, adsl)
    # SKIN 5 subjects; CARDIAC and GASTRO 2 each (alphabetical); EYE 1 subject (4 events)
    assert _terms(t) == [
        ("ANY", ""), ("SKIN", ""), ("SKIN", "ACNE"), ("SKIN", "PRURITUS"), ("SKIN", "ERYTHEMA"),
        ("CARDIAC", ""), ("CARDIAC", "PALPITATIONS"), ("CARDIAC", "TACHYCARDIA"),
        ("GASTRO", ""), ("GASTRO", "NAUSEA"), ("EYE", ""), ("EYE", "BLURRED"),
    ]  # fmt: skip
    assert _v(t, body_system="EYE", preferred_term="BLURRED", statistic="n", arm="Total") == 1
    assert _v(t, body_system="EYE", preferred_term="BLURRED", statistic="events", arm="A") == 4
    assert _v(t, body_system="SKIN", preferred_term="", statistic="n", arm="B") == 3
    assert _v(t, body_system="SKIN", preferred_term="", statistic="events", arm="Total") == 5
    assert _v(t, body_system="ANY", preferred_term="", statistic="events", arm="Total") == 13
    assert _v(t, body_system="ANY", preferred_term="", statistic="n", arm="Total") == 6


def test_ae_leading_to_withdrawal(adae: pd.DataFrame, adsl: pd.DataFrame) -> None:
    """AEACN = "DRUG WITHDRAWN" (case and blanks ignored); other actions and missing do not
    count; S5's withdrawal is outside the safety population."""
    ae = adae.assign(AEACN=["DRUG WITHDRAWN", " drug withdrawn", "DOSE NOT CHANGED", None,
                            "DRUG INTERRUPTED", "DRUG WITHDRAWN"])  # fmt: skip
    t = teae_by_term(ae, adsl, subset="withdrawn")
    assert _terms(t) == [("ANY", ""), ("SKIN", ""), ("SKIN", "ERYTHEMA")]
    assert _v(t, body_system="ANY", preferred_term="", statistic="n", arm="A") == 1
    assert _v(t, body_system="ANY", preferred_term="", statistic="events", arm="A") == 2
    assert _v(t, body_system="ANY", preferred_term="", statistic="pct", arm="A") == 50.0
    assert _v(t, body_system="ANY", preferred_term="", statistic="n", arm="B") == 0
    with pytest.raises(DatasetError, match="ADAE: column\\(s\\) AEACN missing"):
        teae_by_term(adae, adsl, subset="withdrawn")


def test_pooled_serious_by_term_counts_every_sae(adae: pd.DataFrame, adsl: pd.DataFrame) -> None:
    """The open report's serious AEs: counts only, every randomised subject's SAE."""
    t = teae_by_term(adae, adsl.assign(ITTFL="Y"), subset="serious", by_arm=False,
                     population="ITTFL", treatment_emergent=False)  # fmt: skip
    assert set(t["arm"]) == {"Total"}
    assert list(t.columns) == ["body_system", "preferred_term", "statistic", "arm", "value"]
    # S5's erythema (outside SAFFL) counts here: ERYTHEMA 1 subject, HEADACHE 1; ties alphabetical
    assert _terms(t) == [("ANY", ""), ("NERV", ""), ("NERV", "HEADACHE"), ("SKIN", ""),
                         ("SKIN", "ERYTHEMA")]  # fmt: skip
    assert _v(t, body_system="ANY", preferred_term="", statistic="n", arm="Total") == 2
    assert _v(t, body_system="ANY", preferred_term="", statistic="pct", arm="Total") == 40.0


def test_meddra_suffix() -> None:
    assert meddra_suffix("27.1") == " (MedDRA 27.1)"
    assert meddra_suffix(None) == ""
