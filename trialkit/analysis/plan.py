"""The analysis plan as code: check ``[analysis]`` / ``[[subgroups]]`` names and build model terms.

Everything here runs before any model is fitted. Column names from ``trial.toml`` are only
ever compared with the columns the derived datasets have; the model formula is assembled
from those checked names by code, so no user text is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from trialkit.definition import TrialDefinition
from trialkit.errors import DefinitionError
from trialkit.estimators.multiplicity import check_supported
from trialkit.vocabulary import ENDPOINT_VARIABLES, POPULATION_FLAGS

#: Columns the model builds itself; a covariate may not name them.
RESERVED = ("USUBJID", "ARMCD", "AVISIT", "AVISITN", "BASE", *ENDPOINT_VARIABLES, "SUBGROUP")

#: A numeric subgroup variable with more distinct values than this needs ``cuts``.
MAX_LEVELS = 10

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Covariates replaced by a derived column (sites pooled by ``analysis.pool_sites_min_size``).
SUBSTITUTES = {"SITEID": "SITEGR1"}


@dataclass(frozen=True)
class ModelPlan:
    """The checked terms of the primary model."""

    response: str
    covariates: tuple[str, ...]  # as used (SITEID -> SITEGR1), strata included, no duplicates
    strata: tuple[str, ...]
    subgroup_variables: tuple[str, ...]

    def terms(self, extra: Sequence[str] = ()) -> list[str]:
        """Fixed-effect terms: arm, visit, arm by visit, baseline, baseline by visit, covariates."""
        base = ["ARMCD", "AVISIT", "ARMCD:AVISIT", "BASE", "BASE:AVISIT"]
        return base + list(self.covariates) + list(extra)

    def formula(self, extra: Sequence[str] = (), drop: Sequence[str] = ()) -> str:
        """The formula text built from checked names (``drop``: covariates to leave out)."""
        terms = [t for t in self.terms(extra) if t not in drop]
        return f"{self.response} ~ " + " + ".join(terms)


Pair = tuple[str, str]  # (arm, versus): the arm minus the arm it is compared with


def against_reference(arms: Sequence[str], reference: str) -> list[Pair]:
    """Every arm but the reference minus the reference (the default comparisons)."""
    return [(a, reference) for a in arms if a != reference]


def comparison_label(pair: Pair, reference: str) -> str:
    """How a comparison is named in the multiplicity family and ``multiplicity_order``: the arm
    code when it is compared with the reference arm, else ``"ARM vs VERSUS"``."""
    arm, versus = pair
    return arm if versus == reference else f"{arm} vs {versus}"


def common_arm(pairs: Sequence[Pair]) -> str | None:
    """The arm every comparison involves (Dunnett's common control), if there is one."""
    shared = set.intersection(*(set(p) for p in pairs)) if pairs else set()
    return min(shared) if shared else None


def comparison_pairs(definition: TrialDefinition) -> list[Pair]:
    """The plan's comparisons as (arm, versus) pairs, in the order the SAP lists them."""
    return [(c.arm, c.versus) for c in definition.comparisons]


def _check_name(key: str, name: str, known: set[str], where: str) -> None:
    if not _NAME.match(name):
        raise DefinitionError(f"{key}: {name!r} is not a column name")
    if name in RESERVED:
        raise DefinitionError(f"{key}: {name!r} is already part of the model")
    if name not in known:
        raise DefinitionError(f"{key}: unknown column {name!r} (not in {where})")


def check_plan(
    definition: TrialDefinition, adsl_columns: Sequence[str], bds_columns: Sequence[str]
) -> ModelPlan:
    """Check covariates, strata, subgroups and the multiplicity plan against the data columns.

    Raises :class:`DefinitionError` naming the key (``analysis.covariates[1]: ...``).
    """
    a = definition.analysis
    known = set(adsl_columns) | set(bds_columns)
    where = "ADSL or BDS"
    used: list[str] = []
    for i, name in enumerate(a.covariates):
        if name == "BASE":
            continue  # the baseline value: every model of the plan adjusts for it already
        _check_name(f"analysis.covariates[{i}]", name, known, where)
        used.append(SUBSTITUTES.get(name, name) if SUBSTITUTES.get(name) in known else name)
    strata: list[str] = []
    for i, name in enumerate(a.strata):
        _check_name(f"analysis.strata[{i}]", name, set(adsl_columns), "ADSL")
        strata.append(name)
    subgroups: list[str] = []
    for i, sg in enumerate(definition.subgroups):
        _check_name(f"subgroups[{i}].variable", sg.variable, set(adsl_columns), "ADSL")
        subgroups.append(sg.variable)
    if a.population not in POPULATION_FLAGS:
        raise DefinitionError(f"analysis.population: {a.population!r} is not supported")
    flag = POPULATION_FLAGS[a.population]
    if flag not in adsl_columns:
        raise DefinitionError(f"analysis.population: ADSL has no {flag} flag")
    pairs = comparison_pairs(definition)
    check_supported(a.multiplicity, len(pairs))
    if a.multiplicity == "dunnett" and definition.primary.kind == "binary":
        raise DefinitionError(
            "analysis.multiplicity: dunnett adjusts the MMRM contrasts of a continuous primary; "
            "a binary primary takes holm, fixed_sequence or none"
        )
    if a.multiplicity == "dunnett" and len(pairs) > 1 and common_arm(pairs) is None:
        raise DefinitionError(
            "analysis.multiplicity: dunnett compares every arm with one common arm, but the "
            "declared comparisons share none; holm or fixed_sequence apply to any comparisons"
        )
    if a.model != "mmrm":
        raise DefinitionError(f"analysis.model: {a.model!r} is not supported (only mmrm)")
    covariates = tuple(dict.fromkeys([*used, *strata]))
    return ModelPlan(
        response=definition.primary.variable,
        covariates=covariates,
        strata=tuple(strata),
        subgroup_variables=tuple(subgroups),
    )


def check_subgroup_data(definition: TrialDefinition, adsl: pd.DataFrame) -> None:
    """A numeric subgroup variable with many values needs ``cuts``; cuts need a numeric one."""
    for i, sg in enumerate(definition.subgroups):
        values = adsl[sg.variable]
        numeric = pd.api.types.is_numeric_dtype(values)
        if sg.cuts and not numeric:
            raise DefinitionError(
                f"subgroups[{i}].cuts: {sg.variable!r} is not numeric and cannot be cut"
            )
        if numeric and not sg.cuts and values.nunique(dropna=True) > MAX_LEVELS:
            raise DefinitionError(
                f"subgroups[{i}].cuts: {sg.variable!r} is numeric with "
                f"{values.nunique(dropna=True)} values; give cut points"
            )


__all__ = [
    "RESERVED",
    "ModelPlan",
    "Pair",
    "against_reference",
    "check_plan",
    "check_subgroup_data",
    "common_arm",
    "comparison_label",
    "comparison_pairs",
]
