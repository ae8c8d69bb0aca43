"""Stratified 2 x 2 tables of two arms: the Mantel-Haenszel risk difference with the Sato (1989)
variance (as SAS PROC FREQ), the Mantel-Haenszel odds ratio with the Robins-Breslow-Greenland
variance, and the Cochran-Mantel-Haenszel test without continuity correction (as R
``mantelhaen.test(correct = FALSE)``). The odds ratio, its variance and the test are statsmodels'
``StratifiedTable``; the risk difference is written here (statsmodels has none).

A stratum in which only one of the two arms has subjects has no within-stratum comparison:
its Mantel-Haenszel weights and its CMH variance are zero, so it contributes nothing; it is
left out of the tables (and named) rather than carried as zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from trialkit.estimators.design import wald


@dataclass(frozen=True)
class StratifiedTables:
    """Per stratum with both arms: responders and subjects of ``arm`` (a, n1) and of the
    comparator (c, n0); ``dropped`` names the strata that held one arm only."""

    a: np.ndarray
    n1: np.ndarray
    c: np.ndarray
    n0: np.ndarray
    dropped: list[str]

    @property
    def total(self) -> np.ndarray:
        """Subjects of the two arms in each stratum."""
        return self.n1 + self.n0

    @cached_property
    def statsmodels(self) -> StratifiedTable:
        """The tables as statsmodels holds them: rows arm, comparator; columns responders, not."""
        return StratifiedTable(np.array([[self.a, self.n1 - self.a], [self.c, self.n0 - self.c]]))


def stratified_tables(
    y: np.ndarray, arms: np.ndarray, strata: np.ndarray, arm: str, versus: str
) -> StratifiedTables:
    """The 2 x 2 table of ``arm`` against ``versus`` in each stratum (label in ``strata``)."""
    keep: list[tuple[int, int, int, int]] = []
    dropped = []
    for label in sorted(set(strata[(arms == arm) | (arms == versus)])):
        in_stratum = strata == label
        treated, control = in_stratum & (arms == arm), in_stratum & (arms == versus)
        n1, n0 = int(treated.sum()), int(control.sum())
        if n1 == 0 or n0 == 0:
            dropped.append(str(label))
            continue
        keep.append((int(y[treated].sum()), n1, int(y[control].sum()), n0))
    cells = np.array(keep, dtype=float).reshape(-1, 4)
    return StratifiedTables(cells[:, 0], cells[:, 1], cells[:, 2], cells[:, 3], dropped)


def mh_risk_difference(t: StratifiedTables) -> tuple[float, float]:
    """Mantel-Haenszel common risk difference and its Sato (1989) standard error."""
    N = t.total
    w = t.n1 * t.n0 / N
    rd = float(np.sum((t.a * t.n0 - t.c * t.n1) / N) / w.sum())
    P = (t.n1**2 * t.c - t.n0**2 * t.a + t.n1 * t.n0 * (t.n0 - t.n1) / 2.0) / N**2
    Q = (t.a * (t.n0 - t.c) + t.c * (t.n1 - t.a)) / (2.0 * N)
    var = (rd * P.sum() + Q.sum()) / w.sum() ** 2
    return rd, float(np.sqrt(var)) if var > 0 else np.nan


def mh_odds_ratio(t: StratifiedTables) -> tuple[float, float]:
    """Mantel-Haenszel common odds ratio and the Robins-Breslow-Greenland SE of its log
    (0 or infinite with a NaN SE when no stratum has a discordant pair of one kind)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        odds = float(t.statsmodels.oddsratio_pooled)
        log_se = float(t.statsmodels.logodds_pooled_se)
    if not 0 < odds < np.inf:
        return (np.inf if odds == np.inf else 0.0), np.nan
    return odds, log_se


def cmh_test(t: StratifiedTables) -> tuple[float, float]:
    """CMH chi-square (1 df, no continuity correction) and its p-value (NaN when its variance
    is zero)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = float(t.statsmodels.test_null_odds(correction=False).statistic)
    if not np.isfinite(chi2):
        return np.nan, np.nan
    # statsmodels' p is 1 - cdf, 0 below about 1e-16; the survival function keeps small p.
    return chi2, float(stats.chi2.sf(chi2, 1))


def undefined_reason(t: StratifiedTables) -> str | None:
    """Why the Mantel-Haenszel estimates cannot be given for these tables (None when they can)."""
    if len(t.a) == 0:
        return "no stratum holds both arms"
    odds, log_se = mh_odds_ratio(t)
    if not np.isfinite(log_se):
        return "the Mantel-Haenszel odds ratio is " + ("0" if odds == 0 else "infinite")
    if not np.isfinite(mh_risk_difference(t)[1]) or not np.isfinite(cmh_test(t)[0]):
        return "the Mantel-Haenszel variance is zero"
    return None


def cmh_comparison(t: StratifiedTables, alpha: float) -> dict[str, float]:
    """Risk difference (Sato SE, Wald CI), CMH chi-square and p, MH odds ratio with its CI
    (tables for which :func:`undefined_reason` is None)."""
    rd, se = mh_risk_difference(t)
    lower, upper, _, _ = wald(rd, se, np.inf, alpha)
    odds, log_se = mh_odds_ratio(t)
    # wald, not logodds_pooled_confint: its quantile -ppf(alpha / 2) differs from the other
    # intervals' ppf(1 - alpha / 2) in the last bit.
    log_lower, log_upper, _, _ = wald(float(np.log(odds)), log_se, np.inf, alpha)
    chi2, p = cmh_test(t)
    return {
        "estimate": rd,
        "se": se,
        "lower": lower,
        "upper": upper,
        "statistic": chi2,
        "p": p,
        "odds_ratio": odds,
        "or_lower": float(np.exp(log_lower)),
        "or_upper": float(np.exp(log_upper)),
    }
