"""The commands' progress bar (CLI only): a ``progress(done, total)`` callback for
:mod:`trialkit.parallel`, drawn by tqdm on a terminal's stderr once a run has lasted a few
seconds (tasks done, rate, time left); elsewhere it draws nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Seconds a run lasts before its bar appears (short runs show none).
DELAY = 3.0


@contextmanager
def progress_bar(label: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A callback that moves a bar of ``unit``s named ``label`` (closed at the block's end)."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from tqdm import tqdm

    # redrawn at every finished batch (batches are few), once the delay has passed
    with tqdm(
        desc=label, unit=unit, file=sys.stderr, delay=DELAY, mininterval=0.0, leave=False
    ) as bar:

        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield update
