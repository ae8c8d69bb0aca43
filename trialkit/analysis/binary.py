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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialkit.analysis.dataset import with_subject_columns
from trialkit.analysis.plan import POPULATION_FLAGS, ModelPlan, Pair
from trialkit.definition import Endpoint, TrialDefinition
from trialkit.errors import ModelSpecificationError
from trialkit.estimators.binary import BinaryResult, binary_analysis

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
    met = rule.flags(frame)
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


__all__ = [
    "RESPONDER_COLUMNS",
    "BinaryEndpointResult",
    "binary_family",
    "responder_frame",
    "run_binary_endpoint",
]
