"""The analysis of each completed dataset: an ANCOVA per visit, as ``rbmi``'s ``ancova``.

At each visit, ``y ~ arm + covariates`` by least squares on the sample's subjects; the result is
each non-control arm's coefficient (arm minus control), its standard error and the residual
degrees of freedom. With more than two arms one model holds them all (a pooled residual
variance; ``rbmi`` compares two arms). ``delta`` (subjects x visits) is added to the imputed
values first, for delta-adjusted (tipping point) analyses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trialkit.missing_data.impute import Imputation


@dataclass(frozen=True)
class Estimates:
    """Per completed dataset (rows in sample order, a sample's imputations together): the arm
    effects ``est`` and ``se`` (M, arms, visits) and the residual ``df`` (M,)."""

    est: np.ndarray
    se: np.ndarray
    df: np.ndarray


def ancova(Z: np.ndarray, Y: np.ndarray, columns: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Coefficients ``columns`` of ``Y[:, t] ~ Z`` for every visit t: estimates and standard
    errors (len(columns), T) and the residual df."""
    n, k = Z.shape
    Q, R = np.linalg.qr(Z)
    coef = np.linalg.solve(R, Q.T @ Y)
    resid = Y - Z @ coef
    df = n - k
    s2 = np.einsum("it,it->t", resid, resid) / df
    Rinv = np.linalg.inv(R)
    var = np.einsum("ij,ij->i", Rinv, Rinv)[list(columns)]  # diag of (Z'Z)^-1
    return coef[list(columns)], np.sqrt(var[:, None] * s2[None, :]), np.asarray(df)


def analyse(imputation: Imputation, delta: np.ndarray | None = None) -> Estimates:
    """ANCOVA per visit of every completed dataset; ``delta`` (n, T) shifts imputed values."""
    d = imputation.draws.data
    missing = np.isnan(d.y)
    est, se, df = [], [], []
    for sample in imputation.samples:
        Z = d.Z[sample.ids]
        shift = 0.0 if delta is None else (delta * missing)[sample.ids]
        for values in sample.values:
            e, s, f = ancova(Z, values + shift, d.effect_columns)
            est.append(e)
            se.append(s)
            df.append(f)
    return Estimates(np.array(est), np.array(se), np.array(df, dtype=float))


__all__ = ["Estimates", "analyse", "ancova"]
