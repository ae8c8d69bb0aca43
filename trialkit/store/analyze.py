"""``trialkit analyze --store URL --transfer K|locked``: analyse a stored transfer as it was
stored. The transfer is exported to a temporary trial folder and analysed by the analysis'
own ``write_analysis``; the manifest names the store (without credentials), the transfer and
its content hash, so the same snapshot can be exported again and checked with ``verify``."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from trialkit.store.connection import open_store, reading
from trialkit.store.export import read_snapshot, write_trial_folder
from trialkit.store.url import store_inputs


def analyze_transfer(
    store_url: str,
    transfer: str | None,
    out: Path,
    cutoff: date | None = None,
    force: bool = False,
    allow_errors: bool = False,
    dummy_seed: int | None = None,
    previous_looks: Sequence[Path] | None = None,
) -> Any:
    """Analyse the transfer ``transfer`` names into ``out``; the analysis results."""
    from trialkit.analysis.run import write_analysis
    from trialkit.output import check_output_dir

    check_output_dir(Path(out), force, input_dirs=store_inputs(store_url))
    store = open_store(store_url)
    with reading(store) as conn:
        snapshot = read_snapshot(conn, store, transfer)
    source = {
        "url": store.shown,
        "transfer": snapshot.number,
        "content_hash": snapshot.content_hash,
    }
    with tempfile.TemporaryDirectory(prefix="trialkit-transfer-") as folder:
        trial_dir = Path(folder) / f"transfer{snapshot.number}"
        trial_dir.mkdir()
        write_trial_folder(trial_dir, snapshot)
        return write_analysis(
            trial_dir,
            out,
            cutoff,
            force,
            allow_errors,
            dummy_seed,
            previous_looks,
            store=source,
        )


def run_analyze_transfer(store_url: str, transfer: str | None, out: Path, **options: Any) -> str:
    """``trialkit analyze --store``: analyse the transfer; the text the command prints."""
    from trialkit.analysis.run import summary_text

    results = analyze_transfer(store_url, transfer, out, **options)
    return (
        f"{summary_text(results)}\n"
        f"Results written to {out}/results.json, {out}/tables/ and {out}/adam/"
    )
