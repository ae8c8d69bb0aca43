"""Proportional-odds analysis of the ordinal global assessment against MASS::polr."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialkit.estimators.ordinal import category_distribution, proportional_odds

FIX = Path(__file__).parents[1] / "fixtures" / "secondary"


@pytest.fixture(scope="module")
def bds() -> pd.DataFrame:
    """The fixture BDS."""
    return pd.read_csv(FIX / "bds.csv")


def test_matches_polr(bds: pd.DataFrame) -> None:
    ref = json.loads((FIX / "r_reference.json").read_text())["polr"]
    r = proportional_odds(bds, param="GA", visit="WEEK12", reference="MINOX", levels=range(-3, 4))
    assert list(r.odds_ratios["arm"]) == ["MINOX_MN", "MN_PRP"]
    # same sign convention as polr: logit P(Y <= k) = zeta_k - eta
    np.testing.assert_allclose(
        r.odds_ratios["estimate"], [x["estimate"] for x in ref["odds_ratios"]], rtol=1e-5
    )
    np.testing.assert_allclose(
        r.odds_ratios["se"], [x["se"] for x in ref["odds_ratios"]], rtol=1e-4
    )
    np.testing.assert_allclose(
        r.odds_ratios["p_value"], [x["p_value"] for x in ref["odds_ratios"]], rtol=1e-3
    )
    assert list(r.thresholds["threshold"]) == [z["threshold"] for z in ref["zeta"]]
    # polr stops at optim's BFGS reltol: its cut-points agree to ~1e-5 and its log-likelihood
    # is a little lower (-93.12283490 vs -93.12283490 + 2.5e-9 here): ours is the better optimum
    np.testing.assert_allclose(
        r.thresholds["estimate"], [z["estimate"] for z in ref["zeta"]], rtol=1e-4, atol=5e-5
    )
    assert r.fit.llf == pytest.approx(ref["loglik"], abs=1e-6)
    assert r.fit.llf >= ref["loglik"] - 1e-9
    assert (r.odds_ratios["odds_ratio"] > 1).all()
    assert (r.odds_ratios["n"] == 53).all()


def test_distribution_counts() -> None:
    b = pd.DataFrame(
        {
            "USUBJID": list("abcde"),
            "ARMCD": ["R", "R", "T", "T", "T"],
            "PARAMCD": "GA",
            "AVISIT": "W12",
            "AVAL": [-1, 0, 3, 3, 0],
        }
    )
    d = category_distribution(b, param="GA", visit="W12", levels=range(-3, 4))
    assert list(d["arm"].unique()) == ["R", "T", "Total"]
    assert len(d) == 21
    t = d[d["arm"] == "T"].set_index("level")
    assert t.at[3, "n"] == 2 and t.at[3, "N"] == 3
    assert t.at[3, "pct"] == pytest.approx(200 / 3)
    pooled = category_distribution(b, param="GA", visit="W12", by_arm=False)
    assert list(pooled["arm"].unique()) == ["Total"]
    assert list(pooled["level"]) == [-1, 0, 3]
    assert list(pooled["n"]) == [1, 2, 2]
