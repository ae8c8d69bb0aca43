"""Worker processes that end with their parent, and signals that end a command cleanly.

A forked worker asks the kernel (Linux ``prctl(PR_SET_PDEATHSIG)``) to kill it when its parent
dies, so a killed ``analyze``, ``demo`` or ``verify`` leaves no process computing behind. In the
parent, SIGTERM, SIGINT and SIGHUP raise :class:`~trialkit.errors.Interrupted`, so the normal
clean-up runs (staging folders removed, workers stopped) and the CLI prints one line.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Generic, TypeVar

from trialkit.errors import Interrupted

PR_SET_PDEATHSIG = 1
T = TypeVar("T")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: be killed when ``parent_pid`` dies; leave signals to the parent."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group; the parent stops us
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def worker_init_args() -> tuple[int]:
    """``initargs`` for :func:`die_with_parent` in a pool created by this process."""
    return (os.getpid(),)


#: The stop signal received, if any (an exception raised by the handler inside a C
#: extension's import can come out as another exception: the CLI asks here).
_received: list[int] = []


def received_signal() -> Interrupted | None:
    """The stop of this command by a signal, if one was received."""
    return Interrupted(_received[0]) if _received else None


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    """Signal handler: ignore further stop signals while cleaning up, then stop the command."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    _received.append(signum)
    raise Interrupted(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, a stop signal raises :class:`Interrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()  # a new command: an earlier command's stop is not this one's
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Within the block stop signals wait and are delivered at its end (main thread only).

    For a step whose interruption would leave files behind: importing WeasyPrint runs the C
    compiler (ctypes' library search) on temporary files that the compiler writes after an
    interrupted Python has removed them.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


#: The calls of the Background children, by key: a child forked after its call is stored here
#: inherits the arguments (large frames are not pickled through the pool's pipe).
_calls: dict[int, tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = {}


def _inherited_call(key: int) -> Any:
    """In the child: run the call stored under ``key`` before the fork."""
    fn, args, kwargs = _calls[key]
    return fn(*args, **kwargs)


class Background(Generic[T]):
    """Run a function in a forked child process (or inline when forking is not possible).

    The child inherits the arguments by the fork (only the value comes back pickled). Set
    ``TRIALKIT_WORKERS=1`` to run everything in one process. The result is the same either
    way; only the wall time differs. :meth:`close` stops the child (e.g. when the main process
    fails first), so an error is reported without waiting for the child's work.
    """

    def __init__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        self._call = (fn, args, kwargs)
        self._pool: Any = None
        self._async: Any = None
        methods = multiprocessing.get_all_start_methods()
        if os.environ.get("TRIALKIT_WORKERS", "2") != "1" and "fork" in methods:
            _calls[id(self)] = self._call
            try:  # the pool forks its worker now, with the call in _calls
                self._pool = multiprocessing.get_context("fork").Pool(
                    processes=1, initializer=die_with_parent, initargs=worker_init_args()
                )
            finally:
                del _calls[id(self)]
            self._async = self._pool.apply_async(_inherited_call, (id(self),))

    def result(self) -> T:
        """The function's value (re-raising its exception)."""
        if self._async is None:
            fn, args, kwargs = self._call
            return fn(*args, **kwargs)
        value: T = self._async.get()
        return value

    def close(self) -> None:
        """Stop the child process, if any."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
