"""Formula-safe CSV cells: text a spreadsheet would run as a formula gets a leading quote.

CSV files meant for people (query listings, listings, ``tables/``, ``adam/``) may be opened in a
spreadsheet, which runs a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (OWASP "CSV injection"). Such text cells are written with a ``'`` in
front. The rule is reversible: a cell that starts with quotes followed by one of those
characters always gets one more quote, so :func:`restore_formulas` gives back the exact text
(``results.json`` and transport files keep the exact values anyway). Numbers are not text and
are never changed, so ``-1.5`` in a numeric column stays a number.
"""

from __future__ import annotations

import re

import pandas as pd

#: Text a spreadsheet may run as a formula, after any leading quotes.
FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")
QUOTE = "'"


def _protect(value: object) -> object:
    if isinstance(value, str) and FORMULA_START.match(value):
        return QUOTE + value
    return value


def _restore(value: object) -> object:
    if isinstance(value, str) and value.startswith(QUOTE) and FORMULA_START.match(value):
        return value[1:]
    return value


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)
    ]


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas."""
    out = frame.copy()
    for col in _text_columns(out):
        out[col] = out[col].map(_protect, na_action="ignore")
    return out


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`neutralise_formulas` (the exact text as it was collected)."""
    out = frame.copy()
    for col in _text_columns(out):
        out[col] = out[col].map(_restore, na_action="ignore")
    return out
