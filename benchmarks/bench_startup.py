"""Benchmark: start-up cost of the command line and of reading a trial definition.

Run ``python benchmarks/bench_startup.py [--repeat N]``; prints the best wall time of
``trialkit --help`` and of importing ``trialkit.definition`` in fresh processes, and whether
that import pulls in scipy or pandas. Target: ``trialkit --help`` at most 0.5 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

CASES = {
    "trialkit --help": [sys.executable, "-m", "trialkit", "--help"],
    "import trialkit.definition": [sys.executable, "-c", "import trialkit.definition"],
    "parse a trial.toml": [
        sys.executable, "-c",
        "from trialkit.definition import load_definition; from trialkit.resources import "
        "example_trials_dir; load_definition(example_trials_dir() / 'tk_aga_301')",
    ],
}  # fmt: skip

HEAVY = "import sys, trialkit.definition; print(sorted({'scipy', 'pandas'} & set(sys.modules)))"


def best(cmd: list[str], repeat: int) -> float:
    """Best wall time of ``repeat`` runs of ``cmd``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'what':32} {'best wall time':>15}")
    for name, cmd in CASES.items():
        print(f"{name:32} {best(cmd, args.repeat):>13.3f} s")
    heavy = subprocess.run(
        [sys.executable, "-c", HEAVY], check=True, capture_output=True, text=True
    )
    print(f"heavy modules imported by trialkit.definition: {heavy.stdout.strip()}")


if __name__ == "__main__":
    main()
