"""Shared pieces of the estimators: record selection, hand-built design matrices, Wald rows.

Frames in (a BDS analysis frame), tidy DataFrames out; numbers are never rounded. Every
estimator selects its own records: ``PARAMCD == param``, ``ANL01FL == "Y"`` when the column is
there, and drops rows with a missing analysis value (observed cases, no imputation). Arm
comparisons are always "arm minus reference" (or ratio to the reference), in the order of
``arms`` (default: the arm codes sorted, reference first). Design matrices are built by hand
(treatment coding, reference level dropped) so the LS-mean weights are explicit and do not
depend on a formula engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from trialkit.errors import ModelSpecificationError

SUBJECT = "USUBJID"
ARM = "ARMCD"


# --- shared helpers --------------------------------------------------------------------------


def select_records(
    bds: pd.DataFrame,
    param: str,
    *,
    visit: str | Sequence[str] | None = None,
    post_baseline: bool = True,
) -> pd.DataFrame:
    """Records of ``param`` (optionally at ``visit``) flagged for analysis; a copy."""
    for col in ("PARAMCD", SUBJECT, ARM):
        if col not in bds.columns:
            raise ModelSpecificationError(f"BDS frame: column {col} is missing")
    keep = bds["PARAMCD"] == param
    if "ANL01FL" in bds.columns:
        keep &= bds["ANL01FL"].fillna("") == "Y"
    if post_baseline and "ABLFL" in bds.columns:
        keep &= bds["ABLFL"].fillna("") != "Y"
    if visit is not None:
        visits = [visit] if isinstance(visit, str) else list(visit)
        keep &= bds["AVISIT"].isin(visits)
    out = bds.loc[keep].copy()
    if out.empty:
        raise ModelSpecificationError(
            f"BDS frame: no analysis records for PARAMCD {param!r}"
            + (f" at {visit}" if visit is not None else "")
        )
    return out


def arm_order(values: pd.Series, reference: str, arms: Sequence[str] | None) -> list[str]:
    """Arm codes in output order: reference first, then ``arms`` order (default sorted)."""
    present = set(values.dropna().astype(str))
    if reference not in present:
        raise ModelSpecificationError(f"ARMCD: reference arm {reference!r} has no records")
    if arms is None:
        return [reference, *sorted(present - {reference})]
    order = [reference, *(a for a in arms if a != reference)]
    return [a for a in order if a in present]


def is_categorical(s: pd.Series) -> bool:
    """A covariate enters as a factor when it is not numeric (strings, categories, booleans)."""
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def design_matrix(
    frame: pd.DataFrame,
    arms: Sequence[str],
    covariates: Sequence[str],
    *,
    intercept: bool = True,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Treatment-coded design matrix and the LS-mean row of each arm (emmeans weighting).

    Continuous covariates sit at their mean over the rows given; a factor's levels get equal
    weight (each non-first level dummy = 1/k), as SAS LSMEANS and R emmeans do.
    """
    cols: dict[str, np.ndarray] = {}
    grid: dict[str, float] = {}
    if intercept:
        cols["Intercept"] = np.ones(len(frame))
        grid["Intercept"] = 1.0
    arm_values = frame[ARM].astype(str).to_numpy()
    for a in arms[1:]:
        cols[f"ARMCD[{a}]"] = (arm_values == a).astype(float)
        grid[f"ARMCD[{a}]"] = 0.0
    for c in covariates:
        s = frame[c]
        if is_categorical(s):
            levels = sorted(s.astype(str).unique())
            for lv in levels[1:]:
                cols[f"{c}[{lv}]"] = (s.astype(str).to_numpy() == lv).astype(float)
                grid[f"{c}[{lv}]"] = 1.0 / len(levels)
        else:
            cols[c] = s.astype(float).to_numpy()
            grid[c] = float(cols[c].mean())
    X = pd.DataFrame(cols, index=frame.index)
    base = np.array([grid[k] for k in X.columns])
    rows = {}
    for a in arms:
        r = base.copy()
        if a != arms[0]:
            r[list(X.columns).index(f"ARMCD[{a}]")] = 1.0
        rows[a] = r
    return X, rows


def wald(est: float, se: float, df: float, alpha: float) -> tuple[float, float, float, float]:
    """Two-sided Wald CI and p-value: t with ``df`` degrees of freedom, normal when df is inf."""
    dist: Any = stats.norm if not np.isfinite(df) else stats.t(df)
    q = float(dist.ppf(1 - alpha / 2))
    stat = est / se if se > 0 else np.nan
    p = float(2 * dist.sf(abs(stat))) if np.isfinite(stat) else np.nan
    return est - q * se, est + q * se, stat, p


def contrast_rows(
    params: np.ndarray,
    cov: np.ndarray,
    contrasts: dict[str, np.ndarray],
    df: float,
    alpha: float,
) -> list[dict[str, float]]:
    """Estimate, SE, CI, statistic and p-value of each linear combination ``L @ params``."""
    out = []
    for _, L in contrasts.items():
        est = float(L @ params)
        se = float(np.sqrt(L @ cov @ L))
        lo, hi, stat, p = wald(est, se, df, alpha)
        out.append(
            {
                "estimate": est,
                "se": se,
                "df": df,
                "lower": lo,
                "upper": hi,
                "statistic": stat,
                "p_value": p,
            }
        )
    return out


ROW_COLUMNS = ["estimate", "se", "df", "lower", "upper", "statistic", "p_value"]


def ratio_rows(
    params: np.ndarray | None,
    cov: np.ndarray | None,
    names: Sequence[str],
    arms: Sequence[str],
    alpha: float,
    ratio: str,
    short: str,
) -> pd.DataFrame:
    """Each arm's ``ARMCD[arm]`` coefficient (log scale, Wald z) and its ratio with CI.

    Serves odds ratios (logit link) and rate ratios (log link); ``names`` label the leading
    ``params``; ``params`` None (a model that
    cannot be fitted) gives missing rows. Columns: estimate, se, lower, upper, statistic,
    p_value, ``ratio``, ``short``_lower, ``short``_upper.
    """
    if params is None or cov is None:
        rows: list[dict[str, float]] = [dict.fromkeys(ROW_COLUMNS, np.nan) for _ in arms]
    else:
        contrasts = {}
        for arm in arms:
            L = np.zeros(len(params))  # params may go on past ``names`` (cut-points)
            L[list(names).index(f"ARMCD[{arm}]")] = 1.0
            contrasts[arm] = L
        rows = contrast_rows(params, cov, contrasts, np.inf, alpha)
    out = pd.DataFrame(rows, columns=ROW_COLUMNS).drop(columns="df")
    out[ratio] = np.exp(out["estimate"])
    out[f"{short}_lower"] = np.exp(out["lower"])
    out[f"{short}_upper"] = np.exp(out["upper"])
    return out


def complete_rows(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Rows with every column in ``columns`` present (observed cases)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ModelSpecificationError(f"BDS frame: column(s) {', '.join(missing)} missing")
    return frame.dropna(subset=list(columns))
