"""The one table shape templates render: a header, rows of already formatted cells, notes.

A table is a plain dict so a sponsor's template can use it without importing anything:
``{"caption", "header": [str], "numeric": [bool], "rows": [{"cells": [str], "kind"}], "note"}``
where ``kind`` is ``"data"`` or ``"group"`` (a row that heads the rows under it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from trialkit.report.formatting import CELL_TEXT_MAX, display_text, fmt_cell, humanize


def make_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str] | dict[str, Any]],
    *,
    caption: str | None = None,
    note: str | None = None,
    numeric: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Build a table; the first column is text, the others numeric unless ``numeric`` says.

    Each cell (and header) shows at most ``CELL_TEXT_MAX`` characters (a longer one is cut
    with a marker).
    """
    norm = [
        {**r, "cells": _cells(r["cells"])} if isinstance(r, dict)
        else {"cells": _cells(r), "kind": "data"}
        for r in rows
    ]  # fmt: skip
    return {
        "caption": caption,
        "header": _cells(header),
        "numeric": list(numeric) if numeric is not None else [i > 0 for i in range(len(header))],
        "rows": norm,
        "note": note,
    }


def _cells(cells: Sequence[Any]) -> list[str]:
    """Cells as the table shows them (see :func:`display_text`)."""
    return [display_text(str(c), CELL_TEXT_MAX) for c in cells]


def group_row(label: str, width: int) -> dict[str, Any]:
    """A row that heads a group of rows (spans the table)."""
    return {"cells": [label] + [""] * (width - 1), "kind": "group"}


def frame_table(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    note: str | None = None,
    labels: dict[str, str] | None = None,
    drop: Sequence[str] = ("DUMMY", "reference"),
    max_rows: int | None = None,
    values: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Any results table, each cell formatted by its column name (p-values, counts, numbers).

    ``values`` maps a column to a code -> label mapping (arm codes to their labels). The
    ``reference`` column is shown after all when it varies (comparisons not all against one arm).
    """
    varies = "reference" in frame.columns and frame["reference"].nunique() > 1
    columns = [c for c in frame.columns if c not in drop or (c == "reference" and varies)]
    labels = labels or {}
    shown = frame if max_rows is None else frame.head(max_rows)
    values = values or {}
    rows = [
        [values[c].get(str(r[c]), fmt_cell(c, r[c])) if c in values else fmt_cell(c, r[c])
         for c in columns]
        for _, r in shown.iterrows()
    ]  # fmt: skip
    if max_rows is not None and len(frame) > max_rows:
        extra = f"First {max_rows} of {len(frame)} rows shown."
        note = f"{note} {extra}" if note else extra
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in columns]
    header = [labels.get(c, humanize(c) if c.islower() else c) for c in columns]
    return make_table(header, rows, caption=caption, note=note, numeric=numeric)
