"""What the primary MMRM can estimate at this look: the arms, visits and comparisons.

At an early cutoff (or with a thin trial) an arm may have no value yet at the primary visit, a
visit may have a single observation, an arm may have no subject at all. Rather than refusing
the analysis, the MMRM is fitted on what the data identify and every other comparison is
reported as not estimable with a one-line reason. Pure function: analysis rows in, a decision
out; nothing is fitted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from trialkit.analysis.plan import Pair

ARM = "ARMCD"
VISIT = "AVISIT"

#: The status of a contrast row: estimated, or not estimable at this look (with its reason).
ESTIMATED = "estimated"
NOT_ESTIMABLE = "not estimable at this look"


@dataclass(frozen=True)
class Estimability:
    """The arms and visits the MMRM is fitted on, and why anything else is left out.

    ``reason`` is None when a model is fitted, else why nothing can be (then ``arms`` and
    ``visits`` are what would have been kept and ``reference`` is None). ``comparisons`` maps
    each declared comparison to None (estimable at the primary visit) or its reason.
    """

    arms: tuple[str, ...]
    visits: tuple[str, ...]
    reference: str | None
    reason: str | None
    arm_reasons: dict[str, str] = field(default_factory=dict)
    visit_reasons: dict[str, str] = field(default_factory=dict)
    comparisons: dict[Pair, str | None] = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        """True when the MMRM can be fitted (two arms or more, primary visit estimable)."""
        return self.reason is None

    def rows(self, data: pd.DataFrame) -> pd.DataFrame:
        """The analysis rows of the kept arms at the kept visits (the rows the MMRM fits)."""
        keep = data[ARM].astype(str).isin(self.arms) & data[VISIT].astype(str).isin(self.visits)
        return data.loc[keep.to_numpy(dtype=bool)].reset_index(drop=True)

    def why_not(self, pair: Pair, visit: str) -> str | None:
        """None when ``pair`` (arm, versus) is estimable at ``visit``, else the reason."""
        for arm in pair:
            if arm in self.arm_reasons:
                return self.arm_reasons[arm]
        if self.reason is not None:
            return self.reason
        return self.visit_reasons.get(visit)


def estimability(
    data: pd.DataFrame,
    response: str,
    arms: Sequence[str],
    reference: str,
    visits: Sequence[str],
    primary_visit: str,
    comparisons: Sequence[Pair],
) -> Estimability:
    """Decide from the analysis rows (ARMCD, AVISIT, ``response``) what the MMRM can estimate.

    Kept arms: declared arms (in order) with at least one value at ``primary_visit``. Kept
    visits: planned ``visits`` (in order) where every kept arm has a value and there are more
    observations than the visit's own mean parameters (one per kept arm and the BASE slope), as
    the unstructured covariance needs. The model's reference level is ``reference`` if kept,
    else the first kept arm. Fewer than two kept arms, or a primary visit that is not
    estimable, leave nothing to fit.
    """
    rows = data.loc[data[response].notna(), [ARM, VISIT]].astype(str)
    counts = rows.groupby([ARM, VISIT]).size()
    with_rows = set(rows[ARM])
    at_primary = {a for (a, v) in counts.index if v == primary_visit}
    arm_reasons: dict[str, str] = {}
    for arm in arms:
        if arm not in with_rows:
            arm_reasons[arm] = f"arm {arm} has no post-baseline {response} at this look"
        elif arm not in at_primary:
            arm_reasons[arm] = f"arm {arm} has no value at {primary_visit} at this look"
    kept_arms = tuple(a for a in arms if a not in arm_reasons)
    visit_reasons = {v: r for v in visits if (r := _visit_reason(counts, kept_arms, v))}
    kept_visits = tuple(v for v in visits if v not in visit_reasons)
    reason = _nothing_to_fit(kept_arms, primary_visit, visit_reasons)
    model_reference = None if reason else (reference if reference in kept_arms else kept_arms[0])
    decided = Estimability(
        kept_arms, kept_visits, model_reference, reason, arm_reasons, visit_reasons
    )
    per_pair = {pair: decided.why_not(pair, primary_visit) for pair in comparisons}
    return replace(decided, comparisons=per_pair)


def _visit_reason(counts: pd.Series, arms: Sequence[str], visit: str) -> str | None:
    """Why ``visit`` cannot be in the model of ``arms`` (None if it can)."""
    for arm in arms:
        if (arm, visit) not in counts.index:
            return f"arm {arm} has no value at {visit} at this look"
    n = int(sum(counts[(arm, visit)] for arm in arms))
    needed = len(arms) + 1
    if arms and n <= needed:
        return (
            f"{visit} has {n} observation(s) at this look, too few for the model "
            f"(needs more than {needed}: a mean per arm and the BASE slope)"
        )
    return None


def _nothing_to_fit(
    arms: Sequence[str], primary_visit: str, visit_reasons: dict[str, str]
) -> str | None:
    """Why no MMRM can be fitted (None if one can)."""
    if not arms:
        return f"no arm has a value at the primary visit {primary_visit} at this look"
    if len(arms) == 1:
        return f"only arm {arms[0]} has a value at {primary_visit} at this look: nothing to compare"
    return visit_reasons.get(primary_visit)


__all__ = ["ESTIMATED", "NOT_ESTIMABLE", "Estimability", "estimability"]
