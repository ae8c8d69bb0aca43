"""What the open (blinded) interim report may carry: pooled material only, by construction.

The open report is built from a :class:`PooledData`, never from the analysis output itself.
``pool`` copies the analysis tables named in :data:`POOLED_TABLES` (the ``pooled_*`` tables,
which the analysis computes over all randomised subjects without the arm, and the validation
findings counted by rule) and the few ``results.json`` values in :data:`VALIDATION_KEYS` and
:data:`INTERIM_KEYS`; nothing else of the analysis output reaches the open report's builder.
Which AEs and subjects the pooled safety tables count (every reported AE of every randomised
subject, since treatment emergence follows each arm's dosing) is the analysis' rule, stated in
``trialkit.analysis.safety``. Serious AEs reach it as pooled counts by body system and term;
their listing (subject, verbatim term, without arm) only when the interim plan allows it
(``[interim] open_report_sae_listing``, default off). The analysis itself runs in a temporary
folder outside the report's output folder and is deleted afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from trialkit.report.results import AnalysisOutput

#: The analysis tables (``tables/<name>.csv``) the open report may read.
POOLED_TABLES = (
    "pooled_baseline_characteristics",
    "pooled_disposition",
    "pooled_visit_attendance",
    "pooled_recruitment",
    "pooled_recruitment_dates",
    "pooled_ae_overview",
    "pooled_ae_by_term",
    "pooled_sae_by_term",
    "pooled_serious_ae_listing",
    "pooled_discontinuation_listing",
    "pooled_vital_signs_by_visit",
    "pooled_vital_signs_alerts",
    "validation_findings_by_rule",
)
#: Of POOLED_TABLES, the listing of serious AEs one by one: only when the plan allows it.
SAE_LISTING = "pooled_serious_ae_listing"
#: Of results.json ``validation``: the totals only (no finding, which can name an arm).
VALIDATION_KEYS = ("errors", "warnings", "allowed_errors")
#: Of the group sequential look (results.json ``interim``) only which look it is and the
#: information fraction reached: ``InterimLook.blinded_summary()``'s keys. Nothing per arm
#: (z, boundaries crossed, conditional power), and not ``information_observed``, which under
#: the variance measure is one arm's 1 / se^2.
INTERIM_KEYS = ("look", "information_fraction")

#: Sections of the open interim report, in order.
OPEN_SECTIONS = (
    "title_page",
    "not_run",
    "recruitment",
    "retention",
    "information",
    "data_quality",
    "baseline",
    "safety_pooled",
    "vital_signs_pooled",
    "signoff",
)


@dataclass(frozen=True)
class PooledData:
    """Everything the open report is built from."""

    tables: dict[str, pd.DataFrame]
    validation_totals: dict[str, Any]
    interim: dict[str, Any] | None = None
    #: failed analyses among the pooled ones (``AnalysisOutput.not_run`` rows)
    not_run: list[dict[str, str]] = field(default_factory=list)

    def table(self, name: str) -> pd.DataFrame | None:
        """A table of :data:`POOLED_TABLES` (``None`` when the analysis did not write it)."""
        return self.tables.get(name)


def pool(output: AnalysisOutput, sae_listing: bool = False) -> PooledData:
    """Reduce an analysis output to the pooled material an open report may show (the serious
    AE listing only with ``sae_listing``: the interim plan's ``open_report_sae_listing``)."""
    names = [n for n in POOLED_TABLES if sae_listing or n != SAE_LISTING]
    frames = {name: output.table(name) for name in names}
    tables = {name: frame for name, frame in frames.items() if frame is not None}
    validation = output.get("validation") or {}
    return PooledData(
        tables=tables,
        validation_totals={key: validation.get(key) for key in VALIDATION_KEYS},
        interim=_interim(output),
        not_run=[row for row in output.not_run() if row["name"].startswith("pooled_")],
    )


def _interim(output: AnalysisOutput) -> dict[str, Any] | None:
    """The allowed keys of the group sequential look, or ``None`` without one."""
    look = output.get("interim")
    if not isinstance(look, dict):
        return None
    return {key: look.get(key) for key in INTERIM_KEYS}
