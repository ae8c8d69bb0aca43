"""``trialkit report`` and ``trialkit demo`` as library calls (the CLI only wraps these).

A report renders from the output of an earlier ``trialkit analyze`` (``results``), or runs the
analysis itself. The output folder gets ``report.html`` and/or ``report.pdf`` and a
``manifest.json`` (inputs, options, versions; no results), written all at once through
:func:`trialkit.output.staged_output_dir`. A report's own analysis is held in memory, never
written, so a killed open report leaves no unblinded result anywhere; ``--results`` must be
the output of the same trial's analysis.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from trialkit.datasets import REQUIRED_COLUMNS, find_dataset
from trialkit.definition import TrialDefinition, load_definition
from trialkit.errors import InputError
from trialkit.manifest import (
    MANIFEST_NAME,
    RunInfo,
    build_manifest,
    changed_inputs,
    library_versions,
    read_manifest,
    sha256_file,
    write_manifest,
)
from trialkit.output import check_output_dir, staged_output_dir
from trialkit.report.context import Kind, ReportOptions, build_context
from trialkit.report.render import render_html, render_pdf
from trialkit.report.results import AnalysisOutput
from trialkit.resources import templates_dir

FORMATS = ("html", "pdf")


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"html,pdf"`` -> ``("html", "pdf")``; an unknown format is unusable input."""
    items = text.split(",") if isinstance(text, str) else list(text)
    formats = tuple(dict.fromkeys(f.strip().lower() for f in items if f.strip()))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(f"--format: {', '.join(bad) or 'nothing'} is not one of html, pdf")
    return formats


def generation_time() -> datetime:
    """Now, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    return datetime.now().astimezone()


def input_files(trial_dir: Path) -> list[Path]:
    """``trial.toml`` and every dataset file of the trial folder."""
    files = [trial_dir / "trial.toml"]
    for name in REQUIRED_COLUMNS:
        path = find_dataset(trial_dir, name)
        if path is not None:
            files.append(path)
    return [f for f in files if f.is_file()]


def input_hashes(trial_dir: Path) -> dict[str, str]:
    """SHA-256 of each input file, by file name."""
    return {p.name: sha256_file(p) for p in input_files(trial_dir)}


def run_analysis(
    trial_dir: Path, dest: Path, cutoff: date | None, previous_looks: list[Path] | None = None
) -> AnalysisOutput:
    """Run the analysis and write it to ``dest`` the way ``trialkit analyze`` does.

    The same code path (:func:`trialkit.analysis.run.write_analysis`): results, tables,
    derived datasets and ``manifest.json``, written all at once; ``dest`` must not exist yet.
    """
    from trialkit.analysis.run import write_analysis

    write_analysis(Path(trial_dir), Path(dest), cutoff, previous_looks=previous_looks)
    return AnalysisOutput.load(dest)


def analyse_in_memory(trial_dir: Path, cutoff: date | None) -> AnalysisOutput:
    """Run the analysis as ``trialkit analyze`` does and keep its output in memory only.

    A report that runs its own analysis never writes it to disk, so no kill at any moment can
    leave an unblinded result behind (an open report's analysis is unblinded).
    """
    from trialkit.analysis.run import analyze

    return AnalysisOutput.from_files(analyze(Path(trial_dir), cutoff).files())


def check_results_match(
    output: AnalysisOutput, results: Path, definition: TrialDefinition, trial_dir: Path
) -> None:
    """Refuse ``--results`` of another trial, or of this trial's data before they changed.

    The trial id in ``results.json`` must be the definition's, and each input recorded in the
    analysis' manifest must hash as the trial folder's file does now (one line, exit 2).
    """
    analysed = output.get("trial", "id")
    if analysed != definition.trial.id:
        raise InputError(
            f"{results}: results of trial {analysed!r}, not of {definition.trial.id!r} "
            f"({trial_dir / 'trial.toml'})"
        )
    if not os.path.lexists(Path(results) / MANIFEST_NAME):  # a FIFO there: read_manifest
        raise InputError(f"{results}: no {MANIFEST_NAME}; cannot tell which data it analysed")
    changed = changed_inputs(read_manifest(Path(results)), trial_dir)
    if changed:
        raise InputError(
            f"{results}: analysed other data than {trial_dir} holds now ({changed[0]}"
            + (f"; and {len(changed) - 1} more" if len(changed) > 1 else "")
            + "); analyse again"
        )


def _check_kind(kind: str, cutoff: date | None, blinded: bool | None) -> bool:
    """Check the kind/cutoff/blinding combination; return whether the report is blinded."""
    if kind not in ("final", "interim"):
        raise InputError(f"--kind: {kind!r} is not one of final, interim")
    if kind == "interim":
        if blinded is None:
            raise InputError("--kind interim needs --blinded (open report) or --unblinded (closed)")
        if cutoff is None:
            raise InputError("--kind interim needs --cutoff DATE")
        return blinded
    if blinded:
        raise InputError("--blinded applies to interim reports only (use --kind interim)")
    return False


def build_report(
    definition: TrialDefinition,
    output: AnalysisOutput,
    options: ReportOptions,
    templates: Path | None = None,
) -> str:
    """Render the HTML of a report from an analysis output (only from what it holds)."""
    return render_html(build_context(definition, output, options), templates)


def run_report(
    trial_dir: Path,
    out: Path,
    *,
    kind: str = "final",
    cutoff: date | None = None,
    blinded: bool | None = None,
    formats: Sequence[str] = FORMATS,
    templates: Path | None = None,
    results: Path | None = None,
    force: bool = False,
) -> list[Path]:
    """Write ``out/report.html`` and/or ``out/report.pdf``; return the files written."""
    started = datetime.now(UTC)
    trial_dir, out = Path(trial_dir), Path(out)
    is_blinded = _check_kind(kind, cutoff, blinded)
    formats = parse_formats(formats)
    check_output_dir(out, force, [trial_dir], _results_dirs(results))
    definition = load_definition(trial_dir)
    if results is not None:
        output = AnalysisOutput.load(Path(results))
        check_results_match(output, Path(results), definition, trial_dir)
        analysed_cutoff = output.get("cutoff")
        if cutoff is not None and analysed_cutoff != cutoff.isoformat():
            raise InputError(
                f"{results}: the results are at cutoff {analysed_cutoff or 'none (all data)'}"
                f", not --cutoff {cutoff}"
            )
        if cutoff is None and analysed_cutoff:
            cutoff = date.fromisoformat(str(analysed_cutoff))
    elif is_blinded:  # nothing the unblinded analysis says reaches the console or logs
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            output = analyse_in_memory(trial_dir, cutoff)
    else:
        output = analyse_in_memory(trial_dir, cutoff)
    options = ReportOptions(
        kind=_kind(kind),
        blinded=is_blinded,
        cutoff=cutoff,
        generated=generation_time(),
        input_hashes=input_hashes(trial_dir),
        software=library_versions(),
    )
    html = build_report(definition, output, options, templates)
    return _write(out, force, html, formats, trial_dir, options, templates, started, results)


def _results_dirs(results: Path | None) -> list[tuple[Path, str]]:
    """``--results`` as a folder the report reads, which its output may not be or hold."""
    return [] if results is None else [(Path(results), "the results folder (--results)")]


def _kind(kind: str) -> Kind:
    """The report kind as its literal type."""
    return "interim" if kind == "interim" else "final"


def _write(
    out: Path,
    force: bool,
    html: str,
    formats: Sequence[str],
    trial_dir: Path,
    options: ReportOptions,
    templates: Path | None,
    started: datetime,
    results: Path | None,
) -> list[Path]:
    """Write the report files and the manifest into ``out`` all at once."""
    written = []
    protected = _results_dirs(results)
    with staged_output_dir(out, force, [trial_dir], protected, command="report") as stage:
        if "html" in formats:
            (stage / "report.html").write_text(html, encoding="utf-8")
            written.append(out / "report.html")
        if "pdf" in formats:
            render_pdf(html, stage / "report.pdf")
            written.append(out / "report.pdf")
        support = {
            f"templates/{p.relative_to(templates_dir()).as_posix()}": p
            for p in sorted(templates_dir().rglob("*.j2"))
        }
        if templates is not None:
            support |= {
                f"user_templates/{p.relative_to(templates).as_posix()}": p
                for p in sorted(Path(templates).rglob("*"))
                if p.is_file()
            }
        run = RunInfo(
            command="report",
            trial_dir=trial_dir,
            options={
                "kind": options.kind,
                "blinded": options.blinded,
                "formats": list(formats),
                "results": str(results) if results is not None else None,
            },
            cutoff=options.cutoff.isoformat() if options.cutoff else None,
        )
        manifest = build_manifest(run, stage, input_files(trial_dir), support, started)
        write_manifest(stage, manifest)
    return written
