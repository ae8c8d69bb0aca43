"""The one error-rate rule of a group sequential trial: the plan's alpha and its split over the
comparisons, which the primary table, the multiplicity statement and the group sequential test
all read (so that they cannot disagree).

The split is ``InterimPlan.arm_alphas()``: an equal (Bonferroni) split of ``interim.alpha`` over
the comparisons, or the plan's explicit ``alpha_sharing`` list. With ``sided = 1`` each share is a
one-sided level (a comparison is significant when its one-sided p <= its share, i.e. its two-sided
p <= 2 x share; its matching two-sided confidence interval has level 1 - 2 x share); with
``sided = 2`` each share is a two-sided level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trialkit.design.plan import InterimPlan
from trialkit.errors import DefinitionError

Comparison = tuple[str, str]
"""(arm, versus): the arm compared and the arm it is compared with."""


@dataclass(frozen=True)
class AlphaSplit:
    """The plan's total alpha, its sidedness, and each comparison's share of it."""

    alpha: float
    sided: int
    method: str
    comparisons: tuple[Comparison, ...]
    shares: tuple[float, ...]

    def share(self, arm: str, versus: str) -> float:
        """The level of comparison ``arm`` vs ``versus`` (one-sided if ``sided = 1``)."""
        for pair, share in zip(self.comparisons, self.shares, strict=True):
            if pair == (arm, versus):
                return share
        raise DefinitionError(f"interim: no planned comparison {arm} vs {versus}")

    def two_sided_level(self, arm: str, versus: str) -> float:
        """The two-sided p-value threshold of the comparison (2 x share when one-sided)."""
        return self.share(arm, versus) * (2.0 if self.sided == 1 else 1.0)

    def confidence_level(self, arm: str, versus: str) -> float:
        """Level of the two-sided confidence interval matching the comparison's test."""
        return 1.0 - self.two_sided_level(arm, versus)

    def statement(self) -> str:
        """The rule in one sentence, for results and reports."""
        side = "one-sided" if self.sided == 1 else "two-sided"
        if self.method == "bonferroni":
            how = (
                f"split equally (Bonferroni) over {len(self.comparisons)} comparison(s): "
                f"{self.shares[0]:.6g} each"
            )
        else:
            how = "allocated by the plan: " + ", ".join(
                f"{a} vs {v} {s:.6g}"
                for (a, v), s in zip(self.comparisons, self.shares, strict=True)
            )
        return f"{side} alpha {self.alpha:.6g} (trial.toml [interim]), {how}"


def alpha_split(plan: InterimPlan, comparisons: Sequence[Comparison]) -> AlphaSplit:
    """The plan's alpha split over ``comparisons`` (in the order their shares are listed)."""
    pairs = tuple((str(a), str(v)) for a, v in comparisons)
    if len(pairs) != plan.active_arms:
        raise DefinitionError(
            f"interim.active_arms: the plan has {plan.active_arms} comparison(s), "
            f"the analysis {len(pairs)}"
        )
    method = "explicit" if isinstance(plan.alpha_sharing, tuple) else "bonferroni"
    return AlphaSplit(plan.alpha, plan.sided, method, pairs, plan.arm_alphas())


__all__ = ["AlphaSplit", "Comparison", "alpha_split"]
