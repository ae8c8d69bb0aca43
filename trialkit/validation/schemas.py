"""Dataset schemas: the declarative pandera YAML files in ``schemas/``, specialised by the trial.

The files hold what is true of every trial (types, code lists, ranges, uniqueness); the
trial's arms, visits and parameter ranges are added here from the :class:`TrialDefinition`.
Pandera's failure cases are turned into findings with the rule ID of the failed check.
"""

from __future__ import annotations

import copy
from functools import cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.io.pandas_io import from_yaml

from trialkit.definition import Parameter, TrialDefinition
from trialkit.resources import schemas_dir
from trialkit.validation.findings import cell_findings, combine, empty_findings
from trialkit.vocabulary import PSEUDO_VISITS

#: Rule ID of each pandera check name; ``AVAL_range_*`` (added in code) is TK004 too.
CHECK_RULES = {
    "not_nullable": "TK001",
    "field_uniqueness": "TK005",
    "isin": "TK003",
    "in_range": "TK004",
    "greater_than_or_equal_to": "TK004",
    "less_than_or_equal_to": "TK004",
    "greater_than": "TK004",
    "less_than": "TK004",
}


#: The kind of parameter each dataset of findings by visit carries.
PARAMETER_KIND = {"assessments": "efficacy", "vital_signs": "safety"}


@cache
def load_schema(name: str) -> pa.DataFrameSchema:
    """The generic schema of dataset ``name``, read from ``schemas/<name>.yaml``."""
    return from_yaml(schemas_dir() / f"{name}.yaml")


def column_kinds(schema: pa.DataFrameSchema) -> dict[str, str]:
    """Each column's kind for conversion: ``number``, ``date`` or ``text``."""
    kinds = {}
    for name, col in schema.columns.items():
        dtype = str(col.dtype) if col.dtype is not None else ""
        kinds[name] = "date" if dtype.startswith("datetime64") else "number" if dtype else "text"
    return kinds


def specialise(name: str, definition: TrialDefinition) -> pa.DataFrameSchema:
    """The schema of dataset ``name`` with the trial's code lists and parameter ranges."""
    schema = load_schema(name)
    if name == "subjects":
        schema = _add_isin(schema, "ARMCD", [a.code for a in definition.arms])
    elif name == "exposure":
        schema = _add_isin(schema, "EXTRT", list(definition.treatments))
    elif name in PARAMETER_KIND:
        params = [p for p in definition.parameters if p.kind == PARAMETER_KIND[name]]
        visits = [v.code for v in definition.visits] + list(PSEUDO_VISITS)
        schema = _add_isin(schema, "VISIT", visits)
        schema = _add_isin(schema, "PARAMCD", [p.code for p in params])
        checks = [c for c in (_aval_check(p) for p in params) if c is not None]
        schema = copy.deepcopy(schema)
        schema.checks = [*schema.checks, *checks]
    return schema


#: Columns whose allowed values trial.toml sets (added by :func:`specialise`).
FROM_DEFINITION = {
    ("subjects", "ARMCD"): "an arm code of trial.toml",
    ("exposure", "EXTRT"): "a treatment of trial.toml (an `other` one by its `name`)",
    **{
        (n, "VISIT"): "a visit code of trial.toml, UNSCHEDULED, EARLY_TERMINATION"
        for n in PARAMETER_KIND
    },
    **{(n, "PARAMCD"): f"a parameter of kind {k} in trial.toml" for n, k in PARAMETER_KIND.items()},
    **{(n, "AVAL"): "the parameter's min to max, levels, whole if integer" for n in PARAMETER_KIND},
}


def _allowed(name: str, column: pa.Column) -> str:
    """What values a column takes: its code list or range, and what trial.toml adds."""
    parts = []
    for check in column.checks:
        stats = dict(check.statistics)
        low, high = stats.get("min_value"), stats.get("max_value")
        if check.name == "isin":
            parts.append(", ".join(f"`{v}`" for v in stats["allowed_values"]))
        elif low is not None and high is not None:
            parts.append(f"{_num(low)} to {_num(high)}")
        elif low is not None:
            parts.append(f">= {_num(low)}")
        elif high is not None:
            parts.append(f"<= {_num(high)}")
    parts += (
        [FROM_DEFINITION[(name, str(column.name))]]
        if (name, str(column.name)) in FROM_DEFINITION
        else []
    )
    return "; ".join(parts)


def datasets_reference() -> str:
    """Every dataset's columns as Markdown tables, as ``docs/datasets.md`` shows them."""
    from trialkit.datasets import REQUIRED_COLUMNS
    from trialkit.vocabulary import OPTIONAL_DATASETS

    kinds = {"date": "date", "number": "number", "text": "text"}
    out = []
    for name in REQUIRED_COLUMNS:
        schema = load_schema(name)
        optional = " (optional dataset)" if name in OPTIONAL_DATASETS else ""
        key = ", ".join(schema.metadata["record_key"])
        out += [f"### `{name}`{optional}", "", f"Record key: {key}.", ""]
        out += [
            "| column | type | value required | allowed values | meaning |",
            "|---|---|---|---|---|",
        ]
        for column_name, kind in column_kinds(schema).items():
            column = schema.columns[column_name]
            required = "no" if column.nullable else "yes"
            out.append(
                f"| `{column_name}` | {kinds[kind]} | {required} | {_allowed(name, column)} | "
                f"{column.description or ''} |"
            )
        out.append("")
    return "\n".join(out).rstrip()


def _add_isin(schema: pa.DataFrameSchema, column: str, allowed: list[str]) -> pa.DataFrameSchema:
    col = schema.columns[column]
    return schema.update_column(column, checks=[*col.checks, pa.Check.isin(allowed)])


def aval_problem(p: Parameter, aval: pd.Series) -> tuple[pd.Series, str]:
    """Mask of AVAL values breaking parameter ``p``'s range, levels or integrality; and why."""
    bad = pd.Series(False, index=aval.index)
    what = []
    if p.min is not None:
        bad |= aval < p.min
    if p.max is not None:
        bad |= aval > p.max
    if p.min is not None or p.max is not None:
        what.append(f"range {_num(p.min)} to {_num(p.max)}")
    if p.levels is not None:
        bad |= aval.notna() & ~aval.isin(list(p.levels))
        what.append(f"levels {', '.join(str(v) for v in p.levels)}")
    elif p.integer:
        bad |= aval.notna() & (aval != np.floor(aval))
        what.append("integer values")
    return bad, f"AVAL of {p.code} outside {' / '.join(what)}"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def _aval_check(p: Parameter) -> pa.Check | None:
    if p.min is None and p.max is None and p.levels is None and not p.integer:
        return None

    def ok(df: pd.DataFrame) -> pd.Series:
        return ~((df["PARAMCD"] == p.code) & aval_problem(p, df["AVAL"])[0])

    message = aval_problem(p, pd.Series(dtype="float64"))[1]
    return pa.Check(ok, name=f"AVAL_range_{p.code}", ignore_na=False, description=message)


def check_message(schema: pa.DataFrameSchema, column: str | None, check: str, number: int) -> str:
    """A one-line message for a failed pandera check."""
    if check == "not_nullable":
        return f"{column} is required"
    if check == "field_uniqueness":
        return f"{column} appears more than once"
    if check.startswith("AVAL_range_"):
        return next(str(c.description) for c in schema.checks if c.name == check)
    stats = dict(schema.columns[column].checks[number].statistics) if column else {}
    if check == "isin":
        return f"{column} not one of {', '.join(str(v) for v in stats['allowed_values'])}"
    if check == "in_range":
        return f"{column} outside {_num(stats['min_value'])} to {_num(stats['max_value'])}"
    if check in ("greater_than_or_equal_to", "greater_than"):
        return f"{column} below {_num(stats['min_value'])}"
    if check in ("less_than_or_equal_to", "less_than"):
        return f"{column} above {_num(stats['max_value'])}"
    return f"{column} fails {check}"


def schema_findings(name: str, frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Validate a converted frame against its schema; every failure case becomes a finding."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return empty_findings()
    cases = cases[cases["index"].notna()]
    wide = cases["check"].astype(str).str.startswith("AVAL_range_")
    cases = cases[~wide | (cases["column"] == "AVAL")]
    parts = []
    for (column, check, number), group in cases.groupby(
        ["column", "check", "check_number"], dropna=False, sort=False
    ):
        check = str(check).split("(")[0]
        rule = "TK004" if check.startswith("AVAL_range_") else CHECK_RULES.get(check, "TK003")
        mask = frame.index.isin(group["index"].astype("int64"))
        number = int(number) if pd.notna(number) else 0
        message = check_message(schema, str(column), check, number)
        parts.append(cell_findings(name, frame, mask, str(column), rule, message))
    return combine(parts)
