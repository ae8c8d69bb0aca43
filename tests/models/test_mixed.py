"""The random-slope REML criterion is statsmodels MixedLM's: value and score at random points,
and the fit at its optimum (the copy exists for speed: no per-subject Python loop)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.mixed_linear_model import MixedLM

from trialkit.models.clusters import Clusters
from trialkit.models.mixed import RemlProfile, fit_mixed


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unbalanced random-intercept-and-slope data: 40 subjects, 2 to 6 visits each."""
    rng = np.random.default_rng(7)
    subjects, times = [], []
    for i in range(40):
        k = int(rng.integers(2, 7))
        subjects += [i] * k
        times += list(np.sort(rng.uniform(0, 24, k)))
    g, t = np.array(subjects), np.array(times)
    arm = (g % 2).astype(float)
    X = np.column_stack([np.ones_like(t), t, arm, arm * t])
    Z = np.column_stack([np.ones_like(t), t])
    b = rng.multivariate_normal([0, 0], [[9.0, 0.3], [0.3, 0.05]], 40)[g]
    y = X @ [20.0, 0.5, 1.0, 0.3] + (Z * b).sum(axis=1) + rng.normal(0, 2.0, len(t))
    order = np.argsort(g, kind="stable")
    return y[order], X[order], Z[order], g[order]


def test_criterion_value_and_score_equal_statsmodels_at_random_points(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    y, X, Z, g = data
    model = MixedLM(y, X, groups=g, exog_re=Z, use_sqrt=True)
    model.reml, model.cov_pen, model.fe_pen = True, None, None  # as fit() sets them
    model._freepat = None
    ours = RemlProfile(y, X, Z, Clusters.of(g))
    rng = np.random.default_rng(3)
    for _ in range(10):
        packed = np.array([rng.uniform(0.3, 3.0), rng.uniform(-0.3, 0.3), rng.uniform(0.02, 0.5)])
        value, score = ours.evaluate(packed)
        assert value == pytest.approx(model.loglike(packed, profile_fe=True), rel=1e-10)
        np.testing.assert_allclose(score, model.score(packed, profile_fe=True), rtol=1e-7)


def test_fit_equals_statsmodels_reml_fit(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    y, X, Z, g = data
    names = ["Intercept", "t", "arm", "arm:t"]
    ours = fit_mixed(y, pd.DataFrame(X, columns=names), Z, g, "test model")
    ref = MixedLM(y, X, groups=g, exog_re=Z).fit(reml=True, method="lbfgs")
    np.testing.assert_allclose(ours.fe_params.to_numpy(), ref.fe_params, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.cov_re, ref.cov_re, rtol=1e-4, atol=1e-6)
    assert ours.scale == pytest.approx(ref.scale, rel=1e-5)
    assert ours.llf == pytest.approx(ref.llf, rel=1e-8)
