"""Binary (responder) endpoints: responders by arm and, per declared comparison, the risk
difference with its CI and p-value and the odds ratio.

``logistic`` (:mod:`binary_logistic`): one logistic model of the response on arm + covariates
+ strata (as factors) over all subjects given; the risk difference by marginal standardisation
with the delta-method variance of Ge et al. (2011), p from its Wald z; the odds ratio is the
conditional one, exp of the arm coefficients' difference, with a Wald CI. When maximum
likelihood fails (an arm with no or only responders, separation, no convergence) the model is
fitted by Firth's penalised likelihood (:mod:`binary_firth`) and standardised the same way; if
that fails too, every comparison takes the unadjusted exact method. The note says why.

``cmh`` (:mod:`binary_cmh`): per comparison, the 2 x 2 tables of the two arms within the strata
(cross-classified; one table without strata); Mantel-Haenszel risk difference with the Sato
variance and Wald CI, p of the CMH test, MH odds ratio with the Robins-Breslow-Greenland CI.
Covariates are not used. Where the MH estimates are undefined (no stratum with both arms, an odds
ratio of 0 or infinity, a zero variance) the comparison falls back to the unadjusted exact method
(:mod:`binary_exact`) and its note says why.

The input is one row per subject, the missing rule already applied (the response is 0 or 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialkit.errors import ConvergenceError, ModelSpecificationError
from trialkit.estimators.binary_cmh import cmh_comparison, stratified_tables, undefined_reason
from trialkit.estimators.binary_exact import exact_comparison
from trialkit.estimators.binary_firth import fit_firth
from trialkit.estimators.binary_logistic import (
    LogitFit,
    check_full_rank,
    fit_logistic,
    separated_columns,
    standardise,
)
from trialkit.estimators.design import ARM, SUBJECT, arm_order, contrast_rows, design_matrix, wald
from trialkit.vocabulary import BINARY_METHODS

#: Columns of :attr:`BinaryResult.contrasts` after its (ARMCD, versus) index.
CONTRAST_COLUMNS = [
    "estimate", "se", "lower", "upper", "statistic", "p",
    "odds_ratio", "or_lower", "or_upper", "method", "note",
]  # fmt: skip


@dataclass(frozen=True)
class BinaryResult:
    """Binary endpoint analysis.

    ``arms``: index ARMCD; n, responders, proportion. ``contrasts``: index (ARMCD, versus);
    estimate (risk difference ARMCD - versus, a proportion), se, lower, upper (1 - alpha CI),
    statistic (Wald z of the difference for logistic/firth, CMH chi-square for cmh, NaN for
    exact), p (two-sided), odds_ratio, or_lower, or_upper, method (the one used: logistic,
    firth, cmh or exact), note (why a fallback was used, else ""). ``fit``: the logistic or
    Firth fit behind the standardisation (None when no model was used).
    """

    arms: pd.DataFrame
    contrasts: pd.DataFrame
    method: str
    alpha: float
    fit: LogitFit | None

    @property
    def params(self) -> pd.Series:
        """Risk differences, one per comparison."""
        return self.contrasts["estimate"]

    @property
    def bse(self) -> pd.Series:
        """Standard errors of the risk differences (NaN for the exact method)."""
        return self.contrasts["se"]

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of the comparisons."""
        return self.contrasts["p"]

    def conf_int(self) -> pd.DataFrame:
        """The 1 - alpha confidence intervals of the risk differences."""
        return self.contrasts[["lower", "upper"]]

    def summary(self) -> str:
        """Plain-text summary: responders by arm, then each comparison and the method used."""
        level = f"{100 * (1 - self.alpha):g}%"
        arms = self.arms.assign(proportion=self.arms["proportion"].map("{:.4f}".format))
        lines = [f"Binary endpoint ({self.method})", "", arms.to_string(), ""]
        for (arm, versus), row in zip(
            self.contrasts.index, self.contrasts.to_dict("records"), strict=True
        ):
            lines.append(
                f"{arm} vs {versus}: risk difference {row['estimate']:.4f}"
                f" ({level} CI {row['lower']:.4f} to {row['upper']:.4f}), p = {row['p']:.4g};"
                f" odds ratio {row['odds_ratio']:.4f}"
                f" ({row['or_lower']:.4f} to {row['or_upper']:.4f}); method {row['method']}"
                + (f" ({row['note']})" if row["note"] else "")
            )
        return "\n".join(lines)


def binary_analysis(
    data: pd.DataFrame,
    *,
    response: str,
    comparisons: Sequence[tuple[str, str]],
    method: str = "logistic",
    covariates: Sequence[str] = (),
    strata: Sequence[str] = (),
    alpha: float = 0.05,
) -> BinaryResult:
    """Analyse the 0/1 column ``response`` of ``data`` (one row per subject, with ARMCD, the
    ``covariates`` and the ``strata``) for each (arm, versus) of ``comparisons``."""
    comparisons = [(str(arm), str(versus)) for arm, versus in comparisons]
    check_input(data, response, comparisons, method, [*covariates, *strata], alpha)
    order = arm_order(data[ARM].astype(str), comparisons[0][1], None)
    y = data[response].astype(float).to_numpy()
    arm_values = data[ARM].astype(str).to_numpy()
    counts = pd.DataFrame(
        [(int((arm_values == a).sum()), int(y[arm_values == a].sum())) for a in order],
        index=pd.Index(order, name=ARM),
        columns=["n", "responders"],
    )
    counts["proportion"] = counts["responders"] / counts["n"]
    fit: LogitFit | None = None
    if method == "cmh":
        rows = cmh_rows(data, y, comparisons, strata, alpha)
    else:
        fit, rows = logistic_rows(data, y, counts, comparisons, covariates, strata, alpha)
    contrasts = pd.DataFrame(
        rows,
        index=pd.MultiIndex.from_tuples(list(comparisons), names=[ARM, "versus"]),
        columns=CONTRAST_COLUMNS,
    )
    return BinaryResult(arms=counts, contrasts=contrasts, method=method, alpha=alpha, fit=fit)


def check_input(
    data: pd.DataFrame,
    response: str,
    comparisons: Sequence[tuple[str, str]],
    method: str,
    columns: Sequence[str],
    alpha: float,
) -> None:
    """Refuse what the binary analysis cannot use, in one line naming the column or arm."""
    if method not in BINARY_METHODS:
        raise ModelSpecificationError(
            f"binary analysis: method {method!r} is not one of {', '.join(BINARY_METHODS)}"
        )
    if not 0 < alpha < 1:
        raise ModelSpecificationError(f"binary analysis: alpha {alpha!r} is not in (0, 1)")
    for column in (ARM, response, *columns):
        if column not in data.columns:
            raise ModelSpecificationError(f"binary analysis: column {column} is missing")
        missing = data[column].isna().to_numpy()
        if missing.any():
            raise ModelSpecificationError(
                f"binary analysis: {column} is missing for {subject_label(data, missing)}"
            )
    values = data[response]
    bad = ~values.isin([0, 1]).to_numpy()
    if bad.any():
        first = values.to_numpy()[bad][0]
        raise ModelSpecificationError(
            f"binary analysis: response {response} must be 0 or 1;"
            f" {subject_label(data, bad)} has {first!r}"
        )
    if not comparisons:
        raise ModelSpecificationError("binary analysis: no comparisons given")
    present = set(data[ARM].astype(str))
    for arm, versus in comparisons:
        if arm == versus:
            raise ModelSpecificationError(f"comparison {arm} vs {versus}: an arm against itself")
        for code in (arm, versus):
            if code not in present:
                raise ModelSpecificationError(
                    f"comparison {arm} vs {versus}: arm {code} has no subjects in the data"
                )
    if len(set(comparisons)) < len(comparisons):
        raise ModelSpecificationError("binary analysis: a comparison is given twice")


def subject_label(data: pd.DataFrame, rows: np.ndarray) -> str:
    """The first flagged row as 'subject X' (USUBJID) or 'row N' (the frame's index)."""
    i = int(np.flatnonzero(rows)[0])
    if SUBJECT in data.columns:
        return f"subject {data[SUBJECT].iloc[i]}"
    return f"row {data.index[i]}"


def likelihood_failure(counts: pd.DataFrame, X: pd.DataFrame, y: np.ndarray) -> str:
    """Why maximum likelihood has no finite estimate ("" when it has, as far as we can tell
    before fitting): an arm with no or only responders, or separation."""
    for arm, n, responders in zip(counts.index, counts["n"], counts["responders"], strict=True):
        if responders == 0:
            return f"arm {arm} has no responders"
        if responders == n:
            return f"every subject of arm {arm} is a responder"
    separated = separated_columns(X, y)
    if separated:
        return f"the data are separated along {', '.join(separated)}"
    return ""


def fit_with_fallback(counts: pd.DataFrame, X: pd.DataFrame, y: np.ndarray) -> tuple[LogitFit, str]:
    """Maximum likelihood, else Firth; the fit and why ML was not used (""). ConvergenceError
    (naming both failures) when Firth fails too."""
    why = likelihood_failure(counts, X, y)
    if not why:
        try:
            return fit_logistic(X, y), ""
        except ConvergenceError as exc:
            why = str(exc)
    try:
        return fit_firth(X, y), why
    except ConvergenceError as exc:
        raise ConvergenceError(f"{why}; {exc}") from exc


def logistic_rows(
    data: pd.DataFrame,
    y: np.ndarray,
    counts: pd.DataFrame,
    comparisons: Sequence[tuple[str, str]],
    covariates: Sequence[str],
    strata: Sequence[str],
    alpha: float,
) -> tuple[LogitFit | None, list[dict[str, object]]]:
    """The logistic (or Firth) model, standardised risk differences and conditional odds
    ratios; exact rows when both fits fail."""
    order = list(counts.index)
    frame = data[[ARM, *covariates]].copy()
    factors = [s for s in strata if s not in covariates]
    for s in factors:
        frame[s] = data[s].astype(str)
    X, _ = design_matrix(frame, order, [*covariates, *factors])
    check_full_rank(X)
    try:
        fit, why = fit_with_fallback(counts, X, y)
    except ConvergenceError as exc:
        arm_values = data[ARM].astype(str).to_numpy()
        return None, [exact_row(y, arm_values, a, v, alpha, str(exc)) for a, v in comparisons]
    note = f"{why}: Firth-penalised logistic regression used" if why else ""
    arm_columns: dict[str, str | None] = {a: f"ARMCD[{a}]" for a in order[1:]}
    arm_columns[order[0]] = None
    std = standardise(fit, X, arm_columns, order)
    cov = fit.cov.to_numpy()
    names = list(X.columns)
    rows: list[dict[str, object]] = []
    for arm, versus in comparisons:
        rd, se = std.difference(arm, versus, cov)
        lower, upper, z, p = wald(rd, se, np.inf, alpha)
        L = np.zeros(len(names))
        for code, sign in ((arm, 1.0), (versus, -1.0)):
            column = arm_columns[code]
            if column is not None:
                L[names.index(column)] = sign
        log_or = contrast_rows(fit.params.to_numpy(), cov, {arm: L}, np.inf, alpha)[0]
        rows.append(
            {
                "estimate": rd,
                "se": se,
                "lower": lower,
                "upper": upper,
                "statistic": z,
                "p": p,
                "odds_ratio": float(np.exp(log_or["estimate"])),
                "or_lower": float(np.exp(log_or["lower"])),
                "or_upper": float(np.exp(log_or["upper"])),
                "method": fit.method,
                "note": note,
            }
        )
    return fit, rows


def stratum_labels(data: pd.DataFrame, strata: Sequence[str]) -> np.ndarray:
    """Each subject's stratum, the cross-classification of ``strata`` ("SEX=F, SEVERITY=mild")."""
    if not strata:
        return np.full(len(data), "all", dtype=object)
    values = [(s, data[s].astype(str).to_numpy()) for s in strata]
    labels = [", ".join(f"{s}={v[i]}" for s, v in values) for i in range(len(data))]
    return np.asarray(labels, dtype=object)


def exact_row(
    y: np.ndarray, arm_values: np.ndarray, arm: str, versus: str, alpha: float, why: str
) -> dict[str, object]:
    """The comparison by the unadjusted exact method, its note saying ``why``."""
    x1, n1 = int(y[arm_values == arm].sum()), int((arm_values == arm).sum())
    x0, n0 = int(y[arm_values == versus].sum()), int((arm_values == versus).sum())
    note = f"{why}: unadjusted exact method used (Newcombe CI, Fisher exact p, conditional OR)"
    return {**exact_comparison(x1, n1, x0, n0, alpha), "method": "exact", "note": note}


def cmh_rows(
    data: pd.DataFrame,
    y: np.ndarray,
    comparisons: Sequence[tuple[str, str]],
    strata: Sequence[str],
    alpha: float,
) -> list[dict[str, object]]:
    """Mantel-Haenszel rows of each comparison (exact where they are undefined)."""
    arm_values = data[ARM].astype(str).to_numpy()
    labels = stratum_labels(data, strata)
    rows: list[dict[str, object]] = []
    for arm, versus in comparisons:
        tables = stratified_tables(y, arm_values, labels, arm, versus)
        why = undefined_reason(tables)
        if why is not None:
            rows.append(exact_row(y, arm_values, arm, versus, alpha, why))
            continue
        note = ""
        if tables.dropped:
            note = f"strata with one arm only, contributing nothing: {'; '.join(tables.dropped)}"
        rows.append({**cmh_comparison(tables, alpha), "method": "cmh", "note": note})
    return rows
