"""Visit order in the MMRM: text visits are ordered by their analysis dataset's number column,
an ordered categorical or ``visit_order``; a covariance that depends on the order refuses
text visits without one.  Reference: SAS PROC MIXED's ar1 fit of the FEV trial
(../shared/conformance/sas_fev.json, visits VIS1..VIS4), with the visits renamed WEEK4 ..
WEEK16, whose alphabetical order (WEEK12, WEEK16, WEEK4, WEEK8) is wrong."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.shared_data import SHARED, shared_file
from trialkit.errors import ModelSpecificationError
from trialkit.models.mmrm import MMRM

CONFORMANCE = SHARED / "conformance"
WEEKS = {"VIS1": "WEEK4", "VIS2": "WEEK8", "VIS3": "WEEK12", "VIS4": "WEEK16"}
ORDER = list(WEEKS.values())


@pytest.fixture(scope="module")
def fev() -> pd.DataFrame:
    """The FEV trial with text visits WEEK4..WEEK16 and AVISITN = the visit's week."""
    shared_file("conformance", "fev_data.csv")
    data = pd.read_csv(CONFORMANCE / "fev_data.csv")
    weeks = data["AVISIT"].map(WEEKS)
    return data.assign(AVISIT=weeks, AVISITN=weeks.str[4:].astype(int))


@pytest.fixture(scope="module")
def sas_ar1() -> float:
    shared_file("conformance", "sas_fev.json")
    models = json.loads((CONFORMANCE / "sas_fev.json").read_text())["models"]
    ref = models["ar1_intercept_reml"]
    assert ref["formula"] == "FEV1 ~ 1" and ref["visit_order"] == list(WEEKS)
    return float(ref["minus2_loglik"])


def _m2ll(data: pd.DataFrame, covariance: str = "ar1", **kw: object) -> float:
    model = MMRM.from_formula(
        "FEV1 ~ 1", data, subject="USUBJID", visit="AVISIT", covariance=covariance, **kw
    )
    assert model.visit_levels == ORDER or covariance not in ("ar1",)
    return float(model.fit().minus2ll)


def test_text_visits_follow_avisitn(fev: pd.DataFrame, sas_ar1: float) -> None:
    assert abs(_m2ll(fev) - sas_ar1) < 1e-4


def test_ordered_categorical_and_visit_order_give_the_same_fit(
    fev: pd.DataFrame, sas_ar1: float
) -> None:
    text = fev.drop(columns="AVISITN")
    ordered = text.assign(AVISIT=pd.Categorical(text["AVISIT"], ORDER, ordered=True))
    assert abs(_m2ll(ordered) - sas_ar1) < 1e-4
    assert abs(_m2ll(text, visit_order=ORDER) - sas_ar1) < 1e-4


@pytest.mark.parametrize("covariance", ["ar1", "ar1h", "toep", "toeph", "adh"])
def test_order_dependent_covariance_refuses_unordered_text_visits(
    fev: pd.DataFrame, covariance: str
) -> None:
    text = fev.drop(columns="AVISITN")
    with pytest.raises(ModelSpecificationError, match=rf"covariance {covariance} depends on"):
        MMRM.from_formula(
            "FEV1 ~ 1", text, subject="USUBJID", visit="AVISIT", covariance=covariance
        )
    unordered = text.assign(AVISIT=pd.Categorical(text["AVISIT"]))
    with pytest.raises(ModelSpecificationError, match="visit_order"):
        MMRM.from_formula(
            "FEV1 ~ 1", unordered, subject="USUBJID", visit="AVISIT", covariance=covariance
        )


def test_unordered_covariances_keep_working_and_do_not_depend_on_the_order(
    fev: pd.DataFrame,
) -> None:
    text = fev.drop(columns="AVISITN")
    for covariance in ("us", "cs", "csh"):
        alphabetical = _m2ll(text, covariance)
        assert alphabetical == pytest.approx(_m2ll(fev, covariance), abs=1e-6)


def test_the_alphabetical_order_would_have_given_another_ar1_fit(
    fev: pd.DataFrame, sas_ar1: float
) -> None:
    wrong = sorted(ORDER)
    assert wrong == ["WEEK12", "WEEK16", "WEEK4", "WEEK8"]
    model = MMRM.from_formula(
        "FEV1 ~ 1", fev, subject="USUBJID", visit="AVISIT", covariance="ar1", visit_order=wrong
    )
    assert model.fit().minus2ll - sas_ar1 > 1.0


def test_a_number_column_that_is_not_one_to_one_is_refused(fev: pd.DataFrame) -> None:
    bad = fev.assign(AVISITN=fev["AVISITN"].where(fev["AVISIT"] != "WEEK8", 4))
    with pytest.raises(ModelSpecificationError, match="'AVISITN' does not number the visits"):
        MMRM.from_formula("FEV1 ~ 1", bad, subject="USUBJID", visit="AVISIT", covariance="ar1")
