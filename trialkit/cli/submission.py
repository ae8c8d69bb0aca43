"""``trialkit export adam``: added to the ``export`` group of :mod:`trialkit.cli.store` by
``trialkit.cli`` (the group's own use, without a subcommand, is the store's export)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export_adam(
    analysis_dir: Annotated[
        Path,
        typer.Argument(help="Output folder of trialkit analyze.", show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder of the submission package.")],
    formats: Annotated[str, typer.Option("--format", help="xpt, csv or xpt,csv.")] = "xpt",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
    trial: Annotated[
        Path | None,
        typer.Option(
            "--trial",
            help="The analysed trial folder (its trial.toml), if it moved since the analysis.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """ADaM datasets as SAS transport v5 files with define.xml and an analysis results
    dataset (ARD), from an analysis folder."""
    from trialkit.submission.export import run_export

    typer.echo(run_export(analysis_dir, out, formats, force, trial))


def register(export_app: typer.Typer) -> None:
    """Add ``adam`` to the ``export`` command group."""
    export_app.command("adam")(export_adam)
