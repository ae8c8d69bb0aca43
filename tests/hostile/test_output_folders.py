"""Hostile --out values: every command refuses them with exit 2 and one line, and every file
stays where it was (nothing deleted, nothing written outside the output folder)."""

from __future__ import annotations

import errno
import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.hostile.conftest import Snapshot, assert_clean_run, watch
from trialkit.cli import main
from trialkit.errors import OutputExistsError
from trialkit.output import MARKER_NAME, staged_output_dir
from trialkit.resources import example_trials_dir

COMMANDS = ("validate", "analyze", "report", "demo", "export adam")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An analysis of dhurat2013, made once for the module."""
    root = tmp_path_factory.mktemp("analysed")
    shutil.copytree(example_trials_dir() / "dhurat2013", root / "trial")
    assert main(["analyze", str(root / "trial"), "--out", str(root / "analysis")]) == 0
    return root / "analysis"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, analysed: Path) -> Path:
    """``tmp/work`` (the working directory and $HOME) holding ``trial/``, ``analysis/`` (its
    analysis, as analyze writes it) and a sibling file; the demo runs on ``trial/``."""
    work = tmp_path / "work"
    shutil.copytree(example_trials_dir() / "dhurat2013", work / "trial")
    shutil.copytree(analysed, work / "analysis")
    manifest = work / "analysis" / "manifest.json"
    recorded = json.loads(manifest.read_text(encoding="utf-8"))
    recorded["trial_dir"] = str((work / "trial").resolve())  # as if analysed here
    manifest.write_text(json.dumps(recorded), encoding="utf-8")
    (work / "notes.txt").write_text("a sibling file that must survive\n")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(work))
    # font and plotting caches are not ours: keep them out of the snapshot
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    monkeypatch.setattr("trialkit.report.demo.demo_trial", lambda: work / "trial")
    monkeypatch.setattr("trialkit.report.demo.demo_cutoff", lambda trial: date(2011, 3, 1))
    return work


def run(command: str, trial: Path, out: Path | str, *extra: str) -> int:
    """``trialkit COMMAND`` of ``trial`` (the demo: its trial; export: its analysis)."""
    if command == "demo":
        args = ["demo"]
    elif command == "export adam":
        args = ["export", "adam", str(trial.parent / "analysis")]  # its trial as recorded
    else:
        args = [command, str(trial)]
    args += ["--out", str(out), *extra]
    if command == "report":
        args += ["--format", "html"]
    return main(args)


def assert_refused(
    code: int, capsys: pytest.CaptureFixture[str], out: object, before: dict[Path, Snapshot]
) -> str:
    """Exit 2 and one error line naming ``out``, with the checks of every hostile case (every
    file of ``before`` as it was, no staging folder, nothing in $TMPDIR); the line."""
    captured = capsys.readouterr()
    line = assert_clean_run(
        code, captured.err, expected_code=2, names=[str(out)], before=before,
        stdout=captured.out,
    )  # fmt: skip
    assert line.startswith("trialkit: error: "), line
    return line


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize(
    "where", ["trial", "parent", "cwd", "dot", "root", "home", "inside_trial", "trial_parent_dots"]
)
def test_protected_out_is_refused_and_untouched(
    workspace: Path, capsys: pytest.CaptureFixture[str], command: str, force: bool, where: str
) -> None:
    trial = workspace / "trial"
    out = {
        "trial": trial,
        "parent": workspace,
        "cwd": Path.cwd(),
        "dot": Path("."),
        "root": Path("/"),
        "home": Path(os.environ["HOME"]),
        "inside_trial": trial / "queries",
        "trial_parent_dots": trial / "..",
    }[where]
    before = watch(workspace)
    code = run(command, trial, out, *(["--force"] if force else []))
    assert_refused(code, capsys, out, before)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("kind", ["foreign_folder", "file", "symlink_to_folder", "dangling_link"])
def test_foreign_out_is_refused_and_untouched(
    workspace: Path, capsys: pytest.CaptureFixture[str], command: str, force: bool, kind: str
) -> None:
    trial = workspace / "trial"
    other = workspace / "other"
    other.mkdir()
    (other / "thesis.docx").write_bytes(b"years of work")
    out = workspace / "out"
    if kind == "foreign_folder":
        shutil.copytree(other, out)
    elif kind == "file":
        out.write_text("not a folder\n")
    elif kind == "symlink_to_folder":
        out.symlink_to(other, target_is_directory=True)
    else:
        out.symlink_to(workspace / "nowhere")
    before = watch(workspace)
    code = run(command, trial, out, *(["--force"] if force else []))
    assert_refused(code, capsys, out, before)


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("where", ["analysis", "inside_analysis"])
def test_export_refuses_its_analysis_folder(
    workspace: Path, capsys: pytest.CaptureFixture[str], force: bool, where: str
) -> None:
    analysis = workspace / "analysis"
    out = analysis if where == "analysis" else analysis / "adam"
    before = watch(workspace)
    code = run("export adam", workspace / "trial", out, *(["--force"] if force else []))
    assert "the analysis folder" in assert_refused(code, capsys, out, before)


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("where", ["results", "inside_results"])
def test_report_refuses_its_results_folder(
    workspace: Path, capsys: pytest.CaptureFixture[str], force: bool, where: str
) -> None:
    results = workspace / "analysis"
    out = results if where == "results" else results / "report"
    before = watch(workspace)
    extra = ["--results", str(results), *(["--force"] if force else [])]
    code = run("report", workspace / "trial", out, *extra)
    assert "the results folder (--results)" in assert_refused(code, capsys, out, before)


@pytest.mark.parametrize("force", [False, True])
def test_analyze_refuses_an_earlier_looks_folder(
    workspace: Path, capsys: pytest.CaptureFixture[str], force: bool
) -> None:
    look = workspace / "analysis"
    before = watch(workspace)
    extra = ["--previous-looks", str(look), *(["--force"] if force else [])]
    code = run("analyze", workspace / "trial", look, *extra)
    assert "an earlier look's folder" in assert_refused(code, capsys, look, before)


def test_force_replaces_only_a_trialkit_output(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial, out = workspace / "trial", workspace / "queries"
    assert run("validate", trial, out) == 0
    assert (out / MARKER_NAME).is_file()
    (out / "query_listing.csv").write_text("edited\n")
    assert run("validate", trial, out) == 2  # exists, no --force
    assert (out / "query_listing.csv").read_text() == "edited\n"
    assert run("validate", trial, out, "--force") == 0
    assert (out / "query_listing.csv").read_text() != "edited\n"
    assert [p.name for p in workspace.iterdir() if p.name.startswith(".")] == []


def test_force_on_an_empty_folder_is_allowed(workspace: Path) -> None:
    (workspace / "empty").mkdir()
    assert run("validate", workspace / "trial", workspace / "empty", "--force") == 0
    assert (workspace / "empty" / "query_listing.csv").is_file()


def test_a_folder_created_during_the_run_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with (
        pytest.raises(OutputExistsError, match="appeared while this run was going"),
        staged_output_dir(out) as stage,
    ):
        (stage / "a.txt").write_text("mine")
        out.mkdir()
        (out / "theirs.txt").write_text("someone else's")
    assert (out / "theirs.txt").read_text() == "someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # our staging folder is gone


def test_two_runs_into_one_out_one_wins(tmp_path: Path) -> None:
    """Two runs started before either finished: the first to finish wins, the other is refused
    and removes only its own staging folder."""
    out = tmp_path / "out"
    with (
        pytest.raises(OutputExistsError, match="appeared while this run was going"),
        staged_output_dir(out) as first,
    ):
        (first / "run.txt").write_text("first")
        with staged_output_dir(out) as second:
            (second / "run.txt").write_text("second")
    assert (out / "run.txt").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_two_forced_runs_never_mix(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_output_dir(out) as stage:
        (stage / "run.txt").write_text("old")
    with staged_output_dir(out, force=True) as first:
        (first / "run.txt").write_text("first")
        with staged_output_dir(out, force=True) as second:
            (second / "run.txt").write_text("second")
    assert (out / "run.txt").read_text() == "first"  # whole folders replaced, never merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_out_under_a_file_is_unwritable(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workspace / "notes.txt" / "out"
    before = watch(workspace)
    assert_refused(run("validate", workspace / "trial", out), capsys, out, before)


def test_full_disk_is_one_line_and_no_partial_output(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    out = workspace / "again"
    before = watch(workspace)
    code = run("analyze", workspace / "trial", out)
    assert "No space left on device" in assert_refused(code, capsys, out, before)
    assert sorted(p.name for p in workspace.iterdir()) == ["analysis", "notes.txt", "trial"]


OTHER_OUTS = ("trial", "inside_trial", "parent", "cwd", "home", "foreign_folder")


def other_out(workspace: Path, trial: Path, where: str) -> Path:
    """An --out of a command that takes no trial folder argument (``trial``: the one it reads)."""
    if where == "foreign_folder":
        (workspace / "other").mkdir()
        (workspace / "other" / "thesis.docx").write_bytes(b"years of work")
    return {
        "trial": trial,
        "inside_trial": trial / "out",
        "parent": workspace,
        "cwd": Path.cwd(),
        "home": Path(os.environ["HOME"]),
        "foreign_folder": workspace / "other",
    }[where]


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("where", OTHER_OUTS)
def test_simulate_refuses_protected_and_foreign_out(
    workspace: Path, capsys: pytest.CaptureFixture[str], force: bool, where: str
) -> None:
    from tests.simulation.trials import scenarios_toml, trial_toml, write

    means, retention = {"A0": [1.0, 2.0], "A1": [2.0, 5.0]}, {"A0": [0.9, 0.8], "A1": [0.9, 0.8]}
    scenarios = write(
        workspace / "sim",
        trial_toml(2, 2),
        scenarios_toml(means, retention, [8.0, 9.0], '{ structure = "cs", rho = 0.5 }', 20, 2),
    )
    out = other_out(workspace, scenarios.parent, where)
    before = watch(workspace)
    args = ["simulate", str(scenarios), "--out", str(out), "--workers", "1"]
    assert_refused(main([*args, *(["--force"] if force else [])]), capsys, out, before)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store holding one transfer of dhurat2013, made once for the module."""
    db = tmp_path_factory.mktemp("store") / "trial.db"
    transfer = example_trials_dir() / "dhurat2013"
    assert main(["ingest", str(transfer), "--store", str(db), "--user", "dm"]) == 0
    return db


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("where", ["parent", "cwd", "home", "foreign_folder"])
def test_store_export_refuses_protected_and_foreign_out(
    workspace: Path, store: Path, capsys: pytest.CaptureFixture[str], force: bool, where: str
) -> None:
    out = other_out(workspace, workspace / "trial", where)
    before = watch(workspace)
    args = ["export", "--store", str(store), "--out", str(out)]
    assert_refused(main([*args, *(["--force"] if force else [])]), capsys, out, before)


@pytest.mark.parametrize("where", ["trial", "parent", "cwd", "home", "foreign_folder"])
def test_verify_of_a_folder_that_is_no_output_changes_nothing(
    workspace: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    out = other_out(workspace, workspace / "trial", where)
    before = watch(workspace)
    assert_refused(main(["verify", str(out)]), capsys, out, before)


FORGED_MARKERS = {
    "empty": b"",
    "text": b"This folder was written by trialkit; only trialkit --force replaces it.\n",
    "json_object_of_another_writer": b'{"written_by": "someone", "version": "1", "command": null}',
    "json_without_version": b'{"written_by": "trialkit", "command": "analyze"}',
    "json_list": b'["trialkit"]',
    "too_large": json.dumps(
        {"written_by": "trialkit", "version": "0", "command": None, "pad": "x" * 5000}
    ).encode(),
}


@pytest.mark.parametrize("marker", [*FORGED_MARKERS, "fifo", "folder", "link_to_a_marker"])
def test_force_refuses_a_folder_with_a_forged_marker(
    workspace: Path, capsys: pytest.CaptureFixture[str], marker: str
) -> None:
    trial, out, real = workspace / "trial", workspace / "out", workspace / "real"
    assert run("validate", trial, real) == 0
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"years of work")
    if marker == "fifo":
        os.mkfifo(out / MARKER_NAME)
    elif marker == "folder":
        (out / MARKER_NAME).mkdir()
    elif marker == "link_to_a_marker":
        (out / MARKER_NAME).symlink_to(real / MARKER_NAME)
    else:
        (out / MARKER_NAME).write_bytes(FORGED_MARKERS[marker])
    before = watch(workspace)
    line = assert_refused(run("validate", trial, out, "--force"), capsys, out, before)
    assert f"no valid {MARKER_NAME} marker" in line


def test_the_marker_is_a_small_manifest(workspace: Path) -> None:
    from trialkit import __version__

    out = workspace / "again"
    assert run("analyze", workspace / "trial", out) == 0
    marker = json.loads((out / MARKER_NAME).read_text(encoding="utf-8"))
    assert marker == {"written_by": "trialkit", "version": __version__, "command": "analyze"}
    assert run("analyze", workspace / "trial", out, "--force") == 0  # it replaces its own
