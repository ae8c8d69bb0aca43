"""CMH binary analysis: Mantel-Haenszel risk difference (Sato SE), MH odds ratio (RBG CI) and the
CMH test, against R (hand-written MH and mantelhaen.test) and the one-stratum closed forms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.estimators.binary_data import (
    COMPARED,
    COMPARISONS,
    assert_matches,
    data,
    reference,
    reference_rows,
)
from trialkit.estimators.binary import binary_analysis
from trialkit.estimators.binary_cmh import (
    StratifiedTables,
    cmh_test,
    mh_odds_ratio,
    undefined_reason,
)


def cmh(name: str, comparisons: list[tuple[str, str]] = COMPARISONS) -> pd.DataFrame:
    return binary_analysis(
        data(name),
        response="RESP",
        comparisons=comparisons,
        method="cmh",
        covariates=["BASE"],
        strata=["SEVERITY"],
    ).contrasts


def test_mantel_haenszel_estimates_and_test_match_r() -> None:
    expected = reference_rows(reference()["cmh"])
    contrasts = cmh("binary")
    assert_matches(contrasts, expected, COMPARED)
    assert set(contrasts["method"]) == {"cmh"}


def test_hand_written_r_agrees_with_mantelhaen_test() -> None:
    """The R script's hand-written CMH chi-square and MH OR CI are R's own (a check of it)."""
    expected = reference_rows(reference()["cmh"])
    for mine, rs in [("statistic", "r_statistic"), ("p", "r_p"), ("or_lower", "r_or_lower")]:
        pd.testing.assert_series_equal(expected[mine], expected[rs], check_names=False, rtol=1e-10)


def test_a_stratum_with_one_arm_contributes_nothing_and_is_named() -> None:
    expected = reference_rows(reference()["sparse_cmh"])
    contrasts = cmh("sparse", [("MN_PRP", "MN_MINOX")])
    assert_matches(contrasts, expected, COMPARED)
    note = contrasts.loc[("MN_PRP", "MN_MINOX"), "note"]
    assert note == "strata with one arm only, contributing nothing: SEVERITY=very_severe"


def test_one_stratum_gives_the_crude_difference_woolf_or_and_scaled_pearson_chi2() -> None:
    frame = data("binary")
    row = binary_analysis(frame, response="RESP", comparisons=[("MN_PRP", "CTRL")], method="cmh")
    got = row.contrasts.loc[("MN_PRP", "CTRL")]
    a, n1, c, n0 = 34, 50, 30, 100
    p1, p0 = a / n1, c / n0
    assert got["estimate"] == pytest.approx(p1 - p0, abs=1e-12)
    assert got["se"] == pytest.approx(math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0))
    b, d = n1 - a, n0 - c
    assert got["odds_ratio"] == pytest.approx(a * d / (b * c))
    woolf = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert got["or_lower"] == pytest.approx(
        got["odds_ratio"] * math.exp(-1.959963984540054 * woolf)
    )
    pearson = stats.chi2_contingency([[a, b], [c, d]], correction=False).statistic
    N = n1 + n0
    assert got["statistic"] == pytest.approx(pearson * (N - 1) / N)
    assert got["p"] == pytest.approx(stats.chi2.sf(pearson * (N - 1) / N, 1))


def test_several_strata_columns_are_cross_classified() -> None:
    frame = data("binary")
    two = binary_analysis(
        frame, response="RESP", comparisons=COMPARISONS, method="cmh", strata=["SEVERITY", "SEX"]
    ).contrasts
    one = binary_analysis(
        frame.assign(CELL=frame["SEVERITY"] + "/" + frame["SEX"]),
        response="RESP",
        comparisons=COMPARISONS,
        method="cmh",
        strata=["CELL"],
    ).contrasts
    pd.testing.assert_frame_equal(two, one, rtol=1e-12)
    assert not two["estimate"].equals(cmh("binary")["estimate"])


def test_boolean_responses_are_accepted() -> None:
    frame = data("binary")
    flags = frame.assign(RESP=frame["RESP"] == 1)
    got = binary_analysis(flags, response="RESP", comparisons=COMPARISONS, method="cmh")
    want = binary_analysis(frame, response="RESP", comparisons=COMPARISONS, method="cmh")
    pd.testing.assert_frame_equal(got.contrasts, want.contrasts)


def tables(a: list[float], n1: list[float], c: list[float], n0: list[float]) -> StratifiedTables:
    return StratifiedTables(np.array(a), np.array(n1), np.array(c), np.array(n0), [])


def test_a_small_p_is_the_survival_function_where_statsmodels_rounds_it_to_zero() -> None:
    """Why the p-value is not statsmodels' own: it is 1 - cdf, 0 below about 1e-16."""
    t = tables([55, 50], [60, 60], [3, 5], [60, 60])
    chi2, p = cmh_test(t)
    assert t.statsmodels.test_null_odds(correction=False).pvalue == 0
    assert chi2 == pytest.approx(t.statsmodels.test_null_odds(correction=False).statistic)
    assert p == pytest.approx(stats.chi2.sf(chi2, 1)) and 0 < p < 1e-30


@pytest.mark.parametrize(
    ("cells", "odds", "why"),
    [
        (([0, 0], [10, 10], [3, 5], [10, 10]), 0.0, "odds ratio is 0"),
        (([4, 6], [10, 10], [0, 0], [10, 10]), math.inf, "odds ratio is infinite"),
        (([0, 10], [10, 10], [0, 10], [10, 10]), 0.0, "odds ratio is 0"),
    ],
)
def test_an_odds_ratio_without_discordant_pairs_of_one_kind_is_undefined(
    cells: tuple[list[float], ...], odds: float, why: str
) -> None:
    t = tables(*cells)
    got, log_se = mh_odds_ratio(t)
    assert got == odds and math.isnan(log_se)
    assert undefined_reason(t) == f"the Mantel-Haenszel {why}"
