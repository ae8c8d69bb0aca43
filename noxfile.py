"""Nox sessions: tests, lint, typecheck, demo (and the pinned analysis/verify sessions)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.11", "3.12", "3.13"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite (slow tests included) on two workers."""
    session.install("-e", ".[test]")
    session.run("pytest", "-n", "2", "--dist", "loadfile", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy on the package."""
    session.install("-e", ".[dev]")
    session.run("mypy", "trialkit")


@nox.session
def demo(session: nox.Session) -> None:
    """Validate, analyse and report the bundled multicentre example trial."""
    session.install(".")
    session.run("trialkit", "demo", "--out", "demo-output", "--force", *session.posargs)


LOCK = "requirements.lock"


def _pinned(session: nox.Session) -> None:
    """Install the exact dependency versions of the lock file, then trialkit itself."""
    session.install("-r", LOCK)
    session.install("--no-deps", ".")


@nox.session
def analysis(session: nox.Session) -> None:
    """Analyse a trial in the pinned environment: ``nox -s analysis -- TRIAL_DIR OUT [options]``."""
    if len(session.posargs) < 2:
        session.error("usage: nox -s analysis -- TRIAL_DIR OUT [trialkit analyze options]")
    trial_dir, out, *rest = session.posargs
    _pinned(session)
    session.run("trialkit", "analyze", trial_dir, "--out", out, *rest)


@nox.session
def verify(session: nox.Session) -> None:
    """Rerun and check an analysis in the pinned environment: ``nox -s verify -- OUT``."""
    if not session.posargs:
        session.error("usage: nox -s verify -- OUT [trialkit verify options]")
    _pinned(session)
    session.run("trialkit", "verify", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Regenerate the lock file of exact versions (needs network access to the package index)."""
    session.install("uv")
    session.run(
        "uv", "pip", "compile", "pyproject.toml", "--python-version", "3.11",
        "--generate-hashes", "--output-file", LOCK,
    )  # fmt: skip
