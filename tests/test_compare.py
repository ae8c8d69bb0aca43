"""Number-by-number comparison of outputs, as `trialkit verify` uses it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from trialkit.compare import Tolerance, compare_csv, compare_json, compare_outputs


def test_numbers_within_tolerance_agree() -> None:
    tol = Tolerance(rtol=1e-6, atol=1e-9)
    assert tol.close(1.0 + 5e-7, 1.0)
    assert not tol.close(1.0 + 2e-6, 1.0)
    assert tol.close(0.0, 5e-10)
    assert not tol.close(0.0, 5e-9)
    assert tol.close(math.nan, math.nan)
    assert not tol.close(math.nan, 0.0)


def test_json_difference_names_its_path() -> None:
    recorded = {"primary": {"contrasts": [{"estimate": 10.0}, {"estimate": 12.5, "arm": "MN"}]}}
    rerun = {"primary": {"contrasts": [{"estimate": 10.0}, {"estimate": 12.6, "arm": "MN"}]}}
    diffs = compare_json(recorded, rerun, Tolerance())
    assert diffs == ["primary.contrasts[1].estimate: 12.5 != 12.6"]


def test_json_structure_differences() -> None:
    diffs = compare_json({"a": [1, 2], "b": "x"}, {"a": [1], "c": "x"}, Tolerance())
    assert "a: 2 entries recorded, 1 in the rerun" in diffs
    assert "b: missing in the rerun" in diffs
    assert "c: not in the recorded results" in diffs


def test_booleans_and_strings_compared_exactly() -> None:
    assert compare_json({"converged": True}, {"converged": False}, Tolerance()) == [
        "converged: True != False"
    ]


def _write_out(folder: Path, estimate: float, cell: str) -> Path:
    (folder / "tables").mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"primary": {"estimate": estimate}}))
    (folder / "tables" / "lsmeans.csv").write_text(f"arm,estimate\nMINOX,{cell}\n")
    return folder


def test_outputs_compared_with_paths(tmp_path: Path) -> None:
    a = _write_out(tmp_path / "a", 1.0, "2.0")
    b = _write_out(tmp_path / "b", 1.0 + 1e-12, "2.0000000001")
    assert compare_outputs(a, b, Tolerance()) == []
    c = _write_out(tmp_path / "c", 1.1, "2.5")
    diffs = compare_outputs(a, c, Tolerance())
    assert diffs == [
        "results.json: primary.estimate: 1.0 != 1.1",
        "tables/lsmeans.csv: row 1, column estimate: '2.0' != '2.5'",
    ]


@pytest.mark.parametrize("extra", ["MINOX,2.0\nMN,3.0\n"])
def test_csv_row_count_difference(tmp_path: Path, extra: str) -> None:
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("arm,estimate\nMINOX,2.0\n")
    b.write_text("arm,estimate\n" + extra)
    assert compare_csv(a, b, Tolerance(), "t.csv") == ["t.csv: 2 rows recorded, 3 in the rerun"]
