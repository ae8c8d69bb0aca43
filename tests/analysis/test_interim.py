"""interim_look: information reached, updated boundaries, t to z, crossings, conditional power."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr, stdtr

from trialkit.analysis.interim import _plain, interim_look, primary_subjects
from trialkit.definition import (
    Analysis,
    Arm,
    Component,
    Endpoint,
    Parameter,
    TrialDefinition,
    TrialInfo,
    Visit,
)
from trialkit.design import power
from trialkit.design.plan import InterimPlan
from trialkit.design.spending import spend
from trialkit.design.update import update_design
from trialkit.errors import DefinitionError, InputError, ModelSpecificationError

VISIT = "WEEK24"


def flag(value: Any) -> bool | None:
    """A crossing flag from the arms frame (nullable boolean) as True, False or None."""
    return None if pd.isna(value) else bool(value)


def definition(
    direction: str = "higher", active: tuple[str, ...] = ("MN",), population: str = "ITT"
) -> TrialDefinition:
    """A minimal trial: reference MINOX, the ``active`` arms, hair count change at week 24."""
    minox = Component(treatment="minoxidil", concentration_pct=5.0)
    arms = (
        Arm("MINOX", "5% minoxidil", (minox,), reference=True),
        *(Arm(code, code, (minox, Component(treatment="microneedling"))) for code in active),
    )
    return TrialDefinition(
        trial=TrialInfo("T1", "test", "androgenetic alopecia"),
        arms=arms,
        visits=(
            Visit("BASELINE", 1, (-14, 0), baseline=True),
            Visit("WEEK12", 85, (-7, 7)),
            Visit(VISIT, 169, (-10, 10)),
        ),
        parameters=(Parameter("HAIRCNT", "Hair count", direction=direction),),  # type: ignore[arg-type]
        primary=Endpoint("HAIRCNT", VISIT, "CHG"),
        analysis=Analysis(population=population),
    )


def contrasts(rows: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    """Primary contrasts (arm: t, df, se) at the primary visit, plus a week-12 decoy row each."""
    out: list[dict[str, Any]] = []
    for arm, (t, df, se) in rows.items():
        for visit, scale in ((VISIT, 1.0), ("WEEK12", 0.1)):
            out.append(
                {
                    "arm": arm,
                    "reference": "MINOX",
                    "visit": visit,
                    "estimate": t * se * scale,
                    "se": se * scale,
                    "df": df,
                    "t": t,
                    "p": float(2 * stdtr(df, -abs(t))) if math.isfinite(df) else None,
                }
            )
    return pd.DataFrame(out)


def plan(**keys: Any) -> InterimPlan:
    """A plan from ``[interim]`` keys (3 looks, O'Brien-Fleming, 100 subjects by default)."""
    base: dict[str, Any] = {"information_fractions": [0.33, 0.67, 1.0], "max_subjects": 100}
    merged = {k: v for k, v in {**base, **keys}.items() if v is not None}
    return InterimPlan.from_mapping(merged)


# --- information -----------------------------------------------------------------------------


def test_information_fraction_from_subjects() -> None:
    """Count subjects with a non-missing CHG at the primary visit, ANL01FL = Y, in the ITT."""
    bds = pd.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S8"],
            "PARAMCD": ["HAIRCNT"] * 8 + ["OTHER", "HAIRCNT"],
            "AVISIT": [VISIT, VISIT, VISIT, VISIT, "WEEK12", VISIT, VISIT, VISIT, VISIT, VISIT],
            "CHG": [5.0, 6.0, None, 3.0, 2.0, 1.0, 4.0, 2.0, 1.0, 7.0],
            "ANL01FL": ["Y", None, "Y", "Y", "Y", "Y", "Y", None, "Y", "Y"],
            "ITTFL": ["Y", "Y", "Y", "Y", "Y", "N", "Y", "Y", "Y", "Y"],
        }
    )
    # Counted: S1 (once), S3, S6, S8 (HAIRCNT row).
    # Not: S2 missing, S4 week 12, S5 not ITT, S7 not ANL01FL.
    assert primary_subjects(bds, definition()) == 4
    p = plan(max_subjects=16)
    look = interim_look(p, 1, contrasts({"MN": (1.0, 30.0, 2.0)}), bds, definition())
    assert look.information_fraction == pytest.approx(0.25)
    assert look.information_observed == 4 and look.information_max == 16
    by_count = interim_look(p, None, contrasts({"MN": (1.0, 30.0, 2.0)}), 4, definition())
    assert by_count.information_fraction == look.information_fraction and by_count.look == 1


def test_subjects_fraction_is_capped_at_one_and_makes_the_look_final() -> None:
    look = interim_look(
        plan(),
        3,
        contrasts({"MN": (2.5, 40.0, 1.0)}),
        110,
        definition(),
        previous_fractions=(0.3, 0.6),
    )
    assert look.information_fraction_observed == pytest.approx(1.1)
    assert look.information_fraction == 1.0 and look.final
    expected = update_design(plan().design(), [0.3, 0.6, 1.0], final=True)
    assert look.arms["efficacy_z"].iloc[0] == pytest.approx(expected.efficacy_z[-1], abs=1e-12)


def test_information_fraction_from_variance_is_the_smallest_over_arms() -> None:
    p = plan(information="variance", effect=0.5, active_arms=2, max_subjects=None, sd=1.0)
    i_max = p.max_information()
    se_a, se_b = 1 / math.sqrt(0.4 * i_max), 1 / math.sqrt(0.45 * i_max)
    ct = contrasts({"A": (1.0, 50.0, se_a), "B": (1.2, 50.0, se_b)})
    look = interim_look(p, 1, ct, None, definition(active=("A", "B")))
    assert look.information_fraction == pytest.approx(0.4)
    assert look.information_observed == pytest.approx(0.4 * i_max)
    assert look.information_max == pytest.approx(i_max)
    assert list(look.arms["information_fraction"]) == pytest.approx([0.4, 0.45])
    assert list(look.arms["information"]) == pytest.approx([1 / se_a**2, 1 / se_b**2])


# --- boundaries --------------------------------------------------------------------------------


def test_updated_boundaries_equal_update_design_and_keep_alpha_spent() -> None:
    p = plan(max_subjects=200)
    look = interim_look(p, 2, contrasts({"MN": (1.5, 60.0, 1.0)}), 110, definition(), False, [0.3])
    expected = update_design(p.design(), [0.3, 0.55])
    pd.testing.assert_frame_equal(look.boundary_table("MN"), expected.table())
    table = look.boundary_table("MN")
    assert list(table["information_fraction"]) == [0.3, 0.55, 1.0]
    assert table["cumulative_alpha"].iloc[0] == pytest.approx(spend("of", 0.025, 0.3), abs=1e-9)
    assert look.arms["efficacy_z"].iloc[0] == expected.efficacy_z[1]
    assert set(look.boundaries.columns) >= {
        "arm", "information_fraction", "efficacy_z", "nominal_p", "cumulative_alpha",
    }  # fmt: skip


def test_each_arm_uses_its_share_of_alpha() -> None:
    p = plan(active_arms=2, alpha_sharing=[0.015, 0.01])
    ct = contrasts({"A": (2.0, 80.0, 1.0), "B": (2.0, 80.0, 1.0)})
    look = interim_look(p, 1, ct, 50, definition(active=("A", "B")))
    for arm, alpha in (("A", 0.015), ("B", 0.01)):
        expected = update_design(p.design(alpha=alpha), [0.5]).table()
        pd.testing.assert_frame_equal(look.boundary_table(arm), expected)
    assert list(look.arms["alpha"]) == [0.015, 0.01]


def test_futility_columns_and_futility_crossing() -> None:
    p = plan(futility_spending="of", effect=0.5, sd=1.0)
    look = interim_look(p, 1, contrasts({"MN": (-0.5, 60.0, 1.0)}), 50, definition())
    table = look.boundary_table("MN")
    expected = update_design(p.design(), [0.5])
    assert {"futility_z", "cumulative_beta"} <= set(table.columns)
    fut = expected.futility_z
    assert fut is not None and look.arms["futility_z"].iloc[0] == fut[0]
    row = look.arms.iloc[0]
    assert row["z"] < row["futility_z"]
    assert flag(row["futility_crossed"]) is True and flag(row["efficacy_crossed"]) is False
    up = interim_look(p, 1, contrasts({"MN": (1.5, 60.0, 1.0)}), 50, definition())
    assert flag(up.arms["futility_crossed"].iloc[0]) is False
    # under the plan's effect: 0.5 / sd 1 with 50 + 50 subjects (var 1/50 + 1/50): drift 2.5
    z = float(up.arms["z"].iloc[0])
    gsd = update_design(p.design(), [0.5])
    later = (gsd.information_fractions[1:], gsd.efficacy_z[1:])
    assert up.arms["conditional_power_design"].iloc[0] == pytest.approx(
        power.conditional_rejection(z, 0.5, *later, 2.5), abs=1e-12
    )


# --- t to z and crossings ------------------------------------------------------------------------


def test_t_to_z_with_infinite_df_is_the_identity() -> None:
    look = interim_look(plan(), 1, contrasts({"MN": (1.7, math.inf, 1.0)}), 40, definition())
    assert look.arms["z"].iloc[0] == 1.7


@pytest.mark.parametrize("t", [2.3, -1.1, 0.4])
def test_t_to_z_with_finite_df_preserves_the_p_value(t: float) -> None:
    ct = contrasts({"MN": (t, 12.0, 1.0)})
    look = interim_look(plan(), 1, ct, 40, definition())
    z = float(look.arms["z"].iloc[0])
    assert float(ndtr(-z)) == pytest.approx(float(stdtr(12.0, -t)), rel=1e-10)
    assert 2 * float(ndtr(-abs(z))) == pytest.approx(float(ct["p"].iloc[0]), rel=1e-10)
    assert abs(z) < abs(t)  # the t tail is heavier
    assert look.arms["p_one_sided"].iloc[0] == pytest.approx(float(stdtr(12.0, -t)), rel=1e-10)


def test_crossing_when_higher_is_better() -> None:
    look = interim_look(plan(), 1, contrasts({"MN": (5.0, math.inf, 1.0)}), 50, definition())
    row = look.arms.iloc[0]
    assert (
        row["z"] == 5.0 and row["z"] >= row["efficacy_z"] and flag(row["efficacy_crossed"]) is True
    )
    assert flag(row["futility_crossed"]) is None  # no futility boundary in the plan
    low = interim_look(plan(), 1, contrasts({"MN": (2.0, math.inf, 1.0)}), 50, definition())
    assert flag(low.arms["efficacy_crossed"].iloc[0]) is False


def test_crossing_when_lower_is_better_flips_the_sign() -> None:
    lower = definition(direction="lower")
    worse = interim_look(plan(), 1, contrasts({"MN": (5.0, math.inf, 1.0)}), 50, lower)
    assert worse.arms["z"].iloc[0] == -5.0 and flag(worse.arms["efficacy_crossed"].iloc[0]) is False
    better = interim_look(plan(), 1, contrasts({"MN": (-5.0, math.inf, 1.0)}), 50, lower)
    assert better.arms["z"].iloc[0] == 5.0 and flag(better.arms["efficacy_crossed"].iloc[0]) is True
    assert better.direction == "lower" and worse.observed("MN") == {"MN": (0.5, -5.0)}


def test_two_sided_crosses_on_either_side() -> None:
    p = plan(sided=2, alpha=0.05)
    look = interim_look(p, 1, contrasts({"MN": (-5.0, math.inf, 1.0)}), 50, definition())
    row = look.arms.iloc[0]
    assert row["z"] == -5.0 and flag(row["efficacy_crossed"]) is True
    assert row["efficacy_z"] == update_design(p.design(), [0.5]).efficacy_z[0]


# --- conditional power -------------------------------------------------------------------------


def test_power_figures_match_the_closed_forms_with_one_look_left() -> None:
    """Two looks: each figure is a closed form of the final boundary (B-value formulas)."""
    p = plan(information_fractions=[0.5, 1.0], max_subjects=200, effect=0.4, sd=2.0)
    look = interim_look(p, 1, contrasts({"MN": (1.5, math.inf, 1.0)}), 80, definition())
    row = look.arms.iloc[0]
    final_z = update_design(p.design(), [0.4]).efficacy_z[-1]
    drift = 0.4 / math.sqrt(4.0 * (1 / 100 + 1 / 100))  # effect / se at 100 + 100 subjects
    cp = ndtr((1.5 * math.sqrt(0.4) + drift * 0.6 - final_z) / math.sqrt(0.6))
    assert row["conditional_power_design"] == pytest.approx(float(cp), abs=1e-9)
    trend = ndtr((1.5 * math.sqrt(0.4) + 1.5 / math.sqrt(0.4) * 0.6 - final_z) / math.sqrt(0.6))
    assert row["conditional_power_trend"] == pytest.approx(float(trend), abs=1e-9)
    predictive = ndtr((1.5 - final_z * math.sqrt(0.4)) / math.sqrt(0.6))
    assert row["predictive_power"] == pytest.approx(float(predictive), abs=1e-9)
    assert row["status"] == "estimated" and row["reason"] is None


def test_conditional_power_under_the_effect_uses_the_allocation() -> None:
    """2:1 allocation over 300 subjects: 200 vs 100, var sd^2 (1/200 + 1/100)."""
    p = plan(information_fractions=[0.5, 1.0], max_subjects=300, effect=0.4, sd=2.0)
    ct = contrasts({"MN": (1.5, math.inf, 1.0)})
    look = interim_look(p, 1, ct, 120, definition(), allocation={"MN": 2, "MINOX": 1})
    final_z = update_design(p.design(), [0.4]).efficacy_z[-1]
    drift = 0.4 / math.sqrt(4.0 * (1 / 200 + 1 / 100))
    cp = ndtr((1.5 * math.sqrt(0.4) + drift * 0.6 - final_z) / math.sqrt(0.6))
    assert look.arms["conditional_power_design"].iloc[0] == pytest.approx(float(cp), abs=1e-9)
    with pytest.raises(DefinitionError, match=r"arms\.allocation: XX"):
        interim_look(p, 1, ct, 120, definition(), allocation={"XX": 2})


def test_no_stated_effect_leaves_that_figure_empty() -> None:
    look = interim_look(plan(), 1, contrasts({"MN": (1.5, math.inf, 1.0)}), 40, definition())
    row = look.arms.iloc[0]
    assert math.isnan(row["conditional_power_design"]) and 0 < row["conditional_power_trend"] < 1


# --- final look --------------------------------------------------------------------------------


def test_final_look_tests_against_the_last_boundary_not_the_nominal_alpha() -> None:
    p = plan()
    z = 1.98  # one-sided p = 0.0239 < alpha = 0.025 ...
    look = interim_look(
        p, 3, contrasts({"MN": (z, math.inf, 1.0)}), 95, definition(), True, (0.33, 0.67)
    )
    expected = update_design(p.design(), [0.33, 0.67, 0.95], final=True)
    row = look.arms.iloc[0]
    assert look.final and row["p_one_sided"] < p.alpha
    assert row["efficacy_z"] == expected.efficacy_z[-1] > z  # ... but below the last boundary
    assert flag(row["efficacy_crossed"]) is False and flag(row["futility_crossed"]) is None
    assert look.boundary_table("MN")["cumulative_alpha"].iloc[-1] == pytest.approx(0.025, abs=1e-9)
    assert math.isnan(row["conditional_power_design"]) and math.isnan(
        row["conditional_power_trend"]
    )
    above = interim_look(
        p, 3, contrasts({"MN": (2.1, math.inf, 1.0)}), 95, definition(), True, (0.33, 0.67)
    )
    assert flag(above.arms["efficacy_crossed"].iloc[0]) is True


# --- thin data ---------------------------------------------------------------------------------


def test_an_arm_without_a_contrast_is_not_estimable_and_the_others_are_evaluated() -> None:
    """Arm A has no data at the cutoff (no contrast row); arm B a contrast without an estimate."""
    ct = contrasts({"MN": (2.0, 30.0, 1.0), "B": (math.nan, math.nan, math.nan)})
    look = interim_look(plan(active_arms=3), 1, ct, 50, definition(active=("MN", "A", "B")))
    rows = look.arms.set_index("arm")
    assert rows.loc["MN", "status"] == "estimated" and math.isfinite(rows.loc["MN", "z"])
    for arm in ("A", "B"):
        assert rows.loc[arm, "status"] == "not estimable at this look"
        assert arm in str(rows.loc[arm, "reason"]) and math.isnan(rows.loc[arm, "z"])
        assert flag(rows.loc[arm, "efficacy_crossed"]) is None
        assert math.isfinite(rows.loc[arm, "efficacy_z"])  # the boundary is still given
    doc = look.to_json()
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    assert [a["status"] for a in doc["looks"][-1]["arms"]] == [
        "estimated", "not estimable at this look", "not estimable at this look",
    ]  # fmt: skip


# --- output --------------------------------------------------------------------------------------


def test_blinded_summary_has_no_arm_level_numbers() -> None:
    ct = contrasts({"A": (2.4, 40.0, 1.3), "B": (-0.7, 40.0, 1.1)})
    look = interim_look(plan(active_arms=2), 1, ct, 37, definition(active=("A", "B")))
    summary = look.blinded_summary()
    assert summary == {"look": 1, "information_fraction": 0.37}
    assert not any(code in json.dumps(summary) for code in ("A", "B", "MINOX"))
    assert look.to_json()["arms"][0]["arm"] == "A"  # the closed output has them


def test_to_json_is_plain_json_with_nulls() -> None:
    look = interim_look(plan(), 1, contrasts({"MN": (0.3, 20.0, 1.0)}), 40, definition())
    doc = look.to_json()
    text = json.dumps(doc, allow_nan=False)
    assert json.loads(text) == doc
    assert doc["arms"][0]["efficacy_z"] == look.arms["efficacy_z"].iloc[0]
    assert doc["arms"][0]["futility_z"] is None and doc["boundaries"][0]["futility_z"] is None
    assert doc["arms"][0]["efficacy_crossed"] is False
    assert doc["arms"][0]["futility_crossed"] is None
    assert [_plain(x) for x in (math.inf, -math.inf, math.nan, pd.NA, np.int64(3))] == [
        None, None, None, None, 3,
    ]  # fmt: skip
    assert doc["look"] == 1 and doc["final"] is False and doc["information_measure"] == "subjects"
    assert set(doc["arms"][0]) >= {"arm", "z", "efficacy_crossed", "conditional_power_trend"}


# --- errors --------------------------------------------------------------------------------------


def test_errors_name_the_problem() -> None:
    d, ct = definition(), contrasts({"MN": (1.0, 30.0, 1.0)})
    with pytest.raises(InputError, match="look 2 needs 1 previous"):
        interim_look(plan(), 2, ct, 50, d)
    with pytest.raises(InputError, match=r"not above the previous look's 0\.5"):
        interim_look(plan(), 2, ct, 40, d, previous_fractions=[0.5])
    with pytest.raises(InputError, match="pass final=True"):
        interim_look(plan(), 3, ct, 90, d, previous_fractions=[0.3, 0.6])
    with pytest.raises(InputError, match="no information"):
        interim_look(plan(), 1, ct, 0, d)
    with pytest.raises(DefinitionError, match=r"interim\.active_arms"):
        interim_look(plan(active_arms=2), 1, ct, 50, d)
    with pytest.raises(ModelSpecificationError, match="2 rows for arm MN"):
        interim_look(plan(), 1, pd.concat([ct, ct]), 50, d)
    with pytest.raises(InputError, match="previous_fractions"):
        interim_look(plan(), 3, ct, 90, d, previous_fractions=[0.6, 0.3])
