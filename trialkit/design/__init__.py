"""Group sequential designs: spending functions, boundaries, power, interim plans.

Typer (``trialkit.design.cli``) and matplotlib (``trialkit.design.plot``) are imported only
from their own modules.
"""

from trialkit.design.boundaries import GroupSequentialDesign, group_sequential_design
from trialkit.design.plan import InterimPlan, load_interim_plan
from trialkit.design.power import (
    conditional_power,
    conditional_power_design,
    conditional_power_trend,
    design_drift,
    inflation_factor,
    max_information,
)
from trialkit.design.spending import spend
from trialkit.design.update import t_to_z, update_design

__all__ = [
    "GroupSequentialDesign",
    "InterimPlan",
    "conditional_power",
    "conditional_power_design",
    "conditional_power_trend",
    "design_drift",
    "group_sequential_design",
    "inflation_factor",
    "load_interim_plan",
    "max_information",
    "spend",
    "t_to_z",
    "update_design",
]
