"""Compare two analysis outputs number by number, within a relative plus absolute tolerance.

Used by ``trialkit verify``: every difference is reported with its path in the results
(``results.json: primary.contrasts[1].estimate: 12.3 != 12.4``) so a reviewer sees exactly
what did not reproduce. Two numbers agree when ``|a - b| <= atol + rtol * |b|``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Defaults: loose enough for another machine's BLAS (differences near 1e-12 relative in
#: well-conditioned fits), tight enough that any real change in data or method fails.
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-9


@dataclass(frozen=True)
class Tolerance:
    """Relative and absolute tolerance for comparing numbers."""

    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    def close(self, a: float, b: float) -> bool:
        """Whether ``a`` (rerun) agrees with ``b`` (recorded); NaN equals NaN."""
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= self.atol + self.rtol * abs(b)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def compare_json(recorded: Any, rerun: Any, tol: Tolerance, path: str = "") -> list[str]:
    """Differences between two JSON values, each as ``path: recorded != rerun``."""
    where = path or "(top)"
    if _is_number(recorded) and _is_number(rerun):
        return (
            []
            if tol.close(float(rerun), float(recorded))
            else [f"{where}: {recorded!r} != {rerun!r}"]
        )
    if isinstance(recorded, dict) and isinstance(rerun, dict):
        out: list[str] = []
        for key in sorted(set(recorded) | set(rerun)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in rerun:
                out.append(f"{sub}: missing in the rerun")
            elif key not in recorded:
                out.append(f"{sub}: not in the recorded results")
            else:
                out.extend(compare_json(recorded[key], rerun[key], tol, sub))
        return out
    if isinstance(recorded, list) and isinstance(rerun, list):
        if len(recorded) != len(rerun):
            return [f"{where}: {len(recorded)} entries recorded, {len(rerun)} in the rerun"]
        out = []
        for i, (a, b) in enumerate(zip(recorded, rerun, strict=True)):
            out.extend(compare_json(a, b, tol, f"{path}[{i}]"))
        return out
    return [] if recorded == rerun else [f"{where}: {recorded!r} != {rerun!r}"]


def _cell(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _rows(source: Path | bytes) -> list[list[str]]:
    """A CSV's rows, from a file or its bytes."""
    text = source.decode("utf-8") if isinstance(source, bytes) else source.read_text("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def compare_csv(
    recorded: Path | bytes, rerun: Path | bytes, tol: Tolerance, label: str
) -> list[str]:
    """Differences between two CSV tables, cell by cell, numbers within tolerance."""
    rows_a, rows_b = _rows(recorded), _rows(rerun)
    if len(rows_a) != len(rows_b):
        return [f"{label}: {len(rows_a)} rows recorded, {len(rows_b)} in the rerun"]
    if rows_a and rows_a[0] != rows_b[0]:
        return [f"{label}: columns differ ({rows_a[0]} != {rows_b[0]})"]
    header = rows_a[0] if rows_a else []
    out = []
    for r, (ra, rb) in enumerate(zip(rows_a[1:], rows_b[1:], strict=True), start=1):
        for c, (a, b) in enumerate(zip(ra, rb, strict=False)):
            ca, cb = _cell(a), _cell(b)
            same = tol.close(cb, ca) if isinstance(ca, float) and isinstance(cb, float) else a == b
            if not same:
                col = header[c] if c < len(header) else str(c)
                out.append(f"{label}: row {r}, column {col}: {a!r} != {b!r}")
    return out


def compared_files(output: Path | Mapping[str, bytes]) -> dict[str, bytes]:
    """The files verify compares (``results.json``, ``tables/*.csv``) of a folder or an
    in-memory output, by relative path."""
    if isinstance(output, Path):
        paths = [output / "results.json", *sorted((output / "tables").glob("*.csv"))]
        return {p.relative_to(output).as_posix(): p.read_bytes() for p in paths if p.is_file()}
    return {k: v for k, v in output.items() if k == "results.json" or _is_table(k)}


def _is_table(name: str) -> bool:
    return name.startswith("tables/") and name.endswith(".csv")


def compare_outputs(
    recorded: Path | Mapping[str, bytes], rerun: Path | Mapping[str, bytes], tol: Tolerance
) -> list[str]:
    """Compare ``results.json`` and every ``tables/*.csv`` of two outputs (folders or files
    held in memory)."""
    a_files, b_files = compared_files(recorded), compared_files(rerun)
    out: list[str] = []
    if "results.json" in a_files or "results.json" in b_files:
        if "results.json" not in a_files or "results.json" not in b_files:
            out.append("results.json: present in only one of the two outputs")
        else:
            a = json.loads(a_files["results.json"])
            b = json.loads(b_files["results.json"])
            out.extend(f"results.json: {d}" for d in compare_json(a, b, tol))
    tables_a = {k for k in a_files if _is_table(k)}
    tables_b = {k for k in b_files if _is_table(k)}
    for name in sorted(tables_a ^ tables_b):
        out.append(f"{name}: present in only one of the two outputs")
    for name in sorted(tables_a & tables_b):
        out.extend(compare_csv(a_files[name], b_files[name], tol, name))
    return out
