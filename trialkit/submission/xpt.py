"""SAS transport files, version 5: checked before anything is written, then written with
``pyreadstat.write_xport(file_format_version=5)`` and read back.

The checks are ours because pyreadstat's are not enough (it leaves a 0-byte file on a long
name, truncates labels to 40 characters without a word, accepts non-ASCII text and turns
numbers outside the IBM floating-point range into infinity or 0). Refused, one line per
problem: names longer than 8 characters, not upper case or not starting with a letter;
labels over 40 characters or not ASCII; text values over 200 bytes or not ASCII (no
transliteration: the text must be fixed at its source); numbers outside the IBM range or
infinite; repeated names. Missing numbers are SAS missing; missing text is blank (SAS has no
missing text).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from trialkit.errors import InputError
from trialkit.submission.adam import AdamDataset

NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
MAX_NAME = 8
MAX_LABEL = 40
MAX_TEXT = 200
#: Largest IBM System/360 double (16**63 * (1 - 16**-14)) and smallest positive normalised.
IBM_MAX = 16.0**63 * (1.0 - 16.0**-14)
IBM_MIN = 16.0**-65


class TransportError(InputError):
    """Data that a version 5 transport file cannot hold; one problem a line (exit 2)."""


def _name_problems(where: str, what: str, name: str) -> Iterator[str]:
    if len(name) > MAX_NAME:
        yield f"{where}: {what} {name!r} is {len(name)} characters (at most {MAX_NAME})"
    if not NAME.match(name):
        yield (
            f"{where}: {what} {name!r} must be upper case letters, digits or _ and start "
            "with a letter"
        )


def _label_problems(where: str, label: str) -> Iterator[str]:
    if not label.isascii():
        yield f"{where}: label {label!r} is not ASCII"
    if len(label.encode("ascii", "replace")) > MAX_LABEL:
        yield f"{where}: label is {len(label)} characters (at most {MAX_LABEL}): {label!r}"


def _rows(mask: np.ndarray) -> str:
    """'row 3' or 'rows 3, 7 and 12 more' (1-based)."""
    rows = np.flatnonzero(mask) + 1
    shown = ", ".join(str(r) for r in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _value_problems(where: str, values: pd.Series, kind: str) -> Iterator[str]:
    if kind == "text":
        text = values.map(lambda v: "" if v is None else v)
        ascii_ok = text.map(str.isascii).to_numpy(dtype=bool)
        if not ascii_ok.all():
            first = str(text[~ascii_ok].iloc[0])
            yield f"{where}: {_rows(~ascii_ok)}: text is not ASCII ({first[:40]!r})"
        size = text.map(lambda v: len(v.encode("utf-8"))).to_numpy(dtype=int)
        if (size > MAX_TEXT).any():
            yield (
                f"{where}: {_rows(size > MAX_TEXT)}: text of {size.max()} bytes "
                f"(at most {MAX_TEXT})"
            )
        return
    x = values.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        big = np.isinf(x) | (np.abs(x) > IBM_MAX)
        tiny = (x != 0) & (np.abs(x) < IBM_MIN)
    for bad, what in ((big, "beyond"), (tiny, "below")):
        if bad.any():
            value = x[bad][0]
            yield (
                f"{where}: {_rows(bad)}: {value:g} is {what} the IBM floating-point range "
                "of a transport file"
            )


def transport_problems(dataset: AdamDataset) -> list[str]:
    """Every reason ``dataset`` cannot be written as a version 5 transport file."""
    file = dataset.file_name
    problems = [*_name_problems(file, "dataset name", dataset.name)]
    problems += _label_problems(f"{file}: dataset", dataset.spec.label)
    seen: set[str] = set()
    for var in dataset.variables:
        where = f"{file}: {var.name}"
        problems += _name_problems(file, "variable name", var.name)
        if var.name.upper() in seen:
            problems.append(f"{where}: the name appears twice")
        seen.add(var.name.upper())
        problems += _label_problems(where, var.label)
        problems += _value_problems(where, dataset.frame[var.name], var.kind)
    return problems


def check_transport(datasets: Iterable[AdamDataset]) -> None:
    """Refuse (one line per problem, exit 2) anything a transport file cannot hold."""
    problems = [p for d in datasets for p in transport_problems(d)]
    if problems:
        raise TransportError(
            f"{len(problems)} problem(s) for SAS transport v5; nothing written:\n  "
            + "\n  ".join(problems)
        )


def write_transport(dataset: AdamDataset, folder: Path) -> Path:
    """Write one checked dataset as ``folder/<name>.xpt`` (version 5) and read it back."""
    import pyreadstat

    path = folder / dataset.file_name
    frame = dataset.frame.copy()
    for var in dataset.variables:
        if var.kind == "text":
            frame[var.name] = frame[var.name].map(lambda v: "" if v is None else v)
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=dataset.spec.label,
        column_labels={v.name: v.label for v in dataset.variables},
        table_name=dataset.name,
        file_format_version=5,
        variable_format={v.name: v.display_format for v in dataset.variables if v.display_format},
    )
    back = read_transport(path)
    differences = compare_frame(dataset, back)
    if differences:  # a transport file that does not hold the values is never left behind
        raise AssertionError(f"{path}: read back differently: {differences[0]}")
    return path


def read_transport(path: Path) -> pd.DataFrame:
    """A transport file as written: dates as SAS numbers, blank text as None."""
    import pyreadstat

    frame, meta = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
    for col, kind in meta.readstat_variable_types.items():
        if kind == "string":
            frame[col] = frame[col].astype(object).where(frame[col] != "", None)
    frame.attrs.update(
        labels=dict(meta.column_names_to_labels),
        formats={k: v for k, v in meta.original_variable_types.items() if v},
        table_name=meta.table_name,
        file_label=meta.file_label,
    )
    return frame


def _same(a: object, b: object, rtol: float, atol: float) -> bool:
    if a is None or b is None:
        return (a is None or a == "") and (b is None or b == "")
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    fa, fb = float(a), float(b)  # type: ignore[arg-type]
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    return abs(fa - fb) <= atol + rtol * abs(fb)


def compare_frame(
    dataset: AdamDataset, back: pd.DataFrame, rtol: float = 0.0, atol: float = 0.0
) -> list[str]:
    """Differences between a dataset and a transport file's frame: names, order, labels,
    formats, rows and every value (within ``atol + rtol |b|``), one line each."""
    where = dataset.file_name
    names = [v.name for v in dataset.variables]
    if list(back.columns) != names:
        return [f"{where}: variables {list(back.columns)} differ from {names}"]
    out = []
    if back.attrs.get("table_name") != dataset.name:
        out.append(f"{where}: dataset name {back.attrs.get('table_name')!r}")
    if back.attrs.get("file_label") != dataset.spec.label:
        out.append(f"{where}: dataset label {back.attrs.get('file_label')!r}")
    if len(back) != len(dataset.frame):
        return [*out, f"{where}: {len(back)} rows instead of {len(dataset.frame)}"]
    for var in dataset.variables:
        if back.attrs["labels"].get(var.name) != var.label:
            out.append(f"{where}: {var.name} label {back.attrs['labels'].get(var.name)!r}")
        if back.attrs["formats"].get(var.name) != var.display_format:
            out.append(f"{where}: {var.name} format {back.attrs['formats'].get(var.name)!r}")
        expected, found = dataset.frame[var.name].tolist(), back[var.name].tolist()
        bad = [
            i
            for i, (a, b) in enumerate(zip(found, expected, strict=True))
            if not _same(a, b, rtol, atol)
        ]
        if bad:
            i = bad[0]
            out.append(
                f"{where}: {var.name} row {i + 1}: {found[i]!r} instead of {expected[i]!r}"
                + (f" ({len(bad) - 1} more rows)" if len(bad) > 1 else "")
            )
    return out


__all__ = [
    "IBM_MAX",
    "IBM_MIN",
    "TransportError",
    "check_transport",
    "compare_frame",
    "read_transport",
    "transport_problems",
    "write_transport",
]
