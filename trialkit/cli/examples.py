"""``python -m trialkit.examples [--check]``: regenerate the bundled examples, or check them."""

from __future__ import annotations

import argparse
import sys

from trialkit.examples.bundled import check, regenerate


def main(argv: list[str] | None = None) -> int:
    """Regenerate (exit 0) or, with ``--check``, compare (exit 1 naming each differing file)."""
    parser = argparse.ArgumentParser(prog="python -m trialkit.examples", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="verify committed files match a fresh generation"
    )
    args = parser.parse_args(argv)
    if args.check:
        differ = check()
        for path in differ:
            print(f"{path}: differs from a fresh generation", file=sys.stderr)
        return 1 if differ else 0
    for path in regenerate():
        print(path)
    return 0
