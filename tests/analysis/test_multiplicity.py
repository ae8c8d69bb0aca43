"""Multiplicity: Dunnett against mvtnorm fixtures, Holm and fixed-sequence on closed forms."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from trialkit.errors import DefinitionError
from trialkit.estimators.multiplicity import (
    adjust,
    check_supported,
    correlation_from_covariance,
    dunnett_critical_value,
    dunnett_p,
    fixed_sequence,
    holm,
)
from trialkit.estimators.mvt import bvn_upper, mvn_rectangle, two_sided_mvt, two_sided_mvt_quantile

FIXTURE = Path(__file__).parents[1] / "fixtures" / "analysis" / "dunnett_mvtnorm.csv"


def _corr(k: int, text: str) -> np.ndarray:
    """Rebuild a correlation matrix from R's column-major upper.tri listing."""
    corr = np.eye(k)
    if k > 1:
        values = [float(v) for v in text.split(";")]
        pairs = [(i, j) for j in range(k) for i in range(k) if i < j]
        for (i, j), v in zip(pairs, values, strict=True):
            corr[i, j] = corr[j, i] = v
    return corr


def _cases() -> list[tuple[str, int, str, float, str, float, float]]:
    f = pd.read_csv(FIXTURE, keep_default_na=False, na_values=["NA"])
    return [
        (r.case, int(r.k), str(r.corr), float(r.df), r.kind, float(r.x), float(r.value))
        for r in f.itertuples(index=False)
    ]


@pytest.mark.parametrize(("case", "k", "corr", "df", "kind", "x", "value"), _cases())
def test_mvt_matches_mvtnorm(
    case: str, k: int, corr: str, df: float, kind: str, x: float, value: float
) -> None:
    """pmvt rectangle probabilities and qmvt quantiles (TVPACK, R) to 1e-9."""
    R = _corr(k, corr)
    got = two_sided_mvt(x, R, df) if kind == "pmvt" else two_sided_mvt_quantile(x, R, df)
    assert got == pytest.approx(value, abs=1e-9)


def test_bivariate_normal_against_scipy() -> None:
    rng = np.random.default_rng(3)
    for r in (-0.97, -0.6, -0.2, 0.1, 0.5, 0.8, 0.93, 0.99):
        h, k = rng.normal(size=(2, 10)) * 1.5
        got = bvn_upper(h, k, r)
        mvn = stats.multivariate_normal(cov=[[1, r], [r, 1]], abseps=1e-12, releps=1e-12)
        ref = np.array([mvn.cdf([-a, -b]) for a, b in zip(h, k, strict=True)])
        np.testing.assert_allclose(got, ref, atol=1e-9)


def test_independent_normal_rectangle_is_a_product() -> None:
    got = mvn_rectangle(np.array([[-1.0, -2.0, 0.5]]), np.array([[1.0, 0.3, 2.0]]), np.eye(3))[0]
    ref = np.prod(stats.norm.cdf([1.0, 0.3, 2.0]) - stats.norm.cdf([-1.0, -2.0, 0.5]))
    assert got == pytest.approx(ref, abs=1e-12)


def test_one_comparison_dunnett_is_the_t_test() -> None:
    p = dunnett_p([2.1], np.eye(1), 37.5)
    assert p[0] == pytest.approx(2 * stats.t.sf(2.1, 37.5), abs=1e-10)
    c = dunnett_critical_value(0.05, np.eye(1), 37.5)
    assert c == pytest.approx(stats.t.ppf(0.975, 37.5), abs=1e-9)


def test_dunnett_is_deterministic_bit_for_bit() -> None:
    R = np.array([[1, 0.45, 0.52], [0.45, 1, 0.38], [0.52, 0.38, 1]])
    a = dunnett_p([2.2, -1.4, 3.0], R, 211.3)
    b = dunnett_p([2.2, -1.4, 3.0], R, 211.3)
    assert a.tobytes() == b.tobytes()
    assert dunnett_critical_value(0.05, R, 211.3) == dunnett_critical_value(0.05, R, 211.3)


def test_dunnett_adjust_simultaneous_intervals() -> None:
    cov = np.array([[4.0, 2.0], [2.0, 4.0]])
    res = adjust("dunnett", ["A", "B"], [5.0, 1.0], [2.0, 2.0], [60.0, 55.0], [2.5, 0.5],
                 [0.015, 0.62], cov, 0.05)  # fmt: skip
    assert res.df == 55.0
    c = two_sided_mvt_quantile(0.95, np.array([[1, 0.5], [0.5, 1]]), 55.0)
    assert res.critical_value == pytest.approx(c)
    assert res.simultaneous_lower == pytest.approx((5.0 - 2 * c, 1.0 - 2 * c))
    assert res.p_adjusted[0] > 0.015 and res.p_adjusted[0] < 2 * 0.015
    assert res.rejected == (True, False)


def test_holm_closed_form() -> None:
    # sorted p: 0.01 (x3), 0.02 (x2), 0.04 (x1) -> 0.03, 0.04, 0.04
    np.testing.assert_allclose(holm([0.04, 0.01, 0.02]), [0.04, 0.03, 0.04])
    # step-down monotone: 0.015*3 = 0.045, max(0.045, 0.02*2) = 0.045, then 0.5
    np.testing.assert_allclose(holm([0.02, 0.015, 0.5]), [0.045, 0.045, 0.5])
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0])


def test_fixed_sequence_closed_form() -> None:
    # order B, A, C: running max 0.03, 0.03, 0.2
    adj = fixed_sequence([0.01, 0.03, 0.2], [1, 0, 2])
    np.testing.assert_allclose(adj, [0.03, 0.03, 0.2])
    res = adjust("fixed_sequence", ["A", "B", "C"], [1, 1, 1], [1, 1, 1], [9, 9, 9], [1, 1, 1],
                 [0.01, 0.06, 0.001], np.eye(3), 0.05, order=["A", "B", "C"])  # fmt: skip
    # C has p = 0.001 but comes after B, which failed: not rejected
    assert res.rejected == (True, False, False)
    assert res.p_adjusted == pytest.approx((0.01, 0.06, 0.06))
    assert res.simultaneous_lower is None


def test_none_is_unadjusted() -> None:
    res = adjust("none", ["A", "B"], [1, 2], [1, 1], [9, 9], [1, 2], [0.3, 0.07], np.eye(2), 0.05)
    assert res.p_adjusted == (0.3, 0.07)


def test_correlation_from_covariance() -> None:
    corr = correlation_from_covariance(np.array([[4.0, 1.0], [1.0, 9.0]]))
    assert corr[0, 1] == pytest.approx(1 / 6)
    assert corr[0, 0] == 1.0


def test_dunnett_with_too_many_arms_is_refused() -> None:
    with pytest.raises(DefinitionError, match=r"^analysis\.multiplicity: dunnett"):
        check_supported("dunnett", 4)
    check_supported("holm", 6)


def test_large_df_approaches_normal() -> None:
    R = np.array([[1, 0.5], [0.5, 1]])
    assert two_sided_mvt(2.0, R, 1e7) == pytest.approx(two_sided_mvt(2.0, R, math.inf), abs=1e-6)


def test_without_simultaneous_intervals_the_p_values_are_the_same() -> None:
    cov = np.array([[4.0, 2.0, 1.8], [2.0, 4.5, 2.1], [1.8, 2.1, 3.9]])
    args = (["A", "B", "C"], [5.0, 1.0, 3.0], [2.0, 2.1, 1.97], [60.0, 55.0, 58.0],
            [2.5, 0.48, 1.52], [0.015, 0.63, 0.13], cov, 0.05)  # fmt: skip
    full = adjust("dunnett", *args)
    quick = adjust("dunnett", *args, simultaneous=False)
    assert quick.p_adjusted == full.p_adjusted
    assert quick.critical_value is None and quick.simultaneous_lower is None
    assert full.critical_value is not None


def test_symmetric_rectangles_take_half_the_nodes_and_agree_with_the_general_rule() -> None:
    """The symmetric shortcut against the full rule (a non-symmetric row forces it)."""
    R = np.array([[1, 0.45, 0.52], [0.45, 1, 0.38], [0.52, 0.38, 1]])
    c = 2.3
    alone = mvn_rectangle(np.full((1, 3), -c), np.full((1, 3), c), R)[0]
    lower = np.array([[-c, -c, -c], [-1.0, 0.0, 0.2]])
    upper = np.array([[c, c, c], [1.0, 2.0, 1.5]])
    assert mvn_rectangle(lower, upper, R)[0] == pytest.approx(alone, abs=1e-13)
    many = dunnett_p([2.2, -1.4, 3.0], R, 211.3)
    each = [1 - two_sided_mvt(abs(t), R, 211.3) for t in (2.2, -1.4, 3.0)]
    np.testing.assert_allclose(many, each, atol=1e-14)
