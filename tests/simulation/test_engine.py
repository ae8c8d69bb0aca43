"""Simulated replicates on the same-shape engine equal fit_with_fallback on their data frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.simulation.trials import scenarios_toml, trial_toml, write
from trialkit.simulation.analyse import AnalysisContext, _frame_contrasts, _primary_contrasts
from trialkit.simulation.generate import simulate_trial
from trialkit.simulation.replicates import replicate_rng
from trialkit.simulation.scenarios import load_scenarios


def test_the_engine_equals_the_per_replicate_path_to_1e_8(tmp_path: Path) -> None:
    means = {"A0": [1.0, 2.0, 3.0], "A1": [2.0, 4.0, 7.0], "A2": [1.0, 5.0, 6.0]}
    scenarios = write(
        tmp_path,
        trial_toml(3, 3, multiplicity="dunnett"),
        scenarios_toml(means, {a: [0.95, 0.85, 0.8] for a in means}, [8.0, 9.0, 11.0],
                       '{ structure = "ar1", rho = 0.6 }', 90, 4,
                       extra='baseline_slope = 0.05\ndropout = "mar"\n'),
    )  # fmt: skip
    plan = load_scenarios(scenarios)
    ctx = AnalysisContext(plan)
    for r in range(4):
        trial = simulate_trial(plan, plan.scenarios[0], replicate_rng(plan.seed, r), 90)
        for subjects in (60, 90):
            fast = _primary_contrasts(ctx, trial, subjects)
            slow = _frame_contrasts(ctx, trial, subjects)
            for got, want in zip(fast, slow, strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)
