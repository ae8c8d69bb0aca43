"""Fallbacks of the binary analysis: Firth-penalised logistic regression when maximum likelihood
fails (against R brglm2 and the 2 x 2 closed form), the unadjusted exact method when Firth fails
too or the Mantel-Haenszel estimates are undefined (against R fisher.test and Newcombe)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.estimators.binary_data import (
    COMPARED,
    COMPARISONS,
    assert_matches,
    data,
    reference,
    reference_rows,
)
from trialkit.errors import ConvergenceError
from trialkit.estimators import binary
from trialkit.estimators.binary import BinaryResult, binary_analysis
from trialkit.estimators.binary_firth import fit_firth

EXACT = ["estimate", "lower", "upper", "p", "odds_ratio", "or_lower", "or_upper"]


def sparse(**kwargs: object) -> BinaryResult:
    args: dict[str, object] = {"covariates": ["BASE"], "strata": ["SEVERITY"], **kwargs}
    return binary_analysis(
        data("sparse"),
        response="RESP",
        comparisons=COMPARISONS,
        **args,  # type: ignore[arg-type]
    )


def test_an_arm_without_responders_is_fitted_by_firth_as_brglm2() -> None:
    result = sparse()
    assert_matches(result.contrasts, reference_rows(reference()["firth"]["contrasts"]), COMPARED)
    assert set(result.contrasts["method"]) == {"firth"}
    assert set(result.contrasts["note"]) == {
        "arm CTRL has no responders: Firth-penalised logistic regression used"
    }
    assert result.fit is not None and result.fit.method == "firth"


def test_firth_on_a_two_by_two_table_adds_one_half_to_each_cell() -> None:
    """Saturated model: Firth's estimates are the logits of the cells plus 1/2 (Haldane), the
    covariance the inverse information at those probabilities."""
    y = np.array([0] * 9 + [1] * 1 + [1] * 6)
    x = np.array([0] * 10 + [1] * 6, dtype=float)
    X = pd.DataFrame({"Intercept": np.ones(16), "x": x})
    fit = fit_firth(X, y)
    p0, p1 = 1.5 / 11, 6.5 / 7
    assert fit.params["Intercept"] == pytest.approx(math.log(p0 / (1 - p0)), abs=1e-9)
    assert fit.params["x"] == pytest.approx(math.log(6.5 * 9.5 / (0.5 * 1.5)), abs=1e-9)
    var_x = 1 / (10 * p0 * (1 - p0)) + 1 / (6 * p1 * (1 - p1))
    assert fit.bse["x"] == pytest.approx(math.sqrt(var_x), rel=1e-9)


def test_firth_that_does_not_converge_says_so() -> None:
    X = pd.DataFrame({"Intercept": np.ones(6), "x": [0, 0, 0, 1, 1, 1.0]})
    with pytest.raises(ConvergenceError, match="the Firth fit did not converge in 1 iterations"):
        fit_firth(X, np.array([0, 0, 1, 1, 1, 1.0]), max_iter=1)


def test_separation_by_a_covariate_is_detected_and_named() -> None:
    frame = data("binary")
    frame["RESP"] = (frame["BASE"] < 45).astype(int)
    result = binary_analysis(frame, response="RESP", comparisons=COMPARISONS, covariates=["BASE"])
    notes = set(result.contrasts["note"])
    assert len(notes) == 1
    (note,) = notes
    assert note.startswith("the data are separated along") and "BASE" in note
    assert set(result.contrasts["method"]) == {"firth"}


def test_quasi_separation_by_a_stratum_is_detected() -> None:
    frame = data("binary")
    frame.loc[frame["SEVERITY"] == "severe", "RESP"] = 0
    result = binary_analysis(frame, response="RESP", comparisons=COMPARISONS, strata=["SEVERITY"])
    assert "SEVERITY[severe]" in result.contrasts["note"].iloc[0]
    assert set(result.contrasts["method"]) == {"firth"}


def test_a_logistic_fit_that_does_not_converge_falls_back_to_firth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_convergence(*_: object) -> None:
        raise ConvergenceError("the logistic fit did not converge in 100 iterations")

    monkeypatch.setattr(binary, "fit_logistic", no_convergence)
    result = binary_analysis(data("binary"), response="RESP", comparisons=COMPARISONS)
    assert set(result.contrasts["method"]) == {"firth"}
    assert result.contrasts["note"].iloc[0] == (
        "the logistic fit did not converge in 100 iterations:"
        " Firth-penalised logistic regression used"
    )


def test_when_firth_fails_too_every_comparison_is_exact_as_r(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_convergence(*_: object) -> None:
        raise ConvergenceError("the Firth fit did not converge in 100 iterations")

    monkeypatch.setattr(binary, "fit_firth", no_convergence)
    result = sparse()
    assert_matches(result.contrasts, reference_rows(reference()["exact"]), EXACT)
    assert result.contrasts["se"].isna().all()
    assert set(result.contrasts["method"]) == {"exact"}
    assert result.contrasts["note"].iloc[0] == (
        "arm CTRL has no responders; the Firth fit did not converge in 100 iterations:"
        " unadjusted exact method used (Newcombe CI, Fisher exact p, conditional OR)"
    )
    assert result.fit is None


def test_cmh_with_an_infinite_odds_ratio_is_exact_as_r() -> None:
    contrasts = sparse(method="cmh").contrasts
    expected = reference_rows(reference()["exact"]).loc[[("MN_PRP", "CTRL"), ("MN_MINOX", "CTRL")]]
    assert_matches(contrasts, expected, EXACT)
    assert contrasts.loc[("MN_PRP", "CTRL"), "note"].startswith(
        "the Mantel-Haenszel odds ratio is infinite: unadjusted exact method used"
    )
    assert contrasts.loc[("MN_PRP", "MN_MINOX"), "method"] == "cmh"


def test_the_exact_reference_agrees_with_fisher_test_to_its_tolerance() -> None:
    """The R script solves fisher.test's equations to 1e-13; fisher.test's own uniroot stops
    near 1e-4, and its figures agree with the reference to that."""
    rows = reference_rows(reference()["exact"])
    for column in ["odds_ratio", "or_lower", "or_upper"]:
        np.testing.assert_allclose(
            rows[column].astype(float), rows[f"r_{column}"].astype(float), rtol=1e-3
        )
