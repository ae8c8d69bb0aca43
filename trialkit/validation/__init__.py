"""Validate a trial's datasets against their schemas, the trial definition and each other.

``validate_datasets`` is the pure core (frames in, findings out); ``validate_trial`` reads a
trial folder and returns a :class:`ValidationReport` the analysis step can reuse;
``run_validate`` is what ``trialkit validate`` calls. Rules are listed in ``rules.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import pandas as pd

from trialkit.cutoff import split_at_cutoff
from trialkit.datasets import (
    MAY_BE_EMPTY,
    OPTIONAL_DATASETS,
    REQUIRED_COLUMNS,
    Dataset,
    drop_repeated_columns,
    read_trial_datasets,
)
from trialkit.definition import TrialDefinition, load_definition
from trialkit.errors import DatasetError
from trialkit.output import check_output_dir, staged_output_dir
from trialkit.validation.checks import cross_findings
from trialkit.validation.convert import convert_frame
from trialkit.validation.findings import FINDING_COLUMNS, combine, dataset_finding
from trialkit.validation.listing import summary_text, terminal_table, write_csv, write_html
from trialkit.validation.rules import RULES, Rule
from trialkit.validation.schemas import column_kinds, schema_findings, specialise


@dataclass(frozen=True)
class ValidationResult:
    """What ``validate_datasets`` returns: findings, set-aside counts and the kept frames."""

    findings: pd.DataFrame
    set_aside: dict[str, int]
    #: Input frames without set-aside rows (index = file row - 1), repeated columns dropped
    #: and every cell that did not convert (TK002, TK021, TK022) missing.
    kept: dict[str, pd.DataFrame]

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


def _structure_findings(name: str, frame: pd.DataFrame, repeated: tuple[str, ...]) -> pd.DataFrame:
    """TK023/TK032 columns named more than once; TK024 a dataset that must have records."""
    parts = [
        dataset_finding(
            name, column, "TK023" if column in REQUIRED_COLUMNS[name] else "TK032",
            f"{column} is named more than once; only the first such column is read",
        )
        for column in repeated
    ]  # fmt: skip
    if frame.empty and name not in MAY_BE_EMPTY:
        parts.append(dataset_finding(name, "", "TK024", f"{name} has no records"))
    return combine(parts)


def _without_bad_cells(frame: pd.DataFrame, bad: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the cells of findings ``bad`` (1-based rows) set missing."""
    if bad.empty:
        return frame
    out = frame.copy()
    for column, group in bad.groupby("column"):
        out[column] = out[column].mask(out.index.isin(group["row"].to_numpy(dtype="int64") - 1))
    return out


def _not_missing_too(findings: pd.DataFrame, unconverted: pd.DataFrame) -> pd.DataFrame:
    """Without TK001 (missing) for cells that did not convert: those are reported already."""
    if unconverted.empty:
        return findings
    keys = ["dataset", "row", "column"]
    cell = pd.MultiIndex.from_frame(findings[keys])
    again = cell.isin(pd.MultiIndex.from_frame(unconverted[keys])) & (findings["rule"] == "TK001")
    return findings[~again].reset_index(drop=True)


def validate_datasets(
    definition: TrialDefinition,
    datasets: dict[str, pd.DataFrame],
    cutoff: date | str | None = None,
    bad_dates: dict[str, pd.DataFrame] | None = None,
    repeated_columns: dict[str, tuple[str, ...]] | None = None,
) -> ValidationResult:
    """Validate collected frames (index = 0-based file row) and collect every finding.

    Inputs are never modified. ``bad_dates`` are date cells a reader already set missing
    (``Dataset.bad_dates``), ``repeated_columns`` the names it found more than once
    (``Dataset.repeated_columns``); a frame's own repeated columns count too, the first of
    each is used. Raises ``DatasetError`` when a required dataset or column is missing.
    """
    repeated = dict(repeated_columns or {})
    unique: dict[str, pd.DataFrame] = {}
    for n, f in datasets.items():
        unique[n], own = drop_repeated_columns(f.reset_index(drop=True))
        repeated[n] = tuple(dict.fromkeys((*repeated.get(n, ()), *own)))
    datasets = unique
    _check_columns(datasets)
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
    kept, set_aside = split_at_cutoff(converted, cutoff)
    parts = [_structure_findings(n, datasets[n], repeated.get(n, ())) for n in names]
    for n in names:
        tf = type_findings[n]
        type_findings[n] = tf[tf["row"].isin(kept[n].index.to_numpy() + 1)]
        parts += [type_findings[n], schema_findings(n, kept[n], schemas[n])]
    parts.append(cross_findings(definition, kept))
    findings = _not_missing_too(combine(parts), combine(type_findings.values()))
    originals = {
        n: _without_bad_cells(datasets[n].loc[kept[n].index], type_findings[n]) for n in names
    }
    return ValidationResult(findings=findings, set_aside=set_aside, kept=originals)


def validate_trial(trial_dir: Path | str, cutoff: date | str | None = None) -> ValidationReport:
    """Read and validate a trial folder; the report keeps its definition and datasets.

    The report's datasets are filtered by ``cutoff`` (index = 0-based file row), so the
    analysis step can use them without reading the files again.
    """
    trial_dir = Path(trial_dir)
    return validate_read(load_definition(trial_dir), read_trial_datasets(trial_dir), cutoff)


def validate_read(
    definition: TrialDefinition, datasets: dict[str, Dataset], cutoff: date | str | None = None
) -> ValidationReport:
    """:func:`validate_trial` of a trial already read (for a caller that uses the frames too)."""
    cutoff = date.fromisoformat(cutoff) if isinstance(cutoff, str) else cutoff
    result = validate_datasets(
        definition,
        {n: d.frame for n, d in datasets.items()},
        cutoff,
        bad_dates={n: d.bad_dates for n, d in datasets.items()},
        repeated_columns={n: d.repeated_columns for n, d in datasets.items()},
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
) -> tuple[str, int]:
    """``trialkit validate``: validate, write the listing into ``out``; the text to print (the
    summary and the first findings) and the exit code (1 with error findings)."""
    if out is not None:
        check_output_dir(Path(out), force, [trial_dir])
    report = validate_trial(trial_dir, cutoff)
    summary = summary_text(str(trial_dir), report.findings, report.set_aside, cutoff)
    text = f"{summary}\n\n{terminal_table(report.findings)}"
    if out is not None:
        with staged_output_dir(Path(out), force=force, trial_dirs=[trial_dir]) as staging:
            write_csv(report.findings, staging / "query_listing.csv")
            write_html(report.findings, summary, staging / "query_listing.html")
        text += f"\n\nQuery listing written to {out}/query_listing.csv and .html"
    return text, 1 if report.has_errors else 0


__all__ = [
    "FINDING_COLUMNS",
    "RULES",
    "Rule",
    "ValidationReport",
    "ValidationResult",
    "run_validate",
    "validate_datasets",
    "validate_read",
    "validate_trial",
]
