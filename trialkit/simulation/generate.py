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
from scipy.special import expit, logit, ndtr

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

    def response(self, variable: str, subjects: int | None = None) -> np.ndarray:
        """``variable`` (CHG, AVAL = BASE + CHG or PCHG) of the first ``subjects`` at every
        visit, seen or not, shape (subjects, visits)."""
        n = len(self.arm) if subjects is None else subjects
        base, change = self.base[:n, None], self.change[:n]
        if variable == "AVAL":
            return base + change
        return 100.0 * change / base if variable == "PCHG" else change

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
        value = self.response(response, n)[rows, cols]
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


#: Gauss-Hermite nodes over the baseline for the responder probability.
BASELINE_NODES = 64


def responder_probability(plan: SimulationPlan, scenario: Scenario, arm: str) -> float:
    """P(a subject of ``arm`` responds at the primary visit) under the model: given baseline b
    the rule's variable is normal (CHG ~ N(mean + slope (b - mean_b), sd^2), AVAL = b + CHG,
    PCHG = 100 CHG / b), integrated over b by Gauss-Hermite; times the retention there when the
    endpoint counts a subject not seen as a non-responder (exact for ``mcar``)."""
    endpoint = plan.trial.primary
    rule = endpoint.responder
    assert rule is not None
    j = plan.visits.index(endpoint.visit)
    x, w = np.polynomial.hermite_e.hermegauss(BASELINE_NODES)
    b = plan.baseline_mean + plan.baseline_sd * x
    mean = scenario.mean_change[arm][j] + scenario.baseline_slope * (b - plan.baseline_mean)
    threshold = float(rule.threshold)
    bounds = {"CHG": np.full_like(b, threshold), "AVAL": threshold - b, "PCHG": threshold * b / 100}
    bound: np.ndarray = bounds[rule.variable]
    below = ndtr((bound - mean) / scenario.sd[j])  # P(CHG < bound), the rule's side for b > 0
    met = below if rule.op in ("<", "<=") else 1.0 - below
    if rule.variable == "PCHG":
        met = np.where(b > 0, met, 0.0)
    p = float(w @ met / w.sum())
    return p * scenario.retention[arm][j] if endpoint.missing == "non_responder" else p


def true_effect(plan: SimulationPlan, scenario: Scenario, pair: tuple[str, str]) -> float:
    """The estimated quantity of a comparison (arm, versus) at the primary visit: the difference
    of mean changes, or of responder probabilities for a binary primary."""
    arm, versus = pair
    if plan.trial.primary.responder is not None:
        return responder_probability(plan, scenario, arm) - responder_probability(
            plan, scenario, versus
        )
    j = plan.visits.index(plan.trial.primary.visit)
    return scenario.mean_change[arm][j] - scenario.mean_change[versus][j]
