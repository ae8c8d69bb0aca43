"""Responder primaries, declared comparisons and the arms' allocation in simulations: type I
error and power of a risk difference against the normal approximation, within 3 MC SEs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.simulation.trials import scenarios_toml, trial_toml, write
from trialkit.simulation.generate import arm_counts
from trialkit.simulation.run import SimulationOptions, run_simulation
from trialkit.simulation.scenarios import load_scenarios


def within_mc(rate: float, expected: float, n: int) -> bool:
    return abs(rate - expected) <= 3 * np.sqrt(expected * (1 - expected) / n)


def responder_files(folder: Path, means: list[float], keep: float, missing: str, n: int) -> Path:
    """Two arms, two visits, responders ``CHG >= 5`` at the last visit."""
    rule = f'responder = "CHG >= 5"\nmissing = "{missing}"\n'
    return write(
        folder,
        trial_toml(2, 2, primary=rule),
        scenarios_toml(
            {"A0": [0.0, means[0]], "A1": [0.0, means[1]]},
            {"A0": [1.0, keep], "A1": [1.0, keep]},
            [8.0, 10.0],
            '{ structure = "ar1", rho = 0.5 }',
            200,
            n,
            seed=5,
        ),
    )


def simulate(scenarios: Path, out: Path) -> pd.DataFrame:
    run_simulation(load_scenarios(scenarios), out, SimulationOptions(batch_size=50, workers=2))
    return pd.read_csv(out / "summary.csv").set_index("comparison")


@pytest.mark.slow
def test_type_i_error_of_a_responder_primary_is_nominal(tmp_path: Path) -> None:
    n = 400
    summary = simulate(
        responder_files(tmp_path / "in", [5.0, 5.0], 1.0, "exclude", n), tmp_path / "o"
    )
    assert summary.loc["A1", "true_effect"] == 0.0
    assert within_mc(float(summary.loc["A1", "rejection_rate"]), 0.05, n)


@pytest.mark.slow
def test_power_of_a_risk_difference_agrees_with_the_normal_approximation(tmp_path: Path) -> None:
    """Non-responders include those not seen (retention 0.9): p = 0.9 P(CHG >= 5)."""
    n = 300
    summary = simulate(
        responder_files(tmp_path / "in", [4.0, 9.0], 0.9, "non_responder", n), tmp_path / "o"
    )
    p0, p1 = (0.9 * stats.norm.sf((5.0 - m) / 10.0) for m in (4.0, 9.0))
    se = np.sqrt(p0 * (1 - p0) / 100 + p1 * (1 - p1) / 100)
    power = stats.norm.cdf(abs(p1 - p0) / se - stats.norm.ppf(0.975))
    row = summary.loc["A1"]
    assert row["true_effect"] == pytest.approx(p1 - p0, abs=1e-6)
    assert within_mc(float(row["rejection_rate"]), float(power), n)
    assert abs(row["bias"]) <= 3 * row["empirical_sd"] / np.sqrt(n)


def test_declared_comparisons_are_the_simulated_ones(tmp_path: Path) -> None:
    means = {"A0": [1.0, 2.0], "A1": [2.0, 4.0], "A2": [3.0, 7.0]}
    scenarios = write(
        tmp_path / "in",
        trial_toml(3, 2, comparisons=[("A2", "A1"), ("A2", "A0")]),
        scenarios_toml(means, {a: [1.0, 0.9] for a in means}, [8.0, 9.0],
                       '{ structure = "cs", rho = 0.5 }', 60, 2),
    )  # fmt: skip
    summary = simulate(scenarios, tmp_path / "o")
    assert list(summary.index) == ["A2 vs A1", "A2", "any"]
    assert summary.loc["A2 vs A1", "true_effect"] == 3.0
    assert summary.loc["A2", "true_effect"] == 5.0


def test_allocation_defaults_to_the_arms_ratio(tmp_path: Path) -> None:
    means = {"A0": [1.0, 2.0], "A1": [2.0, 4.0]}
    scenarios = write(
        tmp_path / "in",
        trial_toml(2, 2, allocation=[1, 2]),
        scenarios_toml(means, {a: [1.0, 0.9] for a in means}, [8.0, 9.0],
                       '{ structure = "cs", rho = 0.5 }', 90, 2),
    )  # fmt: skip
    plan = load_scenarios(scenarios)
    assert plan.allocation == {"A0": 1.0, "A1": 2.0}
    assert list(arm_counts(plan, 90)) == [30, 60]
