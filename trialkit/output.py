"""Write a command's output folder all at once, and never touch a folder trialkit did not write.

The folder is built in a temporary sibling and moved into place at the end with one
``rename``, which cannot replace a non-empty folder: of two runs into one ``--out`` one wins and
the other is refused. ``--force`` replaces only a folder that carries trialkit's marker (or an
empty one): a small JSON file naming trialkit, its version and the command, which must parse;
an empty or foreign file of that name does not count. The trial folder, the other folders the
command reads (an analysis folder, ``--results``, earlier looks), the working directory, the
home folder, ``/`` and any folder holding one of them are refused whatever the options, and so
is a folder inside the trial folder or inside a folder the command reads. An interrupted or
failed run leaves no partial output (the temporary folder is removed on any error); what a
killed run (SIGKILL) left is cleared by the next run into the same ``--out``.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from trialkit import __version__
from trialkit.errors import InputError, OutputExistsError, OutputRefusedError

#: Written into every output folder; ``--force`` replaces only folders that carry it.
MARKER_NAME = ".trialkit-output"
#: A marker is a few lines of JSON; a larger file of that name is not one.
MARKER_MAX_BYTES = 4096


#: Folders a command reads besides the trial folder, each with how messages name it
#: (``(analysis_dir, "the analysis folder")``).
InputDirs = Iterable[tuple[Path, str]]


def _read_dirs(trial_dirs: Iterable[Path], input_dirs: InputDirs) -> list[tuple[Path, str]]:
    """The folders a command reads, with how messages name them."""
    named = [(Path(d), "the trial folder") for d in trial_dirs]
    return named + [(Path(d), name) for d, name in input_dirs]


def _protected(read_dirs: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """Folders an output folder must neither be nor contain, resolved, with how messages name
    them."""
    named = [(d.resolve(), name) for d, name in read_dirs]
    named.append((Path.cwd().resolve(), "the working directory"))
    home = os.environ.get("HOME")
    if home:
        named.append((Path(home).resolve(), "the home folder"))
    named.append((Path("/").resolve(), "the root folder"))
    return named


def _marker_text(command: str | None) -> str:
    """The marker: who wrote the folder (trialkit, its version) and with which command, as JSON
    (no time, so two runs on the same inputs write the same bytes)."""
    marker = {"written_by": "trialkit", "version": __version__, "command": command}
    return json.dumps(marker, indent=2, sort_keys=True) + "\n"


def _has_marker(path: Path) -> bool:
    """True when ``path`` holds trialkit's marker: a small regular file (not a link, never
    waited on like a FIFO) of JSON naming trialkit as its writer, a version and a command."""
    try:
        fd = os.open(path / MARKER_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        data = os.read(fd, MARKER_MAX_BYTES + 1)
    except OSError:
        return False
    finally:
        os.close(fd)
    if len(data) > MARKER_MAX_BYTES:
        return False
    try:
        marker = json.loads(data)
    except ValueError:
        return False
    return (
        isinstance(marker, dict)
        and marker.get("written_by") == "trialkit"
        and isinstance(marker.get("version"), str)
        and "command" in marker
        and (marker["command"] is None or isinstance(marker["command"], str))
    )


def _is_trialkit_output(path: Path) -> bool:
    """True for a folder trialkit wrote (it carries trialkit's marker), or an empty folder."""
    if _has_marker(path):
        return True
    try:
        return not any(path.iterdir())
    except OSError:
        return False


def _check_location(out: Path, read_dirs: list[tuple[Path, str]]) -> None:
    """Refuse a symlink, a folder inside a folder the command reads, or one that is or holds a
    protected one."""
    if out.is_symlink():
        raise OutputRefusedError(f"{out}: output folder is a symbolic link; give a real path")
    resolved = out.resolve()
    for folder, name in _protected(read_dirs):
        if folder.is_relative_to(resolved):
            what = "is" if folder == resolved else "contains"
            raise OutputRefusedError(f"{out}: output folder {what} {name}; choose another --out")
    for folder, name in read_dirs:
        if resolved.is_relative_to(folder.resolve()):
            raise OutputRefusedError(f"{out}: the output folder must not be inside {name}")


def check_output_dir(
    out: Path, force: bool, trial_dirs: Iterable[Path] = (), input_dirs: InputDirs = ()
) -> None:
    """Refuse an output folder that may not be written (one line, exit 2), before any work."""
    out = Path(out)
    _check_location(out, _read_dirs(trial_dirs, input_dirs))
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputRefusedError(f"{out}: exists and is not a folder; choose another --out")
    if not force:
        raise OutputExistsError(f"{out}: output folder exists (use --force to replace it)")
    if not _is_trialkit_output(out):
        raise OutputRefusedError(
            f"{out}: not an output folder of trialkit (no valid {MARKER_NAME} marker); --force "
            "replaces only folders trialkit wrote"
        )


def _cannot_write(out: Path, exc: OSError) -> InputError:
    """The one-line error of an output folder that could not be written (disk full, read-only)."""
    return InputError(f"{out}: cannot write the output folder ({exc.strerror or exc})")


def _replace(staging: Path, out: Path, force: bool) -> None:
    """Move ``staging`` to ``out`` in one rename; with ``force``, set aside trialkit's old one."""
    if out.exists() or out.is_symlink():
        if not force:
            raise OutputExistsError(f"{out}: output folder appeared while this run was going")
        if out.is_symlink() or not out.is_dir() or not _is_trialkit_output(out):
            raise OutputRefusedError(f"{out}: replaced by another program during the run")
        holder = Path(
            tempfile.mkdtemp(prefix=f".{out.name}.", suffix=_suffix("old"), dir=out.parent)
        )
        os.rename(out, holder / out.name)
        try:
            os.rename(staging, out)
        except OSError:
            os.rename(holder / out.name, out)  # put the old folder back
            holder.rmdir()
            raise OutputExistsError(f"{out}: another run wrote this folder meanwhile") from None
        shutil.rmtree(holder, ignore_errors=True)
        return
    try:
        os.rename(staging, out)  # fails on a non-empty folder another run moved there first
    except OSError:
        raise OutputExistsError(f"{out}: another run wrote this folder meanwhile") from None


def _suffix(kind: str) -> str:
    """The end of a staging (``partial``) or set-aside (``old``) folder's name: this process's
    id, so a later run can tell the folders of a killed run (``.out.k3j9x.4711.partial``)."""
    return f".{os.getpid()}.{kind}"


def _dead_creator(path: Path, prefix: str, kind: str) -> bool:
    """True when ``path`` is trialkit's staging or set-aside folder whose process is gone."""
    rest = path.name[len(prefix) : -len(kind) - 1]
    pid = rest.rsplit(".", 1)[-1]
    if "." not in rest or not pid.isdigit() or path.is_symlink() or not path.is_dir():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


def _remove_stale(out: Path) -> None:
    """Clear what killed runs into ``out`` left (SIGKILL runs no clean-up): their staging
    folders (trialkit's, creator dead) are removed; a set-aside earlier output is put back
    when ``out`` is missing (a kill between the two renames of ``--force``), else removed."""
    prefix = f".{out.name}."
    for kind in ("partial", "old"):
        for path in sorted(out.parent.glob(f"{glob.escape(prefix)}*.{kind}")):
            if not _dead_creator(path, prefix, kind):
                continue
            if kind == "partial" and _has_marker(path):
                shutil.rmtree(path, ignore_errors=True)
            elif kind == "old":
                kept = path / out.name
                if kept.is_dir() and _has_marker(kept) and not (out.exists() or out.is_symlink()):
                    os.rename(kept, out)
                if _has_marker(path / out.name) or not any(path.iterdir()):
                    shutil.rmtree(path, ignore_errors=True)


def _write_marker(staging: Path, out: Path, command: str | None) -> None:
    """Mark ``staging`` as trialkit's (so a later ``--force`` may replace it)."""
    try:
        (staging / MARKER_NAME).write_text(_marker_text(command), encoding="utf-8")
    except OSError as exc:
        raise _cannot_write(out, exc) from None


@contextmanager
def staged_output_dir(
    out: Path,
    force: bool = False,
    trial_dirs: Iterable[Path] = (),
    input_dirs: InputDirs = (),
    *,
    command: str | None = None,
) -> Iterator[Path]:
    """Yield a temporary folder next to ``out``; move it to ``out`` when the block succeeds.

    ``command`` (``"analyze"``) is recorded in the folder's marker.
    """
    out = Path(out)
    read_dirs = _read_dirs(trial_dirs, input_dirs)
    check_output_dir(out, force, input_dirs=read_dirs)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(out)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{out.name}.", suffix=_suffix("partial"), dir=out.parent)
        )
    except OSError as exc:
        raise _cannot_write(out, exc) from None
    try:
        _write_marker(staging, out, command)
        try:
            yield staging
        except OSError as exc:
            if exc.filename is not None and Path(exc.filename).is_relative_to(staging):
                raise _cannot_write(out, exc) from None
            raise
        _check_location(out, read_dirs)
        try:
            _replace(staging, out, force)
        except OSError as exc:
            raise _cannot_write(out, exc) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
