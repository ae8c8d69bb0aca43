"""Write a command's output folder all at once: into a temporary sibling, then moved into place.

An existing folder is never overwritten unless ``force`` is given, and an interrupted run
leaves no partial output (the temporary folder is removed on any error).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trialkit.errors import OutputExistsError


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse an existing output folder before any work is done."""
    if out.exists() and not force:
        raise OutputExistsError(f"{out}: output folder exists (use --force to replace it)")


@contextmanager
def staged_output_dir(out: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to ``out``; move it to ``out`` when the block succeeds."""
    out = Path(out)
    check_output_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield staging
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
