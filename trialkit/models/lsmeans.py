"""Linear-combination matrices for LS means, their contrasts and type III tests.

LS means follow SAS LSMEANS / R emmeans: a reference grid of every level combination of
the model's factors, continuous covariates at their mean over the observations used in
the fit; the LS mean of a level is the equally weighted average of its grid rows.
Type III tests (as SAS for full-rank models) test a term's coefficients under sum-to-zero
coding of every factor, covariates left as they are.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from trialkit.errors import ModelSpecificationError
from trialkit.models.formula import DesignInfo


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def reference_grid(
    info: DesignInfo, data: pd.DataFrame, at: Mapping[str, object] | None = None
) -> pd.DataFrame:
    """Every combination of factor levels, covariates at their mean (or at ``at``)."""
    at = dict(at or {})
    for k in at:
        if k not in info.factor_levels and k not in info.numeric:
            raise ModelSpecificationError(f"at= names {k!r}, which is not a variable of the model")
    levels: dict[str, list[str]] = {}
    for f, levs in info.factor_levels.items():
        if f in at:
            want = _as_list(at[f]) if not isinstance(at[f], str) else [str(at[f])]  # type: ignore[arg-type]
            want = [str(w) for w in want]
            for w in want:
                if w not in levs:
                    raise ModelSpecificationError(
                        f"at=: {w!r} is not a level of {f!r} (levels {levs})"
                    )
            levels[f] = want
        else:
            levels[f] = list(levs)
    names = list(levels)
    rows = list(itertools.product(*[levels[n] for n in names])) if names else [()]
    grid = pd.DataFrame(rows, columns=names)
    for v in info.numeric:
        grid[v] = float(at[v]) if v in at else float(np.mean(np.asarray(data[v], dtype=float)))  # type: ignore[arg-type]
    return grid


def lsmeans_matrix(
    info: DesignInfo,
    data: pd.DataFrame,
    specs: Sequence[str],
    by: Sequence[str] = (),
    at: Mapping[str, object] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Labels (one row per LS mean) and the matrix L whose rows give the LS means."""
    keys = list(by) + [s for s in specs if s not in by]
    for k in keys:
        if k not in info.factor_levels:
            raise ModelSpecificationError(f"LS means: {k!r} is not a factor of the model")
    grid = reference_grid(info, data, at)
    Xg = info.build(grid)
    labels: list[tuple[str, ...]] = []
    rows: list[np.ndarray] = []
    # order: by-levels outer, spec levels inner, following the factor level order
    order_levels = [list(dict.fromkeys(grid[k])) for k in keys]
    for combo in itertools.product(*order_levels):
        sel = np.ones(len(grid), dtype=bool)
        for k, v in zip(keys, combo, strict=True):
            sel &= (grid[k] == v).to_numpy()
        if not sel.any():
            continue
        labels.append(tuple(combo))
        rows.append(Xg[sel].mean(axis=0))
    lab = pd.DataFrame(labels, columns=keys)
    return lab, np.vstack(rows)


def type3_matrices(info: DesignInfo, data: pd.DataFrame, X: np.ndarray) -> dict[str, np.ndarray]:
    """L matrix of each term's type III hypothesis, in the treatment-coded parameters of the fit."""
    Xs = info.build(data, coding="sum")
    # X_sum = X M (same column space); beta_sum = M^-1 beta
    M, *_ = np.linalg.lstsq(X, Xs, rcond=None)
    if not np.allclose(X @ M, Xs, atol=1e-8 * max(1.0, float(np.abs(Xs).max()))):
        raise ModelSpecificationError(
            "type III tests: sum and treatment codings span different spaces"
        )
    Minv = np.linalg.inv(M)
    out: dict[str, np.ndarray] = {}
    for name, sl in info.term_slices().items():
        if name == "Intercept":
            continue
        out[name] = Minv[sl, :]
    return out
