"""Logistic binary analysis: standardised risk difference (Ge et al. delta method) and the
conditional odds ratio, against R (r/binary_reference.R) and closed forms; bad input."""

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
from trialkit.errors import ModelSpecificationError
from trialkit.estimators.binary import binary_analysis


def adjusted(comparisons: list[tuple[str, str]] = COMPARISONS) -> pd.DataFrame:
    result = binary_analysis(
        data("binary"),
        response="RESP",
        comparisons=comparisons,
        covariates=["BASE", "SEX"],
        strata=["SEVERITY"],
    )
    return result.contrasts


def test_standardised_difference_and_odds_ratio_match_r() -> None:
    expected = reference_rows(reference()["logistic"]["contrasts"])
    contrasts = adjusted()
    assert_matches(contrasts, expected, COMPARED)
    assert set(contrasts["method"]) == {"logistic"}
    assert set(contrasts["note"]) == {""}


def test_coefficients_match_r() -> None:
    fit = binary_analysis(
        data("binary"),
        response="RESP",
        comparisons=COMPARISONS,
        covariates=["BASE", "SEX"],
        strata=["SEVERITY"],
    ).fit
    assert fit is not None
    r = reference()["logistic"]["coef"]
    names = {
        "Intercept": "(Intercept)",
        "ARMCD[MN_MINOX]": "ARMCDMN_MINOX",
        "ARMCD[MN_PRP]": "ARMCDMN_PRP",
        "BASE": "BASE",
        "SEX[M]": "SEXM",
        "SEVERITY[severe]": "SEVERITYsevere",
    }
    np.testing.assert_allclose(
        fit.params[list(names)].to_numpy(), [r[v] for v in names.values()], rtol=1e-7
    )


def test_a_comparison_of_two_non_reference_arms_alone_gives_the_same_numbers() -> None:
    """The design's reference arm is then MN_MINOX: the standardised contrast is the same."""
    expected = reference_rows(reference()["logistic"]["contrasts"]).loc[[("MN_PRP", "MN_MINOX")]]
    assert_matches(adjusted([("MN_PRP", "MN_MINOX")]), expected, COMPARED)


def test_without_covariates_the_difference_is_the_raw_one_with_the_unpooled_se() -> None:
    frame = data("binary")
    result = binary_analysis(frame, response="RESP", comparisons=[("MN_PRP", "CTRL")])
    counts = frame.groupby("ARMCD")["RESP"].agg(["sum", "size"])
    (a, n1), (c, n0) = counts.loc["MN_PRP"], counts.loc["CTRL"]
    p1, p0 = a / n1, c / n0
    row = result.contrasts.loc[("MN_PRP", "CTRL")]
    assert row["estimate"] == pytest.approx(p1 - p0, abs=1e-12)
    assert row["se"] == pytest.approx(math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0), rel=1e-8)
    log_or_se = math.sqrt(1 / a + 1 / (n1 - a) + 1 / c + 1 / (n0 - c))
    assert row["odds_ratio"] == pytest.approx(a * (n0 - c) / ((n1 - a) * c), rel=1e-8)
    assert row["or_upper"] == pytest.approx(
        row["odds_ratio"] * math.exp(1.959963984540054 * log_or_se), rel=1e-8
    )


def test_arms_frame_counts_responders() -> None:
    result = binary_analysis(data("binary"), response="RESP", comparisons=COMPARISONS)
    arms = result.arms
    assert arms.index.name == "ARMCD"
    assert arms.loc["CTRL", ["n", "responders"]].tolist() == [100, 30]
    assert arms.loc["MN_PRP", "proportion"] == pytest.approx(34 / 50)
    assert list(result.params.index) == COMPARISONS
    assert result.conf_int().columns.tolist() == ["lower", "upper"]
    assert "MN_PRP vs MN_MINOX: risk difference" in result.summary()


def test_alpha_sets_the_interval_level() -> None:
    frame = data("binary")
    wide = binary_analysis(frame, response="RESP", comparisons=COMPARISONS, alpha=0.01)
    row = wide.contrasts.loc[("MN_PRP", "CTRL")]
    half = 2.5758293035489004 * row["se"]
    assert row["upper"] - row["estimate"] == pytest.approx(half, rel=1e-9)
    assert "99% CI" in wide.summary()


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (
            {},
            {"comparisons": [("MN_X", "CTRL")]},
            "comparison MN_X vs CTRL: arm MN_X has no subjects",
        ),
        ({}, {"comparisons": [("CTRL", "CTRL")]}, "comparison CTRL vs CTRL: an arm against itself"),
        ({}, {"comparisons": [("MN_PRP", "CTRL")] * 2}, "a comparison is given twice"),
        ({}, {"comparisons": []}, "no comparisons given"),
        ({}, {"method": "probit"}, "method 'probit' is not one of logistic, cmh"),
        ({}, {"alpha": 1.5}, "alpha 1.5 is not in (0, 1)"),
        ({}, {"covariates": ["AGE"]}, "column AGE is missing"),
        ({"RESP": 2}, {}, "response RESP must be 0 or 1; subject S001 has 2"),
        ({"RESP": "Y"}, {}, "response RESP must be 0 or 1; subject S001 has 'Y'"),
        ({"RESP": np.nan}, {}, "RESP is missing for subject S001"),
        ({"ARMCD": np.nan}, {}, "ARMCD is missing for subject S001"),
        ({"BASE": np.nan}, {"covariates": ["BASE"]}, "BASE is missing for subject S001"),
    ],
)
def test_bad_input_is_refused_in_one_line(
    change: dict[str, object], kwargs: dict[str, object], message: str
) -> None:
    frame = data("binary")
    for column, value in change.items():
        frame[column] = frame[column].astype(object)
        frame.loc[0, column] = value
    args: dict[str, object] = {"response": "RESP", "comparisons": COMPARISONS, **kwargs}
    with pytest.raises(ModelSpecificationError) as info:
        binary_analysis(frame, **args)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_an_empty_arm_is_refused() -> None:
    """An arm that is a category of ARMCD but has no subjects (after a population filter)."""
    frame = data("binary")
    frame["ARMCD"] = pd.Categorical(frame["ARMCD"], categories=["CTRL", "MN_MINOX", "MN_PRP"])
    frame = frame[frame["ARMCD"] != "MN_MINOX"]
    with pytest.raises(ModelSpecificationError, match="arm MN_MINOX has no subjects"):
        binary_analysis(frame, response="RESP", comparisons=COMPARISONS)


def test_a_constant_covariate_is_refused_naming_it() -> None:
    frame = data("binary").assign(AGE=40.0)
    with pytest.raises(ModelSpecificationError, match="column AGE is constant"):
        binary_analysis(frame, response="RESP", comparisons=COMPARISONS, covariates=["AGE"])


def test_comparisons_may_be_given_as_lists() -> None:
    """As a TOML array of pairs reads: the duplicate check and the index still work."""
    frame = data("binary")
    pairs = [list(c) for c in COMPARISONS]
    result = binary_analysis(frame, response="RESP", comparisons=pairs)  # type: ignore[arg-type]
    assert list(result.contrasts.index) == COMPARISONS
    with pytest.raises(ModelSpecificationError, match="given twice"):
        binary_analysis(frame, response="RESP", comparisons=[*pairs, pairs[0]])  # type: ignore[list-item]
