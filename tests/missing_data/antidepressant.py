"""rbmi's antidepressant example (../shared/conformance/antidepressant) in trialkit's shape."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from tests.shared_data import SHARED, shared_file
from trialkit.missing_data import Draws, Imputation, LongData, Method, draws, impute, long_data
from trialkit.missing_data.draws import Runner, in_process

FOLDER = SHARED / "conformance" / "antidepressant"
FORMULA = "CHANGE ~ BASVAL*VISIT + THERAPY*VISIT"
VISITS = ("4", "5", "6", "7")
REFERENCES = {"DRUG": "PLACEBO", "PLACEBO": "PLACEBO"}
#: rbmi's names of the strategies (jump to reference is JR there).
RBMI_NAMES = {"MAR": "MAR", "J2R": "JR", "CR": "CR", "CIR": "CIR"}


def require() -> None:
    """Skip locally, fail in CI, when the shared data are absent."""
    shared_file("conformance", "antidepressant", "antidepressant_data.csv")
    shared_file("conformance", "antidepressant", "first_missing_visit.csv")


@cache
def data(strategy: str) -> LongData:
    """The trial with every vignette event handled by ``strategy``."""
    rows = pd.read_csv(FOLDER / "antidepressant_data.csv", dtype={"PATIENT": str, "VISIT": str})
    ice = pd.read_csv(FOLDER / "first_missing_visit.csv", dtype={"PATIENT": str, "VISIT": str})
    return long_data(
        rows, subject="PATIENT", visit="VISIT", group="THERAPY", outcome="CHANGE",
        covariates=["BASVAL"], visits=VISITS, control="PLACEBO",
        events=ice.assign(strategy=strategy),
    )  # fmt: skip


def fit(strategy: str, method: Method, runner: Runner = in_process) -> Draws:
    """Draws of ``method`` under ``strategy``."""
    return draws(data(strategy), FORMULA, method, runner=runner)


@cache
def jackknife(strategy: str) -> Imputation:
    """Conditional mean imputation with jackknife under ``strategy``."""
    return impute(fit(strategy, Method()), REFERENCES)


def drug_delta(ld: LongData, delta: float) -> np.ndarray:
    """``delta`` on every visit of the DRUG subjects (added to imputed values only)."""
    return np.where((ld.arm == ld.arms.index("DRUG"))[:, None], delta, 0.0) * np.ones(
        (1, len(ld.visits))
    )
