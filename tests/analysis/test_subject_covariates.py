"""A subject-level covariate (SEX) named in the plan works in every model that names it: the
sensitivity ANCOVA equals statsmodels' OLS on the same records (issue 13)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from trialkit.analysis.run import analyze
from trialkit.resources import example_trials_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> object:
    trial = tmp_path_factory.mktemp("sex") / "trial"
    shutil.copytree(example_trials_dir() / "dhurat2013", trial)
    subjects = pd.read_csv(trial / "subjects.csv", dtype=str, keep_default_na=False)
    subjects["SEX"] = np.where(np.arange(len(subjects)) % 3 == 0, "F", "M")
    subjects.to_csv(trial / "subjects.csv", index=False)
    toml = (trial / "trial.toml").read_text()
    toml = toml.replace('strata = ["SEVERITY"]', 'strata = ["SEVERITY"]\ncovariates = ["SEX"]')
    (trial / "trial.toml").write_text(toml)
    return analyze(trial)


def test_ancova_with_sex_equals_statsmodels_ols(results: object) -> None:
    entry = results.supporting["sensitivity"]["ancova"]  # type: ignore[attr-defined]
    assert entry["status"] == "ok", entry
    diffs = results.supporting_tables["sensitivity_ancova_diffs"]  # type: ignore[attr-defined]
    bds = results.adam["adbds"]  # type: ignore[attr-defined]
    adsl = results.adam["adsl"]  # type: ignore[attr-defined]
    rows = bds.loc[
        (bds["PARAMCD"] == "HAIRCNT") & (bds["AVISIT"] == "WEEK12") & (bds["ANL01FL"] == "Y")
    ].merge(adsl[["USUBJID", "SEX"]], on="USUBJID")
    rows = rows.loc[(rows["ITTFL"] == "Y") & rows["CHG"].notna() & rows["BASE"].notna()]
    rows = rows.assign(ARMCD=rows["ARMCD"].astype(str), SEVERITY=rows["SEVERITY"].astype(str))
    fit = smf.ols(
        "CHG ~ C(ARMCD, Treatment('MINOX')) + BASE + C(SEVERITY) + C(SEX)", data=rows
    ).fit()
    term = "C(ARMCD, Treatment('MINOX'))[T.MINOX_MN]"
    row = diffs.set_index("arm").loc["MINOX_MN"]
    assert row["estimate"] == pytest.approx(fit.params[term], abs=1e-8)
    assert row["se"] == pytest.approx(fit.bse[term], abs=1e-8)
    assert row["p_value"] == pytest.approx(fit.pvalues[term], rel=1e-8)
    assert row["df"] == fit.df_resid
    assert "C(SEX)[T.M]" in fit.params  # SEX really entered the model
