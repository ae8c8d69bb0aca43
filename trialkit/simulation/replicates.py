"""Replicates as parallel tasks: each one's random stream, data and analysis rows.

Replicate r of every scenario draws from ``numpy.random.SeedSequence(seed, spawn_key=(r,))``
(the r-th child of ``SeedSequence(seed)``): the same seed gives the same rows whoever computes
them, and the scenarios share random numbers (their differences are not blurred by noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialkit.simulation.analyse import REPLICATE_COLUMNS, AnalysisContext, analyse_trial
from trialkit.simulation.generate import simulate_trial


def replicate_rng(seed: int, replicate: int) -> np.random.Generator:
    """The random stream of replicate ``replicate`` (``SeedSequence(seed).spawn`` child)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replicate,)))


@dataclass(frozen=True)
class Task:
    """Replicate ``replicate`` of scenario ``scenario`` (an index) with ``subjects`` in all."""

    scenario: int
    replicate: int
    subjects: int


@dataclass(frozen=True)
class ReplicateBatch:
    """The parallel layer's function: a batch of tasks -> each task's rows (picklable)."""

    context: AnalysisContext
    seed: int

    def __call__(self, batch: list[Task]) -> list[list[dict[str, object]]]:
        plan = self.context.plan
        out = []
        for task in batch:
            scenario = plan.scenarios[task.scenario]
            trial = simulate_trial(
                plan, scenario, replicate_rng(self.seed, task.replicate), task.subjects
            )
            rows = analyse_trial(self.context, trial)
            out.append(
                [{"scenario": scenario.name, "replicate": task.replicate, **r} for r in rows]
            )
        return out


def rows_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Replicate rows as a frame with fixed columns and types."""
    frame = pd.DataFrame(rows, columns=list(REPLICATE_COLUMNS))
    types = {
        "scenario": "string",
        "comparison": "string",
        "replicate": "int64",
        "look": "int64",
        "subjects": "int64",
        "rejected": "bool",
        "futility": "bool",
        "failed": "bool",
    }
    floats = {c: "float64" for c in ("estimate", "se", "df", "p", "p_adjusted")}
    return frame.astype({**types, **floats})
