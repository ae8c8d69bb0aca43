"""[interim] open_report_sae_listing: off by default, a boolean, and no part of the design."""

from __future__ import annotations

import pytest

from trialkit.design.plan import InterimPlan
from trialkit.errors import DefinitionError

BASE = {"information_fractions": [0.5, 1.0]}


def test_off_by_default_and_on_when_asked() -> None:
    assert InterimPlan.from_mapping(BASE).open_report_sae_listing is False
    assert InterimPlan.from_mapping(
        {**BASE, "open_report_sae_listing": True}
    ).open_report_sae_listing


@pytest.mark.parametrize("value", ["yes", 1, 0])
def test_not_a_boolean_names_the_key(value: object) -> None:
    with pytest.raises(DefinitionError) as err:
        InterimPlan.from_mapping({**BASE, "open_report_sae_listing": value})
    assert str(err.value).startswith("interim.open_report_sae_listing: must be true or false")
    assert err.value.exit_code == 2


def test_a_reporting_choice_keeps_the_design_fingerprint() -> None:
    """Turning the listing on between looks leaves the earlier looks of the same design."""
    on = InterimPlan.from_mapping({**BASE, "open_report_sae_listing": True})
    assert on.fingerprint() == InterimPlan.from_mapping(BASE).fingerprint()
    assert on.fingerprint() != InterimPlan.from_mapping({**BASE, "alpha": 0.02}).fingerprint()
