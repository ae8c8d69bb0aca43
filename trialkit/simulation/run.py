"""``trialkit simulate``: every replicate of every scenario, in batches on the parallel layer,
then ``replicates.parquet``, ``summary.csv``, ``looks.csv``, ``power.png`` and ``manifest.json``.

Finished batches are saved as parquet parts in a folder beside ``--out``
(``.NAME.simulate-parts``, with ``run.json`` naming what the run computes), so an interrupted
run continues with ``resume=True`` and gives the same files as an uninterrupted one. The output
folder itself is written whole at the end (:func:`trialkit.output.staged_output_dir`); the
parts folder is removed once it is in place.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from trialkit.errors import InputError
from trialkit.manifest import RunInfo, build_manifest, write_manifest
from trialkit.output import check_output_dir, staged_output_dir
from trialkit.parallel import imap_batches, split
from trialkit.simulation.analyse import AnalysisContext
from trialkit.simulation.replicates import ReplicateBatch, Task, rows_frame
from trialkit.simulation.scenarios import SimulationPlan
from trialkit.simulation.summary import look_table, summarise

#: Replicates per batch: enough to amortise sending work out, few enough to balance the load.
BATCH_SIZE = 25


@dataclass(frozen=True)
class SimulationOptions:
    """Where and how to run (``replicates``/``seed`` override the scenarios file's)."""

    replicates: int | None = None
    seed: int | None = None
    workers: int | None = None
    scheduler: str | None = None
    resume: bool = False
    force: bool = False
    batch_size: int = BATCH_SIZE


def parts_dir(out: Path) -> Path:
    """The folder of finished batches of a run into ``out``."""
    return out.parent / f".{out.name}.simulate-parts"


def _run_key(plan: SimulationPlan, batch_size: int) -> dict[str, Any]:
    """What the parts on disk were computed from; a resume must match it exactly."""

    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    return {
        "scenarios_sha256": digest(plan.source),
        "trial_sha256": digest(plan.trial_path),
        "replicates": plan.replicates,
        "seed": plan.seed,
        "subjects": plan.subjects,
        "batch_size": batch_size,
    }


def _open_parts(out: Path, plan: SimulationPlan, resume: bool, batch_size: int) -> Path:
    """The parts folder: new, or (``resume``) the interrupted run's, checked to be this run's."""
    parts = parts_dir(out)
    key = _run_key(plan, batch_size)
    if resume:
        try:
            found = json.loads((parts / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise InputError(f"{out}: no interrupted simulation to resume ({parts})") from None
        if found != key:
            raise InputError(
                f"{out}: the interrupted run in {parts} was of other inputs or options; "
                "run without --resume after deleting it"
            )
        return parts
    if parts.exists():
        raise InputError(
            f"{out}: an interrupted run's batches are in {parts}; give --resume to continue "
            "it, or delete that folder"
        )
    try:
        parts.mkdir(parents=True)
        (parts / "run.json").write_text(json.dumps(key, sort_keys=True), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{parts}: cannot write ({exc.strerror or exc})") from None
    return parts


def _batches(plan: SimulationPlan, batch_size: int) -> list[tuple[str, list[Task]]]:
    """Every batch with its part file name: scenario by scenario, replicates in order."""
    out = []
    for s in range(len(plan.scenarios)):
        tasks = [Task(s, r, plan.subjects) for r in range(plan.replicates)]
        for b, batch in enumerate(split(tasks, batch_size)):
            out.append((f"part-{s:04d}-{b:06d}.parquet", batch))
    return out


def simulate_rows(
    plan: SimulationPlan,
    parts: Path | None,
    workers: int | None,
    scheduler: str | None,
    progress: Callable[[int, int], None] | None,
    batch_size: int = BATCH_SIZE,
) -> pd.DataFrame:
    """All replicate rows, computing only the batches not already saved in ``parts``."""
    batches = _batches(plan, batch_size)
    todo = [
        i for i, (name, _) in enumerate(batches) if parts is None or not (parts / name).exists()
    ]
    total = plan.replicates * len(plan.scenarios)
    already = total - sum(len(batches[i][1]) for i in todo)
    func = ReplicateBatch(AnalysisContext(plan).prepared(), plan.seed)
    results: dict[int, pd.DataFrame] = {}
    report = None if progress is None else (lambda done, _: progress(already + done, total))
    work = [batches[i][1] for i in todo]
    for j, rows in imap_batches(func, work, workers=workers, scheduler=scheduler, progress=report):
        frame = rows_frame([r for task_rows in rows for r in task_rows])
        if parts is not None:
            name = batches[todo[j]][0]
            frame.to_parquet(parts / f"{name}.tmp", index=False)
            (parts / f"{name}.tmp").rename(parts / name)
        results[todo[j]] = frame
    frames = [
        results[i] if i in results else pd.read_parquet(parts / name)  # type: ignore[operator]
        for i, (name, _) in enumerate(batches)
    ]
    return pd.concat(frames, ignore_index=True)


def power_figure(summary: pd.DataFrame, path: Path) -> None:
    """Rejection rate (with 2 Monte Carlo SEs) of each comparison, grouped by scenario."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 3.6))
    ax = fig.add_subplot()
    comparisons = list(dict.fromkeys(summary["comparison"]))
    scenarios = list(dict.fromkeys(summary["scenario"]))
    width = 0.8 / len(comparisons)
    for i, comp in enumerate(comparisons):
        rows = summary[summary["comparison"] == comp].set_index("scenario").loc[scenarios]
        x = [k + i * width for k in range(len(scenarios))]
        ax.bar(x, rows["rejection_rate"], width, yerr=2 * rows["mc_se"], label=comp)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(scenarios))], scenarios)
    ax.set_ylim(0, 1)
    ax.set_ylabel("Rejection rate")
    ax.legend(fontsize=7, ncols=min(4, len(comparisons)))
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})


def run_simulation(
    plan: SimulationPlan,
    out: Path,
    options: SimulationOptions,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the plan (with the options' overrides) into ``out``; the summary and file paths."""
    started = datetime.now(UTC)
    plan = replace(
        plan,
        replicates=options.replicates or plan.replicates,
        seed=plan.seed if options.seed is None else options.seed,
    )
    trial_dir = plan.trial_path.parent
    check_output_dir(out, options.force, [trial_dir])
    parts = _open_parts(out, plan, options.resume, options.batch_size)
    rows = simulate_rows(
        plan, parts, options.workers, options.scheduler, progress, options.batch_size
    )
    summary = summarise(plan, rows)
    looks = look_table(plan, rows)
    with staged_output_dir(out, options.force, [trial_dir]) as stage:
        rows.to_parquet(stage / "replicates.parquet", index=False)
        summary.to_csv(stage / "summary.csv", index=False, float_format="%.6g")
        looks.to_csv(stage / "looks.csv", index=False, float_format="%.6g")
        power_figure(summary, stage / "power.png")
        info = RunInfo(
            command="simulate",
            trial_dir=trial_dir,
            options={
                "scenarios": str(plan.source),
                "replicates": plan.replicates,
                "subjects": plan.subjects,
                "workers": options.workers,
                "scheduler": options.scheduler,
                "resume": options.resume,
                "scenarios_sha256": _run_key(plan, options.batch_size)["scenarios_sha256"],
            },
            seeds={"seed": plan.seed},
        )
        write_manifest(stage, build_manifest(info, stage, [plan.trial_path], {}, started))
    shutil.rmtree(parts, ignore_errors=True)
    return {"summary": summary, "looks": looks, "out": out, "rows": len(rows)}
