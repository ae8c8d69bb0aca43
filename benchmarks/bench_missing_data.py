"""Time conditional mean imputation + jackknife (J2R) with trialkit and, when Rscript is there,
with R's rbmi in the same run; print a table.

    /work/venv/bin/python benchmarks/bench_missing_data.py [--repeat N] [--workers W]

Cases: rbmi's antidepressant example (../shared/conformance/antidepressant; 172 subjects) and
the bundled tk_aga_301 (300 subjects, 4 arms, sites and severity as covariates, discontinuation
as the event). trialkit's time is draws + impute + analyse + pool, best of N; rbmi's is draws +
impute + analyse + pool of one run (``Rscript``, timed inside R). Target (issue 15): at most 1/20
of rbmi's time.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from trialkit.missing_data import LongData, Method, analyse, draws, impute, long_data, pool
from trialkit.parallel import run_batches

SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "antidepressant"

R_SCRIPT = r"""
suppressMessages({library(rbmi); library(dplyr)})
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1], stringsAsFactors = FALSE)
ice <- read.csv(args[2], stringsAsFactors = FALSE)
covs <- strsplit(args[3], ",")[[1]]
ref <- args[4]
for (v in c("USUBJID", "AVISIT", "ARMCD", covs[!covs %in% c("BASE")])) dat[[v]] <- factor(dat[[v]])
dat$ARMCD <- relevel(dat$ARMCD, ref)
dat$AVISIT <- factor(dat$AVISIT, levels = unique(dat$AVISIT))
ice$USUBJID <- factor(ice$USUBJID, levels = levels(dat$USUBJID))
ice$AVISIT <- factor(ice$AVISIT, levels = levels(dat$AVISIT))
vars <- set_vars(outcome = "Y", visit = "AVISIT", subjid = "USUBJID", group = "ARMCD",
                 covariates = c("BASE*AVISIT", "ARMCD*AVISIT", covs[covs != "BASE"]))
va <- vars; va$covariates <- covs
refs <- setNames(rep(ref, nlevels(dat$ARMCD)), levels(dat$ARMCD))
t0 <- Sys.time()
d <- draws(data = dat, data_ice = ice, vars = vars, method = method_condmean(type = "jackknife"),
           quiet = TRUE)
im <- impute(d, references = refs)
if (nlevels(dat$ARMCD) > 2) {
  keep <- levels(dat$ARMCD)[1:2]
  fn <- function(data, ...) {
    data <- data[data$ARMCD %in% keep, ]
    data$ARMCD <- droplevels(data$ARMCD)
    ancova(data, ...)
  }
} else fn <- ancova
p <- pool(analyse(im, fn, vars = va))
cat(as.numeric(Sys.time() - t0, units = "secs"), "\n")
"""


def _antidepressant() -> LongData:
    rows = pd.read_csv(SHARED / "antidepressant_data.csv", dtype={"PATIENT": str, "VISIT": str})
    ice = pd.read_csv(SHARED / "first_missing_visit.csv", dtype={"PATIENT": str, "VISIT": str})
    rows = rows.rename(columns={"PATIENT": "USUBJID", "VISIT": "AVISIT", "THERAPY": "ARMCD",
                                "BASVAL": "BASE", "CHANGE": "Y"})  # fmt: skip
    ice = ice.rename(columns={"PATIENT": "USUBJID", "VISIT": "AVISIT"}).assign(strategy="J2R")
    return long_data(rows, subject="USUBJID", visit="AVISIT", group="ARMCD", outcome="Y",
                     covariates=["BASE"], visits=["4", "5", "6", "7"], control="PLACEBO",
                     events=ice)  # fmt: skip


def _tk_aga_301() -> tuple[LongData, list[str]]:
    from trialkit.analysis.missing_data import long_data_of
    from trialkit.analysis.plan import check_plan
    from trialkit.derive import apply_estimand, derive_adsl, derive_bds
    from trialkit.missing_data.plan import MissingDataPlan
    from trialkit.resources import example_trials_dir
    from trialkit.validation import validate_trial

    report = validate_trial(example_trials_dir() / "tk_aga_301", None)
    d = report.definition
    assert d is not None
    fr = {k: v.frame for k, v in report.datasets.items()}
    adsl = derive_adsl(d, fr["subjects"], fr["exposure"], fr["assessments"],
                       fr.get("concomitant_medications"), None)  # fmt: skip
    bds = apply_estimand(derive_bds(d, fr["assessments"], adsl, None), adsl, d.estimand)
    mp = check_plan(d, list(adsl.columns), list(bds.columns))
    plan = MissingDataPlan.from_mapping(
        {"strategies": [{"event": "discontinuation", "strategy": "J2R"}]}
    )
    ld = long_data_of(d, plan, mp, adsl, bds)
    return replace(ld, outcome="Y", grid=ld.grid.rename(columns={ld.outcome: "Y"})), list(
        mp.covariates
    )


def _trialkit(ld: LongData, covs: list[str], workers: int) -> float:
    formula = "Y ~ BASE*AVISIT + ARMCD*AVISIT" + "".join(f" + {c}" for c in covs)
    runner = partial(run_batches, workers=workers)
    t0 = time.perf_counter()
    im = impute(draws(ld, formula, Method(), runner=runner), {a: ld.control for a in ld.arms})
    pool(analyse(im), "jackknife")
    return time.perf_counter() - t0


def _rbmi(ld: LongData, covs: list[str], folder: Path) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    grid = ld.grid.rename(columns={ld.outcome: "Y"})
    grid.to_csv(folder / "data.csv", index=False)
    ice = pd.DataFrame(
        {
            "USUBJID": np.array(ld.subjects)[ld.ice < len(ld.visits)],
            "AVISIT": [ld.visits[k] for k in ld.ice if k < len(ld.visits)],
            "strategy": "JR",
        }
    )
    ice.to_csv(folder / "ice.csv", index=False)
    (folder / "bench.R").write_text(R_SCRIPT)
    out = subprocess.run(
        ["Rscript", str(folder / "bench.R"), str(folder / "data.csv"), str(folder / "ice.csv"),
         ",".join(["BASE", *covs]), ld.control],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    cases = [("antidepressant (172)", _antidepressant(), []), ("tk_aga_301 (300)", *_tk_aga_301())]
    print(f"{'case':<22} {'trialkit s':>11} {'rbmi s':>9} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, ld, covs in cases:
            ours = min(_trialkit(ld, covs, args.workers) for _ in range(args.repeat))
            theirs = _rbmi(ld, covs, Path(tmp))
            ratio = f"{theirs / ours:7.1f}" if theirs else "      -"
            shown = f"{theirs:9.2f}" if theirs else "        -"
            print(f"{name:<22} {ours:11.3f} {shown} {ratio}")


if __name__ == "__main__":
    main()
