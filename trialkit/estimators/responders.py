"""Responder analysis at one visit: exact responder rule, Newcombe CIs, adjusted odds ratios.

Responder rule (percent change from baseline at or beyond ``threshold`` percent), decided in
exact arithmetic, never in floats:

* higher is better: responder iff ``AVAL * 100 >= BASE * (100 + threshold)``;
* lower is better: responder iff ``AVAL * 100 <= BASE * (100 - threshold)``.

Integral values are compared as Python ints. Non-integral values are read as the exact decimal
they print as (``Fraction(repr(float))``, so 1.2 is 6/5, not the binary double) and compared as
fractions. BASE = 0 (percent change undefined): higher is better -> responder iff AVAL > 0
(any gain from nothing counts, no gain does not); lower is better -> non-responder (no
reduction is possible). A negative BASE is refused.

Missing data and intercurrent events: every subject of ``subjects`` (the analysis population)
is in the denominator. No analysis record at the visit -> ``missing`` (non-responder by
default, or left out with ``missing="exclude"``). An intercurrent event before the assessment
(dated strictly before the assessment, as ``apply_estimand`` has it) is handled by its
strategy: ``treatment_policy`` uses the observed value, ``hypothetical``
treats the value as missing (then the missing rule applies), ``non_response`` (composite)
makes the subject a non-responder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

from trialkit.errors import ModelSpecificationError
from trialkit.estimators.design import (
    ARM,
    SUBJECT,
    arm_order,
    design_matrix,
    ratio_rows,
    select_records,
)
from trialkit.vocabulary import ESTIMAND_STRATEGIES, MISSING_RESPONSE_RULES

Direction = Literal["higher", "lower"]


def exact_value(value: Any) -> int | Fraction:
    """A number as an exact int (when integral) or the Fraction of its printed decimal (1.2 is
    6/5, not the binary double); the one reading of values every responder rule decides on."""
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, Fraction):
        return value
    f = float(value)
    if not math.isfinite(f):
        raise ValueError(f"not a finite number: {value!r}")
    if f.is_integer():
        return int(f)
    return Fraction(repr(f))


def is_responder(aval: Any, base: Any, threshold: int | Fraction, direction: Direction) -> bool:
    """The responder rule in exact arithmetic (see the module docstring for BASE = 0)."""
    a, b, t = exact_value(aval), exact_value(base), exact_value(threshold)
    if b < 0:
        raise ModelSpecificationError(f"responder rule: negative BASE {base!r}")
    if b == 0:
        return a > 0 if direction == "higher" else False
    if direction == "higher":
        return a * 100 >= b * (100 + t)
    return a * 100 <= b * (100 - t)


def _ice_before(rows: pd.DataFrame, column: str) -> pd.Series:
    """True where the intercurrent event in ``column`` happened before the record.

    ``column`` is a date (DISCDT, RESCDT: event strictly before ADT; a value taken on the day
    of the event precedes it, as in :func:`trialkit.derive.estimands.apply_estimand`) or a Y/N
    flag on the record (DISCFL, RESCFL).
    """
    s = rows[column]
    if pd.api.types.is_datetime64_any_dtype(s) or column.endswith("DT"):
        dates = pd.to_datetime(s, errors="coerce")
        adt = pd.to_datetime(rows["ADT"], errors="coerce")
        return (dates.notna() & (dates < adt)).fillna(False).astype(bool)
    return (s.astype("string").fillna("") == "Y").astype(bool)


def _integral_ints(values: np.ndarray) -> np.ndarray:
    """Finite integral floats (or ints) as an object array of exact Python ints."""
    return np.asarray(values).astype(np.int64).astype(object)


def responders_exact(
    aval: np.ndarray, base: np.ndarray, threshold: int | Fraction, direction: Direction
) -> np.ndarray:
    """:func:`is_responder` over arrays (BASE >= 0 and both finite); exact, vectorised.

    Integral values are compared as Python ints (object arrays, no overflow); the rows with
    a non-integral value go through the exact decimal rule of :func:`is_responder`.
    """
    a = np.asarray(aval, dtype=float)
    b = np.asarray(base, dtype=float)
    limit = 2.0**62
    fast = (a == np.round(a)) & (b == np.round(b)) & (np.abs(a) < limit) & (np.abs(b) < limit)
    out = np.zeros(len(a), dtype=bool)
    t = Fraction(exact_value(threshold))
    tn, td = t.numerator, t.denominator
    ai, bi = _integral_ints(a[fast]), _integral_ints(b[fast])
    if direction == "higher":
        met = (ai * (100 * td) >= bi * (100 * td + tn)) & (bi != 0) | (bi == 0) & (ai > 0)
    else:
        met = (ai * (100 * td) <= bi * (100 * td - tn)) & (bi != 0)
    out[fast] = met.astype(bool)
    slow = np.flatnonzero(~fast)
    out[slow] = [is_responder(a[i], b[i], threshold, direction) for i in slow]
    return out


def responder_flags(
    bds: pd.DataFrame,
    subjects: pd.DataFrame,
    *,
    param: str,
    visit: str,
    threshold: int | Fraction,
    direction: Direction = "higher",
    intercurrent: Mapping[str, str] | None = None,
    missing: str = "non_responder",
) -> pd.DataFrame:
    """One row per subject of ``subjects``: responder status at ``visit`` and why.

    ``subjects`` has USUBJID and ARMCD (already restricted to the analysis population).
    ``intercurrent`` maps an ICE column (date or flag) of the BDS frame to a strategy in
    ``treatment_policy``, ``hypothetical``, ``non_response``; ``missing`` is one of
    ``MISSING_RESPONSE_RULES``. Columns: USUBJID, ARMCD, BASE, AVAL, RESPFL ("Y"/"N", missing
    when excluded), REASON (met, not met, base zero, missing, intercurrent event), sorted by
    USUBJID.
    """
    if missing not in MISSING_RESPONSE_RULES:
        raise ModelSpecificationError(
            f"missing: {missing!r} is not one of {', '.join(MISSING_RESPONSE_RULES)}"
        )
    for ice, strategy in (intercurrent or {}).items():
        if strategy not in ESTIMAND_STRATEGIES:
            raise ModelSpecificationError(f"intercurrent[{ice!r}]: unknown strategy {strategy!r}")
        if ice not in bds.columns:
            raise ModelSpecificationError(f"BDS frame: intercurrent-event column {ice} missing")
    rec = select_records(bds, param, visit=visit)
    if rec[SUBJECT].duplicated().any():
        dup = rec.loc[rec[SUBJECT].duplicated(), SUBJECT].iloc[0]
        raise ModelSpecificationError(f"BDS frame: {dup} has two {param} records at {visit}")
    all_param = bds[bds["PARAMCD"] == param]
    base = all_param.dropna(subset=["BASE"]).drop_duplicates(SUBJECT).set_index(SUBJECT)["BASE"]
    out = subjects[[SUBJECT, ARM]].drop_duplicates(SUBJECT).sort_values(SUBJECT)
    out = out.reset_index(drop=True)
    ids = out[SUBJECT]
    b = base.reindex(ids).to_numpy(dtype=float)
    pos = pd.Index(rec[SUBJECT]).get_indexer(ids)
    found = pos >= 0
    row = rec.iloc[pos[found]]
    aval = np.full(len(out), np.nan)
    aval[found] = row["AVAL"].to_numpy(dtype=float)
    has_value = ~np.isnan(aval)
    events = {"non_response": np.zeros(len(out), bool), "hypothetical": np.zeros(len(out), bool)}
    for column, strategy in (intercurrent or {}).items():
        if strategy in events:
            before = np.zeros(len(out), dtype=bool)
            before[found] = _ice_before(row, column).to_numpy(dtype=bool)
            events[strategy] |= before
    non_response = has_value & events["non_response"]
    hypothetical = has_value & ~non_response & events["hypothetical"]
    no_base = has_value & ~non_response & ~hypothetical & np.isnan(b)
    judged = has_value & ~non_response & ~hypothetical & ~np.isnan(b)
    negative = judged & (b < 0)
    if negative.any():
        bad = base.get(ids.iloc[int(np.flatnonzero(negative)[0])])
        raise ModelSpecificationError(f"responder rule: negative BASE {bad!r}")
    met = np.zeros(len(out), dtype=bool)
    met[judged] = responders_exact(aval[judged], b[judged], threshold, direction)
    unknown = "N" if missing == "non_responder" else None
    flags = np.where(met, "Y", "N").astype(object)
    flags[~has_value | hypothetical | no_base] = unknown
    reasons = np.where(met, "met", "not met").astype(object)
    reasons[judged & (b == 0)] = "base zero"
    reasons[~has_value | no_base] = "missing"
    reasons[non_response | hypothetical] = "intercurrent event"
    out["BASE"] = b
    out["AVAL"] = aval
    out["RESPFL"] = pd.Series(flags, dtype="string").to_numpy()
    out["REASON"] = list(reasons)
    return out


def wilson_interval(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for x/n (no continuity correction); (nan, nan) when n = 0."""
    if n == 0:
        return (np.nan, np.nan)
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(
    x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05
) -> tuple[float, float, float]:
    """p1 - p2 with Newcombe's hybrid score CI (Newcombe 1998, method 10): (diff, lower, upper)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, alpha)
    l2, u2 = wilson_interval(x2, n2, alpha)
    d = p1 - p2
    return (
        d,
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


@dataclass(frozen=True)
class ResponderResult:
    """Responder analysis: proportions by arm, differences, adjusted odds ratios, the fit."""

    proportions: pd.DataFrame
    differences: pd.DataFrame
    odds_ratios: pd.DataFrame
    fit: Any


def responder_analysis(
    flags: pd.DataFrame,
    *,
    reference: str,
    arms: Sequence[str] | None = None,
    adjust_baseline: bool = True,
    alpha: float = 0.05,
) -> ResponderResult:
    """Proportions of responders by arm, Newcombe CIs of differences, logistic odds ratios.

    ``flags`` is :func:`responder_flags` output (rows with RESPFL missing are left out).
    ``proportions``: arm, n, responders, proportion, lower, upper (Wilson). ``differences``:
    arm, reference, estimate (p_arm - p_ref), lower, upper (Newcombe hybrid score).
    ``odds_ratios``: arm, reference, estimate (log OR), se, lower, upper, statistic (z),
    p_value, odds_ratio, or_lower, or_upper, n, from a binomial GLM (logit) of RESPFL on ARMCD
    (+ BASE when ``adjust_baseline``; subjects without BASE are left out of this model only).
    When the model cannot be fitted (a responder count of 0 or n in an arm), the odds-ratio
    columns are NaN.
    """
    used = flags[flags["RESPFL"].notna()]
    order = arm_order(used[ARM], reference, arms)
    used = used[used[ARM].astype(str).isin(order)]
    prop_rows = []
    counts: dict[str, tuple[int, int]] = {}
    for a in order:
        sub = used[used[ARM].astype(str) == a]
        n, x = len(sub), int((sub["RESPFL"] == "Y").sum())
        counts[a] = (x, n)
        lo, hi = wilson_interval(x, n, alpha)
        prop_rows.append(
            {
                "arm": a,
                "n": n,
                "responders": x,
                "proportion": x / n if n else np.nan,
                "lower": lo,
                "upper": hi,
            }
        )
    diff_rows = []
    xr, nr = counts[reference]
    for a in order[1:]:
        x, n = counts[a]
        d, lo, hi = newcombe_difference(x, n, xr, nr, alpha)
        diff_rows.append(
            {"arm": a, "reference": reference, "estimate": d, "lower": lo, "upper": hi}
        )
    model_data = used.dropna(subset=["BASE"]) if adjust_baseline else used
    X, _ = design_matrix(model_data, order, ["BASE"] if adjust_baseline else [])
    y = (model_data["RESPFL"] == "Y").astype(float).to_numpy()
    separated = any(x in (0, n) for x, n in counts.values())
    params = cov = None
    fit: Any = None
    if not separated:
        fit = GLM(y, X, family=families.Binomial()).fit()
        params, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
    ors = ratio_rows(params, cov, list(X.columns), order[1:], alpha, "odds_ratio", "or")
    ors["n"] = len(model_data)
    ors.insert(0, "reference", reference)
    ors.insert(0, "arm", order[1:])
    return ResponderResult(
        proportions=pd.DataFrame(prop_rows),
        differences=pd.DataFrame(diff_rows),
        odds_ratios=ors,
        fit=fit,
    )
