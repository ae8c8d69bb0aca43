"""The MMRM model: data checks, padding to subjects x visits, and fitting.

Data problems that no covariance structure can fix (one subject, a constant covariate, an arm
without outcomes: :mod:`trialkit.models.checks`) are refused while the model is set up, before
any covariance is considered.

Usage (statsmodels' habits)::

    model = MMRM.from_formula("FEV1 ~ RACE + SEX + ARMCD * AVISIT", data=df,
                              subject="USUBJID", visit="AVISIT", covariance="us")
    res = model.fit(method="reml", df="kenward-roger")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.linalg

from trialkit.errors import ModelSpecificationError
from trialkit.models.checks import check_model_data
from trialkit.models.covariance import CovarianceStructure, make_structure
from trialkit.models.dof import DofContext, kenward_roger_adjust, make_context
from trialkit.models.fit import CovarianceModel, FitOutcome, empirical_covariance, optimise
from trialkit.models.formula import (
    DesignInfo,
    ParsedFormula,
    factor_codes,
    factor_levels,
    make_design,
    parse_formula,
)
from trialkit.models.likelihood import Likelihood, PaddedData
from trialkit.models.results import MMRMResults
from trialkit.numerics import deterministic_blas
from trialkit.vocabulary import DF_METHODS


class MMRM:
    """Mixed model for repeated measures: formula fixed effects, visit x visit covariance.

    Build with :meth:`from_formula`. Rows with a missing outcome (or a missing value in a
    column the model uses) are dropped; subjects with only some visits stay in.
    """

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        subject: str,
        visit: str,
        covariance: str = "us",
        group: str | None = None,
        visit_order: Sequence[object] | None = None,
        reference: Mapping[str, str] | None = None,
    ) -> None:
        with deterministic_blas():
            self._setup(formula, data, subject, visit, covariance, group, visit_order, reference)

    def _setup(
        self,
        formula: str,
        data: pd.DataFrame,
        subject: str,
        visit: str,
        covariance: str,
        group: str | None,
        visit_order: Sequence[object] | None,
        reference: Mapping[str, str] | None,
    ) -> None:
        """Check the data, build the design and pad it to subjects x visits."""
        parsed = parse_formula(formula)
        self.formula = formula
        self.subject, self.visit, self.group_col = subject, visit, group
        self.covariance_name = covariance.lower()
        make_structure(self.covariance_name, 1)  # validates the name
        ref = dict(reference or {})
        df = _analysable_rows(parsed, data, subject, visit, group, ref)
        # visits
        if visit_order is not None:
            vlevels = [str(v) for v in visit_order]
            if len(set(vlevels)) != len(vlevels):
                raise ModelSpecificationError("visit_order lists a visit twice")
        else:
            vlevels = _visit_levels(data, visit, self.covariance_name)
        vcode = factor_codes(df[visit], vlevels)
        if (vcode < 0).any():
            bad = df[visit].iloc[int(np.flatnonzero(vcode < 0)[0])]
            raise ModelSpecificationError(
                f"visit {str(bad)!r} of column {visit!r} is not in visit_order"
            )
        seen = np.bincount(vcode, minlength=len(vlevels)) > 0
        for v, ok in zip(vlevels, seen, strict=True):
            if not ok:
                raise ModelSpecificationError(
                    f"visit {v!r} has no non-missing {parsed.response!r}: "
                    "its covariance cannot be estimated"
                )
        self.visit_levels = vlevels
        subj_codes, subj_uniques = pd.factorize(df[subject], sort=False)
        key = subj_codes.astype(np.int64) * len(vlevels) + vcode
        order = np.argsort(key, kind="stable")
        dup_pos = np.flatnonzero(np.diff(key[order]) == 0)
        if dup_pos.size:
            row = df.iloc[int(order[dup_pos[0] + 1])]
            raise ModelSpecificationError(
                f"subject {row[subject]!r} has visit {row[visit]!r} more than once "
                f"(column {visit!r})"
            )
        # visit column as a factor in the design, levels in visit order unless data says otherwise
        for k in ref:
            if k not in data.columns:
                raise ModelSpecificationError(
                    f"reference= names column {k!r}, which is not in the data"
                )
        used = {parsed.response, *(v for t in parsed.terms for v in t)}
        design_ref = {k: v for k, v in ref.items() if k in used}
        design_df = df
        info, X, y = make_design(
            parsed,
            design_df,
            reference=design_ref,
            extra_factors=[visit],
            levels_of={visit: vlevels},
        )
        self.design_info: DesignInfo = info
        self.data = design_df
        self.exog_names = info.column_names
        _check_rank(X, info.column_names)
        # subjects and groups
        self.subject_ids = list(subj_uniques)
        n, T, p = len(subj_uniques), len(vlevels), X.shape[1]
        if group is not None:
            glevels = factor_levels(df[group], ref.get(group), group)
            gcodes = factor_codes(df[group], glevels)
            per_subj = pd.Series(gcodes).groupby(subj_codes).nunique()
            if (per_subj > 1).any():
                sid = subj_uniques[int(per_subj.index[per_subj.to_numpy() > 1][0])]
                raise ModelSpecificationError(
                    f"subject {sid!r} is in more than one level of group column {group!r}"
                )
            sgroup = np.zeros(n, dtype=np.int64)
            sgroup[subj_codes] = gcodes
        else:
            glevels = ["all"]
            sgroup = np.zeros(n, dtype=np.int64)
        self.group_levels = glevels
        Xp = np.zeros((n, T, p))
        yp = np.zeros((n, T))
        mask = np.zeros((n, T), dtype=bool)
        Xp[subj_codes, vcode] = X
        yp[subj_codes, vcode] = y
        mask[subj_codes, vcode] = True
        self.padded = PaddedData(X=Xp, y=yp, mask=mask, group=sgroup, n_groups=len(glevels))
        self.X, self.y = X, y
        self.structures = [make_structure(self.covariance_name, T) for _ in glevels]
        self._check_estimable()

    @classmethod
    def from_formula(
        cls,
        formula: str,
        data: pd.DataFrame,
        subject: str,
        visit: str,
        covariance: str = "us",
        group: str | None = None,
        visit_order: Sequence[object] | None = None,
        reference: Mapping[str, str] | None = None,
    ) -> MMRM:
        """Set up an MMRM from a formula (``y ~ a + b * c``), subject and visit columns.

        ``covariance``: us, cs, csh, ar1, ar1h, toep, toeph or adh; ``group``: a column
        (constant within subject) giving each level its own covariance; ``visit_order``: the
        visit levels in order (default: numeric visits sorted, an ordered categorical's order,
        a text column by its number column ``<visit>N`` as derive's AVISITN; else sorted as text,
        refused for covariances that depend on the order: ar1, ar1h, toep, toeph, adh);
        ``reference``: reference level per factor (default: its first level).
        """
        return cls(formula, data, subject, visit, covariance, group, visit_order, reference)

    @staticmethod
    def check_data(
        formula: str,
        data: pd.DataFrame,
        subject: str,
        visit: str,
        group: str | None = None,
        reference: Mapping[str, str] | None = None,
    ) -> None:
        """Refuse, as setting up the model would, data that no covariance structure could fit
        (one subject, a constant covariate, a factor without a second level or its reference:
        :mod:`trialkit.models.checks`), without building the design."""
        _analysable_rows(parse_formula(formula), data, subject, visit, group, dict(reference or {}))

    def _check_estimable(self) -> None:
        """Refuse covariances the data cannot identify (too few subjects, unseen visit pairs)."""
        d = self.padded
        T = d.n_visits
        for g, lev in enumerate(self.group_levels):
            idx = d.group_subjects[g]
            where = "" if d.n_groups == 1 else f" in group {self.group_col}={lev!r}"
            m = d.mask[idx]
            for t in range(T):
                if not m[:, t].any():
                    raise ModelSpecificationError(
                        f"visit {self.visit_levels[t]!r} has no observed outcome{where}: "
                        "its covariance cannot be estimated"
                    )
            if self.covariance_name == "us":
                if len(idx) <= T:
                    raise ModelSpecificationError(
                        f"too few subjects ({len(idx)}){where} to estimate an unstructured "
                        f"covariance over {T} visits"
                    )
                pairs = m.T.astype(float) @ m.astype(float)
                bad = np.argwhere(pairs == 0)
                if bad.size:
                    a, b = bad[0]
                    raise ModelSpecificationError(
                        f"no subject{where} has both visits {self.visit_levels[a]!r} "
                        f"and {self.visit_levels[b]!r}: "
                        "their unstructured covariance cannot be estimated"
                    )

    def fit(
        self,
        method: str = "reml",
        df: str = "satterthwaite",
        information: str = "observed",
        kr_second_order: bool = False,
        start: np.ndarray | None = None,
        max_iter: int = 200,
    ) -> MMRMResults:
        """Fit by REML (default) or ML; ``df``: satterthwaite, kenward-roger or residual.

        ``information`` ("observed" or "expected") is the matrix inverted for the asymptotic
        covariance of the covariance parameters used by the df methods (SAS: observed).
        ``kr_second_order`` adds Kenward-Roger's -R/4 term (second derivatives of the
        covariance in SAS's parameterisation); SAS's printed KR figures are reproduced
        without it (to 1e-6 for ar1, ar1h and toeph), so it is off by default.
        Non-convergence is reported on ``res.convergence``, not raised.
        """
        with deterministic_blas():
            return self._fit(method, df, information, kr_second_order, start, max_iter)

    def _fit(
        self,
        method: str,
        df: str,
        information: str,
        kr_second_order: bool,
        start: np.ndarray | None,
        max_iter: int,
    ) -> MMRMResults:
        method = method.lower()
        if method not in ("reml", "ml"):
            raise ModelSpecificationError(f"unknown fitting method {method!r}; use 'reml' or 'ml'")
        dfm = df.lower().replace("_", "-")
        if dfm in ("kr", "kenward-roger-linear"):
            dfm = "kenward-roger"
        if dfm not in DF_METHODS:
            raise ModelSpecificationError(
                f"unknown df method {df!r}; use one of {', '.join(DF_METHODS)}"
            )
        if information not in ("observed", "expected"):
            raise ModelSpecificationError(
                f"unknown information {information!r}; use 'observed' or 'expected'"
            )
        out, cov, ctx = fit_padded(
            self.padded, self.structures, self.X, self.y, method == "reml", dfm,
            information, kr_second_order, start, max_iter,
        )  # fmt: skip
        return MMRMResults(self, out, cov, ctx, method=method, df_method=dfm)


def fit_padded(
    padded: PaddedData,
    structures: list[CovarianceStructure],
    X: np.ndarray,
    y: np.ndarray,
    reml: bool = True,
    df: str = "kenward-roger",
    information: str = "observed",
    kr_second_order: bool = False,
    start: np.ndarray | None = None,
    max_iter: int = 200,
) -> tuple[FitOutcome, CovarianceModel, DofContext | None]:
    """The numerical core of :meth:`MMRM.fit` on padded data (options already checked):
    the optimum, the covariance model and the df context (None if the optimum is unusable).

    ``X`` and ``y`` are the observed rows (the OLS start); shared with the same-shape engine
    (:mod:`trialkit.models.batch`) so both fit alike.
    """
    lik = Likelihood(padded, reml=reml)
    cov = CovarianceModel(structures)
    if start is None:
        beta_ols, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = padded.y - padded.X @ beta_ols
        theta0 = cov.start_theta(empirical_covariance(padded, resid))
    else:
        theta0 = np.asarray(start, dtype=float)
    out = optimise(lik, cov, theta0, max_iter=max_iter)
    ev = out.evaluation
    W = np.full((cov.n_params, cov.n_params), np.nan)
    if ev.ok:
        if information == "expected":
            Jt = cov.jac_theta(out.theta)
            Hinf = Jt @ lik.expected_hessian(ev) @ Jt.T
        else:
            Hinf = out.hessian_theta
        try:
            W = 2.0 * np.linalg.inv(Hinf)
        except np.linalg.LinAlgError:
            W = 2.0 * np.linalg.pinv(Hinf)
    ctx = make_context(out.theta, ev, cov, W, padded.n_obs) if ev.ok else None
    if ctx is not None and df == "kenward-roger":
        ctx.PhiA = kenward_roger_adjust(ctx, out.theta, ev, cov, padded, kr_second_order)
    return out, cov, ctx


def _analysable_rows(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    subject: str,
    visit: str,
    group: str | None,
    reference: Mapping[str, str],
) -> pd.DataFrame:
    """The rows the model uses (outcome and every used column present), checked for the data
    problems of :func:`trialkit.models.checks.check_model_data`."""
    used = [parsed.response] + [v for t in parsed.terms for v in t]
    for col, role in [(subject, "subject"), (visit, "visit")] + (
        [(group, "group")] if group else []
    ):
        if col not in data.columns:
            raise ModelSpecificationError(f"{role} column {col!r} is not in the data")
    for v in used:
        if v not in data.columns:
            raise ModelSpecificationError(f"formula names column {v!r}, which is not in the data")
    cols = list(dict.fromkeys(used + [subject, visit] + ([group] if group else [])))
    df = data[cols]
    keep = df.notna().all(axis=1).to_numpy()
    df = df.loc[keep].reset_index(drop=True)
    if len(df) == 0:
        raise ModelSpecificationError(
            f"no rows with a non-missing {parsed.response!r} and covariates"
        )
    variables = [v for t in parsed.terms for v in t if v != visit]
    check_model_data(df, parsed.response, variables, subject, reference)
    return df


def _visit_levels(data: pd.DataFrame, visit: str, covariance: str) -> list[str]:
    """The visits in order, without ``visit_order``: numeric values sorted; an ordered
    categorical's order; a text column by its analysis dataset's number column (``AVISIT`` by
    ``AVISITN``, or ``<visit>NUM``). Otherwise sorted as text, which only a covariance that does
    not depend on the order may take (ModelSpecificationError for ar1, toep, ...)."""
    values = data[visit]
    if pd.api.types.is_numeric_dtype(values):
        return [str(v) for v in sorted(values.dropna().unique())]
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered:
        return factor_levels(values.dropna(), name=visit)
    number = next((c for c in (f"{visit}N", f"{visit}NUM") if c in data.columns), None)
    if number is not None and pd.api.types.is_numeric_dtype(data[number]):
        pairs = data[[visit, number]].dropna().astype({visit: str}).drop_duplicates()
        for col in (visit, number):
            twice = pairs[col].duplicated()
            if twice.any():
                shown = pairs.loc[twice, col].iloc[0]
                raise ModelSpecificationError(
                    f"column {number!r} does not number the visits of {visit!r} one to one "
                    f"({col} {shown!r} is paired twice): give visit_order"
                )
        return [str(v) for v in pairs.sort_values(number)[visit]]
    if make_structure(covariance, 1).order_matters:
        raise ModelSpecificationError(
            f"covariance {covariance} depends on the visit order, but column {visit!r} is text "
            f"without a number column ({visit}N): give visit_order=[...] or an ordered "
            "categorical"
        )
    return factor_levels(values.dropna(), name=visit)


def _check_rank(X: np.ndarray, names: list[str]) -> None:
    """Refuse a rank-deficient design, naming the first aliased column."""
    if X.shape[1] == 0:
        return
    _, R, piv = scipy.linalg.qr(X, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    tol = d[0] * max(X.shape) * np.finfo(float).eps * 10 if d.size else 0.0
    rank = int(np.sum(d > tol))
    if rank < X.shape[1]:
        bad = sorted(piv[rank:])
        raise ModelSpecificationError(
            f"design matrix is rank deficient: column {names[bad[0]]!r} is not estimable "
            "from the data "
            f"({X.shape[1] - rank} aliased column(s))"
        )
