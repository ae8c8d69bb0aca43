"""The interim analysis plan: trial.toml's optional ``[interim]`` table as a frozen dataclass.

Keys (all optional except ``information_fractions``)::

    information_fractions = [0.33, 0.67, 1.0]  # increasing, ending at 1
    alpha = 0.025                # (0, 0.5); the two-sided level when sided = 2
    sided = 1                    # 1 or 2
    efficacy_spending = "of"     # of | pocock | hsd | kd
    efficacy_gamma = -4.0        # required for hsd and kd
    futility_spending = "of"     # optional beta spending (sided = 1 only)
    futility_gamma = -2.0        # required for hsd and kd
    binding_futility = false
    beta = 0.2                   # 1 - power
    effect = 0.5                 # assumed effect (difference of means, favourable > 0); drives
                                 # the conditional power "under the plan's effect"
    sd = 1.0                     # assumed standard deviation, > 0 (likewise)
    information = "subjects"     # subjects | variance (information = 1 / var)
    max_subjects = 200           # optional (at most 10,000,000); else from effect, sd, allocation
    active_arms = 1              # arms compared with control (1 to 20)
    alpha_sharing = "split_equally"  # split_equally | bonferroni | [alpha per arm] (sum = alpha)
    open_report_sae_listing = false  # the open (blinded) report lists serious AEs one by one
                                 # (without arm); off: pooled counts by body system and term only
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trialkit.definition import TomlTable, check_number, read_toml, show
from trialkit.vocabulary import NEEDS_GAMMA, SPENDING_FUNCTIONS

if TYPE_CHECKING:
    from trialkit.design.boundaries import GroupSequentialDesign
from trialkit.errors import DefinitionError

KEYS: tuple[str, ...] = (
    "information_fractions",
    "alpha",
    "sided",
    "efficacy_spending",
    "efficacy_gamma",
    "futility_spending",
    "futility_gamma",
    "binding_futility",
    "beta",
    "effect",
    "sd",
    "information",
    "max_subjects",
    "active_arms",
    "alpha_sharing",
    "open_report_sae_listing",
)
"""Keys allowed in the ``[interim]`` table."""

INFORMATION_MEASURES: tuple[str, ...] = ("subjects", "variance")
ALPHA_SHARING: tuple[str, ...] = ("split_equally", "bonferroni")
MAX_LOOKS = 20
MAX_ACTIVE_ARMS = 20
MAX_SUBJECTS = 10_000_000


@dataclass(frozen=True)
class InterimPlan:
    """A validated interim analysis plan (see the module docstring for the keys)."""

    information_fractions: tuple[float, ...]
    alpha: float = 0.025
    sided: int = 1
    efficacy_spending: str = "of"
    efficacy_gamma: float | None = None
    futility_spending: str | None = None
    futility_gamma: float | None = None
    binding_futility: bool = False
    beta: float = 0.2
    effect: float | None = None
    sd: float | None = None
    information: str = "subjects"
    max_subjects: int | None = None
    active_arms: int = 1
    alpha_sharing: str | tuple[float, ...] = "split_equally"
    #: A reporting choice, not part of the design (left out of :meth:`fingerprint`).
    open_report_sae_listing: bool = False

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], key: str = "interim") -> InterimPlan:
        """Validate the ``[interim]`` table ``mapping``; errors name the full key (``key.name``)."""
        return parse_interim_plan(mapping, lambda name: f"{key}.{name}" if name else key)

    def arm_alphas(self) -> tuple[float, ...]:
        """Alpha of each active arm: equal split (Bonferroni) or the explicit allocation."""
        if isinstance(self.alpha_sharing, tuple):
            return self.alpha_sharing
        return (self.alpha / self.active_arms,) * self.active_arms

    def design(self, alpha: float | None = None) -> GroupSequentialDesign:
        """The group sequential design of one arm (its alpha defaults to the first arm's share).

        The numerics (scipy) are imported here, not with the plan: reading a trial definition
        needs neither."""
        from trialkit.design.boundaries import group_sequential_design

        return group_sequential_design(
            self.information_fractions,
            alpha=self.arm_alphas()[0] if alpha is None else alpha,
            sided=self.sided,
            spending=self.efficacy_spending,
            gamma=self.efficacy_gamma,
            beta=self.beta,
            futility=self.futility_spending,
            futility_gamma=self.futility_gamma,
            binding=self.binding_futility,
        )

    def max_information(self) -> float:
        """Information (1 / var of the estimate) the last look needs for the assumed effect."""
        if self.effect is None:
            raise DefinitionError("interim.effect: needed for the maximum information")
        from trialkit.design import power

        return power.max_information(self.design(), self.effect)

    def fingerprint(self) -> str:
        """SHA-256 of the design's values: two analyses belong to one design when theirs agree
        (whether the open report lists serious AEs is no part of the design)."""
        values = dataclasses.asdict(self)
        del values["open_report_sae_listing"]
        text = json.dumps(values, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def planned_max_subjects(self, shares: Sequence[tuple[float, float]] | None = None) -> float:
        """Subjects at the last look, over all arms: ``max_subjects``, else derived.

        ``shares``: per comparison (in ``arm_alphas`` order) the fractions of all subjects in its
        two arms (allocation / sum of allocations); default equal allocation over the
        ``active_arms + 1`` arms.  Derived as the largest N whose comparison information
        N / (sd^2 (1/s1 + 1/s2)) reaches its design's I_max, as the subject count of a look
        (:func:`trialkit.analysis.interim.primary_subjects`) is taken over every arm.
        """
        if self.max_subjects is not None:
            return float(self.max_subjects)
        if self.effect is None or self.sd is None:
            raise DefinitionError("interim.max_subjects: give it, or effect and sd to derive it")
        from trialkit.design import power

        equal = 1.0 / (self.active_arms + 1)
        pairs = list(shares) if shares is not None else [(equal, equal)] * self.active_arms
        if len(pairs) != self.active_arms:
            raise DefinitionError(
                f"interim.active_arms: {self.active_arms} comparisons planned, "
                f"allocation given for {len(pairs)}"
            )
        unit = {
            a: power.max_information(self.design(alpha=a), self.effect)
            for a in set(self.arm_alphas())
        }
        return max(
            unit[a] * self.sd**2 * (1.0 / s1 + 1.0 / s2)
            for a, (s1, s2) in zip(self.arm_alphas(), pairs, strict=True)
        )


def read_interim_table(trial: str | Path) -> Any:
    """The unchecked ``[interim]`` table of ``trial`` (a trial directory or its trial.toml),
    read within trial.toml's limits (:func:`trialkit.definition.read_toml`)."""
    path = Path(trial)
    if path.is_dir():
        path = path / "trial.toml"
    doc = read_toml(path)
    if "interim" not in doc:
        raise DefinitionError(f"interim: {path} has no [interim] table")
    return doc["interim"]


def load_interim_plan(trial: str | Path) -> InterimPlan:
    """Read and check the ``[interim]`` table of ``trial`` (a trial directory or its trial.toml)."""
    return InterimPlan.from_mapping(read_interim_table(trial))


def parse_interim_plan(mapping: object, label: Callable[[str], str]) -> InterimPlan:
    """Check every key of the plan table and build the plan; ``label`` names a key in messages."""
    if not isinstance(mapping, Mapping):
        raise DefinitionError(f"{label('')}: must be a table (got {type(mapping).__name__})")
    unknown = sorted(str(k) for k in mapping if k not in KEYS)
    if unknown:
        raise DefinitionError(f"{label(unknown[0])}: unknown key (allowed: {', '.join(KEYS)})")

    t = TomlTable(mapping, "", label=label)
    if "information_fractions" not in mapping:
        raise DefinitionError(f"{label('information_fractions')}: required (e.g. [0.5, 1.0])")
    raw = mapping["information_fractions"]
    key = label("information_fractions")
    if not isinstance(raw, list | tuple) or not raw:
        raise DefinitionError(f"{key}: must be a non-empty list of numbers (got {show(raw)})")
    if len(raw) > MAX_LOOKS:
        raise DefinitionError(f"{key}: at most {MAX_LOOKS} looks (got {len(raw)})")
    fractions = tuple(float(check_number(f"{key}[{i}]", x)) for i, x in enumerate(raw))
    increasing = all(b > a for a, b in itertools.pairwise(fractions))
    if not increasing or fractions[0] <= 0 or abs(fractions[-1] - 1.0) > 1e-9:
        raise DefinitionError(f"{key}: must increase and end at 1 (got {show(list(raw))})")
    fractions = (*fractions[:-1], 1.0)

    alpha = t.number("alpha", 0.025, 0.0, 0.5, low_open=True, high_open=True)
    sided = mapping.get("sided", 1)
    if type(sided) is not int or sided not in (1, 2):
        raise DefinitionError(f"{label('sided')}: must be one of 1, 2 (got {show(sided)})")
    beta = t.number("beta", 0.2, 0.0, 0.5, low_open=True, high_open=True)
    eff = t.choice("efficacy_spending", SPENDING_FUNCTIONS, "of")
    fut = t.choice("futility_spending", SPENDING_FUNCTIONS, None)
    gammas: dict[str, float | None] = {}
    for name, family in (("efficacy_gamma", eff), ("futility_gamma", fut)):
        gamma = t.number(name, None)
        if family in NEEDS_GAMMA and gamma is None:
            raise DefinitionError(f"{label(name)}: required for {family} spending")
        if family == "kd" and gamma is not None and gamma <= 0:
            raise DefinitionError(f"{label(name)}: must be > 0 for kd spending (got {gamma!r})")
        if family == "hsd" and gamma is not None and abs(gamma) > 40:
            raise DefinitionError(
                f"{label(name)}: must be in [-40, 40] for hsd spending (got {gamma!r})"
            )
        if family not in NEEDS_GAMMA and gamma is not None:
            raise DefinitionError(
                f"{label(name)}: only used with hsd or kd spending (got {family})"
            )
        gammas[name] = gamma
    if fut is not None and sided != 1:
        raise DefinitionError(
            f"{label('futility_spending')}: futility boundaries need sided = 1 "
            f"(got sided = {sided})"
        )
    binding = mapping.get("binding_futility", False)
    if not isinstance(binding, bool):
        raise DefinitionError(
            f"{label('binding_futility')}: must be true or false (got {show(binding)})"
        )
    if binding and fut is None:
        raise DefinitionError(f"{label('binding_futility')}: needs futility_spending")
    sae_listing = mapping.get("open_report_sae_listing", False)
    if not isinstance(sae_listing, bool):
        raise DefinitionError(
            f"{label('open_report_sae_listing')}: must be true or false (got {show(sae_listing)})"
        )
    effect = t.number("effect", None, 0.0, None, low_open=True)
    sd = t.number("sd", None, 0.0, None, low_open=True)
    information = t.choice("information", INFORMATION_MEASURES, "subjects")
    max_subjects = t.integer("max_subjects", None, 1, MAX_SUBJECTS)
    arms = t.integer("active_arms", 1, 1, MAX_ACTIVE_ARMS)
    assert alpha is not None and sided is not None and beta is not None and eff is not None
    assert information is not None and arms is not None

    sharing_raw = mapping.get("alpha_sharing", "split_equally")
    sharing: str | tuple[float, ...]
    if isinstance(sharing_raw, str):
        sharing = t.choice("alpha_sharing", ALPHA_SHARING, "split_equally")
    elif isinstance(sharing_raw, list | tuple):
        key = label("alpha_sharing")
        if len(sharing_raw) != arms:
            raise DefinitionError(
                f"{label('alpha_sharing')}: needs one alpha per active arm ({arms}), "
                f"got {len(sharing_raw)}"
            )
        sharing = tuple(
            float(check_number(f"{key}[{i}]", x, 0.0, alpha, low_open=True))
            for i, x in enumerate(sharing_raw)
        )
        if abs(sum(sharing) - alpha) > 1e-9:
            raise DefinitionError(
                f"{label('alpha_sharing')}: must sum to alpha = {alpha:g} (got {sum(sharing):g})"
            )
    else:
        raise DefinitionError(
            f"{label('alpha_sharing')}: must be split_equally, bonferroni or a list "
            f"of positive numbers (got {show(sharing_raw)})"
        )
    return InterimPlan(
        information_fractions=fractions,
        alpha=alpha,
        sided=sided,
        efficacy_spending=eff,
        efficacy_gamma=gammas["efficacy_gamma"],
        futility_spending=fut,
        futility_gamma=gammas["futility_gamma"],
        binding_futility=binding,
        beta=beta,
        effect=effect,
        sd=sd,
        information=information,
        max_subjects=max_subjects,
        active_arms=arms,
        alpha_sharing=sharing,
        open_report_sae_listing=sae_listing,
    )
