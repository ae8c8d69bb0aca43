"""Commands killed at random moments and while their output is being written: no unblinded
file and no process is left behind, and SIGTERM ends a command with one line and exit 143.
SIGKILL cannot be caught: then only the guarantees of the files on disk and of worker processes
hold, and the staging folder of the output is left for a later run to remove."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import Snapshot, assert_clean_run, run_clean, snapshot, watch
from trialkit.cli import main
from trialkit.output import MARKER_NAME
from trialkit.resources import example_trials_dir

pytestmark = pytest.mark.slow

#: Files whose presence means an analysis was written to disk.
ANALYSIS_FILES = ("results.json", "*.csv")
#: What SIGKILL may leave in $TMPDIR: the empty output file of ctypes.util.find_library's
#: compiler probe (WeasyPrint's library search) and a Dask LocalCluster's folder of lock files.
KILLED_TMP_FILE = re.compile(r"tmp[a-z0-9_]{8}")
KILLED_TMP_FOLDER = re.compile(r"trialkit-dask-[a-z0-9_]{8}")
#: A missing-data plan whose jackknife resamples keep a LocalCluster busy for seconds.
MISSING_DATA_PLAN = """
[missing_data]
method = "conditional_mean"
resampling = "jackknife"
seed = 20240101
[[missing_data.strategies]]
event = "discontinuation"
strategy = "J2R"
"""


def _children(pid: int) -> set[int]:
    """Direct and indirect child processes of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_during(
    args: list[str], cwd: Path, when: float | Callable[[], bool], sig: int
) -> tuple[int, str, set[int]]:
    """Run ``trialkit ARGS`` (in the case's $TMPDIR); send ``sig`` after ``when`` seconds (it
    may finish first), or as soon as ``when()`` holds (it must not); exit code, stderr, and the
    processes it had started. A case that fails meanwhile kills it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "trialkit", *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    seen: set[int] = set()
    start = scanned = time.monotonic()
    try:
        while proc.poll() is None:
            if when() if callable(when) else time.monotonic() - start >= when:
                proc.send_signal(sig)
                break
            if time.monotonic() - scanned > 0.2:  # /proc is slow to read: not at every look
                seen |= _children(proc.pid)
                scanned = time.monotonic()
            time.sleep(0.02)
        else:
            assert not callable(when), "the command ended before the moment to kill it"
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err, seen


def staging(work: Path, out: str | None) -> list[Path]:
    """The staging folders of ``--out OUT`` in ``work``."""
    return sorted(work.glob(f".{out}.*.partial")) if out is not None else []


def analysis_files(folder: Path) -> list[Path]:
    """The files under ``folder`` that hold (unblinded) analysis results."""
    return sorted(p for pattern in ANALYSIS_FILES for p in folder.rglob(pattern))


def assert_no_process_left(seen: set[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in seen):
        time.sleep(0.1)
    assert not [p for p in seen if _alive(p)], "a worker process outlived its command"


def assert_killed_left_only(tmpdir: Path) -> None:
    """After SIGKILL, $TMPDIR holds nothing but :data:`KILLED_TMP_FILE` files (empty) and
    :data:`KILLED_TMP_FOLDER` folders (of lock files): no data. Those are removed."""
    for path in tmpdir.iterdir():
        if path.is_dir() and KILLED_TMP_FOLDER.fullmatch(path.name):
            files = [p for p in path.rglob("*") if p.is_file()]
            assert all(p.name.endswith("lock") for p in files), files
            shutil.rmtree(path)
        else:
            assert path.is_file() and KILLED_TMP_FILE.fullmatch(path.name), path.name
            assert path.stat().st_size == 0, f"{path.name}: {path.read_bytes()[:100]!r}"
            path.unlink()


def assert_stopped_cleanly(
    work: Path,
    code: int,
    err: str,
    sig: int,
    before: dict[Path, Snapshot],
    out: str | None,
    tmpdir: Path,
) -> None:
    """The checks of a command that was sent ``sig``: finished (0) or stopped (128 + sig: one
    line, no traceback), nothing outside ``out`` (whole, if there) and nothing left behind; or
    killed (SIGKILL, or a signal before Python set its handlers): then ``out`` whole or absent,
    and nothing else new but its staging folders."""
    outputs = [work / out] if out is not None and (work / out).exists() else []
    assert all((o / "manifest.json").is_file() for o in outputs), "a partial output folder"
    if code >= 0:
        names = [signal.Signals(sig).name] if code == 128 + sig else None
        assert_clean_run(
            code, err, expected_code=code if code == 0 else 128 + sig, names=names,
            before=before, outputs=outputs,
        )  # fmt: skip
        return
    assert code == -sig and "Traceback" not in err, err
    assert_killed_left_only(tmpdir)
    allowed = outputs + staging(work, out)
    for folder, was in before.items():
        now = snapshot(folder)
        new = [
            k for k in now.keys() - was.keys()
            if not any((folder / k).is_relative_to(a) for a in allowed)
        ]  # fmt: skip
        changed = [k for k in was if now.get(k) != was[k]]
        assert (sorted(new), changed) == ([], []), f"{folder}: new {new}, changed {changed}"


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``trial/`` (dhurat2013) and ``out/``, its analysis, made once for the module."""
    root = tmp_path_factory.mktemp("kills")
    shutil.copytree(example_trials_dir() / "dhurat2013", root / "trial")
    args = ["analyze", str(root / "trial"), "--out", str(root / "out")]
    run_clean(args, watched=[root], outputs=[root / "out"], tmpdir=root / "tmpdir")
    return root


OPEN_REPORT = [
    "report", "trial", "--out", "open", "--kind", "interim", "--blinded",
    "--cutoff", "2024-01-01", "--format", "html,pdf",
]  # fmt: skip


@pytest.mark.parametrize("after", [0.8, 2.0, 3.0, 4.0, 5.0, 6.0])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_open_report_leaves_no_unblinded_file(
    work: Path, own_tmpdir: Path, after: float, sig: int
) -> None:
    before = watch(work)
    code, err, seen = kill_during(OPEN_REPORT, work, after, sig)
    assert_no_process_left(seen)
    assert analysis_files(work) == analysis_files(work / "trial")  # none in a staging folder
    assert_stopped_cleanly(work, code, err, sig, before, "open", own_tmpdir)


@pytest.mark.parametrize("after", [1.0, 3.0, 4.5])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killed_analyze_leaves_no_process_and_no_output(
    work: Path, own_tmpdir: Path, after: float, sig: int
) -> None:
    before = watch(work)
    code, err, seen = kill_during(["analyze", "trial", "--out", "out"], work, after, sig)
    assert_no_process_left(seen)
    assert_stopped_cleanly(work, code, err, sig, before, "out", own_tmpdir)


@pytest.mark.parametrize(
    ("after", "sig"), [(1.5, signal.SIGKILL), (4.0, signal.SIGKILL), (3.0, signal.SIGTERM)]
)
def test_killed_verify_leaves_no_process_and_writes_nothing(
    work: Path, own_tmpdir: Path, analysed: Path, after: float, sig: int
) -> None:
    shutil.copytree(analysed / "out", work / "out")
    before = watch(work, analysed)
    code, err, seen = kill_during(["verify", "out"], work, after, sig)
    assert_no_process_left(seen)
    assert_stopped_cleanly(work, code, err, sig, before, None, own_tmpdir)


@pytest.mark.parametrize(
    ("after", "sig"),
    [(2.0, signal.SIGKILL), (6.0, signal.SIGKILL), (10.0, signal.SIGKILL), (6.0, signal.SIGTERM)],
)
def test_killed_demo_leaves_no_process(
    work: Path, own_tmpdir: Path, after: float, sig: int
) -> None:
    """The demo's output holds unblinded analyses by design: a SIGKILL may leave them in its
    staging folder (see the next case), a caught signal leaves nothing."""
    before = watch(work)
    code, err, seen = kill_during(["demo", "--out", "demo"], work, after, sig)
    assert_no_process_left(seen)
    assert_stopped_cleanly(work, code, err, sig, before, "demo", own_tmpdir)


STAGED = pytest.mark.parametrize(
    ("args", "out", "staged"),
    [(OPEN_REPORT, "open", "report.html"),
     (["analyze", "trial", "--out", "out"], "out", MARKER_NAME),  # staged for 0.3 s only
     (["demo", "--out", "demo"], "demo", "interim_analysis/results.json")],
    ids=["open-report", "analyze", "demo"],
)  # fmt: skip


def kill_while_staged(work: Path, tmpdir: Path, args: list[str], out: str, staged: str) -> Path:
    """SIGKILL ``trialkit ARGS`` once its staging folder holds ``staged``; the staging folder
    it leaves (nothing can remove it then), after the checks of a killed command."""

    def staging_holds() -> bool:
        return any((folder / staged).exists() for folder in staging(work, out))

    before = watch(work)
    code, err, seen = kill_during(args, work, staging_holds, signal.SIGKILL)
    assert_no_process_left(seen)
    assert_stopped_cleanly(work, code, err, signal.SIGKILL, before, out, tmpdir)
    [left] = staging(work, out)
    assert (left / MARKER_NAME).is_file()
    return left


@STAGED
def test_what_sigkill_leaves_while_the_output_is_staged(
    work: Path, own_tmpdir: Path, args: list[str], out: str, staged: str
) -> None:
    """A staging folder, marked as trialkit's: the open report's holds no analysis file (it
    analyses in memory); those of analyze and of the demo may hold the analysis they were
    writing, unblinded like their outputs (a later run removes them: the next case)."""
    left = kill_while_staged(work, own_tmpdir, args, out, staged)
    if out == "open":
        assert analysis_files(left) == []
    elif out == "demo":
        assert analysis_files(left / "interim_analysis")


@STAGED
def test_a_later_run_removes_the_staging_folder_of_a_killed_one(
    work: Path, own_tmpdir: Path, args: list[str], out: str, staged: str
) -> None:
    """A killed run's staging folder (its creator is dead) goes at the next run into the same
    ``--out``; it may hold an interim analysis."""
    kill_while_staged(work, own_tmpdir, args, out, staged)
    later = subprocess.run(
        [sys.executable, "-m", "trialkit", "validate", "trial", "--out", out, "--force"],
        cwd=work, capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert later.returncode in (0, 1), later.stderr
    assert staging(work, out) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_analyze_on_a_local_dask_cluster(work: Path, own_tmpdir: Path, sig: int) -> None:
    """``analyze --scheduler local:2`` killed while its LocalCluster computes the missing-data
    resamples: no worker left; SIGTERM: exit 143, one line (none of distributed's shutdown
    logs) and no scratch folder in $TMPDIR."""
    with (work / "trial" / "trial.toml").open("a", encoding="utf-8") as fh:
        fh.write(MISSING_DATA_PLAN)
    before = watch(work)

    def computing() -> bool:
        return any(own_tmpdir.glob("trialkit-dask-*/dask-scratch-space/worker-*"))

    args = ["analyze", "trial", "--out", "out", "--scheduler", "local:2"]
    code, err, seen = kill_during(args, work, computing, sig)
    assert_no_process_left(seen)
    assert code in (128 + sig, -sig), err
    assert_stopped_cleanly(work, code, err, sig, before, "out", own_tmpdir)


def test_a_stop_during_a_supporting_analysis_stops_the_command(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while a supporting analysis computes ends ``analyze`` as anywhere else: exit
    143, one line, nothing written (a regression: it was recorded as a failed analysis, and
    analyze went on to exit 0)."""

    @contextlib.contextmanager
    def sigterm_here() -> Iterator[None]:
        os.kill(os.getpid(), signal.SIGTERM)  # main() handles it: it raises Interrupted here
        yield

    monkeypatch.setenv("TRIALKIT_WORKERS", "1")  # every analysis in this process
    monkeypatch.setattr("trialkit.analysis.supporting.deterministic_blas", sigterm_here)
    before = watch(work)
    code = main(["analyze", "trial", "--out", "out"])
    captured = capsys.readouterr()
    assert_clean_run(
        code, captured.err, expected_code=143, names=["SIGTERM"], before=before,
        stdout=captured.out,
    )  # fmt: skip


def test_a_deferred_step_finishes_before_the_stop(tmp_path: Path) -> None:
    """A stop signal inside ``signals_deferred`` waits for the block's end, then stops."""
    marker = tmp_path / "finished"
    code = (
        "import os, signal, sys\n"
        "from trialkit.errors import Interrupted\n"
        "from trialkit.processes import signals_deferred, stop_on_signals\n"
        "try:\n"
        "    with stop_on_signals():\n"
        "        with signals_deferred():\n"
        "            os.kill(os.getpid(), signal.SIGTERM)\n"
        f"            open({str(marker)!r}, 'w').close()\n"
        "        print('not reached')\n"
        "except Interrupted as exc:\n"
        "    sys.exit(exc.exit_code)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 143 and marker.is_file() and "not reached" not in done.stdout
