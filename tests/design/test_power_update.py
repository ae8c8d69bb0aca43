"""Conditional power, t-to-z mapping and boundaries at the observed information."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr, stdtr

from trialkit.design.boundaries import group_sequential_design
from trialkit.design.power import (
    comparison_information,
    conditional_power,
    conditional_power_design,
    conditional_power_trend,
    conditional_rejection,
    fixed_design_drift,
    max_information,
    max_subjects,
    predictive_power,
    trend_drift,
)
from trialkit.design.spending import spend
from trialkit.design.update import (
    information_fraction,
    information_from_variance,
    t_to_z,
    update_design,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "design" / "rpact_designs.json"
CP = json.loads(FIXTURE.read_text())["conditionalPower"]


def test_conditional_power_matches_rpact() -> None:
    """Two-stage design: rpact's getConditionalPower after stage 1 is the B-value formula."""
    design = group_sequential_design(CP["informationRates"], 0.025, 1, "of")
    assert abs(design.efficacy_z[-1] - CP["criticalValues"][-1]) < 1e-6
    z1 = CP["mean1"] / (CP["sd"] / math.sqrt(CP["n1"]))
    assert abs(z1 - CP["z1"]) < 1e-12
    i_max = (CP["n1"] + CP["nPlanned2"]) / CP["sd"] ** 2
    t1 = CP["n1"] / (CP["n1"] + CP["nPlanned2"])
    for theta, expected in (
        (CP["thetaH1"], CP["conditionalPower"]),
        (CP["thetaTrend"], CP["conditionalPowerTrend"]),
    ):
        cp = conditional_power(z1, t1, design.efficacy_z[-1], theta * math.sqrt(i_max))
        assert abs(cp - expected) < 1e-6
    assert abs(conditional_power_trend(design, z1, t1) - CP["conditionalPowerTrend"]) < 1e-6


def test_conditional_power_hand_computed() -> None:
    # z = 1.5 at t = 0.5, final boundary 1.96, drift 2.8: (1.06066 + 1.4 - 1.96) / 0.70711 = 0.70805
    expected = ndtr((1.5 * math.sqrt(0.5) + 2.8 * 0.5 - 1.96) / math.sqrt(0.5))
    assert conditional_power(1.5, 0.5, 1.96, 2.8) == pytest.approx(float(expected), abs=1e-14)
    assert expected == pytest.approx(0.76054, abs=1e-5)  # Phi(0.70805), from a normal table
    assert trend_drift(1.5, 0.25) == pytest.approx(3.0)


def test_conditional_power_under_design_effect_uses_design_drift() -> None:
    design = group_sequential_design([0.5, 1.0], futility="of")
    assert design.drift is not None
    expected = conditional_power(1.0, 0.5, design.efficacy_z[-1], design.drift)
    assert conditional_power_design(design, 1.0, 0.5) == pytest.approx(expected)


def test_fixed_design_and_max_information() -> None:
    assert fixed_design_drift(0.025, 0.2) == pytest.approx(2.8015846, abs=1e-6)
    design = group_sequential_design([1.0])
    assert max_information(design, 0.5) == pytest.approx((2.8015846 / 0.5) ** 2, rel=1e-6)


def test_t_to_z_keeps_the_p_value() -> None:
    for t, df in ((2.1, 20), (-1.3, 7), (8.0, 4), (0.0, 3)):
        z = t_to_z(t, df)
        assert float(ndtr(-z)) == pytest.approx(float(stdtr(df, -t)), rel=1e-10)
    assert t_to_z(2.0, math.inf) == 2.0
    assert t_to_z(2.1, 20) < 2.1


def test_update_at_planned_fractions_reproduces_design() -> None:
    design = group_sequential_design([1 / 3, 2 / 3, 1.0], futility="of", binding=True)
    same = update_design(design, [1 / 3])
    assert same.efficacy_z == pytest.approx(design.efficacy_z, abs=1e-9)
    assert same.futility_z == pytest.approx(design.futility_z, abs=1e-9)


def test_update_spends_at_observed_fractions_and_keeps_past_boundaries() -> None:
    design = group_sequential_design([1 / 3, 2 / 3, 1.0], spending="hsd", gamma=-4)
    first = update_design(design, [0.3])
    assert first.information_fractions == pytest.approx((0.3, 2 / 3, 1.0))
    assert first.alpha_spent[0] == pytest.approx(spend("hsd", 0.025, 0.3, -4), abs=1e-12)
    past = (first.efficacy_z[0] + 0.01,)  # a boundary that was actually used stays as it was
    second = update_design(design, [0.3, 0.72], used_efficacy_z=past)
    assert second.efficacy_z[0] == past[0]
    assert second.alpha_spent[1] == pytest.approx(spend("hsd", 0.025, 0.72, -4), abs=1e-9)
    final = update_design(design, [0.3, 0.72, 0.95], final=True, used_efficacy_z=second.efficacy_z)
    assert final.alpha_spent[-1] == pytest.approx(0.025, abs=1e-9)
    assert len(final.efficacy_z) == 3


def test_information_measures() -> None:
    assert information_from_variance(0.04) == pytest.approx(25.0)
    assert information_fraction(60, 120) == 0.5
    with pytest.raises(ValueError):
        information_from_variance(0.0)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.floats(0.05, 0.95), min_size=1, max_size=3, unique=True),
    st.sampled_from(["of", "pocock", "hsd", "kd"]),
    st.sampled_from([1, 2]),
)
def test_cumulative_alpha_equals_spending(inner: list[float], family: str, sided: int) -> None:
    fractions = [*sorted(inner), 1.0]
    if min(b - a for a, b in zip([0.0, *fractions], fractions, strict=False)) < 0.02:
        return
    gamma = 2.0 if family == "kd" else (-3.0 if family == "hsd" else None)
    design = group_sequential_design(fractions, 0.05, sided, family, gamma)
    for t, spent in zip(fractions, design.alpha_spent, strict=True):
        assert spent == pytest.approx(spend(family, 0.05, t, gamma, sided), abs=1e-9)
    assert all(math.isfinite(c) or c > 0 for c in design.efficacy_z)


GS_CP = json.loads(FIXTURE.read_text())["conditionalPowerGroupSequential"]


@pytest.mark.parametrize("case", GS_CP, ids=lambda c: c["id"])
def test_conditional_power_over_later_looks_matches_rpact(case: dict[str, Any]) -> None:
    """Three looks, at stage 1: rpact's cumulative conditional power at stages 2 and 3, under the
    stated effect and SD and under the trend, for 1:1 and 2:1 allocation."""
    rates = case["informationRates"]
    design = group_sequential_design(rates, 0.025, 1, "of")
    assert design.efficacy_z == pytest.approx(case["criticalValues"], abs=1e-6)
    share = case["ratio"] / (1 + case["ratio"])
    total = case["n1"] + case["n2"] + sum(case["nPlanned"])
    t1 = rates[0]
    z1 = case["z1"]
    stated = comparison_information(total, case["assumedStDev"], share, 1 - share)
    trend = comparison_information(total, case["pooledSd"], share, 1 - share)
    assert trend_drift(z1, t1) == pytest.approx(case["observed"] * math.sqrt(trend), rel=1e-12)
    for drift, expected in (
        (case["thetaH1"] * math.sqrt(stated), case["conditionalPower"]),
        (trend_drift(z1, t1), case["conditionalPowerTrend"]),
    ):
        for stop in (2, 3):
            ours = conditional_rejection(z1, t1, rates[1:stop], design.efficacy_z[1:stop], drift)
            assert abs(ours - expected[stop - 2]) < 1e-6, (case["id"], stop, ours)


def test_predictive_power_closed_form_and_its_average_over_the_drift() -> None:
    """One later look: Phi((z - c sqrt(t)) / sqrt(1 - t)) (Jennison & Turnbull 10.3); a later
    look that cannot be crossed (+inf) changes nothing; the average of conditional power."""
    z, t, c = 1.2, 0.4, 2.0
    closed = float(ndtr((z - c * math.sqrt(t)) / math.sqrt(1 - t)))
    assert predictive_power(z, t, [1.0], [c]) == pytest.approx(closed, abs=1e-10)
    assert predictive_power(z, t, [0.7, 1.0], [math.inf, c]) == pytest.approx(closed, abs=1e-8)
    with_look = predictive_power(z, t, [0.7, 1.0], [2.6, c])
    assert closed < with_look < 1.0  # an extra chance to cross
    assert predictive_power(z, t, [1.0], [c]) != pytest.approx(
        conditional_rejection(z, t, [1.0], [c], trend_drift(z, t)), abs=1e-3
    )  # not the trend's conditional power


def test_max_subjects_with_an_allocation_ratio() -> None:
    """N = sd^2 (1 + r)^2 / r I_max; r = 1 gives 4 sd^2 I_max."""
    design = group_sequential_design([0.5, 1.0])
    i_max = max_information(design, 0.5)
    assert max_subjects(design, 0.5, 2.0) == pytest.approx(16.0 * i_max, rel=1e-12)
    n = max_subjects(design, 0.5, 2.0, ratio=2.0)
    assert n == pytest.approx(4.0 * 9.0 / 2.0 * i_max, rel=1e-12)
    # the 2:1 trial's arms (2n/3, n/3) give exactly that information
    assert comparison_information(n, 2.0, 2 / 3, 1 / 3) == pytest.approx(i_max, rel=1e-12)
    with pytest.raises(ValueError):
        max_subjects(design, 0.5, 2.0, ratio=0.0)
