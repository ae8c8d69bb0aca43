"""The primary analysis: MMRM of the primary variable, with pre-specified covariance fallbacks.

Input is the analysis dataset (one row per subject and post-baseline visit, population and
estimand already applied); output is a :class:`PrimaryResult` with the model facts, LS means
per arm and visit, and every active arm minus the reference at every visit, plus the
covariance matrix of the contrasts at the primary visit (for Dunnett). Thin data (an early
cutoff, an empty arm) are fitted on what they can estimate (:mod:`trialkit.analysis.estimable`);
the other comparisons are rows marked "not estimable at this look" with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from trialkit.analysis.dataset import primary_dataset
from trialkit.analysis.estimable import ESTIMATED, NOT_ESTIMABLE, Estimability, estimability
from trialkit.analysis.plan import ModelPlan, Pair, against_reference, comparison_pairs
from trialkit.definition import Endpoint, TrialDefinition
from trialkit.errors import ConvergenceError, ModelSpecificationError
from trialkit.models import MMRM, MMRMResults

SUBJECT = "USUBJID"
VISIT = "AVISIT"
ARM = "ARMCD"

LSMEANS_COLUMNS = ("arm", "visit", "visitn", "estimate", "se", "df", "lower", "upper")
CONTRAST_COLUMNS = (
    "arm", "reference", "visit", "visitn", "estimate", "se", "df", "t", "p", "lower", "upper",
)  # fmt: skip
#: The primary contrasts: CONTRAST_COLUMNS, then ESTIMATED or NOT_ESTIMABLE and the reason.
PRIMARY_CONTRAST_COLUMNS = (*CONTRAST_COLUMNS, "status", "reason")
FIXED_COLUMNS = ("term", "estimate", "se", "df", "t", "p", "lower", "upper")
TYPE3_COLUMNS = ("term", "num_df", "den_df", "f", "p")
RESIDUAL_QQ_COLUMNS = ("theoretical_quantile", "residual", "line")


@dataclass(frozen=True)
class Attempt:
    """One covariance structure tried: did it converge, and if not why."""

    covariance: str
    converged: bool
    message: str | None


@dataclass
class FittedModel:
    """An MMRM fit that converged, with the structures tried on the way."""

    results: MMRMResults
    covariance: str
    attempts: list[Attempt]
    formula: str
    visits: list[str]


@dataclass
class PrimaryResult:
    """What the primary analysis reports (tables as DataFrames, the rest as plain values).

    ``fit`` is None when the data at this look leave nothing to fit (fewer than two arms with a
    value at the primary visit, or too few values there): then ``lsmeans``, ``fixed_effects``
    and ``type3`` are empty, every contrast row is not estimable and ``not_estimable_reason``
    says why. ``contrasts`` has a row per comparison at every visit with a value (and always at
    the primary visit), with ``status`` and ``reason``; ``primary_cov`` is the covariance of
    the primary-visit contrasts in comparison order, NaN in the rows and columns of those not
    estimable.
    """

    fit: FittedModel | None
    lsmeans: pd.DataFrame
    contrasts: pd.DataFrame
    fixed_effects: pd.DataFrame
    type3: pd.DataFrame
    primary_cov: np.ndarray
    estimability: Estimability

    @property
    def not_estimable_reason(self) -> str | None:
        """Why no model was fitted at this look (None when one was)."""
        return self.estimability.reason


def fit_with_fallback(
    data: pd.DataFrame,
    formula: str,
    covariances: Sequence[str],
    visits: Sequence[str],
    reference_arm: str,
    df_method: str,
    what: str = "primary MMRM",
) -> FittedModel:
    """Fit with each structure in ``covariances`` in turn until one converges.

    A structure the data cannot identify (ModelSpecificationError while setting up) counts as
    a failure like non-convergence. If none converges: :class:`ConvergenceError` naming each.
    Problems of the data rather than of a covariance are ModelSpecificationError (exit 2)
    naming them: those no structure could fit (one subject, a constant covariate:
    :meth:`MMRM.check_data`), checked before any fit, and any reason that two or more
    structures gave alike (e.g. an aliased design column).
    """
    attempts: list[Attempt] = []
    refusals: set[str] = set()
    reference = {ARM: reference_arm, VISIT: visits[0]}
    try:
        MMRM.check_data(formula, data, subject=SUBJECT, visit=VISIT, reference=reference)
    except ModelSpecificationError as exc:
        raise ModelSpecificationError(f"{what}: {exc}") from None
    for cov in dict.fromkeys(covariances):
        try:
            model = MMRM.from_formula(
                formula, data, subject=SUBJECT, visit=VISIT, covariance=cov,
                visit_order=list(visits), reference=reference,
            )  # fmt: skip
            res = model.fit(method="reml", df=df_method)
        except ModelSpecificationError as exc:
            attempts.append(Attempt(cov, False, f"cannot be estimated: {exc}"))
            refusals.add(str(exc))
            continue
        except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
            attempts.append(Attempt(cov, False, f"fit failed: {type(exc).__name__}: {exc}"))
            continue
        if res.converged:
            attempts.append(Attempt(cov, True, None))
            return FittedModel(res, cov, attempts, formula, list(visits))
        attempts.append(Attempt(cov, False, f"did not converge: {res.convergence.message}"))
    refused = all(a.message and a.message.startswith("cannot") for a in attempts)
    if len(attempts) > 1 and len(refusals) == 1 and refused:
        raise ModelSpecificationError(f"{what}: {refusals.pop()}")
    detail = "; ".join(f"{a.covariance}: {a.message}" for a in attempts)
    raise ConvergenceError(f"{what}: no covariance structure converged ({detail})")


def fallback_reason(attempts: Sequence[Attempt]) -> str | None:
    """One line saying why the reported structure is not the first one tried."""
    failed = [a for a in attempts if not a.converged]
    if not failed:
        return None
    return "; ".join(f"{a.covariance} {a.message}" for a in failed)


def analysis_visits(data: pd.DataFrame, planned: Sequence[str]) -> list[str]:
    """Planned post-baseline visits (by target day) that have at least one analysed value."""
    present = set(data[VISIT].astype(str))
    return [v for v in planned if v in present]


def _contrast_rows(
    res: MMRMResults, comparisons: Sequence[Pair], visits: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Labels and L matrix of each comparison (arm minus versus), within each visit."""
    lab, L = res.lsmeans_matrix(ARM, by=VISIT)
    lab = lab.reset_index(drop=True)
    Lm = L.to_numpy()
    index = {(str(a), str(v)): i for i, (a, v) in enumerate(zip(lab[ARM], lab[VISIT], strict=True))}
    labels: list[dict[str, str]] = []
    rows: list[np.ndarray] = []
    for v in visits:
        for arm, versus in comparisons:
            labels.append({"arm": arm, "reference": versus, "visit": v})
            rows.append(Lm[index[(arm, v)]] - Lm[index[(versus, v)]])
    return pd.DataFrame(labels), np.vstack(rows)


def lsmeans_table(
    res: MMRMResults, arms: Sequence[str], visits: Sequence[str], days: dict[str, int], alpha: float
) -> pd.DataFrame:
    """LS means per arm and visit (arm order, then visit order)."""
    lab, L = res.lsmeans_matrix(ARM, by=VISIT)
    est = res.estimate(L.to_numpy(), alpha=alpha).reset_index(drop=True)
    tab = pd.concat([lab.reset_index(drop=True), est], axis=1)
    tab = tab.rename(columns={ARM: "arm", VISIT: "visit"})
    tab["arm"] = tab["arm"].astype(str)
    tab["visit"] = tab["visit"].astype(str)
    order = {a: i for i, a in enumerate(arms)}
    vorder = {v: i for i, v in enumerate(visits)}
    tab = tab.assign(_a=tab["arm"].map(order), _v=tab["visit"].map(vorder))
    tab = tab.sort_values(["_a", "_v"], kind="stable").reset_index(drop=True)
    tab["visitn"] = tab["visit"].map(days).astype("int64")
    return tab[list(LSMEANS_COLUMNS)]


def contrasts_table(
    res: MMRMResults,
    arms: Sequence[str],
    reference: str,
    visits: Sequence[str],
    days: dict[str, int],
    alpha: float,
    comparisons: Sequence[Pair] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Each comparison (default: every arm minus ``reference``) at every visit (visit order,
    then comparison order) and the L matrix; column ``reference`` holds the arm compared with."""
    pairs = against_reference(arms, reference) if comparisons is None else comparisons
    lab, Lc = _contrast_rows(res, pairs, visits)
    est = res.estimate(Lc, alpha=alpha).reset_index(drop=True)
    tab = pd.concat([lab, est], axis=1)
    tab["visitn"] = tab["visit"].map(days).astype("int64")
    return tab[list(CONTRAST_COLUMNS)], Lc


def fixed_effects_table(res: MMRMResults, alpha: float) -> pd.DataFrame:
    """Coefficients with SE, df, t, p and CI."""
    ci = res.conf_int(alpha)
    tab = pd.DataFrame(
        {
            "term": res.params.index.astype(str),
            "estimate": res.params.to_numpy(),
            "se": res.bse.to_numpy(),
            "df": res.df.to_numpy(),
            "t": res.tvalues.to_numpy(),
            "p": res.pvalues.to_numpy(),
            "lower": ci["lower"].to_numpy(),
            "upper": ci["upper"].to_numpy(),
        }
    )
    return tab[list(FIXED_COLUMNS)]


def type3_table(res: MMRMResults) -> pd.DataFrame:
    """Type III F tests of each term."""
    tab = res.anova().reset_index(names="term")
    tab = tab.rename(columns={"F": "f"})
    return tab[list(TYPE3_COLUMNS)].astype({"term": str})


def residual_qq(residuals: pd.Series) -> pd.DataFrame:
    """Normal QQ positions of the residuals (``scipy.stats.probplot``), for the diagnostics
    figure: per residual in ascending order its theoretical normal quantile, the residual, and
    the least-squares line through the points at that quantile."""
    resid = pd.to_numeric(residuals, errors="coerce").to_numpy(dtype=float)
    resid = resid[np.isfinite(resid)]
    if len(resid) == 0:
        return pd.DataFrame(columns=list(RESIDUAL_QQ_COLUMNS))
    (quantile, ordered), (slope, intercept, _) = stats.probplot(resid, dist="norm")
    line = slope * quantile + intercept
    return pd.DataFrame(dict(zip(RESIDUAL_QQ_COLUMNS, (quantile, ordered, line), strict=True)))


def run_primary(
    data: pd.DataFrame,
    plan: ModelPlan,
    arms: Sequence[str],
    reference: str,
    planned_visits: Sequence[str],
    days: dict[str, int],
    primary_visit: str,
    covariances: Sequence[str],
    df_method: str,
    alpha: float,
    comparisons: Sequence[Pair] | None = None,
) -> PrimaryResult:
    """Fit the primary MMRM (with fallbacks) on the arms and visits the data at this look can
    estimate, and tabulate LS means and the contrasts of ``comparisons`` (default: every arm
    minus ``reference``); a comparison it cannot estimate is a row marked not estimable."""
    pairs = against_reference(arms, reference) if comparisons is None else list(comparisons)
    est = estimability(data, plan.response, arms, reference, planned_visits, primary_visit, pairs)
    shown = set(analysis_visits(data, planned_visits)) | {primary_visit}
    visits = [v for v in planned_visits if v in shown]
    n = len(pairs)
    if est.reference is None:  # nothing to fit: est.reason says why
        empty = pd.DataFrame(columns=list(LSMEANS_COLUMNS))
        return PrimaryResult(
            fit=None, lsmeans=empty, contrasts=_status_table(None, est, pairs, visits, days),
            fixed_effects=pd.DataFrame(columns=list(FIXED_COLUMNS)),
            type3=pd.DataFrame(columns=list(TYPE3_COLUMNS)),
            primary_cov=np.full((n, n), np.nan), estimability=est,
        )  # fmt: skip
    fit = fit_with_fallback(
        est.rows(data), plan.formula(), covariances, est.visits, est.reference, df_method
    )
    res = fit.results
    lsm = lsmeans_table(res, est.arms, est.visits, days, alpha)
    ok = [i for i, p in enumerate(pairs) if est.why_not(p, primary_visit) is None]
    primary_cov = np.full((n, n), np.nan)
    con = None  # no comparison estimable (e.g. all against a reference arm without data)
    if ok:
        con, Lc = contrasts_table(
            res, est.arms, est.reference, est.visits, days, alpha, [pairs[i] for i in ok]
        )
        Lp = Lc[(con["visit"] == primary_visit).to_numpy()]
        primary_cov[np.ix_(ok, ok)] = Lp @ res.cov_params().to_numpy() @ Lp.T
    return PrimaryResult(
        fit=fit,
        lsmeans=lsm,
        contrasts=_status_table(con, est, pairs, visits, days),
        fixed_effects=fixed_effects_table(res, alpha),
        type3=type3_table(res),
        primary_cov=primary_cov,
        estimability=est,
    )


def _status_table(
    estimated: pd.DataFrame | None,
    est: Estimability,
    pairs: Sequence[Pair],
    visits: Sequence[str],
    days: dict[str, int],
) -> pd.DataFrame:
    """Every comparison at every visit (visit order, then comparison order): the estimated rows
    with their figures, the others with NaN figures, each with its status and reason."""
    labels = pd.DataFrame(
        [{"arm": a, "reference": r, "visit": v} for v in visits for a, r in pairs],
        columns=["arm", "reference", "visit"],
    )
    figures = [c for c in CONTRAST_COLUMNS if c not in ("arm", "reference", "visit", "visitn")]
    if estimated is None:
        tab = labels.assign(**{c: np.nan for c in figures})
    else:
        keys = ["arm", "reference", "visit"]
        tab = labels.merge(estimated[[*keys, *figures]], on=keys, how="left", validate="1:1")
    tab["visitn"] = tab["visit"].map(days).astype("int64")
    reasons = [est.why_not((a, r), v) for a, r, v in zip(tab["arm"], tab["reference"],
                                                         tab["visit"], strict=True)]  # fmt: skip
    tab["status"] = [ESTIMATED if why is None else NOT_ESTIMABLE for why in reasons]
    tab["reason"] = pd.Series(reasons, index=tab.index, dtype=object)
    return tab[list(PRIMARY_CONTRAST_COLUMNS)]


def run_endpoint_mmrm(
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    plan: ModelPlan,
    endpoint: Endpoint,
    population: str,
) -> PrimaryResult:
    """The primary model, with its covariance and fallbacks, for another endpoint or population.

    Serves the continuous secondary endpoints (same MMRM, their parameter and variable) and
    the per-protocol sensitivity analysis (primary endpoint, PP population).
    """
    a = definition.analysis
    scheduled = _scheduled_visits(bds, endpoint.parameter)
    post = [v for v in definition.post_baseline_visits if v.code in scheduled]
    endpoint_plan = replace(plan, response=endpoint.variable)
    data = primary_dataset(definition, adsl, bds, endpoint_plan, endpoint, population)
    data = data.loc[data["AVISIT"].isin(scheduled)].reset_index(drop=True)
    return run_primary(
        data, endpoint_plan, [arm.code for arm in definition.arms],
        definition.reference_arm.code, [v.code for v in post], {v.code: v.day for v in post},
        endpoint.visit, [a.covariance, *a.covariance_fallback], a.df, a.alpha,
        comparison_pairs(definition),
    )  # fmt: skip


def _scheduled_visits(bds: pd.DataFrame, parameter: str) -> set[str]:
    """Visits at which ``parameter`` was collected as scheduled (e.g. only weeks 12 and 24):
    early-termination values slotted into other windows must not make visits of their own."""
    rows = bds["PARAMCD"].astype("string").eq(parameter).fillna(False).to_numpy(dtype=bool)
    collected = bds.loc[rows, ["VISIT", "AVISIT"]].astype("string")
    return set(collected.loc[collected["VISIT"] == collected["AVISIT"], "AVISIT"].dropna())


__all__ = [
    "CONTRAST_COLUMNS",
    "FIXED_COLUMNS",
    "LSMEANS_COLUMNS",
    "PRIMARY_CONTRAST_COLUMNS",
    "RESIDUAL_QQ_COLUMNS",
    "TYPE3_COLUMNS",
    "Attempt",
    "FittedModel",
    "PrimaryResult",
    "analysis_visits",
    "contrasts_table",
    "fallback_reason",
    "fit_with_fallback",
    "fixed_effects_table",
    "lsmeans_table",
    "residual_qq",
    "run_endpoint_mmrm",
    "run_primary",
    "type3_table",
]
