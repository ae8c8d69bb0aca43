"""Time ``trialkit analyze`` step by step at growing trial sizes; print a table with peak memory.

    /work/venv/bin/python benchmarks/bench_scale.py [--sizes 300 3000 30000] [--repeat 2]

The target (issue 10) is every step linear in subjects and ``analyze`` of 10,000 subjects x 6
visits (baseline and 5 post-baseline) in at most 60 s and 4 GB on a 2-core machine. Each trial
is the multicentre example (``trialkit.examples.write_scaled_trial``: its sites, seed and
settings, N subjects) written once into a temporary folder. Each measurement runs in a fresh
process (so peak RSS is that run's): the per-step breakdown with ``TRIALKIT_WORKERS=1`` (all
steps in one process, their times add up), then the real command (``write_analysis``, one
forked worker) for the wall time and peak RSS of both processes. Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: Step label -> (module, function) whose calls are timed (summed when called more than once).
STEPS: dict[str, tuple[str, str]] = {
    "validate": ("trialkit.validation", "validate_trial"),
    "derive: adsl": ("trialkit.analysis.run", "derive_adsl"),
    "derive: bds": ("trialkit.analysis.run", "derive_bds"),
    "derive: estimand": ("trialkit.analysis.run", "apply_estimand"),
    "derive: adae": ("trialkit.analysis.run", "derive_adae"),
    "primary MMRM": ("trialkit.analysis.run", "run_primary"),
    "subgroups": ("trialkit.analysis.run", "run_subgroup"),
    "descriptive": ("trialkit.analysis.supporting", "_descriptive"),
    "sensitivity: ancova": ("trialkit.estimators.linear", "ancova"),
    "sensitivity: random slope": ("trialkit.estimators.slopes", "random_slope"),
    "sensitivity: NB GEE": ("trialkit.estimators.counts", "nb_gee"),
    "sensitivity: PP MMRM": ("trialkit.analysis.supporting", "_endpoint_mmrm"),
    "secondary": ("trialkit.analysis.supporting", "_secondary"),
    "responders": ("trialkit.analysis.supporting", "_responders"),
    "safety": ("trialkit.analysis.supporting", "_safety"),
    "write folder": ("trialkit.analysis.results", "AnalysisResults.write"),
}

#: The per-protocol MMRM is ``_endpoint_mmrm`` with this stem; other calls are secondary's.
PP_STEM = "sensitivity_mmrm_pp"
SERIAL = "total, 1 process"
WALL = "total, 2 processes"
RSS_SERIAL = "peak RSS MB, 1 process"
RSS = "peak RSS MB, 2 processes (sum)"


def _target(where: str, name: str) -> tuple[Any, str]:
    """The object holding the attribute ``name`` (``Class.method`` names a class attribute)."""
    obj: Any = importlib.import_module(where)
    *owners, attr = name.split(".")
    for owner in owners:
        obj = getattr(obj, owner)
    return obj, attr


@contextlib.contextmanager
def timed(timings: dict[str, float]) -> Iterator[None]:
    """Wrap each step function so its calls add their wall time to ``timings``."""
    originals: list[tuple[Any, str, Callable[..., Any]]] = []
    for label, (where, name) in STEPS.items():
        owner, attr = _target(where, name)
        fn = getattr(owner, attr)

        def wrapper(*a: Any, _fn: Callable[..., Any] = fn, _label: str = label, **k: Any) -> Any:
            if _label == "sensitivity: PP MMRM" and a[-1] != PP_STEM:
                _label = "secondary MMRMs (in secondary)"
            t0 = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                timings[_label] = timings.get(_label, 0.0) + time.perf_counter() - t0

        originals.append((owner, attr, fn))
        setattr(owner, attr, wrapper)
    try:
        yield
    finally:
        for owner, attr, fn in originals:
            setattr(owner, attr, fn)


def _peak_mb() -> float:
    """Peak RSS of this process plus the largest of its finished children (the worker), MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + child) / 1024.0


def measure(trial: Path, serial: bool) -> dict[str, float]:
    """One ``write_analysis`` of ``trial`` in this process (steps timed when ``serial``)."""
    from trialkit.analysis.run import write_analysis

    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        guard = timed(timings) if serial else contextlib.nullcontext()
        with guard:
            t0 = time.perf_counter()
            write_analysis(trial, Path(tmp) / "out")
            total = time.perf_counter() - t0
    timings[SERIAL if serial else WALL] = total
    timings[RSS_SERIAL if serial else RSS] = _peak_mb()
    return timings


def _child(trial: Path, serial: bool) -> dict[str, float]:
    """:func:`measure` in a fresh Python process (its own peak RSS; workers as asked)."""
    env = {**os.environ, "TRIALKIT_WORKERS": "1" if serial else "2"}
    cmd = [sys.executable, __file__, "--measure", str(trial)] + (["--serial"] if serial else [])
    run = subprocess.run(cmd, env=env, cwd=trial.parent, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{trial}: the measurement failed:\n{run.stderr}")
    out = run.stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def _generate(folder: Path, n_subjects: int) -> Path:
    """Write the scaled example of ``n_subjects`` (a multiple of its 4 arms) in a fresh process,
    so the generator's memory does not count in the analyses' peak."""
    code = (
        "import sys; from trialkit.examples import write_scaled_trial; "
        "write_scaled_trial(sys.argv[1], int(sys.argv[2]))"
    )
    args = [sys.executable, "-c", code, str(folder), str(n_subjects // 4)]
    subprocess.run(args, check=True, cwd=folder.parent)
    return folder


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per key, the smallest value over runs (best of N; noise only adds time)."""
    keys = dict.fromkeys(k for r in runs for k in r)
    return {k: min(r[k] for r in runs if k in r) for k in keys}


def _table(sizes: list[int], results: dict[int, dict[str, float]]) -> str:
    """The table: one row per step, one column per size."""
    labels = dict.fromkeys(
        [*STEPS, "secondary MMRMs (in secondary)", SERIAL, WALL, RSS_SERIAL, RSS]
        + [k for r in results.values() for k in r]
    )
    head = f"{'step (s)':<34}" + "".join(f"{n:>12,}" for n in sizes)
    lines = [head, "-" * len(head)]
    for label in labels:
        cells = [results[n].get(label) for n in sizes]
        if all(c is None for c in cells):
            continue
        lines.append(
            f"{label:<34}" + "".join(f"{c:12.2f}" if c is not None else f"{'':>12}" for c in cells)
        )
    return "\n".join(lines)


def main_bench() -> None:
    """Parse arguments; generate, measure and print (or, with --measure, one measurement)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 3000, 30000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-serial", action="store_true", help="skip the per-step breakdown")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serial", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.serial)))
        return
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            trial = _generate(Path(tmp) / f"trial_{n}", n)
            runs = []
            for _ in range(args.repeat):
                if not args.no_serial:
                    runs.append(_child(trial, serial=True))
                runs.append(_child(trial, serial=False))
            results[n] = _best(runs)
            print(f"{n:,} subjects done ({results[n][WALL]:.1f} s)", file=sys.stderr, flush=True)
    print(f"trialkit analyze, scaled multicentre example: best of {args.repeat} "
          f"(cpus: {os.cpu_count()}, load: {os.getloadavg()[0]:.2f})")  # fmt: skip
    print(_table(args.sizes, results))
    if 10000 in results:
        r = results[10000]
        ok = r[WALL] <= 60.0 and r[RSS] <= 4096.0
        print(f"target at 10,000 subjects: <= 60 s and 4 GB -> {'within' if ok else 'OVER'} "
              f"({r[WALL]:.1f} s, {r[RSS]:.0f} MB)")  # fmt: skip


if __name__ == "__main__":
    main_bench()
