"""Rows grouped by subject for per-subject sums by numpy (no Python loop over subjects).

The models of repeated measures (GEE, random-slope mixed model) need, for each subject, sums of
its rows' values and cross products. :class:`Clusters` sorts the rows by subject once and then
sums any array over each subject's run of rows with ``np.add.reduceat``: linear in rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Clusters:
    """How the rows of a model fall into subjects.

    ``order`` sorts the rows by subject (stably, so each subject's rows keep their order);
    ``starts`` is the first sorted row of each subject and ``sizes`` its number of rows.
    """

    order: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray

    @classmethod
    def of(cls, labels: np.ndarray | pd.Series) -> Clusters:
        """The clusters of ``labels`` (one subject label per row, any order)."""
        codes = pd.factorize(np.asarray(labels))[0]
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        sizes = np.diff(np.r_[starts, len(ordered)])
        return cls(order=order, starts=starts, sizes=sizes)

    @property
    def count(self) -> int:
        """Number of subjects."""
        return len(self.starts)

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per-subject sums over the first axis of ``values`` (rows already in ``order``)."""
        return np.add.reduceat(values, self.starts, axis=0)


__all__ = ["Clusters"]
