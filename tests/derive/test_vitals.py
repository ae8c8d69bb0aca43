"""ADVS: vital signs through the BDS rules (baseline, change), with alert flags beyond limits."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd

from tests.derive.conftest import FIXTURE, assessments, exposure, subjects
from trialkit.definition import parse_definition
from trialkit.derive import derive_adsl, derive_advs, derive_bds


def test_advs_is_the_bds_of_safety_parameters_with_alerts() -> None:
    data = tomllib.loads(FIXTURE.read_text())
    data["parameters"].append(
        {
            "code": "SYSBP",
            "label": "Systolic BP",
            "kind": "safety",
            "alert_low": 90,
            "alert_high": 160,
        }
    )
    data["parameters"].append({"code": "PULSE", "label": "Pulse", "kind": "safety"})
    d = parse_definition(data)
    adsl = derive_adsl(
        d, subjects({"USUBJID": "A"}), exposure({"USUBJID": "A"}),
        assessments(("A", "BASELINE", 1, 100), ("A", "WEEK24", 169, 120)),
    )  # fmt: skip
    rows = [("A", "BASELINE", 1, 120.0), ("A", "WEEK4", 29, 165.0), ("A", "WEEK8", 57, 90.0)]
    rows += [("A", "WEEK12", 85, 89.5)]
    vs = pd.concat(
        [assessments(*rows, param="SYSBP"), assessments(("A", "WEEK4", 29, 70.0), param="PULSE")],
        ignore_index=True,
    )
    vs = pd.concat([vs, assessments(("A", "WEEK4", 29, 1.0))], ignore_index=True)  # HAIRCNT
    advs = derive_advs(d, vs, adsl)
    assert set(advs["PARAMCD"]) == {"SYSBP", "PULSE"}  # efficacy rows are not vital signs
    bds = derive_bds(d, vs[vs.PARAMCD != "HAIRCNT"], adsl)
    pd.testing.assert_frame_equal(advs.drop(columns=["ALRTIND", "ALRTFL"]), bds)
    sys = advs[advs.PARAMCD == "SYSBP"].set_index("VISIT")
    assert sys.loc["WEEK4", "CHG"] == 45.0 and sys.loc["WEEK4", "BASE"] == 120.0
    assert sys["ALRTIND"].tolist() == ["NORMAL", "HIGH", "NORMAL", "LOW"]  # 90 is not beyond
    assert sys["ALRTFL"].fillna("").tolist() == ["", "Y", "", "Y"]
    pulse = advs[advs.PARAMCD == "PULSE"]
    assert pulse["ALRTIND"].isna().all() and pulse["ALRTFL"].isna().all()  # no limits
    assert not np.isnan(sys["AVAL"]).any()
