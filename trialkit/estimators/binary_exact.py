"""The last fallback of a binary comparison: unadjusted methods from the two arms' counts that
need no model and are defined for zero cells.

Risk difference with Newcombe's hybrid score interval (Newcombe 1998, method 10); p-value of
Fisher's exact test (two-sided, as R ``fisher.test``); conditional maximum-likelihood odds
ratio with its exact interval (as R ``fisher.test``). No standard error: the interval and the
p-value do not come from one.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.stats.contingency import odds_ratio

from trialkit.estimators.responders import newcombe_difference


def exact_comparison(x1: int, n1: int, x0: int, n0: int, alpha: float) -> dict[str, float]:
    """Risk difference ``x1/n1 - x0/n0`` and odds ratio, exact and unadjusted (see module)."""
    table = [[x1, n1 - x1], [x0, n0 - x0]]
    estimate, lower, upper = newcombe_difference(x1, n1, x0, n0, alpha)
    conditional = odds_ratio(table, kind="conditional")
    or_ci = conditional.confidence_interval(confidence_level=1 - alpha)
    return {
        "estimate": estimate,
        "se": np.nan,
        "lower": lower,
        "upper": upper,
        "statistic": np.nan,
        "p": float(stats.fisher_exact(table).pvalue),
        "odds_ratio": float(conditional.statistic),
        "or_lower": float(or_ci.low),
        "or_upper": float(or_ci.high),
    }
