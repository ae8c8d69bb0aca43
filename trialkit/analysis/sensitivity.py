"""Sensitivity analyses of a continuous endpoint: ANCOVA, random-slope model, NB GEE of counts.

Frames in (a BDS analysis frame), tidy DataFrames out; numbers are never rounded. Every
function selects its own records: ``PARAMCD == param``, ``ANL01FL == "Y"`` when the column is
there, and drops rows with a missing analysis value (observed cases, no imputation). Arm
comparisons are always "arm minus reference" (or ratio to the reference), in the order of
``arms`` (default: the arm codes sorted, reference first).

The private helpers ``_design`` and ``_contrast_rows`` are shared with ``responders`` and
``secondary``: design matrices are built by hand (treatment coding, reference level dropped) so
the LS-mean weights are explicit and do not depend on a formula engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.regression.linear_model import OLS

from trialkit.analysis.gee import GeeFit, fit_count_gee
from trialkit.analysis.mixed import MixedFit, fit_mixed
from trialkit.errors import ConvergenceError, ModelSpecificationError

SUBJECT = "USUBJID"
ARM = "ARMCD"


# --- shared helpers --------------------------------------------------------------------------


def _select(
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


def _arm_order(values: pd.Series, reference: str, arms: Sequence[str] | None) -> list[str]:
    """Arm codes in output order: reference first, then ``arms`` order (default sorted)."""
    present = set(values.dropna().astype(str))
    if reference not in present:
        raise ModelSpecificationError(f"ARMCD: reference arm {reference!r} has no records")
    if arms is None:
        return [reference, *sorted(present - {reference})]
    order = [reference, *(a for a in arms if a != reference)]
    return [a for a in order if a in present]


def _is_categorical(s: pd.Series) -> bool:
    """A covariate enters as a factor when it is not numeric (strings, categories, booleans)."""
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _design(
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
        if _is_categorical(s):
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


def _wald(est: float, se: float, df: float, alpha: float) -> tuple[float, float, float, float]:
    """Two-sided Wald CI and p-value: t with ``df`` degrees of freedom, normal when df is inf."""
    dist: Any = stats.norm if not np.isfinite(df) else stats.t(df)
    q = float(dist.ppf(1 - alpha / 2))
    stat = est / se if se > 0 else np.nan
    p = float(2 * dist.sf(abs(stat))) if np.isfinite(stat) else np.nan
    return est - q * se, est + q * se, stat, p


def _contrast_rows(
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
        lo, hi, stat, p = _wald(est, se, df, alpha)
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


def _ratio_rows(
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
        rows = _contrast_rows(params, cov, contrasts, np.inf, alpha)
    out = pd.DataFrame(rows, columns=ROW_COLUMNS).drop(columns="df")
    out[ratio] = np.exp(out["estimate"])
    out[f"{short}_lower"] = np.exp(out["lower"])
    out[f"{short}_upper"] = np.exp(out["upper"])
    return out


def _complete(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Rows with every column in ``columns`` present (observed cases)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ModelSpecificationError(f"BDS frame: column(s) {', '.join(missing)} missing")
    return frame.dropna(subset=list(columns))


# --- ANCOVA ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AncovaResult:
    """ANCOVA at one visit: LS means by arm, differences vs reference, and the OLS fit."""

    lsmeans: pd.DataFrame
    diffs: pd.DataFrame
    fit: Any


def ancova(
    bds: pd.DataFrame,
    *,
    param: str,
    visit: str,
    reference: str,
    covariates: Sequence[str] = (),
    variable: str = "CHG",
    arms: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> AncovaResult:
    """ANCOVA (OLS) of ``variable ~ ARMCD + BASE + covariates`` at ``visit``, observed cases.

    Sensitivity analysis of the MMRM primary: one visit, no modelling of the other visits.
    ``lsmeans`` columns: arm, n, estimate, se, df, lower, upper (covariates at their mean over
    the fit, factor levels equally weighted). ``diffs`` columns: arm, reference, estimate, se,
    df, lower, upper, statistic (t), p_value; df is the residual df.
    """
    data = _complete(_select(bds, param, visit=visit), [variable, "BASE", *covariates])
    order = _arm_order(data[ARM], reference, arms)
    data = data[data[ARM].astype(str).isin(order)]
    X, rows = _design(data, order, ["BASE", *covariates])
    fit = OLS(data[variable].astype(float).to_numpy(), X).fit()
    params, cov, df = fit.params.to_numpy(), fit.cov_params().to_numpy(), float(fit.df_resid)
    counts = data[ARM].astype(str).value_counts()
    ls = pd.DataFrame(_contrast_rows(params, cov, rows, df, alpha))
    ls.insert(0, "n", [int(counts.get(a, 0)) for a in order])
    ls.insert(0, "arm", order)
    ls = ls.drop(columns=["statistic", "p_value"])
    diffs = pd.DataFrame(
        _contrast_rows(params, cov, {a: rows[a] - rows[order[0]] for a in order[1:]}, df, alpha)
    )
    diffs.insert(0, "reference", reference)
    diffs.insert(0, "arm", order[1:])
    return AncovaResult(lsmeans=ls, diffs=diffs, fit=fit)


# --- random intercept and slope --------------------------------------------------------------


@dataclass(frozen=True)
class RandomSlopeResult:
    """Random-slope mixed model: arm differences at a time point, and the REML fit."""

    diffs: pd.DataFrame
    at: float
    fit: MixedFit


def random_slope(
    bds: pd.DataFrame,
    *,
    param: str,
    reference: str,
    visit: str,
    at: float | None = None,
    time: str = "ADY",
    time_scale: float = 7.0,
    variable: str = "CHG",
    arms: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> RandomSlopeResult:
    """Mixed model ``variable ~ ARMCD * t + BASE``, random intercept and slope in t by subject.

    t = ``time`` / ``time_scale`` (default: study day in weeks), fitted by REML (statsmodels
    MixedLM's criterion and optimiser, vectorised over subjects: :mod:`trialkit.analysis.mixed`;
    unstructured 2x2 random-effect covariance) on all post-baseline analysis records.
    The arm difference is evaluated at ``at`` (in ``time`` units; default: the median of
    ``time`` among the records at ``visit``, the caller should pass the visit's scheduled day).
    ``diffs`` columns: arm, reference, time, estimate, se, df, lower, upper, statistic (z),
    p_value. CIs and p-values are Wald z (df = inf), statsmodels' convention; lmerTest's
    Satterthwaite t differs only in the quantile. The covariance of the fixed effects is
    (X'V^-1 X)^-1 at the REML estimates (lme4's ``vcov``).
    """
    data = _complete(_select(bds, param), [variable, "BASE", time])
    order = _arm_order(data[ARM], reference, arms)
    data = data[data[ARM].astype(str).isin(order)].sort_values([SUBJECT, time])
    if at is None:
        at_visit = data.loc[data["AVISIT"] == visit, time]
        if at_visit.empty:
            raise ModelSpecificationError(f"BDS frame: no {param} records at {visit}")
        at = float(at_visit.median())
    at = float(at)
    t = data[time].astype(float).to_numpy() / time_scale
    X, _ = _design(data, order, [])
    X["t"] = t
    for a in order[1:]:
        X[f"ARMCD[{a}]:t"] = X[f"ARMCD[{a}]"] * t
    X["BASE"] = data["BASE"].astype(float).to_numpy()
    Z = np.column_stack([np.ones(len(t)), t])
    fit = fit_mixed(
        data[variable].astype(float).to_numpy(), X, Z, data[SUBJECT].to_numpy(),
        f"random-slope model of {param}",
    )  # fmt: skip
    k = X.shape[1]
    params, cov = fit.fe_params.to_numpy(), fit.cov_fe
    names = list(X.columns)
    contrasts = {}
    for a in order[1:]:
        L = np.zeros(k)
        L[names.index(f"ARMCD[{a}]")] = 1.0
        L[names.index(f"ARMCD[{a}]:t")] = at / time_scale
        contrasts[a] = L
    diffs = pd.DataFrame(_contrast_rows(params, cov, contrasts, np.inf, alpha))
    diffs.insert(0, "time", at)
    diffs.insert(0, "reference", reference)
    diffs.insert(0, "arm", order[1:])
    return RandomSlopeResult(diffs=diffs, at=at, fit=fit)


# --- negative binomial GEE of counts ---------------------------------------------------------


@dataclass(frozen=True)
class CountGeeResult:
    """NB GEE of post-baseline counts: rate ratios vs reference, dispersion, and the GEE fit."""

    rate_ratios: pd.DataFrame
    dispersion: pd.DataFrame
    fit: GeeFit


def nb_alpha_moment(y: np.ndarray, mu: np.ndarray, df_resid: float) -> float:
    """NB2 dispersion alpha solving sum((y-mu)^2 / (mu + alpha mu^2)) = df_resid (MASS theta.mm).

    Returns 0 when the counts are not overdispersed (Pearson X2 under Poisson <= df_resid).
    """

    def excess(a: float) -> float:
        return float(np.sum((y - mu) ** 2 / (mu + a * mu**2)) - df_resid)

    if excess(0.0) <= 0:
        return 0.0
    hi = 1.0
    while excess(hi) > 0:
        hi *= 10.0
        if hi > 1e8:
            raise ConvergenceError("negative binomial dispersion: no finite moment estimate")
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-14, rtol=1e-12))


def nb_gee(
    bds: pd.DataFrame,
    *,
    param: str,
    reference: str,
    visits: Sequence[str] | None = None,
    arms: Sequence[str] | None = None,
    correlation: str = "exchangeable",
    alpha: float = 0.05,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> CountGeeResult:
    """GEE of post-baseline counts (AVAL): NB2 variance, log link, ``ARMCD + log(BASE) + AVISIT``.

    Working correlation exchangeable (or ``"independence"``), robust (sandwich) SEs, scale 1;
    statsmodels' GEE, vectorised over subjects (:mod:`trialkit.analysis.gee`). The rate ratio
    is the arm's ratio to the reference over all post-baseline visits (one arm effect, no
    arm-by-visit interaction): ``rate_ratios`` columns arm, reference, estimate (log
    rate ratio), se, lower, upper (log scale), statistic (z), p_value, rate_ratio, rr_lower,
    rr_upper.

    The NB dispersion alpha (Var = mu + alpha mu^2) is estimated by alternating: fit the GEE
    with alpha fixed, then solve the Pearson moment equation sum (y-mu)^2/(mu + alpha mu^2) =
    N - p (as MASS::theta.mm, theta = 1/alpha), until alpha changes by less than ``tol``
    (relative); start from the moment estimate at a Poisson GEE. ``dispersion`` columns:
    statistic (alpha, theta, working_correlation, iterations, n_obs, n_subjects), value.
    BASE must be positive (log).
    """
    data = _complete(_select(bds, param, visit=visits), ["AVAL", "BASE", "AVISIT"])
    order = _arm_order(data[ARM], reference, arms)
    data = data[data[ARM].astype(str).isin(order)]
    bad = data[data["BASE"] <= 0]
    if not bad.empty:
        raise ModelSpecificationError(
            f"BDS frame: BASE of {param} is not positive for {bad[SUBJECT].iloc[0]} (log(BASE))"
        )
    sort_cols = [SUBJECT, "AVISITN"] if "AVISITN" in data.columns else [SUBJECT, "AVISIT"]
    data = data.sort_values(sort_cols)
    data = data.assign(LOG_BASE=np.log(data["BASE"].astype(float)))
    if "AVISITN" in data.columns:
        visit_order = data.drop_duplicates("AVISIT").sort_values("AVISITN")["AVISIT"].tolist()
    else:
        visit_order = sorted(data["AVISIT"].unique())
    X, _ = _design(data, order, ["LOG_BASE"])
    for v in visit_order[1:]:
        X[f"AVISIT[{v}]"] = (data["AVISIT"] == v).astype(float).to_numpy()
    y = data["AVAL"].astype(float).to_numpy()
    subjects = data[SUBJECT].to_numpy()
    df_resid = len(y) - X.shape[1]

    def fit_at(a: float, previous: GeeFit | None) -> GeeFit:
        return fit_count_gee(y, X, subjects, alpha=a, correlation=correlation, start=previous)

    fit = fit_at(0.0, None)
    a = nb_alpha_moment(y, fit.fittedvalues, df_resid)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported below
        fit = fit_at(a, fit)
        a_new = nb_alpha_moment(y, fit.fittedvalues, df_resid)
        done = abs(a_new - a) <= tol * max(a, 1e-12)
        a = a_new
        if done:
            break
    else:
        raise ConvergenceError(f"NB GEE of {param}: dispersion did not converge")
    fit = fit_at(a, fit)
    params, cov = fit.params.to_numpy(), fit.cov_params
    rr = _ratio_rows(params, cov, list(X.columns), order[1:], alpha, "rate_ratio", "rr")
    rr.insert(0, "reference", reference)
    rr.insert(0, "arm", order[1:])
    rho = fit.rho
    dispersion = pd.DataFrame(
        {
            "statistic": [
                "alpha",
                "theta",
                "working_correlation",
                "iterations",
                "n_obs",
                "n_subjects",
            ],
            "value": [
                a,
                1 / a if a > 0 else np.inf,
                rho,
                float(iterations),
                float(len(y)),
                float(data[SUBJECT].nunique()),
            ],
        }
    )
    return CountGeeResult(rate_ratios=rr, dispersion=dispersion, fit=fit)
