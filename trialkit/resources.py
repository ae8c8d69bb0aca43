"""Locate the data folders trialkit ships (schemas, report templates, example trials).

In a source checkout they sit at the top of the repository; in an installed wheel they
are package data under ``trialkit/_data``. Either way callers get a ``Path``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``schemas``, ``report_templates``, ``example_trials``)."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"trialkit data folder {name!r} is missing from this installation")


def schemas_dir() -> Path:
    """The pandera schema files."""
    return data_dir("schemas")


def templates_dir() -> Path:
    """The Jinja report templates."""
    return data_dir("report_templates")


def example_trials_dir() -> Path:
    """The bundled example trials."""
    return data_dir("example_trials")
