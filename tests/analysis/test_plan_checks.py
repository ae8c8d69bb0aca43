"""The analysis plan's checks of the comparisons and covariates (issue 12)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from trialkit.analysis.plan import check_plan, common_arm, comparison_label
from trialkit.definition import Comparison, load_definition
from trialkit.derive.adsl import ADSL_ORDER
from trialkit.derive.bds import BDS_ORDER
from trialkit.errors import DefinitionError
from trialkit.resources import example_trials_dir

DEFINITION = load_definition(example_trials_dir() / "tk_aga_301" / "trial.toml")
ADSL = [*ADSL_ORDER, "SEVERITY", "AGE", "SEX"]


def _with(**analysis: object):  # type: ignore[no-untyped-def]
    return replace(DEFINITION, analysis=replace(DEFINITION.analysis, **analysis))


def test_base_may_be_named_and_is_not_added_twice() -> None:
    plan = check_plan(_with(covariates=("BASE", "AGE")), ADSL, list(BDS_ORDER))
    assert plan.covariates == ("AGE", "SEVERITY")
    assert plan.formula().count("BASE") == 2  # BASE and BASE:AVISIT, once each


def test_dunnett_needs_a_common_arm() -> None:
    chain = (Comparison("MINOX_MN", "MINOX"), Comparison("MN_PRP", "MINOX_MN"),
             Comparison("MN_FIN_MINOX", "MN_PRP"))  # fmt: skip
    with pytest.raises(DefinitionError, match=r"^analysis.multiplicity: dunnett .* holm"):
        check_plan(_with(comparisons=chain, multiplicity="dunnett"), ADSL, list(BDS_ORDER))
    check_plan(_with(comparisons=chain, multiplicity="holm"), ADSL, list(BDS_ORDER))
    # two comparisons sharing MN_PRP (one as arm, one as versus) still have a common arm
    shared = (Comparison("MN_PRP", "MINOX"), Comparison("MN_FIN_MINOX", "MN_PRP"))
    check_plan(_with(comparisons=shared, multiplicity="dunnett"), ADSL, list(BDS_ORDER))
    assert common_arm([("A", "C"), ("B", "C")]) == "C"
    assert common_arm([("A", "C"), ("B", "A"), ("B", "C")]) is None


def test_comparison_labels_name_active_versus_active_pairs() -> None:
    assert comparison_label(("MN_PRP", "CTRL"), "CTRL") == "MN_PRP"
    assert comparison_label(("MN_PRP", "MN_MINOX"), "CTRL") == "MN_PRP vs MN_MINOX"


def test_dunnett_is_refused_for_a_binary_primary() -> None:
    aa = load_definition(example_trials_dir() / "tk_aa_201" / "trial.toml")
    binary = replace(aa, analysis=replace(aa.analysis, multiplicity="dunnett"))
    with pytest.raises(DefinitionError, match=r"^analysis.multiplicity: dunnett .* binary"):
        check_plan(binary, [*ADSL, "SEVERITY"], list(BDS_ORDER))
