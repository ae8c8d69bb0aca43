"""Derivations: analysis datasets (ADSL, BDS, ADVS, ADAE) from collected ones, as pure functions."""

from __future__ import annotations

from trialkit.derive.adae import derive_adae
from trialkit.derive.adsl import derive_adsl, planned_sessions, pool_sites
from trialkit.derive.bds import analysis_records, derive_bds
from trialkit.derive.cutoff import apply_cutoff
from trialkit.derive.estimands import apply_estimand, composite_non_response, describe_estimand
from trialkit.derive.vitals import derive_advs
from trialkit.derive.windows import analysis_windows, slot_visits

__all__ = [
    "analysis_records",
    "analysis_windows",
    "apply_cutoff",
    "apply_estimand",
    "composite_non_response",
    "derive_adae",
    "derive_adsl",
    "derive_advs",
    "derive_bds",
    "describe_estimand",
    "planned_sessions",
    "pool_sites",
    "slot_visits",
]
