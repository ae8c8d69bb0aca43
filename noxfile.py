"""Nox sessions: tests, lint, typecheck, demo (and the pinned analysis/verify sessions)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.11", "3.12", "3.13"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite (slow tests included) on two workers."""
    session.install("-e", ".[test,pdf]")
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
    session.install(".[pdf]")
    session.run("trialkit", "demo", "--out", "demo-output", "--force", *session.posargs)
