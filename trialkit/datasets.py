"""Read a trial's collected datasets (CSV, Parquet, SAS XPORT, SAS7BDAT) by file extension.

Only regular files inside the trial folder are read (see ``docs/datasets.md``); a file that
cannot be read or lacks a required column is a :class:`~trialkit.errors.DatasetError` naming
the file. Blank text is missing, dates are parsed into ``datetime64`` columns, and a column
named twice keeps its first occurrence. Values are not checked here: that is validation's job,
so what the reader had to set aside (bad dates, duplicate columns) is recorded for it.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trialkit.errors import DatasetError
from trialkit.vocabulary import OPTIONAL_DATASETS

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
    "vital_signs": ("USUBJID", "VISIT", "ADT", "PARAMCD", "AVAL"),
}  # fmt: skip

DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "subjects": ("RANDDT", "EOSDT"),
    "assessments": ("ADT",),
    "exposure": ("EXSTDT", "EXENDT"),
    "adverse_events": ("AESTDT", "AEENDT"),
    "concomitant_medications": ("CMSTDT", "CMENDT"),
    "vital_signs": ("ADT",),
}


#: Datasets that may have no records: a trial can have no adverse event, medication or vital
#: sign.
MAY_BE_EMPTY = ("adverse_events", "concomitant_medications", "vital_signs")

#: Columns read as text whatever they look like (identifiers, codes).
TEXT_COLUMNS = ("USUBJID", "SITEID", "ARMCD", "VISIT", "PARAMCD", "SEX", "SEVERITY")

#: The plausible dates of a trial record; a date outside them is set missing and reported.
EARLIEST_DATE, LATEST_DATE = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-12-31")

#: Why a date cell was set missing (``Dataset.bad_dates["problem"]``).
NOT_A_DATE, DATE_OUT_OF_RANGE = "not a date", "out of range"


@dataclass(frozen=True)
class Dataset:
    """One collected dataset: its frame, the file it came from, and what reading set aside."""

    name: str
    path: Path
    frame: pd.DataFrame
    bad_dates: pd.DataFrame  # columns: row, column, value (as collected), problem
    repeated_columns: tuple[str, ...] = ()  # header names given more than once


_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_input_file(path: Path, folder: Path) -> None:
    """Refuse ``path`` unless it is a regular file whose real location is inside ``folder``.

    Only ``stat`` is used, never ``open``: a FIFO or device would block or never end. A link
    is followed only within ``folder``, so a run reads (and its manifest hashes) the trial's
    own files and nothing else.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DatasetError(f"{path}: is a link to a missing file") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        kind = next((k for test, k in _FILE_KINDS if test(mode)), "not a file")
        raise DatasetError(f"{path}: is {kind}, not a regular file; give the data as a file")
    real, base = path.resolve(), folder.resolve()
    if not real.is_relative_to(base):
        raise DatasetError(
            f"{path}: links to {real}, outside the folder {folder}; copy the file into it"
        )


def find_dataset(trial_dir: Path, name: str) -> Path | None:
    """The file of dataset ``name`` in ``trial_dir``, checked with :func:`check_input_file`.

    Two files with the same stem is an error; so is a dangling link (it is not "absent").
    """
    found = [
        trial_dir / f"{name}{ext}"
        for ext in EXTENSIONS
        if os.path.lexists(trial_dir / f"{name}{ext}")
    ]
    if len(found) > 1:
        raise DatasetError(
            f"{trial_dir}: dataset {name!r} is there more than once "
            f"({', '.join(p.name for p in found)}); keep one"
        )
    if not found:
        return None
    check_input_file(found[0], trial_dir)
    return found[0]


_SAS_RENAMED = re.compile(r"(.+)_duplicated\d+")


def _read_raw(path: Path) -> pd.DataFrame:
    """The file's table as read, columns named exactly as in the file (duplicates kept)."""
    ext = path.suffix.lower()
    if ext == ".csv":
        with warnings.catch_warnings():  # longer rows would shift every value (index_col)
            warnings.simplefilter("error", pd.errors.ParserWarning)
            try:
                frame = pd.read_csv(
                    path,
                    dtype={c: "string" for c in TEXT_COLUMNS},
                    keep_default_na=False,
                    na_values=[""],
                    index_col=False,
                )
            except pd.errors.ParserWarning:
                raise ValueError("rows have more fields than the header") from None
        # pandas renames a repeated header name (AVAL, AVAL.1): restore the names as written.
        header = pd.read_csv(path, header=None, nrows=1, dtype="str", keep_default_na=False)
        if header.shape[1] == frame.shape[1]:
            frame.columns = pd.Index([str(v) for v in header.iloc[0]])
        return frame
    if ext == ".parquet":
        import pyarrow.parquet as pq  # imported here: only Parquet files need it

        # ParquetFile, not pandas.read_parquet: it refuses a file naming a column twice.
        return pq.ParquetFile(path).read().to_pandas()
    import pyreadstat  # imported here: only SAS transfers need it

    read = pyreadstat.read_xport if ext == ".xpt" else pyreadstat.read_sas7bdat
    with warnings.catch_warnings():  # it warns of each repeated name it renames
        warnings.simplefilter("ignore", UserWarning)
        frame, _ = read(str(path))
    # pyreadstat renames a repeated name AVAL to AVAL_duplicated1: restore the name as written.
    names = [str(c) for c in frame.columns]
    frame.columns = pd.Index(
        [
            m.group(1) if (m := _SAS_RENAMED.fullmatch(c)) and m.group(1) in names else c
            for c in names
        ]
    )
    return frame


def drop_repeated_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The frame keeping the first column of each name, and the names that were repeated."""
    repeated = frame.columns.duplicated()
    if not repeated.any():
        return frame, ()
    return frame.loc[:, ~repeated], tuple(dict.fromkeys(str(c) for c in frame.columns[repeated]))


def _blank_to_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that are empty or only spaces become missing, in every file format.

    An empty CSV cell is already missing; SAS stores a missing character value as spaces,
    which XPT, SAS7BDAT and Parquet transfers deliver as '' or '   '.
    """
    out = frame.copy(deep=False)
    for col in out.columns[[not pd.api.types.is_numeric_dtype(t) for t in out.dtypes]]:
        values = out[col]
        if pd.api.types.is_datetime64_any_dtype(values):
            continue
        blank = values.astype("str").str.strip().eq("").to_numpy(dtype=bool)
        if blank.any():
            out[col] = values.mask(blank)
    return out


def parse_dates(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Date cells as ``datetime64[ns]``: (dates, not-a-date mask, out-of-range mask).

    Text is parsed as ISO 8601 (numbers are text, not epochs; mixed UTC offsets compare in
    UTC). A cell that is not a date, or a date outside EARLIEST_DATE..LATEST_DATE (such as
    9999-12-31, which ``datetime64[ns]`` cannot hold), is missing in the dates returned.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed, not_date = raw, pd.Series(False, index=raw.index)
    else:
        text = raw.astype("str").str.strip()
        text = text.mask(text == "")
        try:
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        except ValueError:  # mixed UTC offsets: compare in UTC
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        not_date = parsed.isna() & text.notna()
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    out_of_range = (parsed < EARLIEST_DATE) | (parsed >= LATEST_DATE + pd.Timedelta(days=1))
    return parsed.mask(out_of_range).astype("datetime64[ns]"), not_date, out_of_range


def _parse_dates(
    frame: pd.DataFrame, columns: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert date columns; return the frame and the cells set missing, with the reason."""
    frame = frame.copy()
    bad: list[pd.DataFrame] = []
    for col in columns:
        raw = frame[col]
        frame[col], not_date, out_of_range = parse_dates(raw)
        for mask, problem in ((not_date, NOT_A_DATE), (out_of_range, DATE_OUT_OF_RANGE)):
            if mask.any():
                bad.append(
                    pd.DataFrame(
                        {
                            "row": frame.index[mask],
                            "column": col,
                            "value": _as_text(raw[mask]),
                            "problem": problem,
                        }
                    )
                )
    bad_dates = (
        pd.concat(bad, ignore_index=True)
        if bad
        else pd.DataFrame(
            {"row": pd.Series(dtype="int64"), "column": "", "value": "", "problem": ""}
        ).iloc[:0]
    )
    return frame, bad_dates


def _as_text(values: pd.Series) -> pd.Series:
    """Collected values as text; a date typed by the file (Parquet, SAS) as YYYY-MM-DD."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d")
    return values.astype("str")


def read_dataset(path: Path, name: str) -> Dataset:
    """Read one dataset file, check its required columns and parse its dates."""
    check_input_file(path, path.parent)
    try:
        frame = _read_raw(path)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DatasetError(f"{path}: cannot be read ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # pyreadstat and pyarrow raise their own exception types
        raise DatasetError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from None
    frame, duplicates = drop_repeated_columns(frame)
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path}: missing required column(s) {', '.join(missing)}")
    frame = _blank_to_missing(frame.reset_index(drop=True))
    for col in TEXT_COLUMNS:
        if col in frame.columns:
            frame[col] = frame[col].astype("string")
    frame, bad_dates = _parse_dates(frame, DATE_COLUMNS[name])
    return Dataset(
        name=name, path=path, frame=frame, bad_dates=bad_dates, repeated_columns=duplicates
    )


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
