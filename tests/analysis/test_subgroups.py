"""Subgroup analyses: level labels, the per-level arm effect (vs lmer + emmeans) and the F test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialkit.analysis.plan import ModelPlan
from trialkit.analysis.subgroups import cut_labels, run_subgroup, subgroup_levels
from trialkit.definition import Subgroup

FIX = Path(__file__).parents[1] / "fixtures" / "analysis"
VISITS = ["WEEK4", "WEEK8", "WEEK12", "WEEK16", "WEEK24"]
ARMS = ["MINOX", "MINOX_MN", "MN_PRP", "MN_FIN_MINOX"]
PLAN = ModelPlan("CHG", ("SITEGR1", "SEVERITY"), ("SEVERITY",), ("SEVERITY",))


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(FIX / "primary_dataset.csv", dtype={"SITEGR1": str, "USUBJID": str})


def _adsl(data: pd.DataFrame) -> pd.DataFrame:
    return data[["USUBJID", "SEVERITY", "BASE"]].drop_duplicates("USUBJID").reset_index(drop=True)


def test_cut_labels() -> None:
    assert cut_labels([40]) == ["<40", ">=40"]
    assert cut_labels([40, 65]) == ["<40", "40-<65", ">=65"]
    assert cut_labels([2.5]) == ["<2.5", ">=2.5"]


def test_subgroup_levels_cut_closed_on_the_left() -> None:
    values, levels = subgroup_levels(pd.Series([39, 40, 64.9, 65, None]), [40, 65])
    assert values.tolist() == ["<40", "40-<65", "40-<65", ">=65", None]
    assert levels == ["<40", "40-<65", ">=65"]
    values, levels = subgroup_levels(pd.Series(["B", "A", None, "B"]), [])
    assert levels == ["A", "B"] and values.tolist() == ["B", "A", None, "B"]


def test_arm_effect_per_level_matches_lmer_emmeans(data: pd.DataFrame) -> None:
    """CS subgroup model vs lmer + emmeans (KR): estimates and SEs; df within the
    observed- versus expected-information difference (SAS-like observed here, pbkrtest expected)."""
    sg = Subgroup(variable="SEVERITY", label="Severity")
    res = run_subgroup(
        sg, data, _adsl(data), PLAN, ARMS, "MINOX", VISITS, "WEEK24", ["cs"], "kenward-roger", 0.05
    )
    assert res.converged and res.covariance == "cs"
    assert res.levels == ["NH-III", "NH-IV", "NH-V"]
    ref = pd.read_csv(FIX / "r_lmer_cs_subgroup_severity.csv")
    m = ref.merge(res.estimates, on=["level", "arm"], suffixes=("_r", ""), validate="one_to_one")
    assert len(m) == 9
    np.testing.assert_allclose(m["estimate"], m["estimate_r"], rtol=1e-6)
    np.testing.assert_allclose(m["se"], m["se_r"], rtol=1e-4)
    np.testing.assert_allclose(m["df"], m["df_r"], rtol=3e-2)
    assert res.interaction_num_df == 6.0
    assert 0.0 <= (res.interaction_p or -1.0) <= 1.0
    assert (res.estimates["interaction_p"] == res.interaction_p).all()
    counts = data.drop_duplicates("USUBJID").groupby(["SEVERITY", "ARMCD"]).size()
    for r in res.estimates.itertuples(index=False):
        assert r.n == counts[(r.level, r.arm)]


def test_one_df_interaction_test_matches_the_difference_of_effects(data: pd.DataFrame) -> None:
    """Two arms, two levels: F = diff^2 / var(diff) of the two arm effects (1 df, KR scale 1)."""
    two = data.loc[data["ARMCD"].isin(["MINOX", "MINOX_MN"]) & (data["SEVERITY"] != "NH-V")]
    sg = Subgroup(variable="SEVERITY", label="Severity")
    arms = ["MINOX", "MINOX_MN"]
    res = run_subgroup(
        sg, two, _adsl(two), PLAN, arms, "MINOX", VISITS, "WEEK24", ["us"], "kenward-roger", 0.05
    )
    assert res.converged and res.interaction_num_df == 1.0
    e = res.estimates.set_index("level")
    diff = e.loc["NH-IV", "estimate"] - e.loc["NH-III", "estimate"]
    # SE of the difference from the F statistic: F = diff^2 / var(diff)
    assert res.interaction_f is not None and res.interaction_f > 0
    var = diff**2 / res.interaction_f
    # levels are independent subjects, so var(diff) is close to the sum of the variances
    assert var == pytest.approx(e["se"].pow(2).sum(), rel=0.05)


def test_unfittable_subgroup_is_reported_not_raised(data: pd.DataFrame) -> None:
    one_level = data.assign(SEVERITY="NH-III")
    sg = Subgroup(variable="SEVERITY", label="Severity")
    res = run_subgroup(
        sg, one_level, _adsl(one_level), PLAN, ARMS, "MINOX", VISITS, "WEEK24", ["cs"],
        "kenward-roger", 0.05,
    )  # fmt: skip
    assert not res.converged and res.estimates.empty
    assert res.message == "fewer than two subgroup levels with data"
