"""Analysis outputs for report tests: a small real ``trialkit analyze`` run, written as the
command writes it (manifest included), so the reports are tested on the documented contract."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd

from trialkit.analysis.run import write_analysis

#: Top-level results.json keys that are required (emptied, not removed, by ``drop``).
REQUIRED_LISTS = ("subgroups",)


def plant_ae_term(trial_dir: Path, term: str) -> None:
    """Make the first adverse event of ``trial_dir`` a serious one with ``term`` as its verbatim
    and coded term (escaping and listing tests)."""
    path = trial_dir / "adverse_events.csv"
    aes = pd.read_csv(path, dtype=str, keep_default_na=False)
    aes.loc[0, ["AETERM", "AEDECOD", "AESER"]] = [term, term, "Y"]
    aes.to_csv(path, index=False)


def write_test_results(
    trial_dir: Path,
    out: Path,
    cutoff: str | None = None,
    ae_term: str | None = None,
    drop: tuple[str, ...] = (),
    dummy_seed: int | None = None,
    allow_errors: bool = False,
) -> Path:
    """Analyse ``trial_dir`` into ``out``; return ``out``.

    ``ae_term``: analyse a copy of the trial (beside ``out``) whose first adverse event has
    this term. ``drop``: sections the report must show as "not available" (optional keys are
    removed, required lists emptied, so the file still follows the schema). ``dummy_seed``:
    the analysis' dummy randomisation (arms permuted). ``allow_errors``: analyse although
    validation finds errors.
    """
    if ae_term is not None:
        copy = out.parent / f"{out.name}-trial"
        shutil.copytree(trial_dir, copy)
        plant_ae_term(copy, ae_term)
        trial_dir = copy
    write_analysis(
        trial_dir,
        out,
        date.fromisoformat(cutoff) if cutoff else None,
        dummy_seed=dummy_seed,
        allow_errors=allow_errors,
    )
    if drop:
        path = out / "results.json"
        results = json.loads(path.read_text(encoding="utf-8"))
        for key in drop:
            if key in REQUIRED_LISTS:
                results[key] = []
            else:
                results.pop(key, None)
        path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out
