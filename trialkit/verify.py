"""``trialkit verify``: check that an analysis output still reproduces from its manifest.

Three checks, in order: the inputs hash as recorded (else each changed file is named); the
output files are as written (no hand edits); a rerun of the analysis, with the recorded
options, held in memory, gives every number of ``results.json`` and every table
within tolerance. Exit 0 reproduced, 1 differences or changed inputs, 2 unusable.

An export folder of ``trialkit export adam`` is checked the same way against the analysis
folder it came from: the analysis' files hash as recorded, the package's files as written, and
every transport file, re-read, equals the datasets rebuilt from the analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from trialkit.compare import Tolerance, compare_outputs
from trialkit.errors import InputError
from trialkit.manifest import MANIFEST_NAME, changed_files, changed_inputs, read_manifest

#: The command an export folder's manifest names (trialkit.submission.export, imported lazily).
EXPORT_COMMAND = "export adam"


@dataclass(frozen=True)
class VerifyReport:
    """What verification found; ``reproduced`` when every list is empty."""

    out: Path
    changed_inputs: list[str] = field(default_factory=list)
    changed_outputs: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        """True when inputs, outputs and the rerun all agree with the record."""
        return not (self.changed_inputs or self.changed_outputs or self.differences)

    def text(self) -> str:
        """A readable account, one problem a line."""
        if self.reproduced:
            return f"{self.out}: reproduced (inputs unchanged, every number within tolerance)"
        lines = [f"{self.out}: NOT reproduced"]
        for title, items in (
            ("changed inputs", self.changed_inputs),
            ("changed outputs", self.changed_outputs),
            ("differences in the rerun", self.differences),
        ):
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines.extend(f"    {item}" for item in items)
        return "\n".join(lines)


def _rerun(manifest: dict[str, Any], trial_dir: Path, out: Path) -> dict[str, bytes]:
    """Run the analysis again with the recorded options; its output files, in memory only
    (earlier looks are recorded relative to the analysis folder ``out``)."""
    from trialkit.analysis.run import analyze

    options = manifest["options"]
    cutoff = manifest.get("cutoff")
    results = analyze(
        trial_dir,
        cutoff=date.fromisoformat(cutoff) if cutoff else None,
        allow_errors=bool(options.get("allow_errors", False)),
        dummy_seed=options.get("dummy_seed"),
        previous_looks=[out / d for d in options.get("previous_looks") or []] or None,
    )
    return results.files()


def verify_output(out: Path, tolerance: Tolerance, trial_dir: Path | None = None) -> VerifyReport:
    """Verify ``out`` (see the module docstring); ``trial_dir`` overrides the recorded folder."""
    out = Path(out)
    if not out.is_dir():
        raise InputError(f"{out}: output folder not found")
    manifest = read_manifest(out)
    if manifest["command"] == EXPORT_COMMAND:
        return _verify_export(out, manifest, tolerance, trial_dir)
    if not (out / "results.json").is_file():
        raise InputError(f"{out}: no results.json next to {MANIFEST_NAME}; nothing to verify")
    trial = Path(trial_dir or manifest["trial_dir"])
    if not trial.is_dir():
        raise InputError(f"{trial}: recorded trial folder not found (give it with --trial)")
    report = VerifyReport(
        out=out,
        changed_inputs=changed_inputs(manifest, trial),
        changed_outputs=changed_files(out, manifest.get("outputs", {}), "output"),
    )
    if report.changed_inputs:
        return report  # a rerun on other inputs proves nothing about this output
    report.differences.extend(compare_outputs(out, _rerun(manifest, trial, out), tolerance))
    return report


def _verify_export(
    out: Path, manifest: dict[str, Any], tolerance: Tolerance, analysis_dir: Path | None
) -> VerifyReport:
    """An export folder: the analysis folder unchanged, the package as written, and every
    transport file equal to the datasets rebuilt from the analysis now."""
    from trialkit.submission.export import export_differences

    analysis = Path(analysis_dir or manifest["trial_dir"])
    if not analysis.is_dir():
        raise InputError(f"{analysis}: recorded analysis folder not found (give it with --trial)")
    report = VerifyReport(
        out=out,
        changed_inputs=changed_inputs(manifest, analysis),
        changed_outputs=changed_files(out, manifest.get("outputs", {}), "output"),
    )
    if not report.changed_inputs:
        report.differences.extend(export_differences(out, manifest, analysis, tolerance))
    return report


def run_verify(
    out: Path, rtol: float, atol: float, trial_dir: Path | None = None
) -> tuple[str, int]:
    """``trialkit verify``: the account to print and the exit code (0 or 1)."""
    if not (math.isfinite(rtol) and math.isfinite(atol)) or rtol < 0 or atol < 0:
        raise InputError(f"--rtol/--atol: tolerances must be finite and >= 0 (got {rtol}, {atol})")
    report = verify_output(out, Tolerance(rtol=rtol, atol=atol), trial_dir)
    return report.text(), 0 if report.reproduced else 1
