"""Number formatting: one style in every table."""

from __future__ import annotations

import math

import pytest

from trialkit.report.formatting import (
    LONG_WORD,
    TEXT_MAX,
    WRAP_EVERY,
    display_text,
    fmt_cell,
    fmt_ci,
    fmt_n_pct,
    fmt_num,
    fmt_p,
)


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
    assert fmt_n_pct(3, 7.5) == "3 (7.5%)"  # the percentage as the analysis computed it
    assert fmt_n_pct(3.0, 33.333) == "3 (33.3%)"
    assert fmt_n_pct(0, 0.0) == "0"
    assert fmt_n_pct(3, None) == "3"


def test_generic_cells_by_column_name() -> None:
    assert fmt_cell("p_adjusted", 0.00001) == "<0.001"
    assert fmt_cell("n", 12.0) == "12"
    assert fmt_cell("estimate", 1.23456) == "1.23"


def test_display_text_leaves_ordinary_text_alone() -> None:
    text = "Skin and subcutaneous tissue disorders: 5% minoxidil (N=50)\tΩ 漢字\n" + "a" * 64
    assert display_text(text) == text  # a SHA-256 digest (64 hex digits) stays whole


def test_display_text_shows_unprintable_characters_as_replacements() -> None:
    assert display_text("a\x00b\x07c\x1bd\x7fe\ud800f") == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf"


def test_display_text_cuts_with_a_marker_never_silently() -> None:
    text = display_text("word " * 3000)
    assert text.endswith("… [cut, 15,000 characters in all]")
    assert len(text) < TEXT_MAX + 40
    assert display_text("x" * 10, limit=5) == "xxxxx… [cut, 10 characters in all]"


def test_display_text_makes_long_words_breakable_once() -> None:
    word = "z" * (LONG_WORD + 1)
    text = display_text(word)
    assert text.replace("\u200b", "") == word
    assert all(len(part) <= WRAP_EVERY for part in text.split("\u200b"))
    assert display_text(text) == text  # idempotent: a cell is shown through it twice
