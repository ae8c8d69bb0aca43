"""A reviewer's rerun: the primary analysis from the exported ADEFF transport file alone, as
docs/submission.md describes it (the MMRM of a continuous primary, the logistic analysis of a
binary one), equals results.json's primary analysis to 1e-8."""

from __future__ import annotations

import json

import numpy as np
import pyreadstat
import pytest

from trialkit.estimators.binary import binary_analysis
from trialkit.models import MMRM

from .conftest import Exported

FORMULA = "CHG ~ ARMCD + AVISIT + ARMCD:AVISIT + BASE + BASE:AVISIT + SEVERITY"


def test_primary_mmrm_from_the_bds_transport_file(dhurat: Exported) -> None:
    results = json.loads((dhurat.analysis / "results.json").read_text())
    primary = results["primary"]
    bds, _ = pyreadstat.read_xport(str(dhurat.export / "adeff.xpt"))
    rows = bds.loc[
        (bds["PARAMCD"] == primary["endpoint"]["parameter"])
        & (bds["ANL01FL"] == "Y") & (bds["ABLFL"] != "Y") & (bds["ITTFL"] == "Y")
        & bds["AVISIT"].isin([v["code"] for v in results["visits"]])
        & bds["CHG"].notna() & bds["BASE"].notna()
    ].sort_values(["USUBJID", "AVISITN"], kind="stable")  # fmt: skip
    visits = [v["code"] for v in results["visits"] if v["code"] in set(rows["AVISIT"])]
    reference = next(a["code"] for a in results["arms"] if a["reference"])
    assert primary["model"]["formula"] == FORMULA
    assert len(rows) == primary["model"]["observations"]
    res = MMRM.from_formula(
        FORMULA, rows.reset_index(drop=True), subject="USUBJID", visit="AVISIT",
        covariance=primary["model"]["covariance"], visit_order=visits,
        reference={"ARMCD": reference, "AVISIT": visits[0]},
    ).fit(method="reml", df=primary["model"]["df_method"])  # fmt: skip
    assert abs(res.minus2ll - primary["model"]["minus2_log_likelihood"]) < 1e-8
    lab, L = res.lsmeans_matrix("ARMCD", by="AVISIT")
    index = {(a, v): i for i, (a, v) in enumerate(zip(lab["ARMCD"], lab["AVISIT"], strict=True))}
    Lm = L.to_numpy()
    for c in primary["contrasts"]:
        row = Lm[index[(c["arm"], c["visit"])]] - Lm[index[(c["reference"], c["visit"])]]
        est = res.estimate(row[None, :], alpha=results["alpha"]).iloc[0]
        for key in ("estimate", "se", "df", "lower", "upper", "p"):
            assert np.isclose(est[key], c[key], rtol=1e-8, atol=1e-10), (c["visit"], key)


@pytest.mark.slow
def test_binary_primary_from_the_bds_transport_file(aa: Exported) -> None:
    """tk_aa_201 (SALT <= 20 at week 24, logistic, missing = non-responder): the ITT subjects
    with a baseline in adeff.xpt, CRIT1FL of their ANL01FL record at the visit as the
    response (no record or CRIT1FL blank: non-responder), BASE and SEVERITY."""
    results = json.loads((aa.analysis / "results.json").read_text())
    primary = results["primary"]
    endpoint = primary["endpoint"]
    assert (endpoint["responder"], endpoint["missing"]) == ("AVAL <= 20", "non_responder")
    bds, _ = pyreadstat.read_xport(str(aa.export / "adeff.xpt"))
    assert set(bds.loc[bds["CRIT1FL"] != "", "CRIT1"]) == {endpoint["responder"]}
    param = bds.loc[(bds["PARAMCD"] == endpoint["parameter"]) & (bds["ITTFL"] == "Y")]
    subjects = (
        param.dropna(subset=["BASE"])
        .drop_duplicates("USUBJID")[["USUBJID", "ARMCD", "BASE", "SEVERITY"]]
        .set_index("USUBJID")
    )
    at_visit = param.loc[(param["AVISIT"] == endpoint["visit"]) & (param["ANL01FL"] == "Y")]
    assert not at_visit["USUBJID"].duplicated().any()
    flag = at_visit.set_index("USUBJID")["CRIT1FL"].reindex(subjects.index)
    subjects["RESPONSE"] = (flag == "Y").astype(float)  # missing -> non-responder
    pairs = [(c["ARMCD"], c["versus"]) for c in primary["contrasts"]]
    res = binary_analysis(
        subjects.reset_index(), response="RESPONSE", comparisons=pairs, method="logistic",
        covariates=["BASE"], strata=["SEVERITY"], alpha=results["alpha"],
    )  # fmt: skip
    assert primary["model"]["subjects"] == len(subjects)
    for arm in primary["arms"]:
        row = res.arms.loc[arm["ARMCD"]]
        assert (row["n"], row["responders"]) == (arm["n"], arm["responders"])
    for c in primary["contrasts"]:
        row = res.contrasts.loc[(c["ARMCD"], c["versus"])]
        for key in ("estimate", "se", "lower", "upper", "p", "odds_ratio", "or_lower", "or_upper"):
            assert np.isclose(row[key], c[key], rtol=1e-8, atol=1e-12), (c["ARMCD"], key)
