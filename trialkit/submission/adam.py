"""ADaM datasets from the output folder of ``trialkit analyze``: the analysis' own frames
(``adam/*.csv``), renamed and typed by :mod:`trialkit.submission.metadata`, never recomputed.

Values equal the analysis' row for row: text as written (formula quotes of the CSV undone),
numbers as floats, dates as SAS numeric dates (days since 1960-01-01). Subject-level variables
a dataset lacks are taken from ADSL by USUBJID. ADEX comes from the exposure file of the
analysed trial folder (its SHA-256 checked against the analysis manifest), passed through the
analysis' dummy randomisation and cutoff, because the analysis folder holds no exposure
records (see docs/submission.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialkit.csv_safety import restore_formulas
from trialkit.definition import TrialDefinition
from trialkit.errors import InputError
from trialkit.manifest import changed_files, changed_inputs, read_manifest
from trialkit.submission.metadata import COPIES, DATASETS, VARIABLES, DatasetSpec, Variable

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
    """What the export reads from an analysis folder and its trial folder."""

    folder: Path
    manifest: dict[str, Any]
    results: dict[str, Any]
    frames: dict[str, pd.DataFrame]
    definition: TrialDefinition
    exposure: pd.DataFrame


def read_csv_frame(path: Path) -> pd.DataFrame:
    """An ``adam/*.csv`` file as text cells (blank -> None), formula quotes undone."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    frame = frame.astype(object).where(frame != "", None)
    return restore_formulas(frame)


def _trial_frames(
    manifest: dict[str, Any], trial_dir: Path
) -> tuple[TrialDefinition, pd.DataFrame]:
    """The definition and the exposure frame as the analysis had them (same reader, same
    dummy randomisation and cutoff); inputs changed since the analysis are refused."""
    from trialkit.derive.cutoff import apply_cutoff
    from trialkit.derive.dummy import dummy_randomize
    from trialkit.validation import validate_trial

    changed = changed_inputs(manifest, trial_dir)
    if changed:
        raise InputError(f"{changed[0]} (ADEX is read from the analysed trial folder)")
    cutoff = manifest.get("cutoff")
    report = validate_trial(trial_dir, cutoff)
    assert report.definition is not None
    subjects = report.datasets["subjects"].frame
    exposure = report.datasets["exposure"].frame.copy()
    exposure["EXSEQ"] = exposure.index + 1  # the record's row in the exposure file
    seed = manifest["options"].get("dummy_seed")
    if seed is not None:
        subjects, exposure = dummy_randomize(subjects, exposure, int(seed))
    cut = date.fromisoformat(cutoff) if cutoff else None
    exposure = apply_cutoff({"exposure": exposure}, cut)[0]["exposure"]
    return report.definition, exposure.reset_index(drop=True)


def read_analysis(folder: Path, trial_dir: Path | None = None) -> AnalysisFolder:
    """Read an analysis folder (unchanged since its run) and the trial folder it analysed."""
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
    for needed in ("adsl", "adbds", "adae"):
        if needed not in frames:
            raise InputError(f"{folder / 'adam'}: {needed}.csv is missing")
    trial = Path(trial_dir or manifest["trial_dir"])
    if not trial.is_dir():
        raise InputError(f"{trial}: the analysed trial folder is not found (give it with --trial)")
    definition, exposure = _trial_frames(manifest, trial)
    return AnalysisFolder(folder, manifest, results, frames, definition, exposure)


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


def _criterion(analysis: AnalysisFolder) -> tuple[str, Callable[[pd.DataFrame], pd.Series]]:
    """CRIT1 text and the CRIT1FL rule: the responder rule of the primary parameter."""
    from trialkit.estimators.responders import responders_exact

    d = analysis.definition
    param = d.parameter(d.primary.parameter)
    pct = d.analysis.responder_pct_change
    text = f"PCHG >= {pct}" if param.direction == "higher" else f"PCHG <= -{pct}"

    def flag(frame: pd.DataFrame) -> pd.Series:
        aval = pd.to_numeric(frame["AVAL"]).to_numpy(dtype=float)
        base = pd.to_numeric(frame["BASE"]).to_numpy(dtype=float)
        post = frame["ABLFL"].isna().to_numpy() & frame["AVISIT"].notna().to_numpy()
        judged = (
            (frame["PARAMCD"] == param.code).to_numpy()
            & post
            & np.isfinite(aval)
            & np.isfinite(base)
            & (base >= 0)
        )
        out = np.full(len(frame), None, dtype=object)
        met = responders_exact(aval[judged], base[judged], pct, param.direction)
        out[judged] = np.where(met, "Y", "N")
        return pd.Series(out, index=frame.index)

    return text, flag


# ---- building ------------------------------------------------------------------------------
def _source(spec: DatasetSpec, name: str) -> str:
    return spec.renames.get(name, COPIES.get(name, name))


def map_frame(
    spec: DatasetSpec,
    frame: pd.DataFrame,
    adsl: pd.DataFrame,
    computed: dict[str, Callable[[pd.DataFrame], pd.Series]],
) -> AdamDataset:
    """Rename and type ``frame`` by ``spec``; subject columns it lacks come from ``adsl``."""
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
    for name in spec.variables:
        var = VARIABLES[name]
        if name in computed:
            values = computed[name](frame)
        elif _source(spec, name) in frame.columns:
            values = frame[_source(spec, name)]
        else:
            continue  # a variable this trial does not have
        columns[name] = typed(values, var.kind)
        variables.append(var)
    used = {_source(spec, n) for n in spec.variables} | set(from_adsl)
    for col in frame.columns:
        if col in used or col.startswith("_"):
            continue
        var = VARIABLES.get(col) or Variable(col, col, _guess(frame[col]))  # type: ignore[arg-type]
        columns[col] = typed(frame[col], var.kind)
        variables.append(var)
    return AdamDataset(spec, variables, pd.DataFrame(columns, index=frame.index))


def _efficacy_and_vitals(analysis: AnalysisFolder) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """ADEFF's and ADVS's source rows: BDS rows of efficacy and of safety parameters
    (``kind = "safety"``, issue 12), or ``adam/advs.csv`` when the analysis writes one."""
    bds = analysis.frames["adbds"]
    safety = {
        p.code for p in analysis.definition.parameters if getattr(p, "kind", "efficacy") == "safety"
    }
    is_safety = bds["PARAMCD"].isin(safety)
    vitals = analysis.frames.get("advs")
    if vitals is None and is_safety.any():
        vitals = bds.loc[is_safety]
    return bds.loc[~is_safety], vitals


def build_datasets(analysis: AnalysisFolder) -> list[AdamDataset]:
    """Every dataset of the export, in the order of :data:`DATASETS` (ADVS only with vitals)."""
    from trialkit.submission.ard import ard_frame

    adsl = analysis.frames["adsl"]
    efficacy, vitals = _efficacy_and_vitals(analysis)
    crit_text, crit_flag = _criterion(analysis)
    bds_computed = {
        "CRIT1": lambda f: crit_flag(f).map(lambda v: None if v is None else crit_text),
        "CRIT1FL": crit_flag,
    }
    subject = {"SUBJID": _subjid, "AGEU": _ageu}
    sources: dict[str, tuple[pd.DataFrame | None, dict[str, Any]]] = {
        "ADSL": (adsl, subject),
        "ADEFF": (efficacy, bds_computed),
        "ADVS": (vitals, {}),
        "ADAE": (analysis.frames["adae"], {}),
        "ADEX": (analysis.exposure.loc[analysis.exposure["USUBJID"].isin(adsl["USUBJID"])], {}),
        "ARD": (ard_frame(analysis.results), {}),
    }
    out = []
    for spec in DATASETS:
        frame, computed = sources[spec.name]
        if frame is not None:
            out.append(map_frame(spec, frame, adsl, computed))
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
