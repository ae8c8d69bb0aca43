"""Reference-based multiple imputation and tipping-point analyses, in ``rbmi``'s shape.

:func:`long_data` (subjects x visits and strategies) -> :func:`draws` (the imputation MMRM on
resampled subjects) -> :func:`impute` (each subject's strategy) -> :func:`analyse` (ANCOVA per
visit) -> :func:`pool` (jackknife, bootstrap, Rubin's rules, bootstrapped ML); :func:`tipping_point`
repeats the last two with delta-adjusted imputations. The plan in trial.toml is read by
:mod:`trialkit.missing_data.plan`; ``trialkit analyze`` runs it through
:mod:`trialkit.analysis.missing_data`. See docs/missing_data.md.
"""

from trialkit.missing_data.analyse import Estimates, analyse
from trialkit.missing_data.data import LongData, long_data
from trialkit.missing_data.draws import Draws, Sample, draws, in_process
from trialkit.missing_data.impute import Imputation, impute
from trialkit.missing_data.plan import Method, MissingDataPlan
from trialkit.missing_data.pool import Pooled, pool
from trialkit.missing_data.tipping import tipping_delta, tipping_point

__all__ = [
    "Draws",
    "Estimates",
    "Imputation",
    "LongData",
    "Method",
    "MissingDataPlan",
    "Pooled",
    "Sample",
    "analyse",
    "draws",
    "impute",
    "in_process",
    "long_data",
    "pool",
    "tipping_delta",
    "tipping_point",
]
