"""A reviewer's rerun: the primary MMRM fitted from the exported ADEFF transport file alone,
as docs/submission.md describes it, equals results.json's primary analysis to 1e-8."""

from __future__ import annotations

import json

import numpy as np
import pyreadstat

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
