"""Results of an MMRM fit: estimates, inference, LS means, contrasts and tests.

With ``df="kenward-roger"`` every standard error, CI, test and LS mean uses the
Kenward-Roger adjusted covariance of the fixed effects; otherwise the model-based one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from trialkit.errors import ModelSpecificationError
from trialkit.models.dof import (
    DofContext,
    kenward_roger_f,
    kenward_roger_rows,
    satterthwaite_1d,
    satterthwaite_f,
)
from trialkit.models.fit import CovarianceModel, FitOutcome
from trialkit.models.lsmeans import lsmeans_matrix, type3_matrices

if TYPE_CHECKING:
    from trialkit.models.mmrm import MMRM

LMatrix = np.ndarray | pd.Series | pd.DataFrame | Mapping[str, float] | Sequence[float]


def combination_rows(
    M: np.ndarray,
    beta: np.ndarray,
    V: np.ndarray,
    ctx: DofContext | None,
    df_method: str,
    nobs: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Estimate, SE, df, t and two-sided p of each row of ``M`` for fixed effects ``beta`` with
    covariance ``V``: the arrays behind every table of :class:`MMRMResults` (also used by the
    same-shape engine, :mod:`trialkit.models.batch`)."""
    est = M @ beta
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", M, V, M), 0.0))
    kr = ctx if df_method == "kenward-roger" else None
    if kr is not None and len(M) and bool(np.all(np.einsum("ij,jk,ik->i", M, kr.Phi, M) > 0)):
        df = kenward_roger_rows(kr, M)
    else:
        df = np.array([_df_1d(ctx, df_method, nobs, len(beta), r) for r in M])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, est / se, np.nan)
    p = 2 * stats.t.sf(np.abs(t), df)
    return est, se, df, t, p


def _df_1d(ctx: DofContext | None, df_method: str, nobs: int, p: int, c: np.ndarray) -> float:
    """Denominator df of one linear combination ``c``."""
    if ctx is None:
        return float("nan")
    if df_method == "residual":
        return float(nobs - p)
    if df_method == "kenward-roger":
        return kenward_roger_f(ctx, c[None, :])[0]
    return satterthwaite_1d(ctx, c)


class MMRMResults:
    """Fitted MMRM: statsmodels-like attributes, pandas objects labelled by coefficient name."""

    def __init__(
        self,
        model: MMRM,
        outcome: FitOutcome,
        cov: CovarianceModel,
        ctx: DofContext | None,
        method: str,
        df_method: str,
    ) -> None:
        self.model = model
        self.method = method
        self.df_method = df_method
        self.convergence = outcome.convergence
        self._outcome = outcome
        self._cov = cov
        self._ctx = ctx
        names = model.exog_names
        ev = outcome.evaluation
        p = len(names)
        beta = ev.beta if ev.beta is not None else np.full(p, np.nan)
        self.params = pd.Series(beta, index=names, name="params")
        if ctx is not None:
            V = ctx.PhiA if ctx.PhiA is not None else ctx.Phi
        else:
            V = np.full((p, p), np.nan)
        self._V = V
        self.nobs = model.padded.n_obs
        self.n_subjects = model.padded.n_subjects
        self.theta = outcome.theta
        q = cov.n_params
        self.llf = -0.5 * ev.value
        k = q + (p if method == "ml" else 0)
        self.aic = -2.0 * self.llf + 2.0 * k
        self.bic = -2.0 * self.llf + k * np.log(self.n_subjects)
        tab = self._estimate_table(np.eye(p))
        tab.index = pd.Index(names)
        self.bse = tab["se"].rename("bse")
        self.df = tab["df"].rename("df")
        self.tvalues = tab["t"].rename("tvalues")
        self.pvalues = tab["p"].rename("pvalues")

    # ---- basic attributes -------------------------------------------------------------
    @property
    def converged(self) -> bool:
        """Optimiser success, small gradient and positive definite covariance/information."""
        return self.convergence.converged

    @property
    def minus2ll(self) -> float:
        """-2 (restricted) log-likelihood, as SAS prints it."""
        return -2.0 * self.llf

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the fixed effects (Kenward-Roger adjusted if df='kenward-roger')."""
        names = self.model.exog_names
        return pd.DataFrame(self._V, index=names, columns=names)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Confidence intervals of the fixed effects with the fit's df."""
        t = stats.t.ppf(1 - alpha / 2, self.df.to_numpy())
        return pd.DataFrame(
            {"lower": self.params - t * self.bse, "upper": self.params + t * self.bse},
            index=self.params.index,
        )

    @property
    def covariance_by_group(self) -> dict[str, pd.DataFrame]:
        """Estimated visit x visit covariance of each group level (one entry without ``group=``)."""
        sig = self._cov.sigmas(self.theta)
        v = self.model.visit_levels
        return {
            lev: pd.DataFrame(sig[g], index=v, columns=v)
            for g, lev in enumerate(self.model.group_levels)
        }

    @property
    def covariance(self) -> pd.DataFrame:
        """Estimated visit x visit covariance; with ``group=``, rows indexed by (group, visit)."""
        frames = self.covariance_by_group
        if self.model.group_col is None:
            return frames["all"]
        return pd.concat(frames, names=[self.model.group_col, self.model.visit])

    @property
    def covariance_parameters(self) -> pd.DataFrame:
        """Covariance parameters in SAS's parameterisation, with asymptotic standard errors."""
        rows = []
        W = self._ctx.W if self._ctx is not None else np.full((len(self.theta),) * 2, np.nan)
        se = np.sqrt(np.abs(np.diag(W)))
        k = 0
        for st, lev in zip(self._cov.structures, self.model.group_levels, strict=True):
            for name in st.param_names():
                rows.append({"group": lev, "name": name, "estimate": self.theta[k], "se": se[k]})
                k += 1
        return pd.DataFrame(rows)

    # ---- linear combinations ----------------------------------------------------------
    def _as_matrix(self, L: LMatrix) -> np.ndarray:
        names = self.model.exog_names
        p = len(names)
        if isinstance(L, pd.DataFrame):
            bad = [str(c) for c in L.columns if c not in names]
            if bad:
                raise ModelSpecificationError(f"contrast names unknown coefficient {bad[0]!r}")
            return L.reindex(columns=names, fill_value=0.0).to_numpy(dtype=float)
        if isinstance(L, pd.Series | Mapping) and not isinstance(L, np.ndarray):
            d = {str(k): float(v) for k, v in L.items()}
            bad = [c for c in d if c not in names]
            if bad:
                raise ModelSpecificationError(f"contrast names unknown coefficient {bad[0]!r}")
            return np.array([[float(d.get(n, 0.0)) for n in names]])
        arr = np.atleast_2d(np.asarray(L, dtype=float))
        if arr.shape[1] != p:
            raise ModelSpecificationError(
                f"contrast has {arr.shape[1]} columns, the model has {p} coefficients"
            )
        return arr

    def _estimate_table(self, M: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
        """Estimate, SE, df, t, p and CI of each row of ``M`` (vectorised over rows)."""
        est, se, df, t, p = combination_rows(
            M, self.params.to_numpy(), self._V, self._ctx, self.df_method, self.nobs
        )
        q = stats.t.ppf(1 - alpha / 2, df)
        return pd.DataFrame(
            {
                "estimate": est,
                "se": se,
                "df": df,
                "t": t,
                "p": p,
                "lower": est - q * se,
                "upper": est + q * se,
            }
        )

    def estimate(self, L: LMatrix, alpha: float = 0.05) -> pd.DataFrame:
        """Estimate, SE, df, t, p and (1 - alpha) CI of each row of L (general linear combinations).

        ``L``: a vector/matrix over the coefficients, or a dict / Series / DataFrame keyed by
        coefficient name (e.g. ``{"ARMCD[T.TRT]": 1, "ARMCD[T.TRT]:SUBGRP[T.B]": 1}``).
        """
        M = self._as_matrix(L)
        out = self._estimate_table(M, alpha)
        if isinstance(L, pd.DataFrame):
            out.index = L.index
        return out

    def test(self, L: LMatrix) -> pd.Series:
        """F test of H0: L beta = 0 with the fit's denominator df (KR: scaled F as pbkrtest/SAS)."""
        M = self._as_matrix(L)
        b = M @ self.params.to_numpy()
        C = M @ self._V @ M.T
        rank = int(np.linalg.matrix_rank(C))
        if rank < M.shape[0]:
            raise ModelSpecificationError(
                f"test: the {M.shape[0]} rows of L are linearly dependent (rank {rank})"
            )
        F = float(b @ np.linalg.solve(C, b)) / rank
        assert self._ctx is not None
        if self.df_method == "kenward-roger":
            den, scale = kenward_roger_f(self._ctx, M)
        elif self.df_method == "satterthwaite":
            den, scale = satterthwaite_f(self._ctx, M), 1.0
        else:
            den, scale = float(self.nobs - len(self.params)), 1.0
        F *= scale
        return pd.Series(
            {"F": F, "num_df": float(rank), "den_df": den, "p": float(stats.f.sf(F, rank, den))}
        )

    def anova(self) -> pd.DataFrame:
        """Type III F tests of each term (as SAS: sum-to-zero coding, covariates as they are)."""
        mats = type3_matrices(self.model.design_info, self.model.data, self.model.X)
        rows = {name: self.test(L) for name, L in mats.items()}
        return pd.DataFrame(rows).T[["num_df", "den_df", "F", "p"]]

    # ---- LS means ---------------------------------------------------------------------
    def lsmeans_matrix(
        self,
        specs: str | Sequence[str],
        by: str | Sequence[str] | None = None,
        at: Mapping[str, object] | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Labels and L matrix (columns = coefficients) of the LS means, for custom contrasts."""
        lab, L, _, _ = self._lsm(specs, by, at)
        return lab, pd.DataFrame(L, columns=self.model.exog_names)

    def _lsm(
        self,
        specs: str | Sequence[str],
        by: str | Sequence[str] | None,
        at: Mapping[str, object] | None,
    ) -> tuple[pd.DataFrame, np.ndarray, list[str], list[str]]:
        sp = [specs] if isinstance(specs, str) else list(specs)
        byl = [] if by is None else ([by] if isinstance(by, str) else list(by))
        lab, L = lsmeans_matrix(self.model.design_info, self.model.data, sp, byl, at)
        return lab, L, sp, byl

    def lsmeans(
        self,
        specs: str | Sequence[str],
        by: str | Sequence[str] | None = None,
        at: Mapping[str, object] | None = None,
        alpha: float = 0.05,
    ) -> pd.DataFrame:
        """LS means of ``specs`` (within each level of ``by``), as SAS LSMEANS / emmeans.

        Other factors are averaged with equal weights, covariates are at their mean over
        the observations used in the fit unless ``at={"BASE": 50}``; ``at`` can also
        restrict a factor to some levels.
        """
        lab, L, sp, byl = self._lsm(specs, by, at)
        est = self.estimate(L, alpha)
        out = pd.concat([lab[sp + byl].reset_index(drop=True), est.reset_index(drop=True)], axis=1)
        return out

    def contrasts(
        self,
        specs: str,
        by: str | Sequence[str] | None = None,
        reference: str | None = None,
        at: Mapping[str, object] | None = None,
        alpha: float = 0.05,
    ) -> pd.DataFrame:
        """Differences of LS means of ``specs`` minus ``reference`` (default: first level)."""
        lab, L, _, byl = self._lsm(specs, by, at)
        levels = list(dict.fromkeys(lab[specs]))
        ref = levels[0] if reference is None else str(reference)
        if ref not in levels:
            raise ModelSpecificationError(
                f"contrasts: reference {ref!r} is not a level of {specs!r}"
            )
        labels: list[dict[str, str]] = []
        rows: list[np.ndarray] = []
        keys = [tuple(r) for r in lab[byl].itertuples(index=False)] if byl else [()] * len(lab)
        for bkey in dict.fromkeys(keys):
            sel = [i for i, k in enumerate(keys) if k == bkey]
            iref = next(i for i in sel if lab[specs].iloc[i] == ref)
            for i in sel:
                if i == iref:
                    continue
                d = {specs: f"{lab[specs].iloc[i]} - {ref}"}
                d.update(dict(zip(byl, bkey, strict=True)))
                labels.append(d)
                rows.append(L[i] - L[iref])
        est = self.estimate(np.vstack(rows), alpha)
        return pd.concat([pd.DataFrame(labels)[[specs, *byl]], est], axis=1)

    # ---- summary ----------------------------------------------------------------------
    def summary(self, alpha: float = 0.05) -> str:
        """Plain-text summary: model, fit statistics, convergence, covariance and fixed effects."""
        m = self.model
        ci = self.conf_int(alpha)
        tab = pd.DataFrame(
            {
                "Coef.": self.params,
                "Std.Err.": self.bse,
                "df": self.df,
                "t": self.tvalues,
                "P>|t|": self.pvalues,
                f"[{alpha / 2:g}": ci["lower"],
                f"{1 - alpha / 2:g}]": ci["upper"],
            }
        )
        lines = [
            "MMRM results",
            f"Formula: {m.formula}",
            f"Covariance: {m.covariance_name}"
            + (f" by {m.group_col}" if m.group_col else "")
            + f" over {len(m.visit_levels)} visits ({', '.join(m.visit_levels)})"
            + f" within {m.subject}",
            f"Method: {self.method.upper()}   df: {self.df_method}",
            f"Observations: {self.nobs}   Subjects: {self.n_subjects}",
            f"-2 log-likelihood: {self.minus2ll:.4f}   AIC: {self.aic:.4f}   BIC: {self.bic:.4f}",
            f"Converged: {self.converged} ({self.convergence.message};"
            f" {self.convergence.iterations} iterations, {self.convergence.method})",
            "",
            "Fixed effects:",
            tab.to_string(float_format=lambda x: f"{x:.4f}"),
            "",
            "Covariance parameters:",
            self.covariance_parameters.to_string(index=False, float_format=lambda x: f"{x:.4f}"),
        ]
        return "\n".join(lines)
