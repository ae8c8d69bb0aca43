"""Where the project's shared reference data live (../shared beside the repository).

Locally a missing folder skips the tests that need it; in CI (``CI`` set) it is a failure,
so conformance tests can never pass by being skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_file(*parts: str) -> Path:
    """The path of a shared file; skip (locally) or fail (CI) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"shared reference data not found at {path}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
