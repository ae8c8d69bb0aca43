"""Benchmark: ingest and diff of a large transfer in the trial data store, SQLite and PostgreSQL.

Run ``python benchmarks/bench_store.py [--subjects N] [--postgres URL]``. Builds the synthetic
trial of ``bench_validate.py`` (100,000 subjects and 1,000,000 assessment rows by default) as a
transfer folder of CSV files, and a second transfer with 1% of the assessments changed; then
times ``validate_trial`` on the folder (and ``trialkit validate`` as a whole process), the
first ingest, the second ingest and the diff between them on each backend (and the first
ingest as a whole ``trialkit ingest`` process, beside the validate process) (PostgreSQL when
``--postgres`` or TRIALKIT_TEST_POSTGRES_URL gives a server; a new database is made there and
dropped). Targets (issue 14): ingest at most
twice validate's time, diff at most 5 s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_validate import TOML, synthetic_trial


def trial_toml(n_visits: int) -> str:
    """The example trial.toml with ``n_visits`` visits (baseline + 4-weekly), as text."""
    text = TOML.read_text(encoding="utf-8")
    visits = ['[[visits]]\ncode = "BASELINE"\nday = 1\nwindow = [-14, 0]\nbaseline = true\n'] + [
        f'[[visits]]\ncode = "WEEK{4 * k}"\nday = {28 * k + 1}\nwindow = [-7, 7]\n'
        for k in range(1, n_visits)
    ]
    text = re.sub(r"(\[\[visits\]\]\n(?:(?!\n\n).)*\n)+", "".join(visits), text, flags=re.S)
    return re.sub(
        r'(\[endpoints\.primary\][^\[]*?visit = )"\w+"', rf'\1"WEEK{4 * (n_visits - 1)}"', text
    )


def write_transfer(folder: Path, frames: dict[str, Any], toml: str) -> None:
    """A transfer folder: trial.toml and one CSV per dataset."""
    folder.mkdir(parents=True)
    (folder / "trial.toml").write_text(toml, encoding="utf-8")
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Wall-clock seconds of one call of ``fn``, and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new database on the server ``admin_url`` names, dropped afterwards."""
    import sqlalchemy as sa

    url = sa.engine.make_url(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"tk_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        engine.dispose()


def command(*args: object) -> float:
    """Wall-clock seconds of one ``trialkit`` command as a whole process (imports included)."""
    argv = [sys.executable, "-m", "trialkit", *map(str, args)]
    seconds, _ = timed(lambda: subprocess.run(argv, check=True, capture_output=True))
    return seconds


def bench_backend(store: str, fresh: str, first: Path, second: Path) -> dict[str, float]:
    """Seconds of the first ingest, the second ingest and the diff between them (in this
    process), and of the first ingest as a command into the store ``fresh``."""
    from trialkit.store.diff import run_diff
    from trialkit.store.ingest import ingest

    t1, _ = timed(lambda: ingest(store, first, "bench"))
    t2, _ = timed(lambda: ingest(store, second, "bench"))
    t3, diff = timed(lambda: run_diff(store, None, None))
    assert len(diff) > 0
    t4 = command("ingest", first, "--store", fresh)
    return {"ingest 1": t1, "ingest 2 (1% changed)": t2, "diff": t3, "ingest command": t4}


def main() -> None:
    """Build the two transfers, time validate, ingest and diff, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=10)
    parser.add_argument("--postgres", default=os.environ.get("TRIALKIT_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    from trialkit.validation import validate_trial

    frames = synthetic_trial(args.subjects, args.visits)
    toml = trial_toml(args.visits)
    root = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        first, second = root / "transfer1", root / "transfer2"
        write_transfer(first, frames, toml)
        a = frames["assessments"]
        changed = np.arange(len(a)) % 100 == 0
        write_transfer(
            second,
            frames | {"assessments": a.assign(AVAL=np.where(changed, a.AVAL + 1, a.AVAL))},
            toml,
        )
        rows = {name: len(frame) for name, frame in frames.items()}
        t_validate, report = timed(lambda: validate_trial(first))
        assert not report.has_errors, report.findings.head().to_string()  # type: ignore[attr-defined]
        t_process = command("validate", first)
        results = {
            "sqlite": bench_backend(str(root / "store.db"), str(root / "fresh.db"), first, second)
        }
        if args.postgres:
            with postgres_database(args.postgres) as url, postgres_database(args.postgres) as new:
                results["postgresql"] = bench_backend(url, new, first, second)
        print(
            ", ".join(f"{n}: {r:,}" for n, r in rows.items())
            + f"; {int(changed.sum()):,} AVAL changed; load average {os.getloadavg()[0]:.1f}"
        )
        print(f"validate_trial on the folder: {t_validate:.2f} s")
        print(f"trialkit validate as a whole process (target 3 s): {t_process:.2f} s")
        print(
            f"{'backend':<12} {'ingest 1':>9} {'x validate':>10} {'command':>8} {'x command':>9} "
            f"{'ingest 2':>9} {'diff':>7}"
        )
        for backend, r in results.items():
            print(
                f"{backend:<12} {r['ingest 1']:9.2f} {r['ingest 1'] / t_validate:10.2f} "
                f"{r['ingest command']:8.2f} {r['ingest command'] / t_process:9.2f} "
                f"{r['ingest 2 (1% changed)']:9.2f} {r['diff']:7.2f}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
