"""The results of ``trialkit analyze``: one object, its JSON form and its output folder.

The structure is documented in ``docs/results.md`` and ``schemas/results.schema.json``.
JSON keys are sorted, floats keep full precision, missing values are ``null`` (never NaN);
CSV rows keep the documented order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialkit.analysis.binary import BinaryEndpointResult, binary_family
from trialkit.analysis.interim import ARM_COLUMNS, BOUNDARY_COLUMNS, InterimLook
from trialkit.analysis.missing_data import TABLE_DESCRIPTIONS as MISSING_DATA_TABLES
from trialkit.analysis.primary import PrimaryResult, fallback_reason, residual_qq
from trialkit.analysis.subgroups import SUBGROUP_COLUMNS, SubgroupResult
from trialkit.csv_safety import neutralise_formulas
from trialkit.derive.dummy import DUMMY_VALUE, mark_dummy
from trialkit.estimators.multiplicity import MultiplicityResult
from trialkit.vocabulary import RESULTS_SCHEMA_VERSION

SCHEMA_VERSION = RESULTS_SCHEMA_VERSION

CONTRAST_OUTPUT_COLUMNS = (
    "arm", "reference", "visit", "visitn", "estimate", "se", "df", "t", "p", "lower", "upper",
    "primary_visit", "p_adjusted", "simultaneous_lower", "simultaneous_upper", "status",
    "reason",
)  # fmt: skip
MULTIPLICITY_COLUMNS = (
    "method", "arm", "versus", "comparison", "estimate", "t", "df", "p", "p_adjusted",
    "rejected", "critical_value",
)  # fmt: skip
FINDING_OUTPUT_COLUMNS = (
    "rule", "severity", "dataset", "row", "usubjid", "visit", "column", "value", "message",
)  # fmt: skip

TABLE_DESCRIPTIONS = {
    "population": "Subjects per arm: randomised, in the analysis population, analysed",
    "primary_model": "Primary MMRM: model facts (key, value)",
    "primary_attempts": "Primary MMRM: covariance structures tried, in order",
    "primary_fixed_effects": "Primary MMRM: fixed-effect estimates",
    "primary_type3": "Primary MMRM: type III F tests",
    "primary_covariance": "Primary MMRM: estimated within-subject covariance over visits",
    "primary_residual_qq": "Primary MMRM: normal QQ positions of the residuals (RESID of "
    "adam/analysis_primary.csv), with the fitted line",
    "primary_lsmeans": "Primary MMRM: LS means per arm and visit",
    "primary_contrasts": "Primary analysis: each comparison of the plan (MMRM: per visit; "
    "binary: risk difference and odds ratio)",
    "primary_arms": "Binary primary: subjects, responders and proportion per arm",
    "multiplicity": "Multiplicity adjustment at the primary visit",
    "subgroups": "Subgroups: arm effect per subgroup level at the primary visit",
    "validation_findings": "Validation findings of the data analysed",
    "interim_arms": "Group sequential look: each active arm's z, boundaries, crossings",
    "interim_boundaries": "Group sequential look: each active arm's updated boundaries",
    **MISSING_DATA_TABLES,
}


def clean(value: Any) -> Any:
    """A JSON-ready copy: numpy scalars to Python, NaN/inf and NA to None, dates to ISO text."""
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, pd.Timestamp | datetime):
        return None if pd.isna(value) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-ready dicts."""
    return [
        clean(dict(zip(frame.columns, row, strict=True))) for row in frame.itertuples(index=False)
    ]


@dataclass
class AnalysisResults:
    """Everything ``trialkit analyze`` found; the tables are DataFrames (see docs/results.md)."""

    trial: dict[str, str]
    cutoff: date | None
    dummy_seed: int | None
    alpha: float
    arms: list[dict[str, Any]]
    visits: list[dict[str, Any]]
    population_name: str
    population_flag: str
    population: pd.DataFrame
    #: subjects left out of the randomised population because of their data (USUBJID, reason)
    excluded: pd.DataFrame
    estimand: dict[str, Any]
    findings: pd.DataFrame
    allowed_errors: bool
    endpoint: dict[str, Any]
    #: the MMRM of a continuous primary (None for a binary primary: see ``binary``)
    primary: PrimaryResult | None
    #: (arm, versus) of each comparison, in the order of the multiplicity family
    comparisons: list[tuple[str, str]]
    multiplicity: MultiplicityResult
    primary_visit: str
    model_info: dict[str, Any]
    subgroup_results: list[SubgroupResult]
    adam: dict[str, pd.DataFrame] = field(default_factory=dict)
    supporting: dict[str, dict[str, Any]] = field(default_factory=dict)
    supporting_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    interim: InterimLook | None = None
    trialkit_version: str = ""
    #: the analysis of a binary (responder) primary
    binary: BinaryEndpointResult | None = None

    def _mmrm(self) -> PrimaryResult:
        """The primary MMRM (asked for only where the primary is continuous)."""
        assert self.primary is not None, "the primary endpoint is binary"
        return self.primary

    @property
    def family(self) -> pd.DataFrame:
        """The comparisons at the primary visit (arm, reference, estimate, se, df, t, p), in
        the order of the multiplicity family."""
        if self.binary is not None:
            return binary_family(self.binary)
        con = self._mmrm().contrasts
        return con.loc[con["visit"] == self.primary_visit].reset_index(drop=True)

    # ---- the tables -------------------------------------------------------------------
    @property
    def dummy(self) -> bool:
        """True when ARMCD was permuted."""
        return self.dummy_seed is not None

    @property
    def lsmeans(self) -> pd.DataFrame:
        """LS means per arm and visit."""
        return self._mmrm().lsmeans.copy()

    @property
    def contrasts(self) -> pd.DataFrame:
        """Active minus reference per visit, with adjusted p-values at the primary visit."""
        con = self._mmrm().contrasts.copy()
        m = self.multiplicity
        at = (con["visit"] == self.primary_visit).to_numpy()
        con["primary_visit"] = at
        con["p_adjusted"] = np.nan
        con["simultaneous_lower"] = np.nan
        con["simultaneous_upper"] = np.nan
        for i, (arm, versus) in enumerate(self.comparisons):
            row = at & (con["arm"] == arm).to_numpy() & (con["reference"] == versus).to_numpy()
            con.loc[row, "p_adjusted"] = m.p_adjusted[i]
            if m.simultaneous_lower is not None and m.simultaneous_upper is not None:
                con.loc[row, "simultaneous_lower"] = m.simultaneous_lower[i]
                con.loc[row, "simultaneous_upper"] = m.simultaneous_upper[i]
        return con[list(CONTRAST_OUTPUT_COLUMNS)]

    @property
    def fixed_effects(self) -> pd.DataFrame:
        """Fixed-effect estimates of the primary MMRM."""
        return self._mmrm().fixed_effects.copy()

    @property
    def model(self) -> dict[str, Any]:
        """``primary.model`` of results.json."""
        return dict(self.model_info)

    @property
    def subgroups(self) -> pd.DataFrame:
        """Arm effect per subgroup level at the primary visit (all factors stacked)."""
        parts = [s.estimates for s in self.subgroup_results if len(s.estimates)]
        if not parts:
            return pd.DataFrame(columns=list(SUBGROUP_COLUMNS))
        return pd.concat(parts, ignore_index=True)[list(SUBGROUP_COLUMNS)]

    @property
    def multiplicity_table(self) -> pd.DataFrame:
        """The family at the primary visit with adjusted p-values."""
        m = self.multiplicity
        at = self.family.set_index(["arm", "reference"])
        rows = []
        for i, pair in enumerate(self.comparisons):
            rows.append(
                {
                    "method": m.method,
                    "arm": pair[0],
                    "versus": pair[1],
                    "comparison": m.arms[i],
                    "estimate": at.loc[pair, "estimate"],
                    "t": at.loc[pair, "t"],
                    "df": m.df if m.df is not None else at.loc[pair, "df"],
                    "p": at.loc[pair, "p"],
                    "p_adjusted": m.p_adjusted[i],
                    "rejected": m.rejected[i],
                    "critical_value": m.critical_value,
                }
            )
        return pd.DataFrame(rows, columns=list(MULTIPLICITY_COLUMNS))

    @property
    def binary_contrasts(self) -> pd.DataFrame:
        """A binary primary's comparisons with the adjusted p-values (family order)."""
        assert self.binary is not None
        con = self.binary.contrasts.copy()
        con["p_adjusted"] = list(self.multiplicity.p_adjusted)
        return con

    def _primary_tables(self) -> dict[str, pd.DataFrame]:
        """The primary analysis' tables: the MMRM's, or a binary primary's arms and contrasts."""
        if self.binary is not None:
            return {
                "population": self.population,
                "primary_arms": self.binary.arms,
                "primary_contrasts": self.binary_contrasts,
                "multiplicity": self.multiplicity_table,
            }
        fit = self._mmrm().fit
        scalars = {
            k: v for k, v in self.model_info.items() if not isinstance(v, list | dict | tuple)
        }
        cov = fit.results.covariance if fit is not None else pd.DataFrame()
        assert isinstance(cov, pd.DataFrame)
        attempts = fit.attempts if fit is not None else []
        return {
            "population": self.population,
            "primary_model": pd.DataFrame(
                {"key": list(scalars), "value": [clean(v) for v in scalars.values()]}
            ),
            "primary_attempts": pd.DataFrame(
                [
                    {"covariance": a.covariance, "converged": a.converged, "message": a.message}
                    for a in attempts
                ],
                columns=["covariance", "converged", "message"],
            ),
            "primary_fixed_effects": self.fixed_effects,
            "primary_type3": self._mmrm().type3,
            "primary_covariance": cov.rename_axis("visit").reset_index()
            if len(cov)
            else pd.DataFrame(columns=["visit"]),
            "primary_residual_qq": residual_qq(
                self.adam.get("analysis_primary", pd.DataFrame()).get("RESID", pd.Series())
            ),
            "primary_lsmeans": self.lsmeans,
            "primary_contrasts": self.contrasts,
            "multiplicity": self.multiplicity_table,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table written to ``tables/``, by file stem (documented order)."""
        out = {
            **self._primary_tables(),
            "subgroups": self.subgroups,
            "validation_findings": self._findings_table(),
        }
        if self.interim is not None:
            out["interim_arms"] = self.interim.arms[list(ARM_COLUMNS)]
            out["interim_boundaries"] = self.interim.boundaries.reindex(
                columns=list(BOUNDARY_COLUMNS)
            )
        out.update(self.supporting_tables)
        return out

    def _findings_table(self) -> pd.DataFrame:
        f = self.findings.copy()
        for col in FINDING_OUTPUT_COLUMNS:
            if col not in f.columns:
                f[col] = None
        return f[list(FINDING_OUTPUT_COLUMNS)].reset_index(drop=True)

    # ---- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The content of results.json (JSON-ready)."""
        m = self.multiplicity
        errors = int((self.findings["severity"] == "error").sum()) if len(self.findings) else 0
        warnings = int((self.findings["severity"] == "warning").sum()) if len(self.findings) else 0
        err_rows = self._findings_table()
        err_rows = err_rows.loc[err_rows["severity"] == "error"]
        mult_family = [
            {
                "arm": r["arm"],
                "versus": r["versus"],
                "comparison": r["comparison"],
                "estimate": r["estimate"],
                "t": r["t"],
                "p": r["p"],
                "p_adjusted": r["p_adjusted"],
                "rejected": r["rejected"],
            }
            for r in records(self.multiplicity_table)
        ]
        crossed = self._crossed()
        for member in mult_family:
            member["crossed"] = crossed.get((member["arm"], member["versus"]))
        subgroups = []
        for s in self.subgroup_results:
            entry: dict[str, Any] = {
                "variable": s.variable,
                "label": s.label,
                "cuts": list(s.cuts),
                "visit": s.visit,
                "interaction_f": s.interaction_f,
                "interaction_num_df": s.interaction_num_df,
                "interaction_den_df": s.interaction_den_df,
                "interaction_p": s.interaction_p,
                "converged": s.converged,
                "covariance": s.covariance,
                "levels": s.levels,
                "estimates": [
                    {
                        k: v
                        for k, v in r.items()
                        if k not in ("subgroup", "variable", "interaction_p")
                    }
                    for r in records(s.estimates)
                ],
            }
            if s.message:
                entry["message"] = s.message
            subgroups.append(entry)
        tables = self.tables()
        doc: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "trialkit_version": self.trialkit_version,
            "trial": self.trial,
            "cutoff": self.cutoff,
            "dummy": self.dummy,
            "dummy_seed": self.dummy_seed,
            "alpha": self.alpha,
            "confidence_level": 1.0 - self.alpha,
            "arms": self.arms,
            "visits": self.visits,
            "population": {
                "name": self.population_name,
                "flag": self.population_flag,
                "by_arm": records(self.population),
                "excluded": records(self.excluded),
            },
            "estimand": self.estimand,
            "validation": {
                "errors": errors,
                "warnings": warnings,
                "allowed_errors": self.allowed_errors,
                "findings": records(err_rows),
            },
            "primary": {
                "kind": "continuous" if self.binary is None else "binary",
                "endpoint": self.endpoint,
                "model": self.model_info,
                **self._primary_rows(),
                "multiplicity": {
                    "method": m.method,
                    "rule": self.confirmatory_rule,
                    "alpha": m.alpha,
                    "visit": self.primary_visit,
                    "order": list(m.order),
                    "df": m.df,
                    "critical_value": m.critical_value,
                    "correlation": [list(r) for r in m.correlation] if m.correlation else None,
                    "family": mult_family,
                },
            },
            "subgroups": subgroups,
            "tables": [
                {
                    "name": name,
                    "path": f"tables/{name}.csv",
                    "description": TABLE_DESCRIPTIONS.get(name, self._supporting_description(name)),
                }
                for name in tables
            ],
            "adam": [
                {
                    "name": name,
                    "path": f"adam/{name}.csv",
                    "description": ADAM_DESCRIPTIONS.get(name, name),
                }
                for name in self.adam
            ],
        }
        if self.interim is not None:
            doc["interim"] = self.interim.to_json()
        for section, content in self.supporting.items():
            doc[section] = content
        return dict(clean(doc))

    @property
    def confirmatory_rule(self) -> str:
        """The one rule that decides the primary comparisons, as every output states it: with an
        ``[interim]`` plan its group sequential test (the plan's one-sided alpha and its split
        over the comparisons), else the multiplicity method at the two-sided alpha."""
        if self.interim is not None:
            return (
                f"group sequential test: {self.interim.to_json()['alpha_rule']}; the "
                f"{self.multiplicity.method} adjusted p-values are shown beside it, not decisive"
            )
        return f"{self.multiplicity.method} at two-sided alpha {self.alpha:g}"

    def _crossed(self) -> dict[tuple[str, str], bool | None]:
        """Whether each comparison crossed its efficacy boundary at this look (empty without
        an ``[interim]`` plan)."""
        if self.interim is None:
            return {}
        arms = self.interim.to_json().get("arms") or []
        return {(str(r["arm"]), str(r.get("reference"))): r.get("efficacy_crossed") for r in arms}

    def _primary_rows(self) -> dict[str, list[dict[str, Any]]]:
        """results.json rows of the primary: LS means and contrasts (continuous), or arms and
        contrasts (binary: risk difference and odds ratio per comparison)."""
        if self.binary is not None:
            return {
                "arms": records(self.binary.arms),
                "contrasts": records(self.binary_contrasts),
            }
        return {
            "lsmeans": records(self.lsmeans.drop(columns=["visitn"])),
            "contrasts": records(self.contrasts.drop(columns=["visitn"])),
        }

    def _supporting_description(self, name: str) -> str:
        for content in self.supporting.values():
            for entry in content.values():
                if isinstance(entry, dict) and entry.get("table") == name:
                    return str(entry.get("description", name))
        return name

    def to_json(self) -> str:
        """results.json text: sorted keys, full precision, no NaN."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, allow_nan=False) + "\n"

    # ---- the folder -------------------------------------------------------------------
    def files(self) -> dict[str, bytes]:
        """The output folder's files in memory: results.json, tables/*.csv, adam/*.csv (and
        DUMMY.txt), by relative path; what :meth:`write` writes, byte for byte."""
        files = {"results.json": self.to_json().encode("utf-8")}
        for name, frame in self.tables().items():
            files[f"tables/{name}.csv"] = csv_text(frame, self.dummy).encode("utf-8")
        for name, frame in self.adam.items():
            files[f"adam/{name}.csv"] = csv_text(frame, self.dummy).encode("utf-8")
        if self.dummy:
            files["DUMMY.txt"] = (
                f"{DUMMY_VALUE}: treatment arms were permuted at random (seed {self.dummy_seed}).\n"
                "These outputs test the programs; they say nothing about the treatments.\n"
            ).encode()
        return files

    def write(self, folder: Path) -> None:
        """Write :meth:`files` into ``folder``."""
        folder = Path(folder)
        for rel, content in self.files().items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)


ADAM_DESCRIPTIONS = {
    "adsl": "Subject-level analysis dataset",
    "adbds": "BDS analysis dataset of every parameter (estimand applied)",
    "adae": "Adverse events with treatment-emergence flag",
    "adex": "Exposure records analysed (after the cutoff and any dummy randomisation)",
    "advs": "BDS analysis dataset of the vital signs, with alert flags (when collected)",
    "analysis_primary": "The rows fitted by the primary MMRM",
}


def csv_text(frame: pd.DataFrame, dummy: bool = False) -> str:
    """CSV with full-precision floats, ISO dates, true/false booleans, formula-safe text cells
    (:mod:`trialkit.csv_safety`); a DUMMY column if dummy."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.map({True: "true", False: "false"})
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d")
        elif s.dtype == object:
            out[col] = s.map(lambda v: ("true" if v else "false") if isinstance(v, bool) else v)
    if dummy:
        out = mark_dummy(out)
    return str(neutralise_formulas(out).to_csv(index=False, lineterminator="\n"))


__all__ = ["SCHEMA_VERSION", "AnalysisResults", "clean", "csv_text", "fallback_reason", "records"]
