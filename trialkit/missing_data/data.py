"""The data of a reference-based imputation: subjects x visits, strategies, the analysis design.

:func:`long_data` turns long rows (one per subject and visit, missing visits may be absent
rows) and the intercurrent events (one row per subject: the first visit from which its
strategy applies, and the strategy) into padded arrays, as ``rbmi``'s ``longDataConstructor``
does. Subject-level columns (arm, baseline, covariates) must be constant within a subject;
they fill the rows of missing visits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialkit.errors import ModelSpecificationError
from trialkit.models.formula import DesignInfo, make_design
from trialkit.vocabulary import IMPUTATION_STRATEGIES


@dataclass(frozen=True)
class LongData:
    """Padded outcomes and strategies of ``n`` subjects at ``T`` visits.

    ``y`` holds NaN where the outcome is missing; ``ice[i]`` is the index of the first visit
    from which subject ``i``'s ``strategy[i]`` applies (``T``: no intercurrent event, MAR).
    ``Z`` is the design of the per-visit ANCOVA (intercept, arm indicators, covariates), its
    ``effect_columns`` the coefficients of ``effect_arms`` minus ``control``.
    """

    subject: str
    visit: str
    group: str
    outcome: str
    subjects: tuple[str, ...]
    visits: tuple[str, ...]
    arms: tuple[str, ...]
    control: str
    arm: np.ndarray
    y: np.ndarray
    strategy: np.ndarray
    ice: np.ndarray
    grid: pd.DataFrame
    Z: np.ndarray
    effect_columns: tuple[int, ...]
    effect_arms: tuple[str, ...]

    @property
    def n_subjects(self) -> int:
        """Number of subjects."""
        return len(self.subjects)

    @property
    def observed(self) -> np.ndarray:
        """(n, T): the outcome is present."""
        return ~np.isnan(self.y)

    @property
    def after_event(self) -> np.ndarray:
        """(n, T): the visit is at or after the subject's intercurrent event (non-MAR)."""
        return np.arange(len(self.visits))[None, :] >= self.ice[:, None]

    @property
    def fit_mask(self) -> np.ndarray:
        """(n, T): values the imputation model is fitted on (``rbmi``: observed and MAR; a
        value observed after an event handled by a reference-based strategy is left out)."""
        mar = ~self.after_event | (self.strategy == "MAR")[:, None]
        return self.observed & mar


def _subject_columns(data: pd.DataFrame, subject: str, columns: Sequence[str]) -> pd.DataFrame:
    """One row per subject (first appearance order) of the columns constant within subject."""
    first = data.drop_duplicates(subject, keep="first").set_index(subject)
    for col in columns:
        varies = data.groupby(subject, sort=False)[col].nunique(dropna=False) > 1
        if varies.any():
            who = varies.index[varies.to_numpy()][0]
            raise ModelSpecificationError(
                f"column {col!r} varies within subject {who!r}: the imputation needs "
                "subject-level covariates"
            )
    return first[list(columns)]


def long_data(
    data: pd.DataFrame,
    *,
    subject: str,
    visit: str,
    group: str,
    outcome: str,
    covariates: Sequence[str],
    visits: Sequence[str],
    control: str,
    events: pd.DataFrame | None = None,
) -> LongData:
    """Pad ``data`` to subjects x ``visits``; ``events`` has columns subject, visit, strategy.

    ``covariates`` are the subject-level columns of the imputation model and of the ANCOVA
    (baseline included); ``control`` is the arm the ANCOVA compares every other arm with.
    """
    for col in (subject, visit, group, outcome, *covariates):
        if col not in data.columns:
            raise ModelSpecificationError(f"column {col!r} is not in the data")
    data = data.assign(**{subject: data[subject].astype(str), visit: data[visit].astype(str)})
    visits = [str(v) for v in visits]
    unknown = sorted(set(data[visit]) - set(visits))
    if unknown:
        raise ModelSpecificationError(f"visit {unknown[0]!r} of column {visit!r} is not planned")
    dup = data.duplicated([subject, visit])
    if dup.any():
        row = data.loc[dup.to_numpy()].iloc[0]
        raise ModelSpecificationError(
            f"subject {row[subject]!r} has visit {row[visit]!r} more than once"
        )
    subj = _subject_columns(data, subject, [group, *covariates])
    if subj.isna().any().any():
        col = str(subj.columns[subj.isna().any().to_numpy()][0])
        who = subj.index[subj[col].isna().to_numpy()][0]
        raise ModelSpecificationError(f"column {col!r} is missing for subject {who!r}")
    ids = [str(s) for s in subj.index]
    arms_present = sorted({str(a) for a in subj[group]} - {control})
    if str(control) not in {str(a) for a in subj[group]}:
        raise ModelSpecificationError(f"control arm {control!r} has no subject in the data")
    arms = (str(control), *arms_present)
    arm = np.array([arms.index(str(a)) for a in subj[group]], dtype=np.int64)
    n, T = len(ids), len(visits)
    row_of = {s: i for i, s in enumerate(ids)}
    col_of = {v: t for t, v in enumerate(visits)}
    y = np.full((n, T), np.nan)
    r = data[subject].map(row_of).to_numpy()
    c = data[visit].map(col_of).to_numpy()
    y[r, c] = data[outcome].to_numpy(dtype=float)
    strategy, ice = _events(events, subject, visit, row_of, col_of, n, T)
    grid = pd.DataFrame(
        {
            subject: np.repeat(ids, T),
            visit: np.tile(visits, n),
            outcome: y.reshape(-1),
            group: np.repeat([arms[a] for a in arm], T),
        }
    )
    for cov in covariates:
        grid[cov] = np.repeat(subj[cov].to_numpy(), T)
    Z, columns = _analysis_design(subj.reset_index(drop=True), group, arms, covariates)
    return LongData(
        subject=subject, visit=visit, group=group, outcome=outcome, subjects=tuple(ids),
        visits=tuple(visits), arms=arms, control=str(control), arm=arm, y=y,
        strategy=strategy, ice=ice, grid=grid, Z=Z, effect_columns=columns,
        effect_arms=arms[1:],
    )  # fmt: skip


def _events(
    events: pd.DataFrame | None,
    subject: str,
    visit: str,
    row: Mapping[str, int],
    col: Mapping[str, int],
    n: int,
    T: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Strategy and first affected visit index of each subject (MAR and T without an event)."""
    strategy = np.full(n, "MAR", dtype=object)
    ice = np.full(n, T, dtype=np.int64)
    if events is None or len(events) == 0:
        return strategy, ice
    ev = events.assign(**{subject: events[subject].astype(str), visit: events[visit].astype(str)})
    if ev[subject].duplicated().any():
        who = ev.loc[ev[subject].duplicated().to_numpy(), subject].iloc[0]
        raise ModelSpecificationError(f"subject {who!r} has more than one intercurrent event")
    for s, v, strat in zip(ev[subject], ev[visit], ev["strategy"], strict=True):
        if s not in row:
            raise ModelSpecificationError(f"intercurrent event of unknown subject {s!r}")
        if v not in col:
            raise ModelSpecificationError(f"intercurrent event of {s!r} at unknown visit {v!r}")
        if strat not in IMPUTATION_STRATEGIES:
            raise ModelSpecificationError(
                f"subject {s!r}: strategy {strat!r} is not one of "
                f"{', '.join(IMPUTATION_STRATEGIES)}"
            )
        strategy[row[s]] = strat
        ice[row[s]] = col[v] if strat != "MAR" else T
    return strategy, ice


def _analysis_design(
    subj: pd.DataFrame, group: str, arms: Sequence[str], covariates: Sequence[str]
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Design of the ANCOVA (``y ~ group + covariates``) and the arm coefficients' columns."""
    frame = subj.assign(_y=0.0)
    formula = " + ".join([group, *covariates])
    info, X, _ = make_design(
        f"_y ~ {formula}", frame, reference={group: arms[0]}, levels_of={group: list(arms)}
    )
    return X, _arm_columns(info, group)


def _arm_columns(info: DesignInfo, group: str) -> tuple[int, ...]:
    sl = info.term_slices()[group]
    return tuple(range(sl.start, sl.stop))


__all__ = ["LongData", "long_data"]
