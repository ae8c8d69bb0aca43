"""Timing of trialkit's MMRM engine on the BCVA and FEV trials (prints a Markdown table).

Run with OpenBLAS's machine overrides unset, as ../shared/benchmarks/README.md explains:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_mmrm.py

Each figure is the median of a few repeated fits (model set-up + REML fit + Satterthwaite
df of every coefficient). Larger BCVA data sets resample whole subjects with replacement.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from trialkit.models import MMRM, MMRMResults

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BCVA_FORMULA = "BCVA_CHG ~ BCVA_BL + RACE + ARMCD * AVISIT"
FEV_FORMULA = "FEV1 ~ RACE + SEX + ARMCD * AVISIT"


def _time(fn: Callable[[], MMRMResults], repeat: int) -> tuple[float, MMRMResults]:
    times: list[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def resample_subjects(df: pd.DataFrame, n: int, seed: int = 20240601) -> pd.DataFrame:
    """Draw ``n`` subjects with replacement, each copy a new subject."""
    rng = np.random.default_rng(seed)
    ids = df["USUBJID"].unique()
    pick = rng.choice(ids, size=n, replace=True)
    parts = [df[df["USUBJID"] == s].assign(USUBJID=f"S{k}") for k, s in enumerate(pick)]
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="skip the 16,000-subject case")
    args = ap.parse_args()
    bcva = pd.read_csv(SHARED / "benchmarks" / "bcva_data.csv", dtype={"USUBJID": str})
    fev = pd.read_csv(SHARED / "conformance" / "fev_data.csv")
    rows: list[tuple[str, int, float, float, bool, int]] = []

    def fit(df: pd.DataFrame, formula: str, dfm: str = "satterthwaite") -> MMRMResults:
        return MMRM.from_formula(
            formula, df, subject="USUBJID", visit="AVISIT", covariance="us"
        ).fit(df=dfm)

    t, res = _time(lambda: fit(fev, FEV_FORMULA), args.repeat * 3)
    rows.append(
        ("FEV (us, Satterthwaite)", 200, t, res.minus2ll, res.converged, res.convergence.iterations)
    )
    t, res = _time(lambda: fit(fev, FEV_FORMULA, "kenward-roger"), args.repeat * 3)
    rows.append(
        ("FEV (us, Kenward-Roger)", 200, t, res.minus2ll, res.converged, res.convergence.iterations)
    )
    t, res = _time(lambda: fit(bcva, BCVA_FORMULA), args.repeat)
    rows.append(
        (
            "BCVA (us, Satterthwaite)",
            1000,
            t,
            res.minus2ll,
            res.converged,
            res.convergence.iterations,
        )
    )
    sizes = [250, 1000, 4000] + ([] if args.quick else [16000])
    for n in sizes:
        data = resample_subjects(bcva, n)
        t, res = _time(partial(fit, data, BCVA_FORMULA), args.repeat if n <= 4000 else 1)
        rows.append(
            (
                "BCVA resampled (us, Satterthwaite)",
                n,
                t,
                res.minus2ll,
                res.converged,
                res.convergence.iterations,
            )
        )
    print("| model | subjects | seconds | -2 REML loglik | converged | Newton iterations |")
    print("|---|---:|---:|---:|---|---:|")
    for name, n, t, ll, conv, it in rows:
        print(f"| {name} | {n:,} | {t:.3f} | {ll:.4f} | {conv} | {it} |")


if __name__ == "__main__":
    main()
