"""The vectorised count GEE against statsmodels' GEE (its per-subject loop) on the R fixtures."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.genmod import cov_struct, families
from statsmodels.genmod.generalized_estimating_equations import GEE

from trialkit.errors import ModelSpecificationError
from trialkit.estimators.gee import fit_count_gee

FIX = Path(__file__).parents[1] / "fixtures" / "secondary"


@pytest.fixture(scope="module")
def counts() -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """Post-baseline hair counts of the fixture: y, design (arm, log BASE, visit), subjects."""
    b = pd.read_csv(FIX / "bds.csv")
    b = b[(b["PARAMCD"] == "HAIRCNT") & (b["ABLFL"].fillna("") != "Y")].dropna(subset=["AVAL"])
    X = pd.DataFrame({"Intercept": 1.0}, index=b.index)
    for arm in sorted(b["ARMCD"].unique())[1:]:
        X[f"ARMCD[{arm}]"] = (b["ARMCD"] == arm).astype(float)
    X["LOG_BASE"] = np.log(b["BASE"].astype(float))
    for visit in sorted(b["AVISIT"].unique())[1:]:
        X[f"AVISIT[{visit}]"] = (b["AVISIT"] == visit).astype(float)
    return b["AVAL"].to_numpy(dtype=float), X, b["USUBJID"].to_numpy()


def _statsmodels(y: np.ndarray, X: pd.DataFrame, subjects: np.ndarray, alpha: float, corr: str):
    family = families.Poisson() if alpha == 0 else families.NegativeBinomial(alpha=alpha)
    structure = cov_struct.Exchangeable() if corr == "exchangeable" else cov_struct.Independence()
    model = GEE(y, X, groups=pd.factorize(subjects)[0], family=family, cov_struct=structure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(maxiter=500, ctol=1e-13)


@pytest.mark.parametrize("corr", ["exchangeable", "independence"])
@pytest.mark.parametrize("alpha", [0.0, 0.03, 0.5])
def test_matches_statsmodels_gee(counts, corr: str, alpha: float) -> None:
    y, X, subjects = counts
    ours = fit_count_gee(y, X, subjects, alpha=alpha, correlation=corr)
    ref = _statsmodels(y, X, subjects, alpha, corr)
    np.testing.assert_allclose(ours.params, ref.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.cov_params, ref.cov_params(), rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(ours.bse, ref.bse, rtol=1e-8)
    np.testing.assert_allclose(ours.fittedvalues, ref.fittedvalues, rtol=1e-8)
    rho = float(np.atleast_1d(ref.model.cov_struct.dep_params)[0]) if corr == "exchangeable" else 0
    assert ours.rho == pytest.approx(rho, rel=1e-8, abs=1e-12)


def test_row_order_does_not_matter(counts) -> None:
    """Rows need not be sorted by subject; fitted values come back in the caller's order."""
    y, X, subjects = counts
    shuffle = np.random.default_rng(1).permutation(len(y))
    a = fit_count_gee(y, X, subjects, alpha=0.05)
    b = fit_count_gee(y[shuffle], X.iloc[shuffle], subjects[shuffle], alpha=0.05)
    np.testing.assert_allclose(b.params, a.params, rtol=1e-10)
    np.testing.assert_allclose(b.fittedvalues, a.fittedvalues[shuffle], rtol=1e-10)
    np.testing.assert_array_equal(b.endog, y[shuffle])


def test_warm_start_reaches_the_same_fixed_point(counts) -> None:
    y, X, subjects = counts
    cold = fit_count_gee(y, X, subjects, alpha=0.05)
    warm = fit_count_gee(y, X, subjects, alpha=0.05, start=fit_count_gee(y, X, subjects, alpha=0))
    np.testing.assert_allclose(warm.params, cold.params, rtol=1e-10)
    assert warm.rho == pytest.approx(cold.rho, rel=1e-9)


def test_one_visit_per_subject_has_no_exchangeable_correlation(counts) -> None:
    y, X, _ = counts
    with pytest.raises(ModelSpecificationError, match="within-subject pairs"):
        fit_count_gee(y, X, np.arange(len(y)), alpha=0.05)


def test_unknown_correlation(counts) -> None:
    y, X, subjects = counts
    with pytest.raises(ModelSpecificationError, match="'ar1' is not one of"):
        fit_count_gee(y, X, subjects, alpha=0.05, correlation="ar1")
