"""Simulate one trial of a scenario: arms, baseline, changes at each visit, monotone dropout.

The model (``docs/simulation.md``): subjects are randomised by the allocation (fixed counts per
arm, in random enrolment order); baseline ~ N(mean, sd); the change at the post-baseline visits
is multivariate normal with the arm's mean change, plus ``baseline_slope`` times the centred
baseline, with the scenario's SDs and correlation. Dropout is monotone: with ``mcar`` a subject
is seen at visit j with the arm's retention r_j; with ``mar`` the log-odds of leaving before
visit j rise by :data:`MAR_LOG_ODDS` per SD that the last value fell short of its mean (in the
parameter's better direction), so the marginal retention is near, not at, r_j.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from trialkit.simulation.scenarios import Scenario, SimulationPlan

#: Change in the log-odds of dropping out per SD by which the last value was poorer than its mean.
MAR_LOG_ODDS = 1.0


@dataclass(frozen=True)
class SimulatedTrial:
    """One simulated trial: per subject (enrolment order) arm index, baseline, changes, seen."""

    arm: np.ndarray  # (n,) int, index into the trial's arms
    base: np.ndarray  # (n,)
    change: np.ndarray  # (n, T)
    observed: np.ndarray  # (n, T) bool, monotone

    def frame(
        self,
        arms: tuple[str, ...],
        visits: tuple[str, ...],
        days: tuple[int, ...],
        response: str,
        subjects: int | None = None,
    ) -> pd.DataFrame:
        """The analysis dataset (``primary_dataset``'s columns) of the first ``subjects``."""
        n = len(self.arm) if subjects is None else subjects
        seen = self.observed[:n]
        rows, cols = np.nonzero(seen)
        base = self.base[:n][rows]
        change = self.change[:n][rows, cols]
        value = {"CHG": change, "AVAL": base + change, "PCHG": 100.0 * change / base}[response]
        width = len(str(len(self.arm)))
        return pd.DataFrame(
            {
                "USUBJID": np.char.zfill(rows.astype(str), width).astype(object),
                "ARMCD": np.asarray(arms, dtype=object)[self.arm[:n][rows]],
                "AVISIT": np.asarray(visits, dtype=object)[cols],
                "AVISITN": np.asarray(days, dtype=np.int64)[cols],
                "BASE": base,
                response: value,
            }
        )


def arm_counts(plan: SimulationPlan, subjects: int) -> np.ndarray:
    """Subjects per arm for ``subjects`` in all: the allocation shares, largest remainders."""
    weights = np.array([plan.allocation[a] for a in plan.arms])
    exact = subjects * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: subjects - counts.sum()]] += 1
    return counts


def simulate_trial(
    plan: SimulationPlan, scenario: Scenario, rng: np.random.Generator, subjects: int
) -> SimulatedTrial:
    """Draw one trial of ``scenario`` with ``subjects`` in all (draws in a fixed order)."""
    arms = plan.arms
    T = len(plan.visits)
    arm = rng.permutation(np.repeat(np.arange(len(arms)), arm_counts(plan, subjects)))
    base = rng.normal(plan.baseline_mean, plan.baseline_sd, subjects)
    chol = np.linalg.cholesky(scenario.covariance())
    noise = rng.standard_normal((subjects, T)) @ chol.T
    means = np.array([scenario.mean_change[a] for a in arms])[arm]
    change = means + scenario.baseline_slope * (base - plan.baseline_mean)[:, None] + noise
    retention = np.array([scenario.retention[a] for a in arms])[arm]  # (n, T)
    u = rng.uniform(size=(subjects, T))
    if scenario.dropout == "mcar":
        observed = u[:, :1] < retention
    else:
        better = (
            1.0
            if plan.trial.parameter(plan.trial.primary.parameter).direction == "higher"
            else -1.0
        )
        previous = np.concatenate([np.ones((subjects, 1)), retention[:, :-1]], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            hazard = np.where(previous > 0, 1.0 - retention / previous, 1.0)
        shortfall = -better * noise / np.asarray(scenario.sd)
        shift = np.concatenate([np.zeros((subjects, 1)), MAR_LOG_ODDS * shortfall[:, :-1]], axis=1)
        with np.errstate(divide="ignore"):
            leave = expit(logit(np.clip(hazard, 0.0, 1.0)) + shift)
        observed = np.cumprod(u >= leave, axis=1).astype(bool)
    return SimulatedTrial(arm, base, change, observed)
