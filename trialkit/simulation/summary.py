"""Operating characteristics from the replicate rows: power or type I error, bias, coverage,
family-wise rejection, and for an interim plan per-look rejection, stopping and expected N.

A comparison is rejected in a replicate when it was rejected at any look. Estimates, SEs and
coverage are those of the last look analysed (the CI is the unadjusted t interval at the plan's
alpha). Monte Carlo SE of a rate p over R replicates: sqrt(p (1 - p) / R).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from trialkit.analysis.plan import comparison_label, comparison_pairs
from trialkit.simulation.generate import true_effect
from trialkit.simulation.scenarios import SimulationPlan

SUMMARY_COLUMNS = (
    "scenario",
    "comparison",
    "replicates",
    "rejection_rate",
    "mc_se",
    "mean_estimate",
    "true_effect",
    "bias",
    "empirical_sd",
    "mean_se",
    "coverage",
    "failed_fits",
    "expected_subjects",
)
LOOK_COLUMNS = (
    "scenario",
    "comparison",
    "look",
    "subjects",
    "rejection_rate",
    "futility_rate",
    "mc_se",
)
#: The ``comparison`` of family-wise rows (any comparison rejected) and of trial stopping rows.
ANY = "any"


def mc_se(rate: float, n: int) -> float:
    """Monte Carlo SE of a proportion over ``n`` replicates."""
    return float(np.sqrt(rate * (1.0 - rate) / n)) if n else float("nan")


def _last_looks(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.sort_values("look", kind="stable").groupby(["replicate", "comparison"]).tail(1)


def summarise(plan: SimulationPlan, rows: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario and comparison, then the scenario's family-wise (``any``) row."""
    trial = plan.trial
    reference = trial.reference_arm.code
    alpha = trial.analysis.alpha
    pairs = comparison_pairs(trial)
    out = []
    for scenario in plan.scenarios:
        mine = rows[rows["scenario"] == scenario.name]
        n = int(mine["replicate"].nunique())
        last = _last_looks(mine)
        per_replicate = last.groupby("replicate")["subjects"].max()
        expected = float(per_replicate.mean()) if n else float("nan")
        for pair in pairs:
            arm = comparison_label(pair, reference)
            got = mine[mine["comparison"] == arm]
            rate = float(got.groupby("replicate")["rejected"].any().mean()) if n else float("nan")
            fin = last[(last["comparison"] == arm) & ~last["failed"]]
            true = true_effect(plan, scenario, pair)
            q = stats.t.ppf(1.0 - alpha / 2.0, fin["df"].to_numpy())
            half = q * fin["se"].to_numpy()
            covered = np.abs(fin["estimate"].to_numpy() - true) <= half
            mean_est = float(fin["estimate"].mean())
            out.append(
                {
                    "scenario": scenario.name,
                    "comparison": arm,
                    "replicates": n,
                    "rejection_rate": rate,
                    "mc_se": mc_se(rate, n),
                    "mean_estimate": mean_est,
                    "true_effect": true,
                    "bias": mean_est - true,
                    "empirical_sd": float(fin["estimate"].std(ddof=1)),
                    "mean_se": float(fin["se"].mean()),
                    "coverage": float(covered.mean()) if len(fin) else float("nan"),
                    "failed_fits": int(got["failed"].sum()),
                    "expected_subjects": expected,
                }
            )
        fw = float(mine.groupby("replicate")["rejected"].any().mean()) if n else float("nan")
        nan = float("nan")
        out.append(
            {
                "scenario": scenario.name,
                "comparison": ANY,
                "replicates": n,
                "rejection_rate": fw,
                "mc_se": mc_se(fw, n),
                "mean_estimate": nan,
                "true_effect": nan,
                "bias": nan,
                "empirical_sd": nan,
                "mean_se": nan,
                "coverage": nan,
                "failed_fits": int(mine["failed"].sum()),
                "expected_subjects": expected,
            }
        )
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def look_table(plan: SimulationPlan, rows: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, comparison (and ``any``: the trial stopping) and look: the share of
    replicates rejecting (stopping for efficacy) and stopping for futility at that look."""
    out = []
    for scenario in plan.scenarios:
        mine = rows[rows["scenario"] == scenario.name]
        n = int(mine["replicate"].nunique())
        looks = sorted(mine["look"].unique())
        subjects = mine.groupby("look")["subjects"].max()
        last = _last_looks(mine)
        stop_look = last.groupby("replicate")["look"].max()
        reference = plan.trial.reference_arm.code
        labels = [comparison_label(p, reference) for p in comparison_pairs(plan.trial)]
        for arm in [*labels, ANY]:
            got = mine if arm == ANY else mine[mine["comparison"] == arm]
            for k in looks:
                at = got[got["look"] == k]
                if arm == ANY:
                    rate = float((stop_look == k).sum() / n) if n else float("nan")
                    fut = float("nan")
                else:
                    rate = float(at["rejected"].sum() / n) if n else float("nan")
                    fut = float(at["futility"].sum() / n) if n else float("nan")
                out.append(
                    {
                        "scenario": scenario.name,
                        "comparison": arm,
                        "look": int(k),
                        "subjects": int(subjects[k]),
                        "rejection_rate": rate,
                        "futility_rate": fut,
                        "mc_se": mc_se(rate, n),
                    }
                )
    return pd.DataFrame(out, columns=list(LOOK_COLUMNS))
