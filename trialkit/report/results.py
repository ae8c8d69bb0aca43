"""Read the output folder of ``trialkit analyze`` (see ``docs/results.md``) for reporting.

Only ``results.json`` is required; tables and derived datasets are read on first use, and a
missing one is simply absent (the section that needs it says "not available"). Only regular
files inside the folder are read (:func:`trialkit.datasets.check_input_file`): a FIFO or a
device there is refused at once, never opened.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trialkit.analysis.supporting import SECTIONS
from trialkit.csv_safety import restore_formulas
from trialkit.datasets import check_input_file
from trialkit.errors import InputError
from trialkit.vocabulary import RESULTS_SCHEMA_VERSION

#: Identifier and code columns, read as text whatever they look like.
TEXT_COLUMNS = (
    "USUBJID", "SITEID", "SITEGR1", "ARMCD", "arm", "reference", "visit", "AVISIT", "PARAMCD",
    "SEVERITY", "level", "site", "pooled_into",
)  # fmt: skip
DATE_COLUMNS = ("RANDDT", "EOSDT", "ADT", "AESTDT", "AEENDT", "EXSTDT", "EXENDT", "TRTSDT")


def read_csv(source: Path | bytes, name: str) -> pd.DataFrame:
    """A results CSV (a file, or its bytes; ``name`` for messages): identifiers as text, ISO
    dates parsed, empty cells missing, formula-safe text cells restored to the exact text."""
    try:
        frame = pd.read_csv(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            keep_default_na=False,
            na_values=[""],
            low_memory=False,
            dtype={c: "string" for c in TEXT_COLUMNS},  # keeps leading zeros ("02")
        )
    except pd.errors.EmptyDataError:  # a table without columns (nothing to compare at a look)
        return pd.DataFrame()
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{name}: cannot be read ({str(exc).splitlines()[0]})") from None
    for col in DATE_COLUMNS:
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col], errors="coerce", format="ISO8601")
    return restore_formulas(frame)


def _parse_results(text: bytes | str, path: Path | str) -> dict[str, Any]:
    """The parsed ``results.json``; a malformed one is unusable input (exit 2)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(data, Mapping) or "schema_version" not in data:
        raise InputError(f"{path}: not a trialkit results file (no schema_version)")
    if data["schema_version"] != RESULTS_SCHEMA_VERSION:
        raise InputError(
            f"{path}: results of schema_version {data['schema_version']!r}; this trialkit reads "
            f"schema_version {RESULTS_SCHEMA_VERSION!r} (analyse again with this version)"
        )
    return dict(data)


@dataclass
class AnalysisOutput:
    """An analysis output: ``results.json`` plus lazily read ``tables/`` and ``adam/``, from a
    folder written by ``trialkit analyze`` or held in memory (a report's own analysis, which
    is never written to disk)."""

    root: Path
    results: dict[str, Any]
    files: Mapping[str, bytes] | None = None  # in memory: relative path -> content
    _cache: dict[str, pd.DataFrame | None] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, root: Path) -> AnalysisOutput:
        """Read ``root/results.json``; a missing or malformed one is unusable input (exit 2)."""
        path = Path(root) / "results.json"
        if not os.path.lexists(path):
            raise InputError(f"{path}: not found (is {root} the output of trialkit analyze?)")
        check_input_file(path, Path(root))
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        return cls(root=Path(root), results=_parse_results(text, path))

    @classmethod
    def from_files(cls, files: Mapping[str, bytes]) -> AnalysisOutput:
        """An analysis held in memory (``AnalysisResults.files()``)."""
        return cls(
            root=Path("<memory>"),
            results=_parse_results(files["results.json"], "results.json"),
            files=files,
        )

    def _frame(self, sub: str, name: str) -> pd.DataFrame | None:
        """A CSV of ``sub/`` read once and cached (``None`` when absent)."""
        key = f"{sub}/{name}.csv"
        if key not in self._cache:
            if self.files is not None:
                content = self.files.get(key)
                self._cache[key] = None if content is None else read_csv(content, key)
            else:
                self._cache[key] = self._read_file(self.root / key)
        return self._cache[key]

    def _read_file(self, path: Path) -> pd.DataFrame | None:
        """A CSV of the folder (``None`` when absent); one that is not a regular file in the
        folder is unusable input."""
        if not os.path.lexists(path):
            return None
        check_input_file(path, self.root)
        return read_csv(path, str(path))

    def table(self, name: str) -> pd.DataFrame | None:
        """``tables/NAME.csv`` (``NAME`` may also carry the ``.csv`` or a ``tables/`` prefix)."""
        name = name.removeprefix("tables/").removesuffix(".csv")
        return self._frame("tables", name)

    def adam(self, name: str) -> pd.DataFrame | None:
        """``adam/NAME.csv``."""
        return self._frame("adam", name.removesuffix(".csv"))

    def get(self, *keys: str) -> Any:
        """A nested value of ``results.json`` or ``None`` when any key is absent."""
        node: Any = self.results
        for key in keys:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        return node

    def rows(self, *keys: str) -> pd.DataFrame | None:
        """A list of row objects in ``results.json`` as a frame (``None`` when absent/empty)."""
        value = self.get(*keys)
        if not isinstance(value, list) or not value:
            return None
        return pd.DataFrame(value)

    def not_run(self) -> list[dict[str, str]]:
        """Every supporting analysis that failed: section, name, description and reason."""
        rows = []
        for section in SECTIONS:
            entries = self.get(section)
            if not isinstance(entries, Mapping):
                continue
            for name, entry in entries.items():
                if isinstance(entry, Mapping) and entry.get("status") == "failed":
                    rows.append(
                        {
                            "section": section,
                            "name": str(name),
                            "description": str(entry.get("description") or ""),
                            "reason": str(entry.get("message") or "no reason recorded"),
                        }
                    )
        return rows

    def supporting(
        self, group: str
    ) -> dict[str, tuple[dict[str, Any], list[tuple[str, pd.DataFrame]]]]:
        """Analyses of a supporting group (``sensitivity``...): name -> (entry, its tables).

        An entry names its tables with ``tables`` (a list) or ``table`` (one name); tables that
        are not in the folder are left out.
        """
        entries = self.get(group)
        out: dict[str, tuple[dict[str, Any], list[tuple[str, pd.DataFrame]]]] = {}
        if not isinstance(entries, Mapping):
            return out

        def position(item: tuple[str, Any]) -> int:
            order = item[1].get("order") if isinstance(item[1], Mapping) else None
            return order if isinstance(order, int) else 0

        # entries with an ``order`` (secondary endpoints) in the SAP's order, others as written
        for name, entry in sorted(entries.items(), key=position):
            if not isinstance(entry, Mapping):
                continue
            names = entry.get("tables") or ([entry["table"]] if entry.get("table") else [])
            frames = [(str(t), self.table(str(t))) for t in names]
            out[str(name)] = (dict(entry), [(t, f) for t, f in frames if f is not None])
        return out
