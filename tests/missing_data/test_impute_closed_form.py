"""Imputed values against the closed-form conditional normal on two visits.

Known mean and covariance (not fitted): the conditional mean is mu_2 + s12 / s11 (y_1 - mu_1)
and the conditional variance s22 - s12^2 / s11; the strategies' means are written out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialkit.missing_data import Draws, Method, Sample, impute, long_data
from trialkit.missing_data.draws import full_fit
from trialkit.missing_data.impute import strategy_means

SIGMA = np.array([[4.0, 3.0], [3.0, 9.0]])
# design: Intercept, visit 2, arm B, arm B at visit 2 -> arm A (1, 3), arm B (2, 7)
BETA = np.array([1.0, 2.0, 1.0, 3.0])


def _data(strategy: str) -> Draws:
    rng = np.random.default_rng(5)
    rows = pd.DataFrame(
        {
            "id": np.repeat([f"s{i}" for i in range(40)], 2),
            "visit": np.tile(["1", "2"], 40),
            "arm": np.repeat(["A", "B"] * 20, 2),
            "y": rng.normal(size=80),
        }
    )
    rows.loc[rows["id"].eq("s1") & rows["visit"].eq("2"), "y"] = np.nan  # arm B, y1 observed
    events = pd.DataFrame({"id": ["s1"], "visit": ["2"], "strategy": [strategy]})
    ld = long_data(rows, subject="id", visit="visit", group="arm", outcome="y", covariates=[],
                   visits=["1", "2"], control="A", events=events)  # fmt: skip
    design, _ = full_fit(ld, "y ~ visit * arm")
    X = design.build(ld.grid).reshape(40, 2, -1)
    assert design.column_names == ["Intercept", "visit[T.2]", "arm[T.B]", "visit[T.2]:arm[T.B]"]
    method = Method("bootstrap_ml", samples=2, imputations=40_000, seed=11)
    seed = np.random.SeedSequence(11)
    sample = Sample(np.arange(40), BETA, SIGMA, seed)
    return Draws(ld, method, design, X, (sample,), 0)


@pytest.mark.parametrize(
    ("strategy", "mean_2"),
    [("MAR", 7.0), ("J2R", 3.0), ("CR", 3.0), ("CIR", 2.0 + (3.0 - 1.0)), ("LMCF", 2.0)],
)
def test_imputed_values_follow_the_conditional_normal(strategy: str, mean_2: float) -> None:
    """Subject s1 (arm B, y1 observed): strategy mean at visit 2, then conditioned on y1."""
    draws = _data(strategy)
    y1 = float(draws.data.y[1, 0])
    mean_1 = 1.0 if strategy == "CR" else 2.0  # CR copies the reference from the first visit
    want = mean_2 + 3.0 / 4.0 * (y1 - mean_1)
    var = 9.0 - 3.0**2 / 4.0
    values = impute(draws, {"B": "A", "A": "A"}).samples[0].values[:, 1, 1]
    se = np.sqrt(var / len(values))
    assert abs(values.mean() - want) < 4 * se
    assert values.var() == pytest.approx(var, rel=4 * np.sqrt(2 / len(values)))
    fixed = Sample(np.arange(40), BETA, SIGMA, None)
    mean_only = impute(Draws(draws.data, Method(), draws.design, draws.X, (fixed,), 0), {"B": "A"})
    assert mean_only.samples[0].values[0, 1, 1] == pytest.approx(want, abs=1e-12)


def test_strategy_means_by_hand() -> None:
    mu_a = np.array([[1.0, 2.0, 4.0, 7.0]] * 5)
    mu_r = np.array([[1.0, 1.5, 2.0, 2.5]] * 5)
    strategy = np.array(["MAR", "J2R", "CR", "CIR", "LMCF"], dtype=object)
    ice = np.array([4, 2, 2, 2, 2])
    mu = strategy_means(mu_a, mu_r, strategy, ice)
    np.testing.assert_allclose(mu[0], [1, 2, 4, 7])
    np.testing.assert_allclose(mu[1], [1, 2, 2.0, 2.5])
    np.testing.assert_allclose(mu[2], [1, 1.5, 2.0, 2.5])
    np.testing.assert_allclose(mu[3], [1, 2, 2 + 0.5, 2 + 1.0])
    np.testing.assert_allclose(mu[4], [1, 2, 2, 2])
