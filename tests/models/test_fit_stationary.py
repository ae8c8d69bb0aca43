"""The optimiser's stop is accepted at an optimum it did not report (rounding at large n)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trialkit.models.fit import _stationary


@dataclass
class _Evaluation:
    ok: bool
    value: float


class _Stub:
    """An objective with a fixed value, gradient and Hessian (what _stationary reads)."""

    def __init__(self, value: float, gradient: list[float], curvature: float) -> None:
        self.ev = _Evaluation(True, value)
        self.g = np.asarray(gradient)
        self.H = curvature * np.eye(len(gradient))

    def _get(self, phi: np.ndarray) -> _Evaluation:
        return self.ev

    def grad(self, phi: np.ndarray) -> np.ndarray:
        return self.g

    def hess(self, phi: np.ndarray) -> np.ndarray:
        return self.H


def test_small_absolute_gradient() -> None:
    assert _stationary(_Stub(10.0, [1e-6, 0.0], 1.0), np.zeros(2))  # type: ignore[arg-type]


def test_relative_criterion_at_many_subjects() -> None:
    """-2 l of 30,000 subjects with a gradient of 1e-3 (rounding): g' H^-1 g / |f| is tiny."""
    big = _Stub(1.2e6, [1e-3, -2e-3], 3e4)
    assert _stationary(big, np.zeros(2))  # type: ignore[arg-type]


def test_not_stationary_when_the_step_matters() -> None:
    assert not _stationary(_Stub(10.0, [1e-3, 0.0], 1.0), np.zeros(2))  # type: ignore[arg-type]
    assert not _stationary(_Stub(1e6, [1e-3, 0.0], -1.0), np.zeros(2))  # type: ignore[arg-type]
