"""Analysis windows: contiguous study-day ranges around the post-baseline visits' targets."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from trialkit.definition import TrialDefinition


def analysis_windows(definition: TrialDefinition) -> pd.DataFrame:
    """One row per post-baseline visit: AVISIT, AVISITN, AWTARGET, AWLO, AWHI (study days).

    Boundaries lie half-way between consecutive target days; a day exactly half-way goes to
    the earlier window (as ties go to the earlier value). The first window is open below (it
    starts the day after the subject's baseline reference date); the last ends at the last
    target plus its protocol window's upper offset.
    """
    visits = definition.post_baseline_visits
    days = [v.day for v in visits]
    highs = [(a + b) // 2 for a, b in itertools.pairwise(days)]
    highs.append(days[-1] + visits[-1].window[1])
    lows: list[float] = [np.nan] + [h + 1 for h in highs[:-1]]
    return pd.DataFrame(
        {
            "AVISIT": [v.code for v in visits],
            "AVISITN": days,
            "AWTARGET": days,
            "AWLO": lows,
            "AWHI": [float(h) for h in highs],
        }
    )


def slot_visits(study_days: pd.Series, windows: pd.DataFrame) -> pd.Series:
    """The window (row position in ``windows``) holding each study day, -1 when none does."""
    highs = windows["AWHI"].to_numpy(dtype=float)
    days = study_days.to_numpy(dtype=float, na_value=np.nan)
    pos = np.searchsorted(highs, days, side="left")
    pos[np.isnan(days) | (pos >= len(highs))] = -1
    return pd.Series(pos, index=study_days.index)
