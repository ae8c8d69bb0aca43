"""Responder rules: the strict grammar (no eval), exact thresholds, and flags decided exactly."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from trialkit.errors import DefinitionError, ModelSpecificationError
from trialkit.responder_rule import ResponderRule, parse_responder_rule


@pytest.mark.parametrize(
    ("text", "variable", "op", "threshold"),
    [
        ("AVAL <= 20", "AVAL", "<=", Fraction(20)),
        ("PCHG<=-50", "PCHG", "<=", Fraction(-50)),
        ("  CHG > 1.1 ", "CHG", ">", Fraction(11, 10)),
        ("PCHG >= +75", "PCHG", ">=", Fraction(75)),
        ("AVAL < 0.3", "AVAL", "<", Fraction(3, 10)),
    ],
)
def test_rules_parse_to_exact_thresholds(
    text: str, variable: str, op: str, threshold: Fraction
) -> None:
    rule = parse_responder_rule(text, "k")
    assert (rule.variable, rule.op, rule.threshold) == (variable, op, threshold)
    assert rule.text == f"{variable} {op} {text.split(op)[-1].strip()}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "AVAL",
        "AVAL = 20",
        "AVAL == 20",
        "aval <= 20",
        "BASE <= 20",
        "AVAL <= 1e3",
        "AVAL <= 20 or 1",
        "__import__('os') <= 1",
        "AVAL <= nan",
        "AVAL <= inf",
        "20 >= AVAL",
        "AVAL <= " + "9" * 40,
        "AVAL => 20",
    ],
)
def test_anything_else_is_one_line_naming_the_key(text: str) -> None:
    with pytest.raises(DefinitionError) as info:
        parse_responder_rule(text, "endpoints.primary.responder")
    message = str(info.value)
    assert message.startswith("endpoints.primary.responder: ") and "\n" not in message


def _frame(aval: list[float], base: list[float]) -> pd.DataFrame:
    a, b = np.array(aval, dtype=float), np.array(base, dtype=float)
    chg = a - b
    pchg = np.where(b != 0, 100 * chg / np.where(b != 0, b, 1), np.nan)
    columns = {"AVAL": a, "BASE": b, "CHG": chg, "PCHG": pchg}
    return pd.DataFrame(columns, index=[5, 6, 7, 8][: len(a)])


def test_aval_rule_at_the_threshold_and_missing_values() -> None:
    frame = _frame([20, 20.5, np.nan, 19.999], [50, 50, 50, 50])
    flags = parse_responder_rule("AVAL <= 20", "k").flags(frame)
    assert flags.dtype == "boolean" and list(flags.index) == [5, 6, 7, 8]
    assert flags.tolist() == [True, False, pd.NA, True]
    strict = parse_responder_rule("AVAL < 20", "k").flags(frame)
    assert strict.tolist() == [False, False, pd.NA, True]


def test_chg_is_decided_from_aval_and_base_not_the_rounded_float() -> None:
    # 2.3 - 1.1 is 1.1999999999999997 in floats; as decimals it is exactly 1.2
    frame = _frame([2.3, 2.3], [1.1, 1.2])
    assert frame["CHG"].iloc[0] < 1.2
    assert parse_responder_rule("CHG >= 1.2", "k").flags(frame).tolist() == [True, False]
    assert parse_responder_rule("CHG > 1.2", "k").flags(frame).tolist() == [False, False]
    assert parse_responder_rule("CHG < 1.2", "k").flags(frame).tolist() == [False, True]


def test_pchg_rule_against_the_closed_form() -> None:
    # SALT 60 -> 30 is exactly -50%; 0.3 -> 0.1 is -66.7%; 3.3 -> 1.65 is exactly -50%
    frame = _frame([30, 31, 0.1, 1.65], [60, 60, 0.3, 3.3])
    expected = {
        "PCHG <= -50": [True, False, True, True],
        "PCHG < -50": [False, False, True, False],
        "PCHG >= -50": [True, True, False, True],
        "PCHG > -50": [False, True, False, False],
    }
    for text, want in expected.items():
        assert parse_responder_rule(text, "k").flags(frame).tolist() == want, text


def test_pchg_is_missing_where_base_is_zero() -> None:
    frame = _frame([0, 5], [0, 10])
    assert parse_responder_rule("PCHG <= -50", "k").flags(frame).tolist() == [pd.NA, True]


def test_negative_base_and_missing_columns_are_refused() -> None:
    rule = parse_responder_rule("PCHG >= 20", "k")
    with pytest.raises(ModelSpecificationError, match="negative BASE"):
        rule.flags(_frame([1], [-1]))
    with pytest.raises(ModelSpecificationError, match=r"column\(s\) BASE, PCHG missing"):
        rule.flags(pd.DataFrame({"AVAL": [1.0]}))
    assert parse_responder_rule("AVAL > 0", "k").flags(pd.DataFrame({"AVAL": [1.0]})).all()


def test_rule_is_frozen() -> None:
    rule = ResponderRule("AVAL", "<=", Fraction(20), "AVAL <= 20")
    with pytest.raises(AttributeError):
        rule.op = "<"  # type: ignore[misc]
