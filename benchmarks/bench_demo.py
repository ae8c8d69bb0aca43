"""Time ``trialkit demo`` end to end (validate, analyse, three reports in HTML and PDF).

Run: ``python benchmarks/bench_demo.py [--repeat N]``. Prints a table of the phases and the
total against the 30 s budget on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

BUDGET_S = 30.0


def main() -> None:
    """Run the demo ``--repeat`` times and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    t0 = time.perf_counter()
    from trialkit.report import run_demo

    import_s = time.perf_counter() - t0
    rows = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = run_demo(Path(tmp) / "demo")
            total = time.perf_counter() - start
            files = sum(len(v) for v in result["files"].values())
            rows.append((i + 1, total, files))
            phases = result["timings"]
    print(f"trialkit demo on {os.cpu_count()} CPU(s); import {import_s:.2f} s")
    print(f"{'run':>4} {'seconds':>9} {'files':>6} {'budget':>8}")
    for run, total, files in rows:
        verdict = "ok" if total + import_s <= BUDGET_S else "OVER"
        print(f"{run:>4} {total:>9.2f} {files:>6} {verdict:>8}")
    print()
    print(f"{'phase (last run)':<42} {'seconds':>8}")
    for name, seconds in phases.items():
        print(f"{name:<42} {seconds:>8.2f}")
    best = min(r[1] for r in rows)
    print(f"best {best + import_s:.2f} s including import (budget {BUDGET_S:.0f} s)")


if __name__ == "__main__":
    main()
