"""The parallel layer: results in task order and identical for any workers or scheduler, work in
batches, BLAS at one thread, progress on the calling process, clean stops, refused schedulers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time

import numpy as np
import pytest

from trialkit.errors import InputError, Interrupted
from trialkit.parallel import imap_batches, run_batches, run_each, split
from trialkit.processes import stop_on_signals


def draws(batch: list[int]) -> list[tuple[float, int, int]]:
    """Per task: a draw from the task's own seed, the batch length and the computing process."""
    pid = os.getpid()
    return [(float(np.random.default_rng(seed).normal()), len(batch), pid) for seed in batch]


def blas_threads(batch: list[int]) -> list[int]:
    from threadpoolctl import threadpool_info

    return [max((p["num_threads"] for p in threadpool_info()), default=1) for _ in batch]


def square(task: int) -> int:
    return task * task


def fail_on_three(batch: list[int]) -> list[int]:
    if 3 in batch:
        raise ValueError("task 3 failed")
    return batch


def slow(batch: list[int]) -> list[int]:
    time.sleep(30)
    return batch


def test_results_in_task_order_and_identical_for_one_and_two_workers() -> None:
    tasks = list(range(23))
    one = run_batches(draws, tasks, workers=1, batch_size=5)
    two = run_batches(draws, tasks, workers=2, batch_size=5)
    assert [r[0] for r in one] == [r[0] for r in two]
    assert [r[0] for r in one] == [float(np.random.default_rng(s).normal()) for s in tasks]
    assert {r[2] for r in one} == {os.getpid()}  # one worker: in this process
    assert os.getpid() not in {r[2] for r in two}  # two: in worker processes


def test_work_goes_out_in_batches() -> None:
    sizes = [r[1] for r in run_batches(draws, list(range(12)), workers=2, batch_size=5)]
    assert sizes == [5] * 10 + [2] * 2
    # without a batch size: a few batches per worker, not one task each
    default = [r[1] for r in run_batches(draws, list(range(80)), workers=2)]
    assert set(default) == {10}


def test_split_and_bad_batch_size() -> None:
    assert split([1, 2, 3], 2) == [[1, 2], [3]]
    with pytest.raises(InputError, match="batch size 0"):
        split([1], 0)


def test_blas_runs_one_thread_per_worker() -> None:
    assert set(run_batches(blas_threads, [0, 1, 2, 3], workers=2, batch_size=1)) == {1}
    assert set(run_batches(blas_threads, [0, 1], workers=1)) == {1}


def test_run_each_applies_a_function_of_one_task() -> None:
    assert run_each(square, list(range(7)), workers=2, batch_size=3) == [i * i for i in range(7)]


def test_progress_is_called_on_the_calling_process_with_task_counts() -> None:
    calls: list[tuple[int, int, int]] = []
    run_batches(
        draws, list(range(10)), workers=2, batch_size=3,
        progress=lambda done, total: calls.append((done, total, os.getpid())),
    )  # fmt: skip
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert calls[-1][:2] == (10, 10) and len(calls) == 4
    assert {c[2] for c in calls} == {os.getpid()}


def test_imap_batches_yields_each_batch_with_its_index() -> None:
    batches = [[1, 2], [3], [4, 5, 6]]
    got = dict(imap_batches(draws, batches, workers=2))
    assert sorted(got) == [0, 1, 2]
    assert [len(got[i]) for i in range(3)] == [2, 1, 3]


def test_an_error_in_a_batch_reaches_the_caller_and_stops_the_pool() -> None:
    with pytest.raises(ValueError, match="task 3 failed"):
        run_batches(fail_on_three, list(range(8)), workers=2, batch_size=2)
    assert multiprocessing.active_children() == []


def test_a_stop_signal_ends_the_run_at_once_and_leaves_no_worker() -> None:
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    start = time.monotonic()
    timer.start()
    with pytest.raises(Interrupted), stop_on_signals():
        run_batches(slow, list(range(4)), workers=2, batch_size=1)
    assert time.monotonic() - start < 10
    assert multiprocessing.active_children() == []


def test_a_bad_scheduler_is_refused_in_one_line() -> None:
    for bad in ("localhost:8786", "local:0", "local:two", "http://host:1"):
        with pytest.raises(InputError, match="scheduler") as info:
            run_batches(draws, [1], scheduler=bad)
        assert "\n" not in str(info.value)


def test_an_unreachable_scheduler_is_an_input_error_within_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("trialkit.parallel.CONNECT_TIMEOUT", 1.0)
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(InputError, match=f"scheduler tcp://127.0.0.1:{port}: unreachable") as info:
        run_batches(draws, [1, 2], scheduler=f"tcp://127.0.0.1:{port}")
    assert "\n" not in str(info.value)
    assert time.monotonic() - start < 10


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_same_results() -> None:
    tasks = list(range(9))
    local = run_batches(draws, tasks, workers=1, batch_size=2)
    dask = run_batches(draws, tasks, scheduler="local:2", batch_size=2)
    assert [r[0] for r in dask] == [r[0] for r in local]
    assert [r[1] for r in dask] == [r[1] for r in local]
    assert os.getpid() not in {r[2] for r in dask}


def test_the_progress_bar_draws_nothing_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from trialkit.cli.progress import progress_bar

    with progress_bar("replicates", "replicate") as update:
        run_batches(draws, list(range(6)), workers=1, batch_size=2, progress=update)
    assert capsys.readouterr().err == ""


def test_the_progress_bar_on_a_terminal_shows_tasks_done(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from trialkit.cli import progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    monkeypatch.setattr(progress, "DELAY", 0.0)
    with progress.progress_bar("replicates", "replicate") as update:
        run_batches(draws, list(range(6)), workers=1, batch_size=2, progress=update)
    assert "6/6" in screen.getvalue() and "replicates" in screen.getvalue()
