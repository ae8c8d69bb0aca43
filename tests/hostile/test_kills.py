"""Commands killed at random moments: no unblinded file and no process is left behind, and
SIGTERM ends a command with one line and exit 143 (SIGKILL cannot be caught: then only the
guarantees of the files on disk and of worker processes hold)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trialkit.resources import example_trials_dir

pytestmark = pytest.mark.slow

#: Files whose presence means an analysis was written to disk.
ANALYSIS_FILES = ("results.json", "*.csv")


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
    found, frontier = set(), {pid}
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


def kill_during(args: list[str], cwd: Path, after: float, sig: int) -> tuple[int, str, set[int]]:
    """Run ``trialkit ARGS``, send ``sig`` after ``after`` seconds; exit code, stderr, and the
    processes it had started."""
    env = {**os.environ, "TMPDIR": str(cwd / "tmp")}
    (cwd / "tmp").mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "trialkit"]
    proc = subprocess.Popen(
        [*cmd, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    seen: set[int] = set()
    deadline = time.monotonic() + after
    while time.monotonic() < deadline and proc.poll() is None:
        seen |= _children(proc.pid)
        time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err, seen


def assert_nothing_left(work: Path, seen: set[int], unblinded_allowed: bool = False) -> None:
    """No worker process alive, no temporary folder, no analysis file (unless allowed)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in seen):
        time.sleep(0.1)
    assert not [p for p in seen if _alive(p)], "a worker process outlived its command"
    assert list((work / "tmp").iterdir()) == []
    if not unblinded_allowed:
        written = [p for pattern in ANALYSIS_FILES for p in work.rglob(pattern)]
        written = [p for p in written if not p.is_relative_to(work / "trial")]
        assert written == [], f"analysis files left behind: {written}"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copytree(example_trials_dir() / "dhurat2013", tmp_path / "trial")
    return tmp_path


OPEN_REPORT = [
    "report", "trial", "--out", "open", "--kind", "interim", "--blinded",
    "--cutoff", "2024-01-01", "--format", "html,pdf",
]  # fmt: skip


@pytest.mark.parametrize("after", [0.8, 2.0, 3.0, 4.0, 5.0, 6.0])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_open_report_leaves_no_unblinded_file(work: Path, after: float, sig: int) -> None:
    code, err, seen = kill_during(OPEN_REPORT, work, after, sig)
    assert_nothing_left(work, seen)
    if code in (-signal.SIGKILL, -sig):  # killed (or signalled before Python set its handler)
        return
    if code != 0:  # stopped: one line, its documented code, no traceback
        assert code == 128 + sig and "Traceback" not in err, err
        assert err.strip().splitlines() == [
            "trialkit: stopped: SIGTERM received; no partial output is left"
        ]
        # nothing, or the whole folder when the signal came after it was moved into place
        assert not (work / "open").exists() or (work / "open" / "manifest.json").is_file()


@pytest.mark.parametrize("after", [1.0, 3.0, 4.5])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killed_analyze_leaves_no_process_and_no_output(work: Path, after: float, sig: int) -> None:
    code, err, seen = kill_during(["analyze", "trial", "--out", "out"], work, after, sig)
    # a signal after the folder was moved into place stops the command but leaves it whole
    complete = (work / "out" / "manifest.json").is_file()
    assert_nothing_left(work, seen, unblinded_allowed=complete)
    if code not in (0, -signal.SIGKILL, -sig):  # -sig: signalled before the handler was set
        assert code == 128 + sig and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1
    if not complete:
        assert not (work / "out").exists()


def test_killed_verify_and_demo_leave_no_process(work: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "trialkit", "analyze", "trial", "--out", "out"],
        cwd=work, check=True, capture_output=True,
    )  # fmt: skip
    for after in (1.5, 4.0):
        _, _, seen = kill_during(["verify", "out"], work, after, signal.SIGKILL)
        assert_nothing_left(work, seen, unblinded_allowed=True)
    for after in (2.0, 6.0, 10.0):
        code, _, seen = kill_during(["demo", "--out", "demo"], work, after, signal.SIGKILL)
        assert_nothing_left(work, seen, unblinded_allowed=True)
        # nothing, or the whole folder when the kill came after it was moved into place
        complete = all((work / "demo" / part).is_dir() for part in ("analysis", "final"))
        assert not (work / "demo").exists() or complete or code == 0
        shutil.rmtree(work / "demo", ignore_errors=True)
        for partial in work.glob(".demo.*"):
            shutil.rmtree(partial)


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
