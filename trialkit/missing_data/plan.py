"""The missing-data plan: trial.toml's optional ``[missing_data]`` table as frozen dataclasses.

Keys::

    [missing_data]
    method = "conditional_mean"   # conditional_mean | approximate_bayes | bootstrap_ml
    resampling = "jackknife"      # conditional_mean: jackknife | bootstrap
    interval = "percentile"       # conditional_mean with bootstrap: percentile | normal
    samples = 500                 # bootstrap samples or imputations (not used by jackknife)
    imputations = 2               # bootstrap_ml: imputations per bootstrap sample (D)
    seed = 20240101               # required by every method that draws at random
    reference = "MIN5"            # optional: the arm reference-based strategies copy
    [[missing_data.strategies]]
    event = "discontinuation"     # an intercurrent event listed in [estimand]
    strategy = "J2R"              # MAR | J2R | CR | CIR | LMCF
    [missing_data.tipping_point]
    deltas = [0, -2, -4]          # added to imputed values of the active arms

Cross-key rules that need the rest of the definition (the estimand's events, the arms, alpha)
are checked by :meth:`MissingDataPlan.check`. Only the standard library and the definition's
reader are imported: reading trial.toml stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trialkit.definition import TomlTable, check_number, show
from trialkit.errors import DefinitionError
from trialkit.vocabulary import (
    BOOTSTRAP_INTERVALS,
    IMPUTATION_METHODS,
    IMPUTATION_STRATEGIES,
    INTERCURRENT_EVENTS,
    REFERENCE_BASED,
    RESAMPLING_METHODS,
)

if TYPE_CHECKING:
    from trialkit.definition import TrialDefinition

KEYS: tuple[str, ...] = (
    "method", "resampling", "interval", "samples", "imputations", "seed", "reference",
    "strategies", "tipping_point",
)  # fmt: skip
MAX_SAMPLES = 100_000
MAX_DELTAS = 200
#: Fraction of bootstrap samples whose model may fail to converge (replaced; ``rbmi``'s
#: ``threshold``).
FAILURE_FRACTION = 0.01


@dataclass(frozen=True)
class Method:
    """How the imputation model's parameters are drawn and the results pooled."""

    name: str = "conditional_mean"
    resampling: str = "jackknife"
    samples: int = 0
    imputations: int = 1
    seed: int | None = None
    interval: str = "percentile"

    @property
    def random(self) -> bool:
        """Does the method draw at random (it needs a seed)?"""
        return self.name != "conditional_mean" or self.resampling == "bootstrap"

    @property
    def pooling(self) -> str:
        """jackknife, bootstrap, rubin or bmlmi (von Hippel and Bartlett's ANOVA pooling)."""
        if self.name == "conditional_mean":
            return self.resampling
        return "rubin" if self.name == "approximate_bayes" else "bmlmi"

    def check(self, key: str = "missing_data", alpha: float | None = None) -> None:
        """Too few samples for the method (a percentile interval needs 2 / alpha - 1: checked
        when ``alpha`` is known)."""
        if self.name == "conditional_mean" and self.resampling == "jackknife":
            return
        if self.seed is None:
            raise DefinitionError(f"{key}.seed: required by {self.name} with random draws")
        least = 2
        if self.pooling == "bootstrap" and self.interval == "percentile" and alpha is not None:
            least = math.ceil(2.0 / alpha - 1.0 - 1e-9)
        if self.samples < least:
            raise DefinitionError(
                f"{key}.samples: {self.samples} is too few for {self.name} "
                f"({self.pooling}); at least {least}"
            )
        if self.name == "bootstrap_ml" and self.imputations < 2:
            raise DefinitionError(f"{key}.imputations: bootstrap_ml needs at least 2")


@dataclass(frozen=True)
class EventStrategy:
    """The imputation strategy of the values missing after one intercurrent event."""

    event: str
    strategy: str


@dataclass(frozen=True)
class MissingDataPlan:
    """A read ``[missing_data]`` table (see the module docstring)."""

    method: Method
    strategies: tuple[EventStrategy, ...] = ()
    reference: str | None = None
    deltas: tuple[float, ...] = ()
    key: str = "missing_data"

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], key: str = "missing_data") -> MissingDataPlan:
        """Read the table ``mapping``; errors name the full key (``missing_data.samples``)."""
        t = TomlTable(mapping, key)
        name = t.choice("method", IMPUTATION_METHODS, "conditional_mean")
        resampling = t.choice("resampling", RESAMPLING_METHODS, "jackknife")
        if name != "conditional_mean" and "resampling" in mapping:
            raise DefinitionError(f"{key}.resampling: only conditional_mean resamples")
        interval = t.choice("interval", BOOTSTRAP_INTERVALS, "percentile")
        if "interval" in mapping and (name, resampling) != ("conditional_mean", "bootstrap"):
            raise DefinitionError(f"{key}.interval: only conditional_mean with bootstrap")
        samples = t.integer("samples", 0, 0, MAX_SAMPLES)
        imputations = t.integer("imputations", 2 if name == "bootstrap_ml" else 1, 1, 1000)
        if "imputations" in mapping and name != "bootstrap_ml":
            raise DefinitionError(f"{key}.imputations: only bootstrap_ml imputes several times")
        seed = t.integer("seed", None, 0, 2**63 - 1)
        reference = t.text("reference", None)
        strategies = []
        for s in t.tables("strategies"):
            strategies.append(
                EventStrategy(
                    event=s.choice("event", INTERCURRENT_EVENTS),
                    strategy=s.choice("strategy", IMPUTATION_STRATEGIES),
                )
            )
            s.done()
        events = [s.event for s in strategies]
        for i, e in enumerate(events):
            if e in events[:i]:
                raise DefinitionError(f"{key}.strategies[{i}].event: {e!r} appears twice")
        tip = t.table("tipping_point")
        deltas: tuple[float, ...] = ()
        if tip is not None:
            deltas = _deltas(tip)
            tip.done()
        t.done()
        method = Method(name, resampling, samples, imputations, seed, interval)
        method.check(key)
        return cls(method, tuple(strategies), reference, deltas, key)

    def strategy(self, event: str) -> str:
        """The imputation strategy after ``event`` (MAR when the plan names none)."""
        return next((s.strategy for s in self.strategies if s.event == event), "MAR")

    def check(self, definition: TrialDefinition) -> None:
        """Rules against the definition: events of the estimand, the reference arm, alpha."""
        listed = [e.event for e in definition.estimand.intercurrent_events]
        for i, s in enumerate(self.strategies):
            if s.event not in listed:
                raise DefinitionError(
                    f"{self.key}.strategies[{i}].event: {s.event!r} is not an intercurrent "
                    f"event of [estimand] (it lists: {', '.join(listed) or 'none'})"
                )
        arms = [a.code for a in definition.arms]
        if self.reference is not None and self.reference not in arms:
            raise DefinitionError(
                f"{self.key}.reference: {show(self.reference)} is not an arm code"
            )
        has_reference = self.reference is not None or any(a.reference for a in definition.arms)
        for i, s in enumerate(self.strategies):
            if s.strategy in REFERENCE_BASED and not has_reference:
                raise DefinitionError(
                    f"{self.key}.strategies[{i}].strategy: {s.strategy} needs a reference arm "
                    f"(set {self.key}.reference or an arm with reference = true)"
                )
        self.method.check(self.key, definition.analysis.alpha)


def _deltas(t: TomlTable) -> tuple[float, ...]:
    """The tipping point's deltas: 2 to MAX_DELTAS distinct finite numbers, any order."""
    key = t.path("deltas")
    values = t.take("deltas", list)
    if not 2 <= len(values) <= MAX_DELTAS:
        raise DefinitionError(f"{key}: give 2 to {MAX_DELTAS} deltas (got {len(values)})")
    deltas = tuple(float(check_number(f"{key}[{i}]", v)) for i, v in enumerate(values))
    if len(set(deltas)) != len(deltas):
        raise DefinitionError(f"{key}: a delta appears twice (got {show(values)})")
    return deltas


__all__ = [
    "EventStrategy",
    "Method",
    "MissingDataPlan",
]
