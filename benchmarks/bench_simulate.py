"""Timing of ``trialkit simulate`` per replicate (prints a Markdown table).

The plan: the bundled multicentre trial's (300 subjects, 4 arms, 5 post-baseline visits,
unstructured covariance, Kenward-Roger df, Dunnett) without its interim plan. Rows: CPU and
wall time per replicate in one process, wall time and CPU (all processes: the parent's and its
reaped workers') with 2 local workers, the speed-ups, and the load average (on a busy machine
the wall times measure the other work too: compare CPU), and, where
``Rscript`` with the mmrm package is present, a loop of R ``mmrm`` fits of the same model on the
same simulated data in the same run. Run with OpenBLAS's machine overrides unset, as
../shared/benchmarks/README.md explains:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_simulate.py
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from trialkit.resources import example_trials_dir
from trialkit.simulation.generate import simulate_trial
from trialkit.simulation.replicates import replicate_rng
from trialkit.simulation.run import simulate_rows
from trialkit.simulation.scenarios import load_scenarios

ARMS = ("MINOX", "MINOX_MN", "MN_PRP", "MN_FIN_MINOX")
MEANS = ([4, 8, 12, 15, 17], [6, 12, 18, 23, 27], [5, 10, 15, 19, 22], [6, 12, 18, 23, 27])
KEEP = [0.98, 0.95, 0.92, 0.90, 0.88]

R_LOOP = """
suppressMessages(library(mmrm))
files <- commandArgs(trailingOnly = TRUE)
data <- lapply(files, function(f) {
  d <- read.csv(f); d$USUBJID <- factor(d$USUBJID)
  d$AVISIT <- factor(d$AVISIT, levels = c("WEEK4", "WEEK8", "WEEK12", "WEEK16", "WEEK24"))
  d$ARMCD <- relevel(factor(d$ARMCD), ref = "MINOX"); d
})
t <- system.time(for (d in data) mmrm(CHG ~ ARMCD * AVISIT + BASE * AVISIT + us(AVISIT | USUBJID),
                                      data = d, method = "Kenward-Roger"))
cat(sprintf("%.6f\\n", t[["elapsed"]] / length(data)))
"""


def scenarios_file(folder: Path) -> Path:
    """The example trial without ``[interim]`` and a design scenario for it."""
    text = (example_trials_dir() / "tk_aga_301" / "trial.toml").read_text(encoding="utf-8")
    (folder / "trial.toml").write_text(re.sub(r"(?ms)^\[interim\].*", "", text), encoding="utf-8")
    means = ", ".join(f"{a} = {m}" for a, m in zip(ARMS, MEANS, strict=True))
    keep = ", ".join(f"{a} = {KEEP}" for a in ARMS)
    path = folder / "scenarios.toml"
    path.write_text(
        'trial = "trial.toml"\nseed = 1\nsubjects = 300\n[baseline]\nmean = 150.0\nsd = 30.0\n'
        f'[[scenarios]]\nname = "design"\nmean_change = {{ {means} }}\n'
        'sd = [10, 12, 14, 15, 16]\ncorrelation = { structure = "ar1", rho = 0.7 }\n'
        f"retention = {{ {keep} }}\n",
        encoding="utf-8",
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plan = load_scenarios(scenarios_file(Path(tmp)))
        plan = replace(plan, replicates=args.replicates)
        simulate_rows(replace(plan, replicates=2), None, 1, None, None)  # warm up
        load = os.getloadavg()[0]
        cpu, wall = time.process_time(), time.perf_counter()
        simulate_rows(plan, None, 1, None, None, batch_size=args.batch_size)
        cpu1, wall1 = time.process_time() - cpu, time.perf_counter() - wall
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, wall = time.process_time(), time.perf_counter()
        simulate_rows(plan, None, 2, None, None, batch_size=args.batch_size)
        wall2 = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        cpu2 = time.process_time() - cpu + worker_cpu
        n = args.replicates
        print("| task | per replicate |")
        print("|---|---|")
        print(f"| 1 process, CPU | {1000 * cpu1 / n:.1f} ms |")
        print(f"| 1 process, wall | {1000 * wall1 / n:.1f} ms |")
        print(f"| 2 workers, CPU (all processes) | {1000 * cpu2 / n:.1f} ms |")
        print(f"| 2 workers, wall | {1000 * wall2 / n:.1f} ms (speed-up {wall1 / wall2:.2f}x) |")
        print(f"| 2 workers, CPU-bound speed-up | {2 * cpu1 / cpu2:.2f}x (2 x CPU 1 / CPU 2) |")
        print(f"| load average (1 min) before / after | {load:.2f} / {os.getloadavg()[0]:.2f} |")
        if shutil.which("Rscript"):
            files = []
            for r in range(10):
                trial = simulate_trial(plan, plan.scenarios[0], replicate_rng(1, r), 300)
                frame = trial.frame(
                    plan.arms,
                    plan.visits,
                    tuple(v.day for v in plan.trial.post_baseline_visits),
                    "CHG",
                )
                files.append(str(Path(tmp) / f"rep{r}.csv"))
                frame.to_csv(files[-1], index=False)
            script = Path(tmp) / "loop.R"
            script.write_text(R_LOOP, encoding="utf-8")
            done = subprocess.run(["Rscript", str(script), *files], capture_output=True,
                                  text=True, check=False)  # fmt: skip
            if done.returncode == 0:
                print(f"| R mmrm fit (KR), loop, wall | {1000 * float(done.stdout):.1f} ms |")
            else:
                print(f"| R mmrm | not run: {done.stderr.strip().splitlines()[-1:]} |")


if __name__ == "__main__":
    main()
