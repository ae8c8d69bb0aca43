"""Run manifests: what went into a run and what came out, so a reviewer can rerun and check it.

``OUT/manifest.json`` records trialkit's version (and git commit in a checkout), Python and
platform, the versions of the libraries used, the SHA-256 of every input file and of every
output file, the cutoff, the command and its options, seeds, and start and end times. Times
live only here, so the other outputs of two runs on the same inputs are byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from trialkit import __version__
from trialkit.errors import InputError

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1

#: Libraries whose versions a manifest records (those that are installed).
LIBRARIES = (
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "pandera",
    "jinja2",
    "matplotlib",
    "pyarrow",
    "pyreadstat",
    "typer",
    "weasyprint",
    "threadpoolctl",
)


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a result may depend on."""
    versions: dict[str, str] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit() -> str | None:
    """The commit of the trialkit checkout this code runs from, if it is one."""
    repo = Path(__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _hash_tree(root: Path, files: Iterable[Path]) -> dict[str, str]:
    """SHA-256 of each file, keyed by its POSIX path relative to ``root``, sorted."""
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(files, key=lambda q: q.relative_to(root).as_posix())
    }


@dataclass(frozen=True)
class RunInfo:
    """What a command was asked to do: enough to run it again."""

    command: str
    trial_dir: Path
    options: Mapping[str, Any]
    cutoff: str | None = None
    seeds: Mapping[str, int] | None = None
    #: A run on a stored transfer: the store's URL (no credentials), transfer, content hash.
    store: Mapping[str, Any] | None = None


def build_manifest(
    run: RunInfo,
    out_dir: Path,
    inputs: Iterable[Path],
    support_files: Mapping[str, Path],
    started_at: datetime,
    finished_at: datetime | None = None,
) -> dict[str, Any]:
    """The manifest of a finished run whose outputs are in ``out_dir``.

    ``inputs`` are the trial folder's files that were read (paths inside ``run.trial_dir``);
    ``support_files`` are schemas and templates used, keyed by a stable name.
    """
    trial_dir = run.trial_dir.resolve()
    outputs = [p for p in out_dir.rglob("*") if p.is_file() and p.name != MANIFEST_NAME]
    return {
        "manifest_format": MANIFEST_FORMAT,
        "trialkit": {"version": __version__, "commit": git_commit()},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": library_versions(),
        "command": run.command,
        "argv": sys.argv[1:],
        "options": dict(run.options),
        "cutoff": run.cutoff,
        "seeds": dict(run.seeds or {}),
        "trial_dir": str(trial_dir),
        "inputs": _hash_tree(trial_dir, (Path(p).resolve() for p in inputs)),
        **({"store": dict(run.store)} if run.store is not None else {}),
        "support_files": {k: sha256_file(v) for k, v in sorted(support_files.items())},
        "outputs": _hash_tree(out_dir, outputs),
        "started_at": started_at.astimezone(UTC).isoformat(timespec="seconds"),
        "finished_at": (finished_at or datetime.now(UTC))
        .astimezone(UTC)
        .isoformat(timespec="seconds"),
    }


def trial_inputs(trial_dir: Path) -> list[Path]:
    """The files of a trial folder that a run reads: ``trial.toml`` and every dataset file."""
    from trialkit.datasets import REQUIRED_COLUMNS, find_dataset

    found = [find_dataset(trial_dir, name) for name in REQUIRED_COLUMNS]
    return [trial_dir / "trial.toml", *(p for p in found if p is not None)]


def support_files(*folders: Path) -> dict[str, Path]:
    """Schema and template files used, keyed ``folder/name``, so their hashes are recorded."""
    return {
        f"{folder.name}/{p.relative_to(folder).as_posix()}": p
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def record_run(
    out_dir: Path, run: RunInfo, started_at: datetime, extra_support: Iterable[Path] = ()
) -> Path:
    """Write the manifest of a finished run into ``out_dir`` (before it is moved into place)."""
    from trialkit.resources import schemas_dir

    manifest = build_manifest(
        run,
        out_dir,
        inputs=trial_inputs(run.trial_dir),
        support_files=support_files(schemas_dir(), *extra_support),
        started_at=started_at,
    )
    return write_manifest(out_dir, manifest)


def write_manifest(out_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` (sorted keys, indented) into ``out_dir``."""
    path = out_dir / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """Read ``OUT/manifest.json``; a missing or unreadable one is unusable input (exit 2), and
    so is one that is not a regular file in ``out_dir`` (a FIFO is refused, never opened)."""
    from trialkit.datasets import check_input_file

    path = Path(out_dir) / MANIFEST_NAME
    if not os.path.lexists(path):
        raise InputError(f"{path}: no manifest (is {out_dir} the output of a trialkit run?)")
    check_input_file(path, Path(out_dir))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    for key in ("command", "trial_dir", "inputs", "options"):
        if key not in data:
            raise InputError(f"{path}: key {key!r} is missing")
    if data.get("manifest_format") != MANIFEST_FORMAT:
        raise InputError(f"{path}: unknown manifest format {data.get('manifest_format')!r}")
    return dict(data)


def changed_files(root: Path, recorded: Mapping[str, str], what: str) -> list[str]:
    """Files under ``root`` that are gone or no longer hash as ``recorded``, one line each."""
    problems = []
    for rel, digest in sorted(recorded.items()):
        path = root / rel
        if not path.is_file():
            problems.append(f"{path}: {what} is missing")
        elif sha256_file(path) != digest:
            problems.append(f"{path}: {what} changed since the run (SHA-256 differs)")
    return problems


def changed_inputs(manifest: Mapping[str, Any], trial_dir: Path | None = None) -> list[str]:
    """Inputs whose SHA-256 differs from the manifest's (or that are gone), one line each."""
    return changed_files(Path(trial_dir or manifest["trial_dir"]), manifest["inputs"], "input")
