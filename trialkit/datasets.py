"""Read a trial's collected datasets (CSV, Parquet, SAS XPORT, SAS7BDAT) by file extension.

Dates are parsed into ``datetime64`` columns; a file that cannot be read or lacks a
required column is a :class:`~trialkit.errors.DatasetError` naming the file. Values are
not checked here: that is validation's job, which needs them as they were collected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trialkit.errors import DatasetError

EXTENSIONS = (".csv", ".parquet", ".xpt", ".sas7bdat")

#: Required columns of each dataset (more are allowed), and which of them are dates.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "subjects": (
        "USUBJID", "SITEID", "ARMCD", "RANDDT", "AGE", "SEX", "SEVERITY",
        "EOSSTT", "EOSDT", "DCSREAS",
    ),
    "assessments": ("USUBJID", "VISIT", "ADT", "PARAMCD", "AVAL"),
    "exposure": (
        "USUBJID", "EXTRT", "EXSTDT", "EXENDT", "EXDOSE", "EXDOSU", "DEVICE", "SETTING",
        "NEEDLE_DEPTH_MM", "VOLUME_ML",
    ),
    "adverse_events": (
        "USUBJID", "AETERM", "AEDECOD", "AEBODSYS", "AESTDT", "AEENDT", "AESEV", "AEREL", "AESER",
    ),
    "concomitant_medications": ("USUBJID", "CMTRT", "CMSTDT", "CMENDT", "CMRESCUE"),
}  # fmt: skip

DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "subjects": ("RANDDT", "EOSDT"),
    "assessments": ("ADT",),
    "exposure": ("EXSTDT", "EXENDT"),
    "adverse_events": ("AESTDT", "AEENDT"),
    "concomitant_medications": ("CMSTDT", "CMENDT"),
}

OPTIONAL_DATASETS = ("concomitant_medications",)

#: Columns read as text whatever they look like (identifiers, codes).
TEXT_COLUMNS = ("USUBJID", "SITEID", "ARMCD", "VISIT", "PARAMCD", "SEX", "SEVERITY")


@dataclass(frozen=True)
class Dataset:
    """One collected dataset: its frame, the file it came from, and unparseable date cells."""

    name: str
    path: Path
    frame: pd.DataFrame
    bad_dates: pd.DataFrame  # columns: row, column, value (text that is not a date)


def find_dataset(trial_dir: Path, name: str) -> Path | None:
    """The file of dataset ``name`` in ``trial_dir``; two files with the same stem is an error."""
    found = [
        trial_dir / f"{name}{ext}" for ext in EXTENSIONS if (trial_dir / f"{name}{ext}").exists()
    ]
    if len(found) > 1:
        raise DatasetError(
            f"{trial_dir}: dataset {name!r} is there more than once "
            f"({', '.join(p.name for p in found)}); keep one"
        )
    return found[0] if found else None


def _read_raw(path: Path) -> pd.DataFrame:
    ext = path.suffix.lower()
    if ext == ".csv":
        return pd.read_csv(
            path,
            dtype={c: "string" for c in TEXT_COLUMNS},
            keep_default_na=False,
            na_values=[""],
        )
    if ext == ".parquet":
        return pd.read_parquet(path)
    import pyreadstat  # imported here: only SAS transfers need it

    if ext == ".xpt":
        frame, _ = pyreadstat.read_xport(str(path))
    else:
        frame, _ = pyreadstat.read_sas7bdat(str(path))
    return frame


def _parse_iso(raw: pd.Series) -> pd.Series:
    """Parse ISO dates leniently: unparseable text becomes NaT, numbers are text (not epochs)."""
    text = raw.astype("str")
    try:
        return pd.to_datetime(text, errors="coerce", format="ISO8601")
    except ValueError:  # mixed UTC offsets: compare in UTC
        return pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)


def _parse_dates(
    frame: pd.DataFrame, columns: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert date columns; return the frame and the cells whose text is not a date."""
    frame = frame.copy()
    bad: list[pd.DataFrame] = []
    for col in columns:
        raw = frame[col]
        parsed = raw if pd.api.types.is_datetime64_any_dtype(raw) else _parse_iso(raw)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        # A date outside datetime64[ns] (year 3024, 0001) is not a valid date, not a crash.
        in_range = parsed.isna() | ((parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max))
        invalid = (parsed.isna() & raw.notna()) | ~in_range
        if invalid.any():
            bad.append(
                pd.DataFrame(
                    {"row": frame.index[invalid], "column": col, "value": raw[invalid].astype(str)}
                )
            )
        frame[col] = parsed.where(in_range).astype("datetime64[ns]")
    bad_dates = (
        pd.concat(bad, ignore_index=True)
        if bad
        else pd.DataFrame({"row": pd.Series(dtype="int64"), "column": "", "value": ""}).iloc[:0]
    )
    return frame, bad_dates


def read_dataset(path: Path, name: str) -> Dataset:
    """Read one dataset file, check its required columns and parse its dates."""
    try:
        frame = _read_raw(path)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DatasetError(f"{path}: cannot be read ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # pyreadstat and pyarrow raise their own exception types
        raise DatasetError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from None
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path}: missing required column(s) {', '.join(missing)}")
    for col in TEXT_COLUMNS:
        if col in frame.columns:
            frame[col] = frame[col].astype("string")
    frame = frame.reset_index(drop=True)
    frame, bad_dates = _parse_dates(frame, DATE_COLUMNS[name])
    return Dataset(name=name, path=path, frame=frame, bad_dates=bad_dates)


def read_trial_datasets(trial_dir: Path) -> dict[str, Dataset]:
    """Read every dataset of a trial folder; the required ones must be there."""
    trial_dir = Path(trial_dir)
    if not trial_dir.is_dir():
        raise DatasetError(f"{trial_dir}: trial folder not found")
    out: dict[str, Dataset] = {}
    for name in REQUIRED_COLUMNS:
        path = find_dataset(trial_dir, name)
        if path is None:
            if name in OPTIONAL_DATASETS:
                continue
            raise DatasetError(
                f"{trial_dir}: dataset {name!r} not found (expected {name}.csv, .parquet, "
                ".xpt or .sas7bdat)"
            )
        out[name] = read_dataset(path, name)
    return out
