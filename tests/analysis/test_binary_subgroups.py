"""Subgroups of a binary primary: the arm x subgroup likelihood-ratio test equals statsmodels'
formula logistic fits; separated data fall back to the penalised likelihood ratio (issue 12)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from trialkit.analysis.binary import interaction_test


def _data(seed: int, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(["CTRL", "A", "B"], n)
    level = rng.choice(["F", "M"], n)
    base = rng.normal(70, 10, n)
    eta = -1 + 0.8 * (arm == "A") + 1.2 * (arm == "B") + 0.5 * (level == "M") - 0.02 * (base - 70)
    response = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"ARMCD": arm, "SUBGROUP": level, "BASE": base, "RESPONSE": response})


def test_likelihood_ratio_equals_statsmodels_formula_fits() -> None:
    data = _data(3)
    chi2, df, p, how = interaction_test(data, "SUBGROUP", ["BASE"])
    small = smf.logit("RESPONSE ~ C(ARMCD) + C(SUBGROUP) + BASE", data).fit(disp=0)
    large = smf.logit("RESPONSE ~ C(ARMCD) * C(SUBGROUP) + BASE", data).fit(disp=0)
    expected = 2 * (large.llf - small.llf)
    assert how == "likelihood ratio" and df == 2
    assert chi2 == pytest.approx(expected, rel=1e-8)
    assert p == pytest.approx(stats.chi2.sf(expected, 2), rel=1e-8)


def test_separation_uses_the_penalised_likelihood_ratio() -> None:
    data = _data(4)
    # no responder in arm CTRL within level F: maximum likelihood drifts to infinity
    data.loc[(data["ARMCD"] == "CTRL") & (data["SUBGROUP"] == "F"), "RESPONSE"] = 0.0
    chi2, df, p, how = interaction_test(data, "SUBGROUP", ["BASE"])
    assert how == "penalised likelihood ratio" and df == 2
    assert np.isfinite(chi2) and chi2 >= 0 and 0 < p <= 1
