"""Analyse simulated trials by the trial's own plan, through trialkit's own analysis code.

A continuous primary goes through the primary MMRM (the plan's covariance and its fallbacks,
REML, the plan's df method) on the same-shape engine (:class:`trialkit.models.batch.SameShapeMMRM`:
the design built once, equal to :func:`trialkit.analysis.primary.fit_with_fallback` on the
replicate's data frame, which takes over where the engine does not apply), the plan's
comparisons (``definition.comparisons``) at the primary visit and
:func:`trialkit.estimators.multiplicity.adjust` (the plan's multiplicity, without Dunnett's
simultaneous critical value). A binary primary applies the endpoint's responder rule to the
simulated value at the primary visit (a subject not seen there is a non-responder or left out, as
the endpoint's ``missing`` says) and goes through
:func:`trialkit.estimators.binary.binary_analysis` (``analysis.binary_method``); its Dunnett
family is normal (df infinite) with the correlation of risk differences sharing an arm.
With an ``[interim]`` plan each look analyses the subjects enrolled by its information fraction
and tests each comparison's z (``t_to_z``, oriented so positive favours the arm) against the
planned boundaries of its arm; the trial stops once every comparison has crossed one.

The model keeps the plan's terms but the covariates other than baseline, which the simulation
does not generate (``dropped_covariates`` names them). A replicate whose analysis fails is
recorded with ``failed = True`` and not rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from trialkit.analysis.plan import ModelPlan, Pair, comparison_label, comparison_pairs
from trialkit.analysis.primary import contrasts_table, fit_with_fallback
from trialkit.design.boundaries import GroupSequentialDesign
from trialkit.design.update import t_to_z
from trialkit.errors import ConvergenceError, ModelSpecificationError
from trialkit.estimators.binary import binary_analysis
from trialkit.estimators.multiplicity import adjust
from trialkit.models.batch import SameShapeData, SameShapeMMRM
from trialkit.simulation.generate import SimulatedTrial
from trialkit.simulation.scenarios import SimulationPlan

#: One look's comparisons: estimates, SEs, df, t (or z), p and the estimates' covariance.
Contrasts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]

#: Columns of one replicate's rows (one per comparison and look analysed).
REPLICATE_COLUMNS = (
    "scenario",
    "replicate",
    "comparison",
    "look",
    "subjects",
    "estimate",
    "se",
    "df",
    "p",
    "p_adjusted",
    "rejected",
    "futility",
    "failed",
)


@dataclass(frozen=True)
class AnalysisContext:
    """What every replicate's analysis needs, computed once per run."""

    plan: SimulationPlan

    @property
    def reference(self) -> str:
        return self.plan.trial.reference_arm.code

    @property
    def pairs(self) -> list[Pair]:
        """The plan's comparisons, (arm, versus), in the SAP's order."""
        return comparison_pairs(self.plan.trial)

    @property
    def labels(self) -> tuple[str, ...]:
        """Each comparison's name in the rows (the arm code against the reference arm)."""
        return tuple(comparison_label(p, self.reference) for p in self.pairs)

    def prepared(self) -> AnalysisContext:
        """This context with what every replicate shares already built (the MMRM's design), so
        that workers receive it instead of building it for each batch."""
        if self.plan.trial.primary.responder is None:
            assert self.engine is not None
        return self

    @cached_property
    def engine(self) -> SameShapeMMRM:
        """The primary MMRM's design, built once for every replicate."""
        return SameShapeMMRM(self.model_plan.formula(), self.plan.arms, self.plan.visits,
                             self.reference)  # fmt: skip

    @property
    def dropped_covariates(self) -> tuple[str, ...]:
        """Covariates of the plan the simulation does not generate (left out of the model)."""
        a = self.plan.trial.analysis
        return tuple(dict.fromkeys([*a.covariates, *a.strata]))

    @cached_property
    def model_plan(self) -> ModelPlan:
        return ModelPlan(self.plan.trial.primary.variable, (), (), ())

    @cached_property
    def designs(self) -> tuple[GroupSequentialDesign, ...]:
        """Each comparison's group sequential design (its arm's share of the interim alpha)."""
        interim = self.plan.trial.interim
        if interim is None:
            return ()
        active = list(dict.fromkeys(arm for arm, _ in self.pairs))
        alphas = interim.arm_alphas()
        return tuple(interim.design(alpha=alphas[active.index(arm)]) for arm, _ in self.pairs)

    @property
    def better(self) -> float:
        """+1 when higher values favour the active arm (more responders always do), else -1."""
        trial = self.plan.trial
        if trial.primary.responder is not None:
            return 1.0
        return 1.0 if trial.parameter(trial.primary.parameter).direction == "higher" else -1.0

    def look_subjects(self, subjects: int) -> tuple[int, ...]:
        """Subjects analysed at each look: the first fraction of those enrolled (one look alone
        without an interim plan)."""
        interim = self.plan.trial.interim
        if interim is None:
            return (subjects,)
        return tuple(round(f * subjects) for f in interim.information_fractions)


def _primary_contrasts(ctx: AnalysisContext, trial: SimulatedTrial, subjects: int) -> Contrasts:
    """The plan's comparisons at the primary visit, by the primary endpoint's analysis."""
    if ctx.plan.trial.primary.responder is not None:
        return _binary_contrasts(ctx, trial, subjects)
    a = ctx.plan.trial.analysis
    response = trial.response(ctx.plan.trial.primary.variable, subjects)
    data = SameShapeData(
        trial.arm[:subjects], trial.base[:subjects, None], response, trial.observed[:subjects]
    )
    try:
        fit = ctx.engine.fit(data, [a.covariance, *a.covariance_fallback], a.df)
    except ModelSpecificationError:
        return _frame_contrasts(ctx, trial, subjects)
    L = ctx.engine.contrast_matrix(ctx.pairs, [ctx.plan.trial.primary.visit], fit.covariate_means)
    return (*fit.estimate(L), L @ fit.cov_params() @ L.T)


def _frame_contrasts(ctx: AnalysisContext, trial: SimulatedTrial, subjects: int) -> Contrasts:
    """The general path, for a replicate the same-shape engine does not take (a visit or an
    arm-by-visit cell without outcomes, an aliased design)."""
    plan = ctx.plan
    days = tuple(v.day for v in plan.trial.post_baseline_visits)
    data = trial.frame(plan.arms, plan.visits, days, plan.trial.primary.variable, subjects)
    a = plan.trial.analysis
    present = set(data["AVISIT"])
    visits = [v for v in plan.visits if v in present]
    fit = fit_with_fallback(
        data,
        ctx.model_plan.formula(),
        [a.covariance, *a.covariance_fallback],
        visits,
        ctx.reference,
        a.df,
        what="simulated primary MMRM",
    )
    day = dict(zip(plan.visits, days, strict=True))
    primary = [plan.trial.primary.visit]
    con, L = contrasts_table(
        fit.results, plan.arms, ctx.reference, primary, day, a.alpha, ctx.pairs
    )
    V = fit.results.cov_params().to_numpy()
    est, se, df, t, p = (con[c].to_numpy() for c in ("estimate", "se", "df", "t", "p"))
    return est, se, df, t, p, L @ V @ L.T


def _binary_contrasts(ctx: AnalysisContext, trial: SimulatedTrial, subjects: int) -> Contrasts:
    """Responders at the primary visit by the endpoint's rule, analysed by the plan's binary
    method; the risk differences' covariance shares the variance of a common arm's proportion."""
    plan = ctx.plan
    endpoint = plan.trial.primary
    rule = endpoint.responder
    assert rule is not None
    j = plan.visits.index(endpoint.visit)
    seen = trial.observed[:subjects, j]
    base = trial.base[:subjects]
    values = {"AVAL": trial.response("AVAL", subjects)[:, j], "BASE": base}
    if rule.variable != "AVAL":
        values[rule.variable] = trial.response(rule.variable, subjects)[:, j]
    met = rule.flags(pd.DataFrame(values)).fillna(False).to_numpy(dtype=bool)
    keep = seen if endpoint.missing == "exclude" else np.ones(subjects, dtype=bool)
    arm = np.asarray(plan.arms, dtype=object)[trial.arm[:subjects]]
    frame = pd.DataFrame(
        {"USUBJID": np.arange(subjects), "ARMCD": arm, "RESP": (met & seen).astype(float)}
    )[keep]
    a = plan.trial.analysis
    result = binary_analysis(frame, response="RESP", comparisons=ctx.pairs,
                             method=a.binary_method, alpha=a.alpha)  # fmt: skip
    con = result.contrasts
    est, se, p = (con[c].to_numpy(dtype=float) for c in ("estimate", "se", "p"))
    counts = result.arms
    share = {
        code: float(r.proportion * (1.0 - r.proportion) / r.n) for code, r in counts.iterrows()
    }
    cov = np.diag(se**2)
    for i, (ai, bi) in enumerate(ctx.pairs):
        for k, (ak, bk) in enumerate(ctx.pairs):
            if i != k:
                sign = {(ai, ak): 1, (bi, bk): 1, (ai, bk): -1, (bi, ak): -1}
                cov[i, k] = sum(s * share[x] for (x, y), s in sign.items() if x == y)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    return est, se, np.full(len(est), np.inf), z, p, cov


def _failed(ctx: AnalysisContext, look: int, subjects: int) -> list[dict[str, object]]:
    nan = float("nan")
    return [
        {
            "comparison": label,
            "look": look,
            "subjects": subjects,
            "estimate": nan,
            "se": nan,
            "df": nan,
            "p": nan,
            "p_adjusted": nan,
            "rejected": False,
            "futility": False,
            "failed": True,
        }
        for label in ctx.labels
    ]


def analyse_trial(ctx: AnalysisContext, trial: SimulatedTrial) -> list[dict[str, object]]:
    """Rows of one simulated trial: each comparison at each look analysed."""
    labels = ctx.labels
    still_open = set(labels)
    rows: list[dict[str, object]] = []
    alpha = ctx.plan.trial.analysis.alpha
    for look, subjects in enumerate(ctx.look_subjects(len(trial.arm)), start=1):
        try:
            est, se, df, t, p, cov = _primary_contrasts(ctx, trial, subjects)
        except (ConvergenceError, ModelSpecificationError):
            rows.extend(_failed(ctx, look, subjects))
            if not ctx.designs:
                break
            continue
        if ctx.designs:
            decided = _group_sequential(ctx, look, t, df)
            p_adj = p
        else:
            p_adj = _adjusted(ctx, est, se, df, t, p, cov)
            decided = [(bool(q <= alpha), False) for q in p_adj]
        for i, label in enumerate(labels):
            if label not in still_open:
                continue
            rejected, futility = decided[i]
            rows.append(
                {
                    "comparison": label,
                    "look": look,
                    "subjects": subjects,
                    "estimate": est[i],
                    "se": se[i],
                    "df": df[i],
                    "p": p[i],
                    "p_adjusted": p_adj[i],
                    "rejected": rejected,
                    "futility": futility,
                    "failed": False,
                }
            )
            if rejected or futility:
                still_open.discard(label)
        if not still_open:
            break
    return rows


def _adjusted(
    ctx: AnalysisContext,
    est: np.ndarray,
    se: np.ndarray,
    df: np.ndarray,
    t: np.ndarray,
    p: np.ndarray,
    cov: np.ndarray,
) -> np.ndarray:
    """The plan's adjusted p-values (Dunnett's without the simultaneous critical value, which
    the simulation does not use)."""
    a = ctx.plan.trial.analysis
    result = adjust(
        a.multiplicity, ctx.labels, est, se, df, t, p, cov, a.alpha, a.multiplicity_order,
        simultaneous=False,
    )  # fmt: skip
    return np.asarray(result.p_adjusted)


def _group_sequential(
    ctx: AnalysisContext, look: int, t: np.ndarray, df: np.ndarray
) -> list[tuple[bool, bool]]:
    """Per comparison at ``look``: (efficacy boundary crossed, futility boundary crossed)."""
    interim = ctx.plan.trial.interim
    assert interim is not None
    out = []
    final = look == len(interim.information_fractions)
    for i, design in enumerate(ctx.designs):
        z = ctx.better * t_to_z(float(t[i]), float(df[i]))
        bound = design.efficacy_z[look - 1]
        crossed = abs(z) >= bound if interim.sided == 2 else z >= bound
        fut = design.futility_z
        futility = not final and fut is not None and not crossed and z <= fut[look - 1]
        out.append((bool(crossed), bool(futility)))
    return out
