"""Analyse simulated trials by the trial's own plan, through trialkit's own analysis code.

Each replicate's dataset goes through :func:`trialkit.analysis.primary.fit_with_fallback` (the
primary MMRM: the plan's covariance and its fallbacks, REML, the plan's df method),
:func:`~trialkit.analysis.primary.contrasts_table` (every active arm minus the reference) and
:func:`trialkit.estimators.multiplicity.adjust` (the plan's multiplicity) at the primary visit.
With an ``[interim]`` plan each look analyses the subjects enrolled by its information fraction
and tests each arm's z (``t_to_z``, oriented so positive favours the active arm) against that
arm's planned boundaries; the trial stops once every arm has crossed one.

The model keeps the plan's terms but the covariates other than baseline, which the simulation
does not generate (``dropped_covariates`` names them). A replicate whose fit fails under every
structure is recorded with ``failed = True`` and not rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from trialkit.analysis.plan import ModelPlan
from trialkit.analysis.primary import contrasts_table, fit_with_fallback
from trialkit.design.boundaries import GroupSequentialDesign
from trialkit.design.update import t_to_z
from trialkit.errors import ConvergenceError, ModelSpecificationError
from trialkit.estimators.multiplicity import adjust, correlation_from_covariance, dunnett_p
from trialkit.simulation.generate import SimulatedTrial
from trialkit.simulation.scenarios import SimulationPlan

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
    def active(self) -> tuple[str, ...]:
        return tuple(a for a in self.plan.arms if a != self.reference)

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
        """Each active arm's group sequential design (its share of the interim alpha)."""
        interim = self.plan.trial.interim
        if interim is None:
            return ()
        return tuple(interim.design(alpha=a) for a in interim.arm_alphas())

    @property
    def better(self) -> float:
        """+1 when higher values favour the active arm, else -1."""
        trial = self.plan.trial
        return 1.0 if trial.parameter(trial.primary.parameter).direction == "higher" else -1.0

    def look_subjects(self, subjects: int) -> tuple[int, ...]:
        """Subjects analysed at each look: the first fraction of those enrolled (one look alone
        without an interim plan)."""
        interim = self.plan.trial.interim
        if interim is None:
            return (subjects,)
        return tuple(round(f * subjects) for f in interim.information_fractions)


def _primary_contrasts(ctx: AnalysisContext, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Contrasts at the primary visit and their covariance (active-arm order)."""
    trial = ctx.plan.trial
    a = trial.analysis
    visits = [v for v in ctx.plan.visits if v in set(data["AVISIT"])]
    fit = fit_with_fallback(
        data,
        ctx.model_plan.formula(),
        [a.covariance, *a.covariance_fallback],
        visits,
        ctx.reference,
        a.df,
        what="simulated primary MMRM",
    )
    days = {v.code: v.day for v in trial.post_baseline_visits}
    primary = trial.primary.visit
    con, L = contrasts_table(fit.results, ctx.plan.arms, ctx.reference, [primary], days, a.alpha)
    V = fit.results.cov_params().to_numpy()
    return con, L @ V @ L.T


def _failed(ctx: AnalysisContext, look: int, subjects: int) -> list[dict[str, object]]:
    nan = float("nan")
    return [
        {
            "comparison": arm,
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
        for arm in ctx.active
    ]


def analyse_trial(ctx: AnalysisContext, trial: SimulatedTrial) -> list[dict[str, object]]:
    """Rows of one simulated trial: each comparison at each look analysed."""
    plan = ctx.plan
    days = tuple(v.day for v in plan.trial.post_baseline_visits)
    response = plan.trial.primary.variable
    open_arms = set(ctx.active)
    rows: list[dict[str, object]] = []
    for look, subjects in enumerate(ctx.look_subjects(len(trial.arm)), start=1):
        data = trial.frame(plan.arms, plan.visits, days, response, subjects)
        try:
            con, cov = _primary_contrasts(ctx, data)
        except (ConvergenceError, ModelSpecificationError):
            rows.extend(_failed(ctx, look, subjects))
            if not ctx.designs:
                break
            continue
        a = plan.trial.analysis
        est, se, df = (con[c].to_numpy() for c in ("estimate", "se", "df"))
        p = con["p"].to_numpy()
        if ctx.designs:
            decided = _group_sequential(ctx, look, con)
            p_adj = p
        else:
            p_adj = _adjusted(ctx, est, se, df, con["t"].to_numpy(), p, cov)
            decided = {
                arm: (bool(q <= a.alpha), False) for arm, q in zip(ctx.active, p_adj, strict=True)
            }
        for i, arm in enumerate(ctx.active):
            if arm not in open_arms:
                continue
            rejected, futility = decided[arm]
            rows.append(
                {
                    "comparison": arm,
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
                open_arms.discard(arm)
        if not open_arms:
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
    """The plan's adjusted p-values. Dunnett's are :func:`dunnett_p` as ``adjust`` computes
    them, without the simultaneous critical value (two thirds of the time, and unused here)."""
    a = ctx.plan.trial.analysis
    if a.multiplicity == "dunnett":
        return dunnett_p(t, correlation_from_covariance(cov), float(np.min(df)))
    result = adjust(
        a.multiplicity, ctx.active, est, se, df, t, p, cov, a.alpha, a.multiplicity_order
    )
    return np.asarray(result.p_adjusted)


def _group_sequential(
    ctx: AnalysisContext, look: int, con: pd.DataFrame
) -> dict[str, tuple[bool, bool]]:
    """Per arm at ``look``: (efficacy boundary crossed, futility boundary crossed)."""
    interim = ctx.plan.trial.interim
    assert interim is not None
    out = {}
    final = look == len(interim.information_fractions)
    for i, arm in enumerate(ctx.active):
        design = ctx.designs[i]
        z = ctx.better * t_to_z(float(con["t"].iloc[i]), float(con["df"].iloc[i]))
        bound = design.efficacy_z[look - 1]
        crossed = abs(z) >= bound if interim.sided == 2 else z >= bound
        fut = design.futility_z
        futility = not final and fut is not None and not crossed and z <= fut[look - 1]
        out[arm] = (bool(crossed), bool(futility))
    return out
