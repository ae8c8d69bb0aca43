"""Exception classes of trialkit, each with the exit code the CLI maps it to.

Library code raises these; the CLI catches ``TrialkitError`` once, prints its
one-line message and exits with ``exit_code`` (see the exit-code table in the README).
"""

from __future__ import annotations


class TrialkitError(Exception):
    """Base class: a problem trialkit reports in one line, never as a traceback."""

    exit_code: int = 1


class InputError(TrialkitError):
    """Unusable input or configuration: a missing or unreadable file, a bad key (exit 2)."""

    exit_code = 2


class DefinitionError(InputError):
    """``trial.toml`` is malformed or inconsistent; the message names the key."""


class DatasetError(InputError):
    """A dataset is missing, unreadable or lacks a required column; the message names the file."""


class ModelSpecificationError(InputError):
    """A model cannot be set up: unknown column in a formula, duplicate visit per subject."""


class FindingsError(TrialkitError):
    """The command ran and found something: error findings, differences, refused data (exit 1)."""

    exit_code = 1


class ConvergenceError(TrialkitError):
    """A model (and every pre-specified fallback) failed to converge (exit 1)."""

    exit_code = 1


class OutputExistsError(InputError):
    """The output folder exists and ``--force`` was not given (exit 2)."""


class OutputRefusedError(InputError):
    """The output folder may not be written: the trial folder, a protected folder, a symbolic
    link, a file, or (with ``--force``) a folder trialkit did not write (exit 2)."""


class Interrupted(TrialkitError):
    """The command was stopped by a signal (SIGTERM, SIGINT, SIGHUP); exit 128 + its number."""

    def __init__(self, signum: int) -> None:
        import signal

        super().__init__(f"{signal.Signals(signum).name} received; no partial output is left")
        self.exit_code = 128 + signum


class StoreError(InputError):
    """A store cannot be used as asked: a bad URL, an unreachable server, a store of another
    trial, an unknown query, a locked transfer (exit 2)."""


class TemplateError(InputError):
    """A report template cannot be rendered; the message names its file and line (exit 2)."""


class TrialkitWarning(UserWarning):
    """Something a command left out or could not do but went on; the CLI prints one line each."""


class RenderWarning(TrialkitWarning):
    """Something the rendering left out (a resource the PDF did not fetch)."""
