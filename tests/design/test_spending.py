"""Spending functions: totals, monotonicity and a few known values."""

from __future__ import annotations

import itertools
import math

import pytest
from scipy.special import ndtr, ndtri

from trialkit.design.spending import spend


@pytest.mark.parametrize(
    ("name", "gamma"), [("of", None), ("pocock", None), ("hsd", -4.0), ("hsd", 0.0), ("kd", 3.0)]
)
def test_total_and_monotone(name: str, gamma: float | None) -> None:
    values = [spend(name, 0.025, t / 20, gamma) for t in range(21)]
    assert values[0] == 0.0
    assert values[-1] == pytest.approx(0.025, abs=1e-15)
    assert all(b >= a for a, b in itertools.pairwise(values))


def test_known_values() -> None:
    assert spend("of", 0.025, 0.5) == pytest.approx(
        2 * float(ndtr(float(ndtri(0.0125)) / math.sqrt(0.5)))
    )
    assert spend("of", 0.05, 1.0, sided=2) == pytest.approx(0.05)
    assert spend("pocock", 0.025, 0.5) == pytest.approx(0.025 * math.log(1 + (math.e - 1) * 0.5))
    assert spend("kd", 0.025, 0.5, 2.0) == pytest.approx(0.00625)
    assert spend("hsd", 0.025, 0.5, 1.0) == pytest.approx(
        0.025 * (1 - math.exp(-0.5)) / (1 - math.exp(-1))
    )


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        spend("xx", 0.025, 0.5)
    with pytest.raises(ValueError):
        spend("kd", 0.025, 0.5, None)
