"""ADaM datasets from the output folder of ``trialkit analyze``: the analysis' own frames
(``adam/*.csv``), renamed and typed by :mod:`trialkit.submission.metadata`, never recomputed.

Values equal the analysis' row for row: text as written (formula quotes of the CSV undone),
numbers as floats, dates as SAS numeric dates (days since 1960-01-01). Subject-level variables
a dataset lacks are taken from ADSL by USUBJID. The plan (``trial.toml``: parameters, visits,
responder rules) is read from the analysed trial folder, its SHA-256 checked against the
analysis manifest, because the analysis folder holds no copy of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from trialkit.csv_safety import restore_formulas
from trialkit.definition import TrialDefinition, load_definition
from trialkit.errors import InputError
from trialkit.manifest import changed_files, read_manifest
from trialkit.submission.criteria import criterion_columns, plan_criteria
from trialkit.submission.metadata import (
    COPIES,
    DATASETS,
    DatasetSpec,
    Variable,
    variable,
    with_criteria,
)

#: The one input of the trial folder the export reads.
TRIAL_TOML = "trial.toml"
#: SAS dates count days from this one.
SAS_EPOCH = pd.Timestamp("1960-01-01")


@dataclass
class AdamDataset:
    """One dataset ready to write: columns named and ordered as ``variables``."""

    spec: DatasetSpec
    variables: list[Variable]
    frame: pd.DataFrame

    @property
    def name(self) -> str:
        """The dataset name (ADSL, ...)."""
        return self.spec.name

    @property
    def file_name(self) -> str:
        """The transport file's name (lower case, as FDA's guide asks)."""
        return f"{self.spec.name.lower()}.xpt"


@dataclass
class AnalysisFolder:
    """What the export reads from an analysis folder (and the plan of its trial folder)."""

    folder: Path
    manifest: dict[str, Any]
    results: dict[str, Any]
    frames: dict[str, pd.DataFrame]
    definition: TrialDefinition
    #: The tables of the secondary endpoints (``tables/<name>.csv``), by name.
    tables: dict[str, pd.DataFrame]


def read_csv_frame(path: Path) -> pd.DataFrame:
    """An ``adam/*.csv`` file as text cells (blank -> None), formula quotes undone."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    frame = frame.astype(object).where(frame != "", None)
    return restore_formulas(frame)


def _definition(manifest: dict[str, Any], trial_dir: Path) -> TrialDefinition:
    """The analysed plan: ``trial.toml`` of the trial folder, refused if it changed since."""
    recorded = {TRIAL_TOML: manifest["inputs"].get(TRIAL_TOML, "")}
    changed = changed_files(trial_dir, recorded, "input")
    if changed:
        raise InputError(f"{changed[0]} (the export reads the analysed plan from it)")
    return load_definition(trial_dir / TRIAL_TOML)


def _tables(folder: Path, results: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The secondary endpoints' tables that ``results.json`` names (for the ARD)."""
    names = [t for s in results.get("secondary", {}).values() for t in s.get("tables", [])]
    return {name: read_csv_frame(folder / "tables" / f"{name}.csv") for name in names}


def read_analysis(folder: Path, trial_dir: Path | None = None) -> AnalysisFolder:
    """Read an analysis folder (unchanged since its run) and the plan it analysed."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: analysis folder not found")
    manifest = read_manifest(folder)
    if manifest["command"] != "analyze":
        raise InputError(f"{folder}: not the output of trialkit analyze ({manifest['command']})")
    edited = changed_files(folder, manifest.get("outputs", {}), "output")
    if edited:
        raise InputError(f"{edited[0]}: export only an analysis folder as analyze wrote it")
    try:
        results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder / 'results.json'}: cannot be read ({exc})") from None
    frames = {p.stem: read_csv_frame(p) for p in sorted((folder / "adam").glob("*.csv"))}
    for needed in ("adsl", "adbds", "adae", "adex"):
        if needed not in frames:
            raise InputError(f"{folder / 'adam'}: {needed}.csv is missing")
    trial = Path(trial_dir or manifest["trial_dir"])
    if not trial.is_dir():
        raise InputError(f"{trial}: the analysed trial folder is not found (give it with --trial)")
    definition = _definition(manifest, trial)
    return AnalysisFolder(folder, manifest, results, frames, definition, _tables(folder, results))


# ---- typing the values ---------------------------------------------------------------------
def _sas_dates(values: pd.Series) -> pd.Series:
    """Dates (typed or ISO text) as SAS numeric dates."""
    dates = values if pd.api.types.is_datetime64_any_dtype(values) else pd.to_datetime(
        values, format="%Y-%m-%d"
    )  # fmt: skip
    return ((dates - SAS_EPOCH).dt.days).astype("float64")


def _text(values: pd.Series) -> pd.Series:
    """Text cells as Python str (None when missing)."""
    text = [None if v is None or v is pd.NA or v != v else str(v) for v in values.astype(object)]
    return pd.Series(text, index=values.index, dtype=object)


def typed(values: pd.Series, kind: str) -> pd.Series:
    """A column in its transport type: text (str or None) or float64 (dates as SAS days)."""
    if kind == "text":
        return _text(values)
    if kind == "date":
        return _sas_dates(values)
    return pd.to_numeric(values, errors="raise").astype("float64")


def _guess(values: pd.Series) -> str:
    """The kind of a column the metadata does not know: numeric when every value is a number."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return "float"
    try:
        pd.to_numeric(values.dropna(), errors="raise")
    except (ValueError, TypeError):
        return "text"
    return "float" if values.notna().any() else "text"


# ---- variables set here ---------------------------------------------------------------------
def _subjid(frame: pd.DataFrame) -> pd.Series:
    ids, study = _text(frame["USUBJID"]), _text(frame["STUDYID"])
    return pd.Series(
        [
            u[len(s) + 1 :] if u and s and u.startswith(f"{s}-") else u
            for u, s in zip(ids, study, strict=True)
        ],
        index=frame.index,
        dtype=object,
    )


def _ageu(frame: pd.DataFrame) -> pd.Series:
    return frame["AGE"].map(lambda v: None if v is None or pd.isna(v) else "YEARS")


# ---- building ------------------------------------------------------------------------------
def _source(spec: DatasetSpec, name: str) -> str:
    return spec.renames.get(name, COPIES.get(name, name))


#: Variables the export sets itself, from the (ADSL-merged) frame, where the analysis lacks them.
Computed = Callable[[pd.DataFrame], Mapping[str, pd.Series]]


def _nothing(frame: pd.DataFrame) -> dict[str, pd.Series]:
    return {}


def map_frame(
    spec: DatasetSpec, frame: pd.DataFrame, adsl: pd.DataFrame, computed: Computed = _nothing
) -> AdamDataset:
    """Rename and type ``frame`` by ``spec``; subject columns it lacks come from ``adsl``; a
    ``computed`` variable the analysis has itself is the analysis' (origin Predecessor)."""
    frame = frame.reset_index(drop=True)
    lacking = [_source(spec, n) for n in spec.variables if _source(spec, n) not in frame.columns]
    from_adsl = [c for c in dict.fromkeys(lacking) if c in adsl.columns and c != "USUBJID"]
    if from_adsl:
        subj = adsl[["USUBJID", *from_adsl]]
        merged = (
            frame[["USUBJID"]]
            .astype(object)
            .merge(subj, on="USUBJID", how="left", validate="many_to_one")
        )
        frame = pd.concat([frame, merged[from_adsl].set_axis(frame.index)], axis=1)
    columns: dict[str, pd.Series] = {}
    variables: list[Variable] = []
    own = computed(frame)
    for name in spec.variables:
        var = variable(name)
        assert var is not None, name  # the metadata table knows every spec variable
        if _source(spec, name) in frame.columns:
            values = frame[_source(spec, name)]
            if name in own:
                var = replace(var, origin="Predecessor", method=None)
        elif name in own:
            values = own[name]
        else:
            continue  # a variable this trial does not have
        columns[name] = typed(values, var.kind)
        variables.append(var)
    used = {_source(spec, n) for n in spec.variables} | set(from_adsl)
    for col in frame.columns:
        if col in used or col.startswith("_"):
            continue
        var = variable(col) or Variable(col, col, _guess(frame[col]))  # type: ignore[arg-type]
        columns[col] = typed(frame[col], var.kind)
        variables.append(var)
    return AdamDataset(spec, variables, pd.DataFrame(columns, index=frame.index))


def build_datasets(analysis: AnalysisFolder) -> list[AdamDataset]:
    """Every dataset of the export, in the order of :data:`DATASETS` (ADVS only with vital
    signs: ``adam/advs.csv``; the assessments, so ADEFF, hold efficacy parameters only)."""
    from trialkit.submission.ard import ard_frame

    adsl = analysis.frames["adsl"]
    criteria = plan_criteria(analysis.definition)
    sources: dict[str, tuple[pd.DataFrame | None, Computed]] = {
        "ADSL": (adsl, lambda f: {"SUBJID": _subjid(f), "AGEU": _ageu(f)}),
        "ADEFF": (analysis.frames["adbds"], lambda f: criterion_columns(f, criteria)),
        "ADVS": (analysis.frames.get("advs"), _nothing),
        "ADAE": (analysis.frames["adae"], _nothing),
        "ADEX": (analysis.frames["adex"], _nothing),
        "ARD": (ard_frame(analysis.results, analysis.tables, analysis.definition), _nothing),
    }
    out = []
    for spec in DATASETS:
        frame, computed = sources[spec.name]
        if frame is not None:
            out.append(map_frame(with_criteria(spec, len(criteria)), frame, adsl, computed))
    return out


__all__ = [
    "SAS_EPOCH",
    "AdamDataset",
    "AnalysisFolder",
    "build_datasets",
    "map_frame",
    "read_analysis",
    "read_csv_frame",
    "typed",
]
