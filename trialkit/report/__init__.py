"""Statistical reports: final, and interim open (blinded) and closed (unblinded), HTML and PDF.

See ``docs/reports.md``. The entry points are :func:`run_report` and :func:`run_demo`.
"""

from trialkit.report.api import build_report, run_report
from trialkit.report.context import ReportOptions, build_context
from trialkit.report.demo import run_demo
from trialkit.report.results import AnalysisOutput

__all__ = [
    "AnalysisOutput",
    "ReportOptions",
    "build_context",
    "build_report",
    "run_demo",
    "run_report",
]
