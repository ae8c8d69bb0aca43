"""The query listing: terminal summary and table, and the CSV and HTML files written by --out."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from trialkit.csv_safety import neutralise_formulas
from trialkit.validation.rules import RULES

#: Rows of the listing shown in the terminal; the rest are counted.
TERMINAL_ROWS = 20


def summary_table(findings: pd.DataFrame) -> pd.DataFrame:
    """Counts of findings by rule and severity, in rule order, with each rule's title."""
    counts = findings.groupby(["rule", "severity"]).size().rename("findings").reset_index()
    counts["title"] = counts["rule"].map(lambda r: RULES[r].title if r in RULES else "")
    return counts.sort_values("rule").reset_index(drop=True)


def summary_text(
    trial: str, findings: pd.DataFrame, set_aside: dict[str, int], cutoff: object | None
) -> str:
    """The summary printed by ``trialkit validate``: counts by rule and severity, cutoff."""
    n_err = int((findings["severity"] == "error").sum())
    n_warn = int((findings["severity"] == "warning").sum())
    lines = [f"Validation of {trial}: {n_err} error(s), {n_warn} warning(s)"]
    if len(findings):
        table = summary_table(findings)
        table["title"] = table["title"].str.slice(0, 70)
        lines += ["", table.to_string(index=False)]
    if cutoff is not None:
        aside = ", ".join(f"{name} {n}" for name, n in set_aside.items())
        lines += ["", f"Cutoff {cutoff}: records set aside (dated after it): {aside}"]
    return "\n".join(lines)


def _printable(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x00``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def terminal_table(findings: pd.DataFrame, limit: int = TERMINAL_ROWS) -> str:
    """The first ``limit`` findings as a text table, saying how many more there are."""
    if findings.empty:
        return "No findings."
    shown = findings.head(limit).astype("string").fillna("")
    for col in ("value", "message"):
        shown[col] = shown[col].str.slice(0, 60)
    # control characters (a NUL in a collected value) would garble the terminal: show them escaped
    shown = shown.apply(lambda col: col.map(_printable))
    text = shown.to_string(index=False)
    more = len(findings) - len(shown)
    if more:
        text += f"\n... and {more} more finding(s); use --out to write the full listing."
    return text


def write_csv(findings: pd.DataFrame, path: Path) -> None:
    """The listing as CSV, one row per finding; ``row`` is the 1-based data row of the file.

    Text cells are formula-safe (:mod:`trialkit.csv_safety`): the listing is opened in
    spreadsheets, and a collected value such as ``=HYPERLINK(..)`` must stay text there."""
    neutralise_formulas(findings).to_csv(path, index=False)


def write_html(findings: pd.DataFrame, summary: str, path: Path) -> None:
    """The listing as one self-contained HTML page (inline CSS, every value escaped)."""
    table = findings.to_html(index=False, escape=True, na_rep="", border=0, classes="listing")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>trialkit query listing</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
pre {{ background: #f6f6f6; padding: 1em; }}
table.listing {{ border-collapse: collapse; font-size: 0.9em; }}
table.listing th, table.listing td {{ border: 1px solid #ccc; padding: 0.2em 0.5em; }}
table.listing th {{ background: #eee; }}
</style></head><body>
<h1>Query listing</h1>
<pre>{html.escape(summary)}</pre>
<p>row is the 1-based data row number in the dataset file (the header line not counted).</p>
{table}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
