"""Sample size: closed forms for an MMRM with dropout (Lu, Luo & Chen 2008) and for an ANCOVA
at the primary visit, and a search of the total N that reaches a power by simulation.

Lu, Luo & Chen (2008), as R's ``longpower::power.mmrm``: with monotone dropout, retention r_j at
visit j (r_{J+1} = 0) and covariance Sigma of the visits, the information of an arm's mean at
the last visit per subject is ``1 / [ (sum_j (r_j - r_{j+1}) pad(Sigma_1..j^-1))^-1 ]_JJ``; the
difference of two arms with n_a and n_b subjects has variance ``phi_a / n_a + phi_b / n_b``.
The ANCOVA uses only subjects seen at the primary visit: ``Sigma_JJ (1/(n_a r_aJ) + 1/(n_b
r_bJ))``. Power is ``Phi(|delta| / se - z_{1 - alpha/2})`` (two-sided level alpha); with a
multiplicity adjustment each comparison is sized at alpha / m (Bonferroni, which Dunnett's and
Holm's tests never need more than).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import ndtr, ndtri

from trialkit.analysis.plan import comparison_pairs
from trialkit.simulation.generate import arm_counts
from trialkit.simulation.scenarios import Scenario, SimulationPlan

#: The largest total N the searches consider.
MAX_TOTAL = 1_000_000


def mmrm_phi(covariance: np.ndarray, retention: np.ndarray) -> float:
    """Variance factor of the last visit's mean per subject (Lu, Luo & Chen 2008)."""
    J = len(retention)
    r = np.append(np.asarray(retention, dtype=float), 0.0)
    info = np.zeros((J, J))
    for j in range(J):
        info[: j + 1, : j + 1] += (r[j] - r[j + 1]) * np.linalg.inv(covariance[: j + 1, : j + 1])
    return float(np.linalg.inv(info)[J - 1, J - 1])


@dataclass(frozen=True)
class Comparison:
    """One declared comparison (arm versus ``reference``, the arm it is compared with) at the
    primary visit: effect and variance factors."""

    arm: str
    reference: str
    effect: float
    phi_mmrm: tuple[float, float]  # (active, reference)
    phi_ancova: tuple[float, float]


def comparisons(plan: SimulationPlan, scenario: Scenario) -> list[Comparison]:
    """The plan's comparisons (``definition.comparisons``), up to the primary visit."""
    trial = plan.trial
    J = plan.visits.index(trial.primary.visit) + 1
    S = scenario.covariance()[:J, :J]
    out = []
    for arm, ref in comparison_pairs(trial):
        phis = tuple(mmrm_phi(S, np.array(scenario.retention[a][:J])) for a in (arm, ref))
        anc = tuple(S[J - 1, J - 1] / scenario.retention[a][J - 1] for a in (arm, ref))
        effect = scenario.mean_change[arm][J - 1] - scenario.mean_change[ref][J - 1]
        out.append(Comparison(arm, ref, effect, phis, anc))  # type: ignore[arg-type]
    return out


def comparison_alpha(plan: SimulationPlan) -> float:
    """The two-sided level each comparison is sized at (alpha / m under a multiplicity plan)."""
    a = plan.trial.analysis
    m = len(plan.trial.comparisons)
    return a.alpha if a.multiplicity == "none" else a.alpha / m


def closed_form_power(
    plan: SimulationPlan, comparison: Comparison, total: int, model: str
) -> float:
    """Power of one comparison with ``total`` subjects (allocation shares), ``mmrm``/``ancova``."""
    counts = dict(zip(plan.arms, arm_counts(plan, total), strict=True))
    phi = comparison.phi_mmrm if model == "mmrm" else comparison.phi_ancova
    n_a, n_b = counts[comparison.arm], counts[comparison.reference]
    if min(n_a, n_b) < 1:
        return 0.0
    se = math.sqrt(phi[0] / n_a + phi[1] / n_b)
    z = float(ndtri(1.0 - comparison_alpha(plan) / 2.0))
    return float(ndtr(abs(comparison.effect) / se - z))


def smallest_total(power_at: Callable[[int], float], target: float, start: int, step: int) -> int:
    """The smallest total N (a multiple of ``step``) with ``power_at(N) >= target``, for a power
    that increases with N: doubling to a bracket, then bisection."""
    lo, hi = 0, max(step, start - start % step)
    while power_at(hi) < target:
        lo, hi = hi, hi * 2
        if hi > MAX_TOTAL:
            raise ValueError(f"power {target:g} is not reached below {MAX_TOTAL} subjects")
    while hi - lo > step:
        mid = lo + (hi - lo) // (2 * step) * step
        if power_at(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


def closed_form_total(
    plan: SimulationPlan, comparison: Comparison, target: float, model: str
) -> int:
    """The smallest total N (a multiple of the number of arms) reaching ``target`` power."""
    if comparison.effect == 0:
        raise ValueError(f"{comparison.arm}: no effect at the primary visit; power cannot rise")
    per = sum(comparison.phi_mmrm if model == "mmrm" else comparison.phi_ancova)
    z = float(ndtri(1.0 - comparison_alpha(plan) / 2.0) + ndtri(target))
    guess = int(len(plan.arms) * per * z * z / comparison.effect**2)
    return smallest_total(
        lambda n: closed_form_power(plan, comparison, n, model), target, guess, len(plan.arms)
    )


def simulated_total(
    plan: SimulationPlan,
    scenario: Scenario,
    target: float,
    start: int,
    workers: int | None = None,
    scheduler: str | None = None,
) -> tuple[int, dict[int, float]]:
    """The smallest total N at which every comparison's simulated power reaches ``target``
    (replicates and seed of the plan, the same random numbers at every N), and the smallest
    comparison power at each N tried."""
    from trialkit.simulation.run import simulate_rows
    from trialkit.simulation.summary import ANY, summarise

    tried: dict[int, float] = {}

    def power_at(total: int) -> float:
        if total not in tried:
            one = replace(plan, scenarios=(scenario,), subjects=total)
            summary = summarise(one, simulate_rows(one, None, workers, scheduler, None))
            tried[total] = float(summary.loc[summary["comparison"] != ANY, "rejection_rate"].min())
        return tried[total]

    return smallest_total(power_at, target, start, len(plan.arms)), tried
