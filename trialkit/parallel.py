"""Run embarrassingly parallel work in batches: in-process, on a local process pool or on Dask.

One layer for every job made of independent tasks (simulation replicates, resamples for
missing data). The caller gives a picklable top-level function ``func(batch) -> results`` that
maps a list of tasks to a list of results of the same length (so a batch can be computed
together, e.g. many replicates fitted at once), and the tasks:

- :func:`run_batches` splits the tasks into batches and returns the results in task order;
- :func:`run_each` does the same for a function of one task;
- :func:`imap_batches` takes batches already made and yields ``(batch index, results)`` as each
  finishes, for callers that save finished batches (``--resume``).

Where the work runs (``workers`` and ``scheduler``):

- ``scheduler=None``: a local pool of ``workers`` forked processes (default ``os.cpu_count()``),
  each made with :func:`trialkit.processes.die_with_parent` so it ends with the command;
  ``workers=1`` runs in this process;
- ``scheduler="local:N"``: a ``dask.distributed`` LocalCluster of N worker processes, one thread
  each, started here on 127.0.0.1 and closed at the end, its scratch folder with it (none is
  left in ``$TMPDIR``);
- ``scheduler="tcp://HOST:PORT"``: a running Dask scheduler (an unreachable one is an
  :class:`~trialkit.errors.InputError` within :data:`CONNECT_TIMEOUT` seconds).

BLAS runs one thread per batch everywhere (threadpoolctl), so workers do not oversubscribe the
cores and a result never depends on how many BLAS threads computed it. Randomness must not come
from the worker: callers put seeds in the tasks, so results are identical for any number of
workers and any scheduler. ``progress(done, total)`` is called on the calling process after
each batch, with counts of tasks. A stop signal (:class:`~trialkit.errors.Interrupted`) or an
error ends the pool or the Dask work at once; nothing keeps computing.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from trialkit.errors import InputError
from trialkit.processes import die_with_parent, worker_init_args

T = TypeVar("T")
R = TypeVar("R")

#: Seconds to wait for a Dask scheduler before calling it unreachable.
CONNECT_TIMEOUT = 5.0
#: Batches per worker when the caller gives no batch size (a few, so the load balances).
BATCHES_PER_WORKER = 4
#: Workers a remote Dask cluster is taken to have when choosing the default batch size.
REMOTE_WORKERS = 8
#: Records below this level from distributed's loggers are dropped while Dask runs our work: its
#: workers log ERROR tracebacks when a stopped command closes the scheduler under them.
DASK_LOG_LEVEL = logging.CRITICAL

Progress = Callable[[int, int], None]
LOCAL_PATTERN = re.compile(r"local:([0-9]+)")
ADDRESS_PATTERN = re.compile(r"(tcp|tls)://[^\s/:]+:[0-9]+")


class _OneThreadBlas(Generic[T, R]):
    """``func`` on a batch with BLAS limited to one thread (picklable: wraps a top-level one)."""

    def __init__(self, func: Callable[[list[T]], list[R]]) -> None:
        self.func = func

    def __call__(self, item: tuple[int, list[T]]) -> tuple[int, list[R]]:
        from threadpoolctl import threadpool_limits

        index, batch = item
        with threadpool_limits(1):
            results = list(self.func(batch))
        if len(results) != len(batch):
            raise RuntimeError(
                f"{self.func!r} returned {len(results)} results for {len(batch)} tasks"
            )
        return index, results


class _Each(Generic[T, R]):
    """A function of one task applied to each task of a batch (picklable)."""

    def __init__(self, func: Callable[[T], R]) -> None:
        self.func = func

    def __call__(self, batch: list[T]) -> list[R]:
        return [self.func(task) for task in batch]


def check_scheduler(scheduler: str) -> str | int:
    """A Dask address (``tcp://HOST:PORT``) or the N of ``local:N``; anything else is refused."""
    local = LOCAL_PATTERN.fullmatch(scheduler)
    if local is not None:
        n = int(local.group(1))
        if n < 1:
            raise InputError(f"scheduler {scheduler!r}: local:N needs N >= 1")
        return n
    if ADDRESS_PATTERN.fullmatch(scheduler) is None:
        raise InputError(f"scheduler {scheduler!r}: expected tcp://HOST:PORT or local:N")
    return scheduler


def default_workers(workers: int | None) -> int:
    """The number of local worker processes: ``workers``, else the machine's cores."""
    if workers is None:
        return os.cpu_count() or 1
    if workers < 1:
        raise InputError(f"workers {workers}: must be at least 1")
    return workers


def split(tasks: Sequence[T], batch_size: int) -> list[list[T]]:
    """Consecutive batches of ``batch_size`` tasks (the last may be shorter)."""
    if batch_size < 1:
        raise InputError(f"batch size {batch_size}: must be at least 1")
    return [list(tasks[i : i + batch_size]) for i in range(0, len(tasks), batch_size)]


def default_batch_size(n_tasks: int, workers: int) -> int:
    """A few batches per worker, so every worker stays busy and none waits for a long tail."""
    return max(1, math.ceil(n_tasks / (workers * BATCHES_PER_WORKER)))


def imap_batches(
    func: Callable[[list[T]], list[R]],
    batches: Sequence[list[T]],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[int, list[R]]]:
    """Yield ``(index, func(batches[index]))`` for every batch, in the order they finish."""
    total = sum(len(b) for b in batches)
    done = 0
    wrapped = _OneThreadBlas(func)
    items = list(enumerate(batches))
    for index, results in _dispatch(wrapped, items, workers, scheduler):
        done += len(results)
        if progress is not None:
            progress(done, total)
        yield index, results


def _dispatch(
    wrapped: _OneThreadBlas[T, R],
    items: list[tuple[int, list[T]]],
    workers: int | None,
    scheduler: str | None,
) -> Iterator[tuple[int, list[R]]]:
    """Send the indexed batches where ``workers`` and ``scheduler`` say; results as they come."""
    if scheduler is not None:
        yield from _on_dask(wrapped, items, check_scheduler(scheduler))
        return
    n = min(default_workers(workers), max(1, len(items)))
    if n == 1:
        yield from map(wrapped, items)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(n, initializer=die_with_parent, initargs=worker_init_args()) as pool:
        yield from pool.imap_unordered(wrapped, items)  # leaving the block terminates the pool


@contextlib.contextmanager
def _local_cluster(n_workers: int) -> Iterator[Any]:
    """A LocalCluster of ``n_workers`` one-thread processes on this machine, quiet (its shutdown
    warnings are not the command's) and with a scratch folder of its own, removed with it."""
    import dask
    from distributed import LocalCluster

    scratch = tempfile.mkdtemp(prefix="trialkit-dask-")
    try:
        # the scheduler's and the workers' scratch ("dask-scratch-space") go under ``scratch``
        with (
            dask.config.set({"temporary-directory": scratch}),
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # a free port, no warning
                silence_logs=DASK_LOG_LEVEL,
            ) as cluster,
        ):
            yield cluster
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Within the block, distributed's loggers in this process drop records below
    :data:`DASK_LOG_LEVEL` (a stopped or failed run reports itself in one line)."""
    logger = logging.getLogger("distributed")
    previous = logger.level
    logger.setLevel(DASK_LOG_LEVEL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _on_dask(
    wrapped: _OneThreadBlas[T, R], items: list[tuple[int, list[T]]], target: str | int
) -> Iterator[tuple[int, list[R]]]:
    """Run the batches on a Dask cluster (a LocalCluster of ``target`` workers, or an address)."""
    from distributed import Client, as_completed

    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet_distributed())
        address: Any = (
            stack.enter_context(_local_cluster(target)) if isinstance(target, int) else target
        )
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"scheduler {target}: unreachable within {CONNECT_TIMEOUT:g} s ({exc})"
            ) from None
        with client, client.as_current():
            futures = client.map(wrapped, items, pure=False)
            try:
                for _, result in as_completed(futures, with_results=True):
                    yield result
            finally:
                client.cancel(futures)


def run_batches(
    func: Callable[[list[T]], list[R]],
    tasks: Sequence[T],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> list[R]:
    """``func`` over ``tasks`` in batches; the results in task order, whoever computed them."""
    if batch_size is None:
        spread = check_scheduler(scheduler) if scheduler is not None else default_workers(workers)
        batch_size = default_batch_size(
            len(tasks), spread if isinstance(spread, int) else REMOTE_WORKERS
        )
    batches = split(tasks, batch_size)
    ordered: list[list[R]] = [[] for _ in batches]
    for index, results in imap_batches(
        func, batches, workers=workers, scheduler=scheduler, progress=progress
    ):
        ordered[index] = results
    return [r for batch in ordered for r in batch]


def run_each(
    func: Callable[[T], R],
    tasks: Sequence[T],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> list[R]:
    """``func`` over each task (sent out in batches); the results in task order."""
    return run_batches(
        _Each(func),
        tasks,
        workers=workers,
        scheduler=scheduler,
        batch_size=batch_size,
        progress=progress,
    )
