"""Number formatting: one style in every table."""

from __future__ import annotations

import math

import pytest

from trialkit.report.formatting import fmt_cell, fmt_ci, fmt_n_pct, fmt_num, fmt_p


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0004, "<0.001"), (0.001, "0.001"), (0.04999, "0.050"), (0.9996, ">0.999"),
     (None, "–"), (math.nan, "–")],
)  # fmt: skip
def test_p_values(value: float | None, text: str) -> None:
    assert fmt_p(value) == text


def test_numbers_use_a_true_minus_and_no_negative_zero() -> None:
    assert fmt_num(-1.25, 1) == "−1.2"
    assert fmt_num(-0.01, 1) == "0.0"
    assert fmt_ci(-3.14159, 2.5, 2) == "(−3.14, 2.50)"
    assert fmt_ci(None, 2.5) == "–"


def test_counts_and_percentages() -> None:
    assert fmt_n_pct(3, 40) == "3 (7.5%)"
    assert fmt_n_pct(0, 40) == "0"


def test_generic_cells_by_column_name() -> None:
    assert fmt_cell("p_adjusted", 0.00001) == "<0.001"
    assert fmt_cell("n", 12.0) == "12"
    assert fmt_cell("estimate", 1.23456) == "1.23"
