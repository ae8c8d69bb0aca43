"""Time ``trialkit analyze`` on the bundled multicentre example, step by step; print a table.

    /work/venv/bin/python benchmarks/bench_analyze.py [--repeat N] [--trial NAME]

The target (issue 4) is the whole command in at most 10 s on a 2-core machine. Each step is
timed as ``analyze`` runs it (validation, derivation, primary MMRM, multiplicity, subgroups,
supporting analyses, writing), plus the end-to-end CLI call; the best of N runs is shown.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import trialkit.analysis.run as run_mod
from trialkit.cli import main
from trialkit.processes import Background
from trialkit.resources import example_trials_dir

STEPS = {
    "validate_trial": ("trialkit.validation", "validate_trial"),
    "derive_adsl": (run_mod, "derive_adsl"),
    "derive_bds": (run_mod, "derive_bds"),
    "apply_estimand": (run_mod, "apply_estimand"),
    "derive_adae": (run_mod, "derive_adae"),
    "primary MMRM + LS means": (run_mod, "run_primary"),
    "multiplicity": (run_mod, "adjust"),
    "subgroups": (run_mod, "run_subgroup"),
    "supporting: responders (main process)": ("trialkit.analysis.supporting", "_responders"),
    "supporting: safety (main process)": ("trialkit.analysis.supporting", "_safety"),
    # descriptive, sensitivity and secondary analyses run in the forked worker meanwhile
    "waiting for the supporting worker": (Background, "result"),
}


@contextlib.contextmanager
def timed(timings: dict[str, float]) -> Iterator[None]:
    """Wrap the step functions so each call adds its wall time to ``timings``."""
    import importlib

    originals: list[tuple[Any, str, Callable[..., Any]]] = []
    for label, (where, name) in STEPS.items():
        module: Any = importlib.import_module(where) if isinstance(where, str) else where
        fn = getattr(module, name)

        def wrapper(*a: Any, _fn: Callable[..., Any] = fn, _label: str = label, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                timings[_label] = timings.get(_label, 0.0) + time.perf_counter() - t0

        originals.append((module, name, fn))
        setattr(module, name, wrapper)
    try:
        yield
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)


def one_run(trial: Path) -> dict[str, float]:
    """Time one CLI run (with the per-step breakdown)."""
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, timed(timings), open(os.devnull, "w") as null:
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(null):
            code = main(["analyze", str(trial), "--out", str(Path(tmp) / "out")])
        timings["total (trialkit analyze)"] = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"trialkit analyze exited with {code}")
    steps = sum(v for k, v in timings.items() if not k.startswith("total"))
    timings["other (reading, results, writing)"] = timings["total (trialkit analyze)"] - steps
    return timings


def fresh_process(trial: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, worker included) of ``trialkit analyze`` in a
    new Python process (imports included). CPU time does not depend on the machine's load."""
    import resource
    import subprocess
    import sys

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    with tempfile.TemporaryDirectory() as tmp:
        c0, t0 = cpu(), time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "trialkit", "analyze", str(trial), "--out", f"{tmp}/out"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        return time.perf_counter() - t0, cpu() - c0


def main_bench() -> None:
    """Parse arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--trial", default="tk_aga_301")
    args = parser.parse_args()
    trial = example_trials_dir() / args.trial
    runs = [one_run(trial) for _ in range(args.repeat)]
    labels = [*STEPS, "other (reading, results, writing)", "total (trialkit analyze)"]
    print(f"trialkit analyze {args.trial}: best and median of {args.repeat} runs "
          f"(cpus: {os.cpu_count()}, load: {os.getloadavg()[0]:.2f})")  # fmt: skip
    print(f"{'step':<40} {'best s':>8} {'median s':>9}")
    for label in labels:
        values = sorted(r.get(label, 0.0) for r in runs)
        print(f"{label:<40} {values[0]:8.3f} {values[len(values) // 2]:9.3f}")
    runs_fresh = [fresh_process(trial) for _ in range(args.repeat)]
    fresh = sorted(w for w, _ in runs_fresh)
    cpu = sorted(c for _, c in runs_fresh)
    mid = len(fresh) // 2
    print(f"{'fresh process, wall (imports included)':<40} {fresh[0]:8.3f} {fresh[mid]:9.3f}")
    print(f"{'fresh process, CPU (both processes)':<40} {cpu[0]:8.3f} {cpu[mid]:9.3f}")
    best_total = fresh[0]
    verdict = "within" if best_total <= 10.0 else "OVER"
    print(f"target: total <= 10 s on 2 cores -> {verdict} ({best_total:.2f} s wall at load "
          f"{os.getloadavg()[0]:.2f}; CPU {cpu[0]:.2f} s over 2 processes)")  # fmt: skip


if __name__ == "__main__":
    main_bench()
