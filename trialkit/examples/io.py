"""Write generated datasets as CSV with deterministic bytes (so committed files can be checked).

Dates are ISO ``YYYY-MM-DD``, missing values are empty cells, whole numbers carry no ``.0``,
other numbers are written with up to 10 significant digits, columns keep the frame's order,
rows are never indexed, lines end in ``\\n``.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from trialkit.vocabulary import DATASETS


def format_cell(value: object) -> str:
    """One CSV cell: the same value always gives the same text."""
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, pd.Timestamp | datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool | np.bool_):
        return "Y" if value else "N"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return ""
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return format(f, ".10g")
    return str(value)


def render_csv(frame: pd.DataFrame) -> bytes:
    """The CSV bytes of ``frame`` (header, then one line per row, no index)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([str(c) for c in frame.columns])
    columns = [frame.iloc[:, i].tolist() for i in range(frame.shape[1])]  # names may repeat
    for row in zip(*columns, strict=True):
        writer.writerow([format_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def render_trial(frames: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    """File name -> CSV bytes for every frame (datasets first, in their usual order)."""
    names = [n for n in DATASETS if n in frames] + sorted(set(frames) - set(DATASETS))
    return {f"{name}.csv": render_csv(frames[name]) for name in names}


def write_trial(frames: dict[str, pd.DataFrame], folder: Path | str) -> list[Path]:
    """Write every frame as ``<name>.csv`` into ``folder`` (created if needed); return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in render_trial(frames).items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths
