"""Lan-DeMets spending functions: cumulative error allowed to be spent by information fraction t.

The formulas follow rpact (``getDesignGroupSequential``) so that boundaries agree with it:
O'Brien-Fleming type (``of``), Pocock type (``pocock``), Hwang-Shih-DeCani (``hsd``, gamma)
and Kim-DeMets power family (``kd``, parameter gamma > 0).
"""

from __future__ import annotations

import math

from scipy.special import ndtr, ndtri

from trialkit.vocabulary import SPENDING_FUNCTIONS


def spend(name: str, level: float, t: float, gamma: float | None = None, sided: int = 1) -> float:
    """Cumulative error spent at information fraction ``t`` by family ``name`` of total ``level``.

    ``sided`` only matters for ``of``: a two-sided O'Brien-Fleming-type function spends the
    two-sided ``level`` as rpact does (``4 * (1 - Phi(z_{1 - level/4} / sqrt(t)))``).
    """
    if t <= 0.0:
        return 0.0
    t = min(t, 1.0)
    if name == "of":
        z = -float(ndtri(level / (2.0 * sided)))
        return 2.0 * sided * float(ndtr(-z / math.sqrt(t)))
    if name == "pocock":
        return level * math.log(1.0 + (math.e - 1.0) * t)
    if name == "kd":
        if gamma is None or gamma <= 0:
            raise ValueError("kd spending needs gamma > 0")
        return float(level * t**gamma)
    if name == "hsd":
        if gamma is None:
            raise ValueError("hsd spending needs gamma")
        if gamma == 0:
            return level * t
        return level * (1.0 - math.exp(-gamma * t)) / (1.0 - math.exp(-gamma))
    raise ValueError(f"unknown spending function {name!r} (one of {SPENDING_FUNCTIONS})")
