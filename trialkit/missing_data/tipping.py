"""Delta-adjusted tipping-point analysis: the plan's imputations shifted by each delta.

Each delta is added to every imputed value of the active arms (not the control's), as ``rbmi``'s
``delta_template`` with ``is_missing`` does, and the primary visit's comparison is pooled again.
The tipping delta of an arm is where the comparison stops being significant in the favourable
direction: where the confidence limit on the unfavourable side crosses 0, interpolated linearly
between the two deltas around the first such crossing (from the most favourable delta on).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialkit.missing_data.analyse import analyse
from trialkit.missing_data.impute import Imputation
from trialkit.missing_data.pool import pool_one

TIPPING_COLUMNS = ("arm", "delta", "estimate", "se", "lower", "upper", "p")


def tipping_point(
    imputation: Imputation, deltas: Sequence[float], visit: str, alpha: float
) -> pd.DataFrame:
    """Per active arm and delta, the pooled comparison with the control at ``visit``."""
    d = imputation.draws.data
    m = imputation.draws.method
    t = d.visits.index(visit)
    active = (d.arm != 0)[:, None] * np.ones((1, len(d.visits)))
    rows = []
    for delta in deltas:
        est = analyse(imputation, active * float(delta))
        for a, arm in enumerate(d.effect_arms):
            p = pool_one(
                m.pooling,
                est.est[:, a, t],
                est.se[:, a, t],
                est.df,
                alpha,
                m.interval,
                m.imputations,
            )
            rows.append(
                {
                    "arm": arm,
                    "delta": float(delta),
                    "estimate": p.estimate,
                    "se": p.se,
                    "lower": p.lower,
                    "upper": p.upper,
                    "p": p.p,
                }
            )
    return pd.DataFrame(rows, columns=list(TIPPING_COLUMNS))


def tipping_delta(table: pd.DataFrame, direction: str) -> dict[str, float | None]:
    """Per arm, the interpolated delta where significance is lost (``None``: none in range,
    or not significant at the most favourable delta). ``direction``: higher or lower is better."""
    out: dict[str, float | None] = {}
    higher = direction == "higher"
    for arm, rows in table.groupby("arm", sort=False):
        rows = rows.sort_values("delta", ascending=not higher)
        # the confidence limit on the unfavourable side, signed so that > 0 is significant
        limit = (rows["lower"] if higher else -rows["upper"]).to_numpy(dtype=float)
        deltas = rows["delta"].to_numpy(dtype=float)
        out[str(arm)] = None
        if not limit[0] > 0:
            continue
        for i in range(len(limit) - 1):
            if limit[i] > 0 >= limit[i + 1]:
                share = limit[i] / (limit[i] - limit[i + 1])
                out[str(arm)] = float(deltas[i] + share * (deltas[i + 1] - deltas[i]))
                break
    return out


__all__ = ["TIPPING_COLUMNS", "tipping_delta", "tipping_point"]
