"""Analyses of a trial: the primary MMRM, multiplicity, subgroups and supporting analyses.

``analyze`` (imported lazily) runs everything ``trialkit analyze`` reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trialkit.analysis.results import AnalysisResults
    from trialkit.analysis.run import analyze

__all__ = ["AnalysisResults", "analyze"]


def __getattr__(name: str) -> Any:
    if name == "analyze":
        from trialkit.analysis.run import analyze

        return analyze
    if name == "AnalysisResults":
        from trialkit.analysis.results import AnalysisResults

        return AnalysisResults
    raise AttributeError(name)
