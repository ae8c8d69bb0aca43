"""The fixtures of tests/fixtures/binary (data and R reference) for the binary-endpoint tests."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binary"
COMPARISONS = [("MN_PRP", "CTRL"), ("MN_MINOX", "CTRL"), ("MN_PRP", "MN_MINOX")]
#: Columns compared with R, and the tolerance of every comparison (relative, with a floor).
COMPARED = ["estimate", "se", "lower", "upper", "statistic", "p", "odds_ratio", "or_lower",
            "or_upper"]  # fmt: skip
RTOL, ATOL = 1e-6, 1e-9


def data(name: str) -> pd.DataFrame:
    """``binary`` or ``sparse`` (see make_data.py)."""
    return pd.read_csv(FIXTURES / f"{name}.csv")


@cache
def reference() -> dict[str, Any]:
    """r/binary_reference.R's output."""
    return dict(json.loads((FIXTURES / "r_reference.json").read_text(encoding="utf-8")))


def reference_rows(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """R's rows of comparisons, indexed like BinaryResult.contrasts."""
    frame = pd.DataFrame(rows).rename(columns={"arm": "ARMCD"})
    return frame.set_index(["ARMCD", "versus"])


def assert_matches(actual: pd.DataFrame, expected: pd.DataFrame, columns: list[str]) -> None:
    """Every compared column of the rows ``expected`` has agrees to RTOL (floor ATOL)."""
    got = actual.loc[expected.index, columns].to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected[columns].to_numpy(dtype=float), rtol=RTOL, atol=ATOL)
