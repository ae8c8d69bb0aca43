"""Validate a trial's datasets against their schemas, the trial definition and each other.

``validate_datasets`` is the pure core (frames in, findings out); ``validate_trial`` reads a
trial folder and returns a :class:`ValidationReport` the analysis step can reuse;
``run_validate`` is what ``trialkit validate`` calls. Rules are listed in ``rules.py``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import pandas as pd

from trialkit.datasets import OPTIONAL_DATASETS, REQUIRED_COLUMNS, Dataset, read_trial_datasets
from trialkit.definition import TrialDefinition, load_definition
from trialkit.errors import DatasetError
from trialkit.output import check_output_dir, staged_output_dir
from trialkit.validation.checks import cross_findings
from trialkit.validation.convert import convert_frame
from trialkit.validation.cutoff import apply_cutoff
from trialkit.validation.findings import FINDING_COLUMNS, combine
from trialkit.validation.listing import summary_text, terminal_table, write_csv, write_html
from trialkit.validation.rules import RULES, Rule
from trialkit.validation.schemas import column_kinds, schema_findings, specialise


@dataclass(frozen=True)
class ValidationResult:
    """What ``validate_datasets`` returns: findings, set-aside counts and the kept frames."""

    findings: pd.DataFrame
    set_aside: dict[str, int]
    kept: dict[str, pd.DataFrame]  # input frames without set-aside rows, index = file row - 1

    @property
    def has_errors(self) -> bool:
        """True when at least one finding has severity error."""
        return bool((self.findings["severity"] == "error").any())


@dataclass(frozen=True)
class ValidationReport(ValidationResult):
    """A validated trial folder: findings plus the definition and (cutoff-filtered) datasets."""

    definition: TrialDefinition | None = None
    datasets: dict[str, Dataset] = field(default_factory=dict)
    cutoff: date | None = None


def _check_columns(datasets: dict[str, pd.DataFrame]) -> None:
    for name, required in REQUIRED_COLUMNS.items():
        if name not in datasets:
            if name in OPTIONAL_DATASETS:
                continue
            raise DatasetError(f"dataset {name!r} is missing")
        missing = [c for c in required if c not in datasets[name].columns]
        if missing:
            raise DatasetError(f"dataset {name!r}: missing required column(s) {', '.join(missing)}")


def validate_datasets(
    definition: TrialDefinition,
    datasets: dict[str, pd.DataFrame],
    cutoff: date | str | None = None,
    bad_dates: dict[str, pd.DataFrame] | None = None,
) -> ValidationResult:
    """Validate collected frames (index = 0-based file row) and collect every finding.

    Inputs are never modified. ``bad_dates`` are date cells a reader already found
    unparseable (``Dataset.bad_dates``). Raises ``DatasetError`` when a required dataset or
    column is missing.
    """
    _check_columns(datasets)
    datasets = {n: f.reset_index(drop=True) for n, f in datasets.items()}
    cutoff = date.fromisoformat(cutoff) if isinstance(cutoff, str) else cutoff
    names = [n for n in REQUIRED_COLUMNS if n in datasets]
    schemas = {n: specialise(n, definition) for n in names}
    converted: dict[str, pd.DataFrame] = {}
    type_findings: dict[str, pd.DataFrame] = {}
    for n in names:
        bad = (bad_dates or {}).get(n)
        converted[n], type_findings[n] = convert_frame(
            n, datasets[n], column_kinds(schemas[n]), bad
        )
    kept, set_aside = apply_cutoff(converted, cutoff)
    parts = []
    for n in names:
        frame = kept[n]
        tf = type_findings[n]
        tf = tf[tf["row"].isin(frame.index.to_numpy() + 1)]
        found = schema_findings(n, frame, schemas[n])
        # A cell that did not convert was reported as TK002; do not report it missing too.
        bad_cells = set(zip(tf["row"], tf["column"], strict=True))
        if bad_cells and len(found):
            again = [
                (r, c) in bad_cells and rule == "TK001"
                for r, c, rule in zip(found["row"], found["column"], found["rule"], strict=True)
            ]
            found = found[~pd.Series(again, index=found.index, dtype=bool)]
        parts += [tf, found]
    parts.append(cross_findings(definition, kept))
    findings = combine(parts)
    originals = {n: datasets[n].loc[kept[n].index] for n in names}
    return ValidationResult(findings=findings, set_aside=set_aside, kept=originals)


def validate_trial(trial_dir: Path | str, cutoff: date | str | None = None) -> ValidationReport:
    """Read and validate a trial folder; the report keeps its definition and datasets.

    The report's datasets are filtered by ``cutoff`` (index = 0-based file row), so the
    analysis step can use them without reading the files again.
    """
    trial_dir = Path(trial_dir)
    definition = load_definition(trial_dir)
    datasets = read_trial_datasets(trial_dir)
    cutoff = date.fromisoformat(cutoff) if isinstance(cutoff, str) else cutoff
    result = validate_datasets(
        definition,
        {n: d.frame for n, d in datasets.items()},
        cutoff,
        bad_dates={n: d.bad_dates for n, d in datasets.items()},
    )
    return ValidationReport(
        findings=result.findings,
        set_aside=result.set_aside,
        kept=result.kept,
        definition=definition,
        datasets={n: replace(d, frame=result.kept[n]) for n, d in datasets.items()},
        cutoff=cutoff,
    )


def run_validate(
    trial_dir: Path, out: Path | None = None, cutoff: date | None = None, force: bool = False
) -> int:
    """``trialkit validate``: print the summary and table, write the listing; the exit code."""
    if out is not None:
        check_output_dir(Path(out), force, [trial_dir])
    report = validate_trial(trial_dir, cutoff)
    summary = summary_text(str(trial_dir), report.findings, report.set_aside, cutoff)
    print(summary)
    print()
    print(terminal_table(report.findings))
    if out is not None:
        with staged_output_dir(Path(out), force=force, trial_dirs=[trial_dir]) as staging:
            write_csv(report.findings, staging / "query_listing.csv")
            write_html(report.findings, summary, staging / "query_listing.html")
        print(f"\nQuery listing written to {out}/query_listing.csv and .html", file=sys.stdout)
    return 1 if report.has_errors else 0


__all__ = [
    "FINDING_COLUMNS",
    "RULES",
    "Rule",
    "ValidationReport",
    "ValidationResult",
    "run_validate",
    "validate_datasets",
    "validate_trial",
]
