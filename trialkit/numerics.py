"""Deterministic, fast numerics: one BLAS thread while models are fitted.

Multithreaded BLAS may sum in a different order from run to run, which changes the last bits
of a fit; one thread makes two runs on one machine give identical bytes. The matrices of a fit
are small and many, where one thread is also the fastest (on a loaded 2-core machine a
two-thread OpenBLAS fit was 10x slower: its threads spin and wait).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from threadpoolctl import ThreadpoolController

#: BLAS threads during model fitting.
BLAS_THREADS = 1


@cache
def _controller() -> ThreadpoolController:
    """The process's thread-pool controller (inspecting the loaded libraries once)."""
    return ThreadpoolController()


@contextmanager
def deterministic_blas() -> Iterator[None]:
    """Run the block with ``BLAS_THREADS`` BLAS threads, restoring the limits afterwards."""
    with _controller().limit(limits=BLAS_THREADS, user_api="blas"):
        yield
