"""``trialkit export adam``: the submission package of an analysis folder, written whole or not
at all, and its check by ``trialkit verify``.

The folder holds one transport file per dataset (``adsl.xpt``, ``adeff.xpt``, ``adae.xpt``,
``adex.xpt``, ``ard.xpt``, ``advs.xpt`` with vital signs) and/or the same as CSV,
``define.xml`` with the CDISC stylesheet ``define2-0.xsl``, and ``manifest.json``, which
records the analysis folder's files (as a run's manifest records its trial folder's) so
``verify`` can check that the package still equals the analysis it came from.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from trialkit.compare import Tolerance
from trialkit.csv_safety import neutralise_formulas
from trialkit.errors import InputError
from trialkit.manifest import RunInfo, build_manifest, write_manifest
from trialkit.output import check_output_dir, staged_output_dir
from trialkit.submission.adam import SAS_EPOCH, AdamDataset, build_datasets, read_analysis
from trialkit.submission.define import STYLESHEET, STYLESHEET_PATH, define_xml
from trialkit.submission.xpt import check_transport, compare_frame, read_transport, write_transport
from trialkit.verify import EXPORT_COMMAND

FORMATS = ("xpt", "csv")


def parse_formats(text: str) -> tuple[str, ...]:
    """``--format xpt,csv``: known names, at least one; a bad one is unusable input."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise InputError(f"--format: {text!r} must name xpt, csv or both (xpt,csv)")
    return names


def _csv(dataset: AdamDataset) -> bytes:
    """The dataset as formula-safe CSV: the transport file's values, dates as ISO text."""
    frame = dataset.frame.copy()
    for var in dataset.variables:
        if var.kind == "date":
            days = pd.to_timedelta(frame[var.name], unit="D")
            frame[var.name] = (SAS_EPOCH + days).dt.strftime("%Y-%m-%d")
    text = neutralise_formulas(frame).to_csv(index=False, lineterminator="\n")
    return str(text).encode("ascii")


def _analysis_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")]


def export_adam(
    analysis_dir: Path,
    out: Path,
    formats: Sequence[str] = ("xpt",),
    force: bool = False,
    trial_dir: Path | None = None,
) -> list[AdamDataset]:
    """Check and write the submission package of ``analysis_dir`` into ``out``.

    ``out`` may neither be, hold nor lie inside the analysis folder or the trial folder it
    analysed (``trial_dir``, or the one its manifest records).
    """
    analysis_dir, out = Path(analysis_dir), Path(out)
    started = datetime.now(UTC)
    analysis = read_analysis(analysis_dir, trial_dir)
    trials = [Path(trial_dir or analysis.manifest["trial_dir"])]
    inputs = [(analysis_dir, "the analysis folder")]
    check_output_dir(out, force, trials, inputs)
    datasets = build_datasets(analysis)
    check_transport(datasets)
    sources = {ds.name: f"adam/{ds.spec.source}.csv" for ds in datasets if ds.spec.source}
    sources["ARD"] = "results.json"
    document = define_xml(datasets, analysis.definition, sources, formats[0])
    run = RunInfo(
        command=EXPORT_COMMAND,
        trial_dir=analysis_dir,
        options={"formats": list(formats), "trial": str(trial_dir) if trial_dir else None},
    )
    with staged_output_dir(out, force, trials, inputs, command=EXPORT_COMMAND) as staging:
        for ds in datasets:
            if "xpt" in formats:
                write_transport(ds, staging)
            if "csv" in formats:
                (staging / f"{ds.name.lower()}.csv").write_bytes(_csv(ds))
        (staging / "define.xml").write_bytes(document)
        shutil.copyfile(STYLESHEET_PATH, staging / STYLESHEET)
        manifest = build_manifest(
            run, staging, _analysis_files(analysis_dir), {STYLESHEET: STYLESHEET_PATH}, started
        )
        write_manifest(staging, manifest)
    return datasets


def run_export(
    analysis_dir: Path, out: Path, formats: str, force: bool, trial_dir: Path | None
) -> str:
    """``trialkit export adam``: the text to print."""
    written = export_adam(analysis_dir, out, parse_formats(formats), force, trial_dir)
    lines = [f"{ds.name}: {len(ds.frame)} records, {len(ds.variables)} variables" for ds in written]
    return "\n".join([*lines, f"Written to {out} (define.xml, {formats})"])


def export_differences(
    out: Path, manifest: dict[str, object], analysis_dir: Path, tolerance: Tolerance
) -> list[str]:
    """Each way the transport files of ``out`` differ from the analysis rebuilt now."""
    options = manifest.get("options")
    assert isinstance(options, dict)
    trial = options.get("trial")
    datasets = build_datasets(read_analysis(analysis_dir, Path(trial) if trial else None))
    with_xpt = "xpt" in options.get("formats", [])
    expected = {ds.file_name: ds for ds in datasets if with_xpt}
    found = {p.name for p in out.glob("*.xpt")}
    problems = [f"{out / name}: missing" for name in sorted(set(expected) - found)]
    problems += [f"{out / name}: not part of the export" for name in sorted(found - set(expected))]
    for name in sorted(set(expected) & found):
        back = read_transport(out / name)
        problems += compare_frame(expected[name], back, tolerance.rtol, tolerance.atol)
    return problems


__all__ = ["EXPORT_COMMAND", "FORMATS", "export_adam", "export_differences", "run_export"]
