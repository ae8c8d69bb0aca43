"""The store's commands (``ingest``, ``diff``, ``audit``, ``queries``, ``lock``, ``unlock``,
``export``, ``store verify``), registered on the main app by ``trialkit.cli``. ``export`` is a
group: without a subcommand it is the store's export; ``trialkit.cli.submission`` adds
``export adam`` to it.

Thin wrappers: each calls the store module that does the work and prints its result.
Libraries are imported inside the commands so ``trialkit --help`` stays fast.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

StoreOption = Annotated[
    str,
    typer.Option(
        "--store",
        help="The store: a file path (SQLite, created on first ingest) or a postgresql:// URL "
        "(credentials in the URL or PGPASSWORD; never printed).",
        show_default=False,
    ),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Output folder for the CSV.", show_default=False)
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing --out.")]
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="Who does this (default: the login name).", show_default=False),
]
TransferOption = Annotated[
    str | None,
    typer.Option(
        "--transfer",
        metavar="K|locked",
        help="Transfer number or 'locked' (default: the latest).",
        show_default=False,
    ),
]
#: ``--store`` of a group callback, where a subcommand may give it instead.
OptionalStoreOption = Annotated[
    str | None, typer.Option("--store", help="The store (path or postgresql:// URL).")
]

#: Rows of a table printed to the terminal before pointing to the CSV.
SHOWN_ROWS = 50


def _user(user: str | None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _show(frame: object, what: str, out: Path | None) -> None:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    if frame.empty:
        return
    typer.echo(frame.head(SHOWN_ROWS).to_string(index=False))
    if len(frame) > SHOWN_ROWS:
        where = f"{out}/{what}" if out is not None else f"{what} (give --out)"
        typer.echo(f"... {len(frame) - SHOWN_ROWS} more row(s) in {where}")


def _write(out: Path | None, force: bool, name: str, write: object, store: str) -> None:
    """Write one CSV into a new output folder through trialkit's staged folder (never the
    store's own file)."""
    if out is None:
        return
    from trialkit.output import staged_output_dir
    from trialkit.store.url import store_inputs

    assert callable(write)
    command = name.removesuffix(".csv")
    inputs = store_inputs(store)
    with staged_output_dir(out, force=force, input_dirs=inputs, command=command) as staging:
        write(staging / name)
    typer.echo(f"Written to {out}/{name}")


def _csv(frame: object) -> object:
    """A writer of ``frame`` as a formula-safe CSV (for people and their spreadsheets)."""
    from trialkit.csv_safety import neutralise_formulas

    return lambda path: neutralise_formulas(frame).to_csv(path, index=False)  # type: ignore[arg-type]


def ingest(
    transfer_dir: Annotated[
        Path,
        typer.Argument(help="Transfer folder: trial.toml and the datasets.", show_default=False),
    ],
    store: StoreOption,
    user: UserOption = None,
    note: Annotated[str, typer.Option("--note", help="A note kept with the transfer.")] = "",
    reject_errors: Annotated[
        bool, typer.Option("--reject-errors", help="Refuse a transfer with error findings.")
    ] = False,
) -> None:
    """Validate a transfer and store it as the next transfer; print what changed."""
    from trialkit.store.ingest import ingest as run

    summary = run(store, transfer_dir, _user(user), note, reject_errors)
    for line in summary.lines():
        typer.echo(line)


def diff(
    store: StoreOption,
    first: Annotated[str | None, typer.Option("--from", metavar="K", show_default=False)] = None,
    second: Annotated[str | None, typer.Option("--to", metavar="M", show_default=False)] = None,
    out: OutOption = None,
    force: ForceOption = False,
) -> None:
    """Records added, removed and changed between two transfers (default: the last two)."""
    from trialkit.store.diff import run_diff, summary_lines

    if out is not None:
        from trialkit.output import check_output_dir
        from trialkit.store.url import store_inputs

        check_output_dir(out, force, input_dirs=store_inputs(store))
    found = run_diff(store, first, second)
    for line in summary_lines(found) or ["no differences"]:
        typer.echo(line)
    _show(found, "diff.csv", out)
    _write(out, force, "diff.csv", _csv(found), store)


def audit(
    store: StoreOption,
    subject: Annotated[
        str | None, typer.Option("--subject", metavar="ID", help="Only this subject (USUBJID).")
    ] = None,
    out: OutOption = None,
    force: ForceOption = False,
) -> None:
    """The audit trail: every value every record had, every query change, lock and unlock."""
    from trialkit.store.connection import open_store, reading
    from trialkit.store.history import audit_table

    opened = open_store(store)
    with reading(opened) as conn:
        table = audit_table(conn, subject)
    typer.echo(f"{len(table)} audit row(s)")
    _show(table, "audit.csv", out)
    _write(out, force, "audit.csv", _csv(table), store)


queries_app = typer.Typer(
    help="List queries; answer, close or import answers.",
    no_args_is_help=False,
    invoke_without_command=True,
)


@queries_app.callback()
def queries(
    ctx: typer.Context,
    store: OptionalStoreOption = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open, answered, closed or reopened.")
    ] = None,
    out: OutOption = None,
    force: ForceOption = False,
) -> None:
    """List the queries (queries.csv with --out)."""
    if ctx.invoked_subcommand is not None:
        return
    if store is None:
        raise typer.BadParameter("give the store", param_hint="--store")
    from trialkit.store.connection import open_store, reading
    from trialkit.store.queries import list_queries

    opened = open_store(store)
    with reading(opened) as conn:
        table = list_queries(conn, status)
    typer.echo(f"{len(table)} quer{'y' if len(table) == 1 else 'ies'}")
    _show(table, "queries.csv", out)
    _write(out, force, "queries.csv", _csv(table), store)


@queries_app.command("answer")
def answer(
    query: Annotated[str, typer.Argument(metavar="QID", show_default=False)],
    store: StoreOption,
    text: Annotated[str, typer.Option("--text", help="The site's answer.", show_default=False)],
    user: UserOption = None,
) -> None:
    """Record a site's answer to a query."""
    from trialkit.store.connection import open_store
    from trialkit.store.queries import Change, change_queries

    change_queries(open_store(store), [Change(query, answer=text)], _user(user))
    typer.echo(f"query {query}: answered")


@queries_app.command("close")
def close(
    query: Annotated[str, typer.Argument(metavar="QID", show_default=False)],
    store: StoreOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is closed.", show_default=False)],
    user: UserOption = None,
) -> None:
    """Close a query by hand (the reason goes into the audit trail)."""
    from trialkit.errors import StoreError
    from trialkit.store.connection import open_store
    from trialkit.store.queries import Change, change_queries

    if not reason.strip():
        raise StoreError("--reason: give the reason (it goes into the audit trail)")
    change_queries(open_store(store), [Change(query, reason=reason)], _user(user))
    typer.echo(f"query {query}: closed")


@queries_app.command("import")
def import_answers(
    file: Annotated[Path, typer.Argument(help="A queries.csv with the site's answers.")],
    store: StoreOption,
    user: UserOption = None,
) -> None:
    """Import a site's answers (and closes) in bulk, in one transaction."""
    from trialkit.store.connection import open_store
    from trialkit.store.queries import change_queries, read_answers

    n = change_queries(open_store(store), read_answers(file), _user(user))
    typer.echo(f"{n} quer{'y' if n == 1 else 'ies'} changed")


def lock(
    store: StoreOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).", show_default=False)],
    transfer: Annotated[
        str | None, typer.Option("--transfer", metavar="K", help="Default: the latest.")
    ] = None,
    user: UserOption = None,
) -> None:
    """Lock a transfer for the analysis; ingests are refused while it is locked."""
    from trialkit.store.lock import lock as run

    typer.echo(f"transfer {run(store, transfer, reason, _user(user))} locked")


def unlock(
    store: StoreOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).", show_default=False)],
    user: UserOption = None,
) -> None:
    """Unlock the locked transfer."""
    from trialkit.store.lock import unlock as run

    typer.echo(f"transfer {run(store, reason, _user(user))} unlocked")


export_app = typer.Typer(
    help="Write a stored transfer back as a trial folder (--store, --out), or export an "
    "analysis (export adam).",
    no_args_is_help=False,
    invoke_without_command=True,
)


@export_app.callback()
def export(
    ctx: typer.Context,
    store: OptionalStoreOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Trial folder to write.", show_default=False)
    ] = None,
    transfer: TransferOption = None,
    force: ForceOption = False,
) -> None:
    """Write a stored transfer back as a trial folder (--store URL --out DIR)."""
    if ctx.invoked_subcommand is not None:
        return
    if store is None:
        raise typer.BadParameter("give the store", param_hint="--store")
    if out is None:
        raise typer.BadParameter("give the trial folder to write", param_hint="--out")
    from trialkit.store.export import export_transfer

    number = export_transfer(store, transfer, out, force)
    typer.echo(f"transfer {number} written to {out}")


store_app = typer.Typer(help="Maintain a store.", no_args_is_help=True)


@store_app.command("verify")
def verify(store: StoreOption) -> None:
    """Check the audit chain and the stored records against it (exit 1 naming the first bad
    entry)."""
    from trialkit.store.check import verify_store

    text, ok = verify_store(store)
    typer.echo(text)
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    """Add the store's commands to the main ``trialkit`` app."""
    for command in (ingest, diff, audit, lock, unlock):
        app.command()(command)
    app.add_typer(export_app, name="export")
    app.add_typer(queries_app, name="queries")
    app.add_typer(store_app, name="store")
