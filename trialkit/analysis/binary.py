"""Binary (responder) endpoints in the analysis: who responds at the endpoint's visit, and the
plan's binary analysis of the declared comparisons.

The responder rule of the endpoint (``responder = "AVAL <= 20"``) is applied to each subject's
analysis record at the visit (the estimand already applied: a value set aside by the
hypothetical strategy counts as missing). A subject of the population without a value is a
non-responder (``missing = "non_responder"``) or left out (``"exclude"``, observed cases).
The model adjusts for the baseline value and the plan's covariates and strata, as the MMRM
does (:mod:`trialkit.estimators.binary`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialkit.analysis.dataset import with_subject_columns
from trialkit.analysis.plan import ModelPlan, Pair
from trialkit.analysis.subgroups import FACTOR, SUBGROUP_COLUMNS, SubgroupResult, subgroup_levels
from trialkit.definition import Endpoint, Subgroup, TrialDefinition
from trialkit.derive.estimands import composite_non_response
from trialkit.errors import ModelSpecificationError
from trialkit.estimators.binary import BinaryResult, binary_analysis
from trialkit.vocabulary import POPULATION_FLAGS

#: Columns of the subject-level responder frame (adam/analysis_primary.csv of a binary primary).
RESPONDER_COLUMNS = ("USUBJID", "ARMCD", "AVISIT", "BASE", "AVAL", "CHG", "PCHG", "AVALCAT",
                     "RESPONSE", "REASON")  # fmt: skip


@dataclass(frozen=True)
class BinaryEndpointResult:
    """A binary endpoint's analysis: the rule, the subjects' responses and the estimates."""

    endpoint: Endpoint
    population: str
    subjects: pd.DataFrame  # RESPONDER_COLUMNS and the model's covariates
    result: BinaryResult

    @property
    def arms(self) -> pd.DataFrame:
        """Per arm: ARMCD, n, responders, proportion and percent (100 x proportion, as the
        reports show it)."""
        arms = self.result.arms.reset_index()
        arms["percent"] = 100 * arms["proportion"]
        return arms

    @property
    def contrasts(self) -> pd.DataFrame:
        """Per comparison: ARMCD, versus, the risk difference (a proportion; ``*_pp`` in
        percentage points, as the reports show it) and odds ratio, method, note."""
        con = self.result.contrasts.reset_index()
        for column in ("estimate", "lower", "upper"):
            con[f"{column}_pp"] = 100 * con[column]
        return con


def responder_frame(
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    plan: ModelPlan,
    endpoint: Endpoint,
    population: str,
    missing: str | None = None,
) -> pd.DataFrame:
    """One row per subject of ``population``: the record at the endpoint's visit, RESPONSE
    (1, 0; missing only with ``missing = "exclude"``) and REASON (met, not met, missing)."""
    rule = endpoint.responder
    assert rule is not None
    flag = POPULATION_FLAGS[population]
    in_pop = adsl[flag].astype("string").eq("Y").fillna(False).to_numpy(dtype=bool)
    subjects = adsl.loc[in_pop, ["USUBJID", "ARMCD"]].astype({"USUBJID": str, "ARMCD": str})
    keep = (
        bds["PARAMCD"].astype("string").eq(endpoint.parameter).fillna(False).to_numpy(dtype=bool)
        & bds["AVISIT"].astype("string").eq(endpoint.visit).fillna(False).to_numpy(dtype=bool)
        & bds["ANL01FL"].astype("string").eq("Y").fillna(False).to_numpy(dtype=bool)
    )
    records = bds.loc[keep, ["USUBJID", "AVISIT", "BASE", "AVAL", "CHG", "PCHG"]].copy()
    records["COMPOSITE"] = composite_non_response(bds, definition.estimand)[keep]
    records["USUBJID"] = records["USUBJID"].astype(str)
    if records["USUBJID"].duplicated().any():
        dup = records.loc[records["USUBJID"].duplicated(), "USUBJID"].iloc[0]
        raise ModelSpecificationError(
            f"responder endpoint {endpoint.name or endpoint.parameter}: {dup} has two "
            f"{endpoint.parameter} records at {endpoint.visit}"
        )
    frame = subjects.merge(records, on="USUBJID", how="left", validate="one_to_one")
    frame["AVISIT"] = endpoint.visit
    # the baseline value of every subject, with or without a record at the visit
    param = bds.loc[bds["PARAMCD"].astype("string").eq(endpoint.parameter).fillna(False)]
    base = param.dropna(subset=["BASE"]).drop_duplicates("USUBJID")
    frame["BASE"] = (
        base.set_index(base["USUBJID"].astype(str))["BASE"]
        .reindex(frame["USUBJID"])
        .to_numpy(dtype=float)
    )
    composite = frame.pop("COMPOSITE").eq(True).to_numpy(dtype=bool)
    met = rule.flags(frame).mask(composite, False)
    response = np.where(met.fillna(False).to_numpy(dtype=bool), 1.0, 0.0)
    unknown = met.isna().to_numpy(dtype=bool)
    rule_missing = missing or endpoint.missing
    if rule_missing == "exclude":
        response[unknown] = np.nan
    frame["RESPONSE"] = response
    category = np.where(response == 1, "Y", "N").astype(object)
    category[unknown] = None
    frame["AVALCAT"] = category
    frame["REASON"] = np.where(unknown, "missing", np.where(response == 1, "met", "not met"))
    frame.loc[composite, "REASON"] = "intercurrent event"
    frame = with_subject_columns(frame, adsl, plan.covariates)
    return frame.sort_values("USUBJID", kind="stable").reset_index(drop=True)


def run_binary_endpoint(
    definition: TrialDefinition,
    adsl: pd.DataFrame,
    bds: pd.DataFrame,
    plan: ModelPlan,
    endpoint: Endpoint,
    population: str,
    comparisons: Sequence[Pair],
    method: str | None = None,
    missing: str | None = None,
) -> BinaryEndpointResult:
    """The plan's binary analysis of ``endpoint`` in ``population`` (``method`` and ``missing``
    default to the plan's: sensitivity analyses change them)."""
    a = definition.analysis
    frame = responder_frame(definition, adsl, bds, plan, endpoint, population, missing)
    covariates = ["BASE", *[c for c in plan.covariates if c not in plan.strata]]
    data = frame.loc[frame["RESPONSE"].notna()]
    data = data.dropna(subset=[*covariates, *plan.strata])
    if data.empty:
        raise ModelSpecificationError(
            f"responder endpoint {endpoint.name or endpoint.parameter}: no subject with a "
            f"{endpoint.parameter} value at {endpoint.visit}"
        )
    result = binary_analysis(
        data, response="RESPONSE", comparisons=comparisons, method=method or a.binary_method,
        covariates=covariates, strata=list(plan.strata), alpha=a.alpha,
    )  # fmt: skip
    return BinaryEndpointResult(endpoint, population, frame, result)


def binary_family(binary: BinaryEndpointResult) -> pd.DataFrame:
    """The binary primary's comparisons in the shape of the MMRM family (arm, reference, visit,
    estimate, se, t = Wald z, df = inf, p), for the multiplicity adjustment and the look."""
    con = binary.contrasts
    return pd.DataFrame(
        {
            "arm": con["ARMCD"].astype(str),
            "reference": con["versus"].astype(str),
            "visit": binary.endpoint.visit,
            "estimate": con["estimate"].astype(float),
            "se": con["se"].astype(float),
            "t": (con["estimate"] / con["se"]).astype(float),
            "df": np.inf,
            "p": con["p"].astype(float),
        }
    )


def _dummies(values: pd.Series, prefix: str) -> pd.DataFrame:
    """Treatment-coded indicator columns of a factor (first level left out)."""
    return pd.get_dummies(values.astype(str), prefix=prefix, drop_first=True, dtype=float)


def interaction_test(
    data: pd.DataFrame, factor: str, covariates: Sequence[str]
) -> tuple[float, float, float, str]:
    """Likelihood-ratio test that the arm effects on the log-odds are the same in every level
    of ``factor``: logistic ``ARMCD + factor + covariates`` against the same with ARMCD x
    factor; (chi-square, df, p, method). Where maximum likelihood fails (separation, common in
    small subgroups), Firth's penalised likelihood ratio (Heinze & Schemper 2002) is used; NaN
    when that fails too."""
    import warnings

    import statsmodels.api as sm
    from scipy import optimize, stats

    from trialkit.errors import ConvergenceError
    from trialkit.estimators.binary_firth import fit_firth, penalised_loglik

    y = data["RESPONSE"].to_numpy(dtype=float)
    arm, level = _dummies(data["ARMCD"], "ARM"), _dummies(data[factor], "LEVEL")
    extra = [
        data[[c]].astype(float) if pd.api.types.is_numeric_dtype(data[c]) else _dummies(data[c], c)
        for c in covariates
    ]
    main = sm.add_constant(pd.concat([arm, level, *extra], axis=1), has_constant="add")
    products = pd.DataFrame(
        {f"{a}:{g}": arm[a] * level[g] for a in arm.columns for g in level.columns},
        index=data.index,
    )
    full = pd.concat([main, products], axis=1)
    df = float(products.shape[1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-convergence is checked below
            small = sm.Logit(y, main).fit(disp=0, maxiter=100)
            large = sm.Logit(y, full).fit(disp=0, maxiter=100)
        ok = small.mle_retvals["converged"] and large.mle_retvals["converged"]
        fitted = bool(ok and np.all(np.abs(large.params) < 15))  # no drift to infinity
    except (np.linalg.LinAlgError, ValueError, sm.tools.sm_exceptions.PerfectSeparationError):
        fitted = False
    if fitted:
        chi2, method = max(0.0, 2.0 * float(large.llf - small.llf)), "likelihood ratio"
    else:
        X = full.to_numpy(float)
        k = main.shape[1]
        try:
            large_fit = fit_firth(full, y)
            start = fit_firth(main, y).params.to_numpy()
        except (ConvergenceError, np.linalg.LinAlgError):
            return math.nan, df, math.nan, "not estimable"

        def restricted(beta: np.ndarray) -> float:  # the full model's penalty, products at 0
            return -penalised_loglik(X, y, np.concatenate([beta, np.zeros(X.shape[1] - k)]))

        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # finite differences at the edge of the domain
            small_pl = -optimize.minimize(restricted, start, method="BFGS").fun
        large_pl = penalised_loglik(X, y, large_fit.params.to_numpy())
        chi2, method = max(0.0, 2.0 * (large_pl - small_pl)), "penalised likelihood ratio"
    return chi2, df, float(stats.chi2.sf(chi2, df)), method


def run_binary_subgroup(
    sg: Subgroup,
    binary: BinaryEndpointResult,
    adsl: pd.DataFrame,
    plan: ModelPlan,
    comparisons: Sequence[Pair],
    method: str,
    alpha: float,
) -> SubgroupResult:
    """A binary primary by subgroup: the plan's binary analysis of each comparison within each
    level of the factor (covariates and strata other than the factor), and the likelihood-
    ratio test of the arm x subgroup interaction. A level that cannot be analysed is reported
    with a message, not raised."""
    visit = binary.endpoint.visit
    data = binary.subjects.loc[binary.subjects["RESPONSE"].notna()].copy()
    values = adsl.set_index(adsl["USUBJID"].astype(str))[sg.variable]
    factor, levels = subgroup_levels(values.reindex(data["USUBJID"]), sg.cuts)
    data[FACTOR] = factor.to_numpy()
    data = data.loc[data[FACTOR].notna()]
    levels = [lev for lev in levels if (data[FACTOR] == lev).any()]
    covariates = ["BASE", *[c for c in plan.covariates if c not in plan.strata]]
    covariates = [c for c in covariates if c != sg.variable]
    strata = [c for c in plan.strata if c != sg.variable]
    empty = pd.DataFrame(columns=list(SUBGROUP_COLUMNS))
    if len(levels) < 2:
        return SubgroupResult(sg.variable, sg.label, tuple(sg.cuts), visit, levels, empty,
                              message="fewer than two subgroup levels with data")  # fmt: skip
    rows, notes = [], []
    for level in levels:
        part = data.loc[data[FACTOR] == level]
        try:
            r = binary_analysis(
                part, response="RESPONSE", comparisons=comparisons, method=method,
                covariates=covariates, strata=strata, alpha=alpha,
            ).contrasts  # fmt: skip
        except ModelSpecificationError as exc:
            notes.append(f"{level}: {exc}")
            continue
        for (arm, versus), row in zip(comparisons, r.to_dict("records"), strict=True):
            n = int(part["ARMCD"].astype(str).isin([arm, versus]).sum())
            rows.append({"subgroup": sg.label, "variable": sg.variable, "level": level,
                         "arm": arm, "reference": versus, "visit": visit, "n": n,
                         "estimate": row["estimate"], "se": row["se"], "df": math.inf,
                         "lower": row["lower"], "upper": row["upper"], "p": row["p"]})  # fmt: skip
    chi2, df, p, how = interaction_test(data, FACTOR, [*covariates, *strata])
    if how != "likelihood ratio":
        notes.append(f"interaction test: {how}")
    table = pd.DataFrame(rows, columns=list(SUBGROUP_COLUMNS))
    table["interaction_p"] = p
    return SubgroupResult(
        variable=sg.variable, label=sg.label, cuts=tuple(sg.cuts), visit=visit, levels=levels,
        estimates=table, interaction_f=chi2, interaction_num_df=df, interaction_den_df=None,
        interaction_p=None if math.isnan(p) else p, converged=not math.isnan(p),
        message="; ".join(notes) or None,
    )  # fmt: skip


__all__ = [
    "RESPONDER_COLUMNS",
    "BinaryEndpointResult",
    "binary_family",
    "interaction_test",
    "responder_frame",
    "run_binary_endpoint",
    "run_binary_subgroup",
]
