"""The treatment registry: each kind's attributes, required ones, routes and exposure checks."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from tests.test_definition import FIXTURE
from trialkit.definition import Component, parse_definition
from trialkit.errors import DefinitionError
from trialkit.treatments import ATTRIBUTES, KINDS, RANGE_COLUMNS, TREATMENTS


def _with_component(component: dict[str, Any]) -> dict[str, Any]:
    """The issue-example trial with ``component`` as the reference arm's only component."""
    data = tomllib.loads(FIXTURE.read_text())
    data["arms"][0]["components"] = [component]
    return data


def test_registry_lists_every_kind_of_the_issue() -> None:
    assert TREATMENTS == (
        "minoxidil", "finasteride", "microneedling", "prp", "dutasteride", "vehicle", "placebo",
        "sham_microneedling", "saline_injection", "other",
    )  # fmt: skip
    for kind in KINDS.values():
        assert set(kind.required) <= set(kind.attributes) <= set(ATTRIBUTES), kind.name
        assert {r for _, _, r in kind.required_when} <= set(kind.attributes), kind.name
        assert {a for _, a in kind.ranges} <= set(kind.attributes), kind.name
    procedures = {k.name for k in KINDS.values() if k.procedure}
    assert procedures == {"microneedling", "prp", "sham_microneedling", "saline_injection"}
    assert RANGE_COLUMNS == ("NEEDLE_DEPTH_MM", "VOLUME_ML")


@pytest.mark.parametrize(
    "component",
    [
        {"treatment": "minoxidil", "route": "oral", "dose_mg": 2.5, "frequency": "once daily"},
        {"treatment": "dutasteride", "dose_mg": 0.5},
        {"treatment": "placebo", "matches": "finasteride"},
        {"treatment": "vehicle", "matches": "minoxidil", "concentration_pct": 0.0001},
        {"treatment": "sham_microneedling", "interval_days": 14, "device": "dermapen"},
        {"treatment": "saline_injection", "volume_ml": [2.0, 4.0], "interval_days": 28},
        {"treatment": "other", "name": "triamcinolone", "route": "intralesional"},
    ],
)
def test_each_kind_is_read_with_its_attributes(component: dict[str, Any]) -> None:
    d = parse_definition(_with_component(dict(component)))
    c = d.arms[0].components[0]
    for key, value in component.items():
        assert getattr(c, key) == (tuple(value) if isinstance(value, list) else value), key


@pytest.mark.parametrize(
    ("component", "message"),
    [
        ({"treatment": "other"}, "arms[0].components[0].name: required for other"),
        (
            {"treatment": "saline_injection", "interval_days": 28},
            "arms[0].components[0].volume_ml: required for saline_injection",
        ),
        (
            {"treatment": "saline_injection", "volume_ml": [2.0, 4.0]},
            "arms[0].components[0].interval_days: required for saline_injection",
        ),
        (
            {"treatment": "placebo", "route": "topical"},
            "arms[0].components[0].route: placebo is given oral, not topical",
        ),
        (
            {"treatment": "dutasteride", "device": "dermapen"},
            "arms[0].components[0].device: not an attribute of dutasteride",
        ),
        (
            {"treatment": "minoxidil", "needle_depth_mm": [1, 2]},
            "arms[0].components[0].needle_depth_mm: not an attribute of minoxidil",
        ),
        (
            {"treatment": "other", "name": "x", "sessions": 3},
            "arms[0].components[0].sessions: not an attribute of other",
        ),
        (
            {"treatment": "placebo", "matches": "aspirin"},
            "arms[0].components[0].matches: 'aspirin' is not one of",
        ),
    ],
)
def test_each_kind_refuses_what_it_does_not_have(component: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition(_with_component(component))
    assert str(info.value).startswith(message), str(info.value)


def test_other_is_named_by_its_name_in_the_exposure() -> None:
    data = _with_component({"treatment": "other", "name": "baricitinib", "dose_mg": 4})
    d = parse_definition(data)
    arm = d.arms[0]
    assert arm.treatments == frozenset({"baricitinib"})
    assert arm.component("baricitinib") is arm.components[0]
    assert "baricitinib" in d.treatments and "other" not in d.treatments
    two = {"treatment": "other", "name": "baricitinib"}
    data["arms"][0]["components"] = [two, dict(two)]
    with pytest.raises(DefinitionError, match="treatment 'baricitinib' appears twice"):
        parse_definition(data)


def test_protocol_ranges_follow_the_registry() -> None:
    mn = Component("microneedling", device="dermapen", needle_depth_mm=(0.5, 1.5))
    saline = Component("saline_injection", volume_ml=(2.0, 4.0), interval_days=28)
    assert mn.protocol_range("NEEDLE_DEPTH_MM") == (0.5, 1.5)
    assert mn.protocol_range("VOLUME_ML") is None
    assert saline.protocol_range("VOLUME_ML") == (2.0, 4.0) and saline.is_procedure
    assert Component("placebo").protocol_range("VOLUME_ML") is None
