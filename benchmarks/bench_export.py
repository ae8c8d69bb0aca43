"""Benchmark: ``trialkit export adam`` and ``trialkit verify`` of the export, for the bundled
tk_aga_301 (4 arms, continuous primary) and tk_aa_201 (binary primary, vital signs).

Run ``python benchmarks/bench_export.py [--repeat 3] [--trials tk_aga_301,tk_aa_201]``; each
trial is copied and analysed once (not timed), then the export's parts are timed (best of
``--repeat`` runs): reading the analysis folder, building the datasets, the whole export (XPT
and CSV, define.xml, checks, staged write) and verify of the package. Prints a table of seconds.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from trialkit.analysis.run import write_analysis
from trialkit.compare import Tolerance
from trialkit.resources import example_trials_dir
from trialkit.submission.adam import build_datasets, read_analysis
from trialkit.submission.export import export_adam
from trialkit.verify import verify_output


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The shortest wall time of ``repeat`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_trial(name: str, root: Path, repeat: int) -> list[tuple[str, str, float]]:
    """(trial, step, seconds) rows for one bundled trial."""
    trial, analysis, package = root / name, root / f"{name}-analysis", root / f"{name}-export"
    shutil.copytree(example_trials_dir() / name, trial)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. the planned fractions of earlier looks
        write_analysis(trial, analysis)
    folder = read_analysis(analysis)
    datasets = build_datasets(folder)
    records = sum(len(ds.frame) for ds in datasets)
    label = f"{name} ({len(datasets)} datasets, {records} records)"

    def export() -> None:
        export_adam(analysis, package, ("xpt", "csv"), force=True)

    def verify() -> None:
        report = verify_output(package, Tolerance())
        assert report.reproduced, report.text()

    export()  # the package verify reads (and a warm start for the timings)
    return [
        (label, "read analysis folder", best_of(repeat, lambda: read_analysis(analysis))),
        (label, "build datasets", best_of(repeat, lambda: build_datasets(folder))),
        (label, "export adam (xpt,csv)", best_of(repeat, export)),
        (label, "verify package", best_of(repeat, verify)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--trials", default="tk_aga_301,tk_aa_201")
    args = parser.parse_args()
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.trials.split(","):
            rows += bench_trial(name.strip(), Path(tmp), args.repeat)
    width = max(len(r[0]) for r in rows)
    print(f"{'trial':<{width}}  {'step':<22}  {'seconds':>8}")
    for trial, step, seconds in rows:
        print(f"{trial:<{width}}  {step:<22}  {seconds:8.3f}")


if __name__ == "__main__":
    main()
