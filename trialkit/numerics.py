"""Deterministic numerics: a fixed number of BLAS threads while models are fitted.

Multithreaded BLAS may sum in a different order from run to run, which changes the last bits
of a fit; pinning the thread count makes two runs on one machine give identical bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

#: BLAS threads during analysis. The fits work on many small matrices, where one thread is
#: as fast as several and the order of floating-point sums is fixed.
BLAS_THREADS = 1


@contextmanager
def deterministic_blas() -> Iterator[None]:
    """Run the block with ``BLAS_THREADS`` BLAS threads, restoring the limits afterwards."""
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        yield
