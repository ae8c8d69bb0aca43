"""The ``trialkit`` command line: thin wrappers that call the library and map errors to exit codes.

This package is the only code that prints (``tests/test_layout.py`` checks it): each module
holds the commands of one part of the library (``design``, ``store``, ``simulation``,
``submission``, ``examples``) and ``progress`` the progress bar; the library returns values
and raises.

Exit codes (the same for every command, see README): 0 success (warnings allowed); 1 the
command ran and found something (error findings, differences, refused data, no convergence);
2 unusable input or configuration (one line naming the file or key); 3 an internal error.
Errors are caught here once; library code only raises :class:`~trialkit.errors.TrialkitError`.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from typer._click import exceptions as click_exceptions

from trialkit.cli.simulation import Scheduler, Workers
from trialkit.errors import TrialkitError, TrialkitWarning

app = typer.Typer(
    name="trialkit",
    help="Clinical-trial data management and statistics for hair-loss treatment trials.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

TrialDir = Annotated[
    Path,
    typer.Argument(help="Trial folder holding trial.toml and the datasets.", show_default=False),
]
Cutoff = Annotated[
    str | None, typer.Option("--cutoff", help="Data cutoff date (YYYY-MM-DD).", show_default=False)
]


def _register_subcommands() -> None:
    """Attach the command groups of the modules beside this one."""
    from trialkit.cli.design import app as design_app
    from trialkit.cli.simulation import register as register_simulation
    from trialkit.cli.store import register as register_store

    app.add_typer(design_app, name="design")
    register_store(app)
    register_simulation(app)
    from trialkit.cli.store import export_app
    from trialkit.cli.submission import register as register_submission

    register_submission(export_app)


_register_subcommands()


def _print_version(value: bool) -> None:
    if value:
        from trialkit import __version__

        typer.echo(f"trialkit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Clinical-trial data management and statistics for hair-loss treatment trials."""


def parse_cutoff(value: str | None) -> date | None:
    """Parse ``--cutoff``; a bad date is unusable input (exit 2)."""
    if value is None:
        return None
    from trialkit.datasets import EARLIEST_DATE, LATEST_DATE

    try:
        cutoff = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--cutoff"
        ) from None
    if not EARLIEST_DATE.date() <= cutoff <= LATEST_DATE.date():
        raise typer.BadParameter(
            f"{value} is outside {EARLIEST_DATE.date()}..{LATEST_DATE.date()}",
            param_hint="--cutoff",
        )
    return cutoff


def parse_looks(value: str | None) -> list[Path] | None:
    """Parse ``--previous-looks DIR[,DIR..]``: the analysis folders of the earlier looks."""
    if value is None:
        return None
    return [Path(part.strip()) for part in value.split(",") if part.strip()]


@app.command()
def validate(
    trial_dir: TrialDir,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the query listing (CSV and HTML) here.")
    ] = None,
    cutoff: Cutoff = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
) -> None:
    """Validate a trial's datasets; print a summary and write the query listing."""
    from trialkit.validation import run_validate

    text, code = run_validate(trial_dir, out=out, cutoff=parse_cutoff(cutoff), force=force)
    typer.echo(text)
    raise typer.Exit(code)


@app.command()
def analyze(
    out: Annotated[Path, typer.Option("--out", help="Output folder (results.json, tables, adam).")],
    cutoff: Cutoff = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
    allow_errors: Annotated[
        bool, typer.Option("--allow-errors", help="Analyse data with validation errors anyway.")
    ] = False,
    dummy_randomization: Annotated[
        int | None,
        typer.Option(
            "--dummy-randomization",
            metavar="SEED",
            min=0,
            max=2**32 - 1,
            help="Permute arms with this seed (blinded dry run; every output marked DUMMY).",
            show_default=False,
        ),
    ] = None,
    previous_looks: Annotated[
        str | None,
        typer.Option(
            "--previous-looks",
            metavar="DIR[,DIR..]",
            help="Analysis folders of the group sequential looks done before this one, look 1 "
            "first (trial.toml [interim]); their boundaries are kept as used and this look's "
            "spent at the information reached. A final analysis without them assumes the "
            "planned fractions (with a warning).",
            show_default=False,
        ),
    ] = None,
    trial_dir: Annotated[
        Path | None,
        typer.Argument(help="Trial folder (trial.toml and the datasets), or give --store."),
    ] = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Analyse a stored transfer: the store (path or URL).",
            show_default=False,
        ),
    ] = None,
    transfer: Annotated[
        str | None,
        typer.Option(
            "--transfer",
            metavar="K|locked",
            show_default=False,
            help="With --store: the transfer (default: the latest).",
        ),
    ] = None,
) -> None:
    """Run the primary MMRM, multiplicity, subgroups and supporting analyses; write OUT."""
    if store is not None:
        if trial_dir is not None:
            raise typer.BadParameter(
                "give a trial folder or --store, not both", param_hint="--store"
            )
        from trialkit.store.analyze import run_analyze_transfer

        typer.echo(
            run_analyze_transfer(
                store,
                transfer,
                out,
                cutoff=parse_cutoff(cutoff),
                force=force,
                allow_errors=allow_errors,
                dummy_seed=dummy_randomization,
                previous_looks=parse_looks(previous_looks),
            )
        )
        return
    if trial_dir is None or transfer is not None:
        raise typer.BadParameter(
            "give a trial folder (or --store with --transfer)", param_hint="TRIAL_DIR"
        )
    from trialkit.analysis.run import run_analyze
    from trialkit.cli.progress import progress_bar

    with progress_bar("missing-data resamples", "fit") as progress:
        text = run_analyze(
            trial_dir, out, cutoff=parse_cutoff(cutoff), force=force,
            allow_errors=allow_errors, dummy_seed=dummy_randomization,
            previous_looks=parse_looks(previous_looks), workers=workers,
            scheduler=scheduler, progress=progress,
        )  # fmt: skip
    typer.echo(text)


@app.command()
def report(
    trial_dir: TrialDir,
    out: Annotated[Path, typer.Option("--out", help="Output folder (report.html, report.pdf).")],
    kind: Annotated[str, typer.Option("--kind", help="final or interim.")] = "final",
    cutoff: Cutoff = None,
    blinded: Annotated[
        bool | None,
        typer.Option(
            "--blinded/--unblinded",
            help="Interim only: open report pooled over arms, or closed report for the DMC.",
            show_default=False,
        ),
    ] = None,
    formats: Annotated[str, typer.Option("--format", help="html, pdf or html,pdf.")] = "html,pdf",
    templates: Annotated[
        Path | None, typer.Option("--templates", help="Folder of templates overriding ours.")
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option("--results", help="Output of an earlier trialkit analyze (else run it)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
) -> None:
    """Render the final or an interim (open or closed) report as HTML and PDF."""
    from trialkit.report import run_report

    files = run_report(
        trial_dir, out, kind=kind, cutoff=parse_cutoff(cutoff), blinded=blinded,
        formats=formats, templates=templates, results=results, force=force,
    )  # fmt: skip
    for path in files:
        typer.echo(str(path))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("demo-output"),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
) -> None:
    """Validate, analyse and report the bundled multi-arm examples (tk_aga_301: final and
    interim reports; tk_aa_201: final report)."""
    from trialkit.report import run_demo

    result = run_demo(out, force=force)
    typer.echo(f"Example trial: {result['trial']} (interim cutoff {result['cutoff']})")
    typer.echo(f"Second example trial: {result['out'] / 'tk_aa_201'}")
    typer.echo(f"Validation listing: {result['out'] / 'validation'}")
    typer.echo(f"Analysis results: {result['out'] / 'analysis'}")
    for name, paths in result["files"].items():
        for path in paths:
            typer.echo(f"{name}: {path}")


@app.command()
def verify(
    out: Annotated[
        Path, typer.Argument(help="Output folder of an earlier run (with manifest.json).")
    ],
    rtol: Annotated[float, typer.Option("--rtol", help="Relative tolerance.")] = 1e-6,
    atol: Annotated[float, typer.Option("--atol", help="Absolute tolerance.")] = 1e-9,
    trial: Annotated[
        Path | None,
        typer.Option(
            "--trial", help="Trial folder, if it moved since the run.", show_default=False
        ),
    ] = None,
) -> None:
    """Check inputs against the manifest, rerun the analysis and compare every number."""
    from trialkit.verify import run_verify

    text, code = run_verify(out, rtol=rtol, atol=atol, trial_dir=trial)
    typer.echo(text)
    raise typer.Exit(code)


@contextlib.contextmanager
def _warnings_in_one_line() -> Iterator[None]:
    """Print each of trialkit's warnings as one line on stderr (at the end of the command);
    other libraries' warnings are shown as Python shows them."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always", TrialkitWarning)  # other filters as they were
            try:
                yield
            finally:
                caught = list(recorded)
    finally:  # shown after the recording stopped (showing inside it would record again)
        for w in caught:
            if issubclass(w.category, TrialkitWarning):
                print(f"trialkit: warning: {w.message}", file=sys.stderr)
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _os_error_line(exc: OSError) -> str:
    """One line for an operating-system error: the file it names and what went wrong."""
    where = f"{exc.filename}: " if exc.filename is not None else ""
    return f"{where}{exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; every trialkit error becomes one line on stderr.

    SIGTERM and SIGINT end the command through the normal clean-up (no partial output), with
    one line and exit code 128 + the signal number (143 and 130).
    """
    from trialkit.processes import Interrupted, received_signal, stop_on_signals

    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        with stop_on_signals(), _warnings_in_one_line():
            try:
                code = app(args=args, prog_name="trialkit", standalone_mode=False)
            except Exception as exc:  # a signal inside an import comes out as ImportError
                stopped = received_signal()
                if stopped is not None and not isinstance(exc, Interrupted):
                    raise stopped from None
                raise
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except click_exceptions.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        return 2
    except click_exceptions.ClickException as exc:  # a bad option or argument: one line
        print(f"trialkit: error: {_usage_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except Interrupted as exc:
        print(f"trialkit: stopped: {exc}", file=sys.stderr)
        return exc.exit_code
    except TrialkitError as exc:
        print(f"trialkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the machine, not trialkit: a vanished file, a full disk
        print(f"trialkit: error: {_os_error_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line, with a distinct exit code
        first = str(exc).splitlines()[0][:500] if str(exc) else ""
        print(f"trialkit: internal error: {type(exc).__name__}: {first}", file=sys.stderr)
        return 3
    return code if isinstance(code, int) else 0


def _usage_line(exc: click_exceptions.ClickException) -> str:
    """A usage error in one line, pointing at the command's help."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "trialkit"
    return f"{message} (see '{command} --help')"
