"""``trialkit demo``: validate, analyse and report the bundled multicentre example trial.

Writes, under ``out``: ``validation/`` (the query listing), ``interim_analysis/`` (the
analysis at the interim cutoff given in the example's ``scenario.toml``: look 1 of its group
sequential plan), ``analysis/`` (the final analysis, which reads look 1 as its earlier look,
``--previous-looks``, so its boundaries follow the information look 1 actually reached), both
written as ``trialkit analyze`` writes them, ``manifest.json`` included; ``final/``,
``interim_open/`` and ``interim_closed/`` (the reports); and ``tk_aa_201/`` with the
``validation/``, ``analysis/`` and ``final/`` report of the second bundled multi-arm trial.
Everything is written inside the staging folder and moved into place at the end, so a killed
demo leaves nothing outside it.
The demo's folder holds unblinded analyses by design (it shows every output); the open report
in it is self-contained and reads only pooled tables. Validation runs beside the interim
analysis; the final analysis follows it, and the reports run in parallel processes.
"""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from trialkit.errors import InputError
from trialkit.output import staged_output_dir
from trialkit.processes import die_with_parent, signals_deferred, worker_init_args
from trialkit.report.api import run_analysis, run_report
from trialkit.resources import example_trials_dir

EXAMPLE = "tk_aga_301"
#: The second bundled multi-arm trial: alopecia areata, a responder primary, active-versus-
#: active comparisons, vital signs; validated, analysed and reported (final) in its own folder.
SECOND_EXAMPLE = "tk_aa_201"
#: The interim analysis behind the two interim reports, and the final analysis' earlier look.
INTERIM_ANALYSIS = "interim_analysis"


def demo_trial() -> Path:
    """The bundled multicentre example trial folder."""
    return example_trials_dir() / EXAMPLE


def demo_cutoff(trial: Path) -> date:
    """The interim cutoff documented in the example's ``scenario.toml``."""
    from trialkit.examples import load_scenario

    cutoff = load_scenario(trial).interim_cutoff
    if cutoff is None:
        raise InputError(f"{trial}/scenario.toml: interim_cutoff is missing")
    return cutoff


def _analyse(trial: Path, dest: Path, cutoff: date | None, previous: Path | None = None) -> str:
    """Worker: run the analysis into ``dest`` (``trialkit analyze``'s code path, with manifest),
    with ``previous`` as its earlier look."""
    run_analysis(trial, dest, cutoff, [previous] if previous is not None else None)
    return str(dest)


def _report(trial: Path, out: Path, results: Path, kind: str, blinded: bool | None,
            cutoff: date | None) -> list[str]:  # fmt: skip
    """Worker: render one report from an analysis output."""
    files = run_report(
        trial, out, kind=kind, blinded=blinded, cutoff=cutoff, results=results, force=True
    )
    return [str(f) for f in files]


def _validate(trial: Path, out: Path) -> int:
    """Worker: validate the trial and write the query listing; the exit code."""
    from trialkit.validation import run_validate

    return run_validate(trial, out=out, force=True)[1]


def _preload() -> None:
    """Import the heavy modules once, before the worker processes fork from this one."""
    import importlib

    for name in ("trialkit.validation", "trialkit.analysis.run", "weasyprint"):
        # deferred: WeasyPrint's library search runs the compiler on temporary files
        with contextlib.suppress(ImportError, OSError), signals_deferred():
            importlib.import_module(name)


def run_demo(out: Path, force: bool = False, workers: int | None = None) -> dict[str, Any]:
    """Run the whole demo into ``out``; return the exit code of validation (the worse of the
    two trials') and the files."""
    start = time.perf_counter()
    _preload()
    timings: dict[str, float] = {}
    trial = demo_trial()
    cutoff = demo_cutoff(trial)
    workers = workers or min(3, os.cpu_count() or 1)
    with (
        staged_output_dir(Path(out), force, [trial]) as stage,
        ProcessPoolExecutor(
            workers, initializer=die_with_parent, initargs=worker_init_args()
        ) as pool,
    ):
        interim_results = stage / INTERIM_ANALYSIS
        validation = pool.submit(_validate, trial, stage / "validation")
        second = example_trials_dir() / SECOND_EXAMPLE
        second_out = stage / SECOND_EXAMPLE
        second_out.mkdir()
        second_validation = pool.submit(_validate, second, second_out / "validation")
        second_an = pool.submit(_analyse, second, second_out / "analysis", None)
        interim_an = pool.submit(_analyse, trial, interim_results, cutoff)
        # each report starts as soon as its analysis is there
        interim_an.result()
        final_an = pool.submit(_analyse, trial, stage / "analysis", None, interim_results)
        jobs: dict[str, Future[list[str]]] = {
            "interim_closed": pool.submit(_report, trial, stage / "interim_closed",
                                          interim_results, "interim", False, cutoff),
            "interim_open": pool.submit(_report, trial, stage / "interim_open", interim_results,
                                        "interim", True, cutoff),
        }  # fmt: skip
        final_an.result()
        timings["validate and analyse (parallel)"] = time.perf_counter() - start
        jobs["final"] = pool.submit(
            _report, trial, stage / "final", stage / "analysis", "final", None, None
        )
        second_an.result()
        jobs[f"{SECOND_EXAMPLE}_final"] = pool.submit(
            _report, second, second_out / "final", second_out / "analysis", "final", None, None
        )
        written = {name: [Path(f) for f in jobs[name].result()] for name in sorted(jobs)}
        code = max(validation.result(), second_validation.result())
        timings["three reports, HTML and PDF (parallel)"] = (
            time.perf_counter() - start - timings["validate and analyse (parallel)"]
        )
    final = Path(out)
    files = {name: [final / p.relative_to(stage) for p in paths] for name, paths in written.items()}
    return {
        "validation_exit": code, "cutoff": cutoff, "files": files, "out": final, "trial": trial,
        "timings": timings,
    }  # fmt: skip
