"""Group sequential designs: spending functions, boundaries, power, interim plans.

Exports are loaded on first use, so ``import trialkit.design.plan`` (reading a trial
definition) does not import scipy; the command (``trialkit.cli.design``) and matplotlib
(``trialkit.design.plot``) are imported only from their own modules.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the module that defines it.
_EXPORTS = {
    "AlphaSplit": "alpha",
    "alpha_split": "alpha",
    "comparison_information": "power",
    "conditional_rejection": "power",
    "predictive_power": "power",
    "GroupSequentialDesign": "boundaries",
    "group_sequential_design": "boundaries",
    "InterimPlan": "plan",
    "load_interim_plan": "plan",
    "conditional_power": "power",
    "conditional_power_design": "power",
    "conditional_power_trend": "power",
    "design_drift": "power",
    "inflation_factor": "power",
    "max_information": "power",
    "spend": "spending",
    "t_to_z": "update",
    "update_design": "update",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Lazy exports (see the module docstring)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'trialkit.design' has no attribute {name!r}")
    return getattr(importlib.import_module(f"trialkit.design.{_EXPORTS[name]}"), name)
