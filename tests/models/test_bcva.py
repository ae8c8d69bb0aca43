"""The BCVA benchmark model (1,000 subjects x 10 visits, 55 covariance parameters) fits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.shared_data import shared_file
from trialkit.models import MMRM


def test_bcva_unstructured_reml() -> None:
    df = pd.read_csv(shared_file("benchmarks", "bcva_data.csv"), dtype={"USUBJID": str})
    model = MMRM.from_formula(
        "BCVA_CHG ~ BCVA_BL + RACE + ARMCD * AVISIT",
        df,
        subject="USUBJID",
        visit="AVISIT",
        covariance="us",
    )
    res = model.fit()
    assert res.converged, res.convergence.message
    assert len(res.theta) == 55 and len(res.params) == 23
    assert abs(res.minus2ll - 32071.03) < 0.01  # figure of ../shared/benchmarks/README.md
    assert np.all(np.isfinite(res.df)) and (res.df > 0).all()
    lsm = res.contrasts("ARMCD", by="AVISIT")
    assert len(lsm) == 10 and np.all(np.isfinite(lsm["se"]))
