"""What every hostile case checks (issue 10): the exit code, one clear line, no traceback, the
inputs unchanged, nothing written outside the output folder, no temporary or staging folder
left behind, and no case longer than :data:`TIME_LIMIT` seconds.

Every case runs with ``$TMPDIR`` (and :mod:`tempfile`'s folder) pointing at an empty folder of
its own, which must be empty again at its end, and under a SIGALRM time limit that fails it
with a clear message instead of hanging the suite (``@pytest.mark.time_limit(seconds)``
raises the limit of a case).
"""

from __future__ import annotations

import contextlib
import faulthandler
import hashlib
import io
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import FrameType

import pytest

from trialkit.resources import example_trials_dir

#: Seconds a case may take (issue 10: "each case under 30 s").
TIME_LIMIT = 30.0
#: Seconds after the limit at which a case stuck in C code (where SIGALRM's handler cannot
#: run) ends the test process with every thread's traceback.
HARD_LIMIT_GRACE = 30.0

#: A file or folder's state in a snapshot: a file's SHA-256, a link's target, or its kind.
Snapshot = dict[str, str]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"time_limit(seconds): the case may take SECONDS (default {TIME_LIMIT:g})"
    )


def snapshot(folder: Path) -> Snapshot:
    """Everything under ``folder`` by relative path: files by SHA-256, links by target, folders,
    FIFOs and devices by kind (links are never followed, FIFOs never opened)."""
    found: Snapshot = {}
    for top, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(top, name)
            mode = path.lstat().st_mode
            rel = path.relative_to(folder).as_posix()
            if stat.S_ISLNK(mode):
                found[rel] = f"link -> {os.readlink(path)}"
            elif stat.S_ISDIR(mode):
                found[rel] = "folder"
            elif stat.S_ISREG(mode):
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[rel] = "fifo" if stat.S_ISFIFO(mode) else "special file"
    return found


def watch(*folders: Path) -> dict[Path, Snapshot]:
    """The snapshot of each of ``folders`` (the case's work folder and any input folder)."""
    return {folder: snapshot(folder) for folder in folders}


def staging_folders(folder: Path) -> list[Path]:
    """trialkit's staging and set-aside folders under ``folder`` (``.NAME.*.partial|old``)."""
    return sorted(
        p for pattern in (".*.partial", ".*.old") for p in folder.rglob(pattern) if p.is_dir()
    )


def assert_clean_run(
    code: int,
    err: str,
    *,
    expected_code: int,
    names: Iterable[str] | None = (),
    before: Mapping[Path, Snapshot],
    outputs: Iterable[Path] = (),
    stdout: str = "",
) -> str:
    """The checks of a finished command; its one stderr line (or "").

    Exit ``expected_code``; no traceback on stderr or ``stdout``; stderr is one line naming
    each of ``names`` (nothing at all when ``names`` is empty; ``None``: the case checks the
    lines itself); no staging folder and nothing in ``$TMPDIR``; and every folder of ``before``
    as it was, but for the ``outputs`` folders, which may have been written.
    """
    assert "Traceback" not in err + stdout, err + stdout
    assert code == expected_code, f"exit {code}, not {expected_code}: {err}{stdout}"
    lines = err.strip().splitlines()
    line = ""
    if names is not None:
        named = list(names)
        if named:
            assert len(lines) == 1 and lines[0].startswith("trialkit: "), err
            line = lines[0]
            missing = [n for n in named if n not in line]
            assert not missing, f"{missing} not in {line!r}"
        else:
            assert lines == [], err
    left = sorted(p.name for p in Path(tempfile.gettempdir()).iterdir())
    assert left == [], f"left in $TMPDIR: {left}"
    outputs = [Path(o).absolute() for o in outputs]
    for folder, was in before.items():
        assert staging_folders(folder) == [], f"staging folders left: {staging_folders(folder)}"
        skip = [o.relative_to(folder).as_posix() for o in outputs if o.is_relative_to(folder)]
        now = {
            rel: state
            for rel, state in snapshot(folder).items()
            if not any(rel == o or rel.startswith(f"{o}/") for o in skip)
        }
        new = sorted(now.keys() - was.keys())
        gone = sorted(was.keys() - now.keys())
        changed = sorted(k for k in now.keys() & was.keys() if now[k] != was[k])
        assert (new, gone, changed) == ([], [], []), (
            f"{folder}: new {new}, gone {gone}, changed {changed}"
        )
    return line


def run_clean(
    args: list[str], *, watched: Iterable[Path], outputs: Iterable[Path], tmpdir: Path
) -> None:
    """``trialkit ARGS`` for a module fixture, checked as a case is: within :data:`TIME_LIMIT`,
    with ``$TMPDIR`` at the new folder ``tmpdir``; exit 0, nothing on stderr, no traceback,
    and ``watched`` unchanged but for ``outputs``."""
    from trialkit.cli import main

    with time_limit(TIME_LIMIT, f"trialkit {args[0]}"), private_tmpdir(tmpdir):
        before = watch(*watched)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
        assert_clean_run(
            code, err.getvalue(), expected_code=0, before=before, outputs=outputs,
            stdout=out.getvalue(),
        )  # fmt: skip


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp/work``, the working directory and $HOME, holding a copy of dhurat2013 as
    ``trial/`` (font and plotting caches go outside it: they are not the command's output)."""
    work = tmp_path / "work"
    shutil.copytree(example_trials_dir() / "dhurat2013", work / "trial")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(work))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    return work


@contextlib.contextmanager
def private_tmpdir(folder: Path) -> Iterator[Path]:
    """Within the block ``$TMPDIR`` (child processes inherit it) and :mod:`tempfile`'s folder
    are ``folder`` (made, or empty), which must be empty again at the end."""
    folder.mkdir(exist_ok=True)
    assert not any(folder.iterdir()), folder
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(folder))
        patch.setattr(tempfile, "tempdir", str(folder))
        yield folder
    left = sorted(p.name for p in folder.iterdir())
    assert left == [], f"a temporary file or folder was left in $TMPDIR: {left}"


@pytest.fixture(autouse=True)
def own_tmpdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``$TMPDIR`` of this case alone, empty again at its end (beside ``tmp_path``, which some
    cases list whole)."""
    with private_tmpdir(tmp_path_factory.mktemp("tmpdir")) as folder:
        yield folder


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Fail ``what`` if the block takes longer than ``seconds`` (SIGALRM, in the main thread;
    the earlier handler is restored; limits do not nest)."""

    def expired(signum: int, frame: FrameType | None) -> None:
        pytest.fail(f"{what} took longer than {seconds:g} s: it hangs or got slow")

    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0, "a time limit is running already"
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds + HARD_LIMIT_GRACE, exit=True)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def _time_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each case (its function fixtures included) within :data:`TIME_LIMIT` or its marker's."""
    marker = request.node.get_closest_marker("time_limit")
    seconds = float(marker.args[0]) if marker is not None else TIME_LIMIT
    with time_limit(seconds, request.node.nodeid):
        yield
