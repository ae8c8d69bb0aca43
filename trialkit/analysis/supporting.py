"""Supporting analyses wired into ``trialkit analyze``: baseline, sensitivity, secondary, safety.

The statistics live in the pure-function modules of this package (``descriptive``,
``sensitivity``, ``secondary``, ``responders``, ``safety``); this module only calls them
with the run's frames and names their tables. It returns the results.json sections
(``{section: {name: {table, description}}}``) and the tables by file stem.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialkit.analysis.plan import ModelPlan
from trialkit.definition import TrialDefinition

Sections = dict[str, dict[str, Any]]


def run_supporting(
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    adae: pd.DataFrame,
    plan: ModelPlan,
) -> tuple[Sections, dict[str, pd.DataFrame]]:
    """Sections for results.json and tables for ``tables/`` (none yet)."""
    return {}, {}


__all__ = ["run_supporting"]
