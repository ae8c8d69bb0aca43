"""The analysis results dataset (ARD): every number of ``results.json``'s primary analysis
(continuous or binary) and population, and of the secondary endpoints' tables, one row each, so
the report's key figures can be checked from the package alone.

Each row names the analysis, endpoint, arm, comparator and visit, the statistic, its value
and where it sits (SOURCE): in ``results.json`` (``primary.contrasts[2].estimate``) or, for a
secondary endpoint, whose numbers ``results.json`` does not hold but names the tables of, in
that table of the analysis folder (``tables/secondary_2_salt_week24_diffs.csv[0].estimate``,
0-based data row). Booleans are 1/0; missing values (null, blank, non-finite) have no row.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from trialkit.definition import TrialDefinition

#: results.json fields that say which row a number belongs to (not statistics themselves).
ARM_KEYS = ("arm", "ARMCD")
REFERENCE_KEYS = ("reference", "versus")
VISIT_KEYS = ("visit",)
#: Columns of secondary tables that place a row, besides the arm, comparator and visit.
TABLE_KEYS = ("visitn",)
#: ANALYSIS of a secondary table, by the last word of its name (``..._diffs``).
TABLE_ANALYSES = {"diffs": "CONTRASTS"}

#: (analysis, path in results.json) of the record lists exported; the model's scalars apart.
SECTIONS = (
    ("POPULATION", "population.by_arm"),
    ("PRIMARY LSMEANS", "primary.lsmeans"),
    ("PRIMARY ARMS", "primary.arms"),
    ("PRIMARY CONTRASTS", "primary.contrasts"),
    ("PRIMARY MULTIPLICITY", "primary.multiplicity.family"),
)
MODEL_STATISTICS = (
    "minus2_log_likelihood", "aic", "bic", "subjects", "observations",
    "subjects_without_post_baseline",
)  # fmt: skip
COLUMNS = ("STUDYID", "ANALYSIS", "ENDPOINT", "ARDARM", "ARDREF", "AVISIT", "STAT", "STATVAL",
           "SOURCE")  # fmt: skip


def _at(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for key in path.split("."):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


def _first(record: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    return next((record[k] for k in keys if record.get(k) is not None), None)


def _table_number(text: Any) -> float | None:
    """A table cell (text) as a finite number, None for text, blank or non-finite."""
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _secondary_rows(
    results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame], definition: TrialDefinition
) -> Iterator[dict[str, Any]]:
    """The numbers of each secondary endpoint's tables, in the SAP's order."""
    study = results.get("trial", {}).get("id")
    keys = {*ARM_KEYS, *REFERENCE_KEYS, *VISIT_KEYS, *TABLE_KEYS}
    entries = sorted(results.get("secondary", {}).items(), key=lambda kv: kv[1]["order"])
    for name, entry in entries:
        visit = definition.secondary[entry["order"] - 1].visit
        for table in entry.get("tables", []):
            word = table.rsplit("_", 1)[-1]
            analysis = f"SECONDARY {TABLE_ANALYSES.get(word, word.upper())}"
            for i, cells in enumerate(tables[table].to_dict(orient="records")):
                record = {str(k): v for k, v in cells.items()}
                for stat, value in record.items():
                    number = _table_number(value)
                    if stat in keys or number is None:
                        continue
                    yield {
                        "STUDYID": study, "ANALYSIS": analysis, "ENDPOINT": name,
                        "ARDARM": _first(record, ARM_KEYS),
                        "ARDREF": _first(record, REFERENCE_KEYS),
                        "AVISIT": _first(record, VISIT_KEYS) or visit, "STAT": stat,
                        "STATVAL": number, "SOURCE": f"tables/{table}.csv[{i}].{stat}",
                    }  # fmt: skip


def _rows(results: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    primary = results.get("primary", {})
    endpoint = primary.get("endpoint", {}).get("name")
    primary_visit = primary.get("endpoint", {}).get("visit")
    study = results.get("trial", {}).get("id")
    keys = {*ARM_KEYS, *REFERENCE_KEYS, *VISIT_KEYS}
    for analysis, path in SECTIONS:
        records = _at(results, path) or []
        where = results["population"]["name"] if analysis == "POPULATION" else endpoint
        visit = None if analysis == "POPULATION" else primary_visit
        for i, record in enumerate(records):
            for stat, value in record.items():
                number = _number(value)
                if stat in keys or number is None:
                    continue
                yield {
                    "STUDYID": study, "ANALYSIS": analysis, "ENDPOINT": where,
                    "ARDARM": _first(record, ARM_KEYS), "ARDREF": _first(record, REFERENCE_KEYS),
                    "AVISIT": _first(record, VISIT_KEYS) or visit, "STAT": stat,
                    "STATVAL": number, "SOURCE": f"{path}[{i}].{stat}",
                }  # fmt: skip
    model = primary.get("model", {})
    for stat in MODEL_STATISTICS:
        number = _number(model.get(stat))
        if number is not None:
            yield {
                "STUDYID": study, "ANALYSIS": "PRIMARY MODEL", "ENDPOINT": endpoint,
                "ARDARM": None, "ARDREF": None, "AVISIT": None, "STAT": stat,
                "STATVAL": number, "SOURCE": f"primary.model.{stat}",
            }  # fmt: skip


def ard_frame(
    results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame], definition: TrialDefinition
) -> pd.DataFrame:
    """The ARD rows (columns :data:`COLUMNS`) of a ``results.json`` document and of the
    secondary endpoints' ``tables`` it names (text cells, by table name)."""
    rows = [*_rows(results), *_secondary_rows(results, tables, definition)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def value_at(results: Mapping[str, Any], source: str) -> Any:
    """The value of ``results.json`` at a SOURCE path (``a.b[2].c``), for checks."""
    node: Any = results
    for part in source.split("."):
        name, _, index = part.partition("[")
        node = node[name]
        if index:
            node = node[int(index.rstrip("]"))]
    return node


__all__ = ["COLUMNS", "ard_frame", "value_at"]
