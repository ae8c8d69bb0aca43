"""Timing of trialkit's MMRM engine on the BCVA and FEV trials (prints a Markdown table).

Run with OpenBLAS's machine overrides unset, as ../shared/benchmarks/README.md explains:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_mmrm.py

Each row times model set-up + REML fit + df of every coefficient, repeated; the best and
the median of the repeats are shown (the machine is shared, so the best is the cleaner
figure). Larger BCVA data sets resample whole subjects with replacement.
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


def _time(fn: Callable[[], MMRMResults], repeat: int) -> tuple[float, float, MMRMResults]:
    times: list[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


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
    rows: list[tuple[str, int, float, float, MMRMResults]] = []

    def fit(df: pd.DataFrame, formula: str, dfm: str = "satterthwaite") -> MMRMResults:
        return MMRM.from_formula(
            formula, df, subject="USUBJID", visit="AVISIT", covariance="us"
        ).fit(df=dfm)

    def run(name: str, n: int, fn: Callable[[], MMRMResults], repeat: int) -> None:
        best, median, res = _time(fn, repeat)
        rows.append((name, n, best, median, res))

    run("FEV (us, Satterthwaite)", 200, partial(fit, fev, FEV_FORMULA), 5 * args.repeat)
    run(
        "FEV (us, Kenward-Roger)",
        200,
        partial(fit, fev, FEV_FORMULA, "kenward-roger"),
        5 * args.repeat,
    )
    run("BCVA (us, Satterthwaite)", 1000, partial(fit, bcva, BCVA_FORMULA), args.repeat)
    for n in [250, 1000, 4000] + ([] if args.quick else [16000]):
        data = resample_subjects(bcva, n)
        reps = args.repeat if n <= 4000 else 1
        run("BCVA resampled (us, Satterthwaite)", n, partial(fit, data, BCVA_FORMULA), reps)
    print("| model | subjects | best s | median s | -2 REML loglik | converged | iterations |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for name, n, best, median, res in rows:
        print(
            f"| {name} | {n:,} | {best:.3f} | {median:.3f} | {res.minus2ll:.4f} "
            f"| {res.converged} | {res.convergence.iterations} |"
        )


if __name__ == "__main__":
    main()
