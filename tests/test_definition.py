"""The trial definition parser: the issue's example parses; each inconsistency names its key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from trialkit.definition import load_definition, parse_definition
from trialkit.errors import DefinitionError

FIXTURE = Path(__file__).parent / "fixtures" / "issue_example.toml"


def example() -> dict[str, Any]:
    return tomllib.loads(FIXTURE.read_text())


def test_issue_example_parses() -> None:
    d = load_definition(FIXTURE)
    assert d.trial.id == "TK-AGA-301"
    assert [a.code for a in d.arms] == ["MINOX", "MINOX_MN", "MN_PRP"]
    assert d.reference_arm.code == "MINOX"
    assert d.baseline_visit.code == "BASELINE"
    assert [v.code for v in d.post_baseline_visits][-1] == "WEEK24"
    assert d.arm("MN_PRP").component("microneedling").needle_depth_mm == (1.0, 2.5)  # type: ignore[union-attr]
    assert d.arm("MN_PRP").component("prp").volume_ml == (3.0, 6.0)  # type: ignore[union-attr]
    assert d.primary.parameter == "HAIRCNT" and d.primary.variable == "CHG"
    assert d.analysis.covariance_fallback == ("toeph", "ar1h", "cs")
    assert d.parameter("HAIRCNT").direction == "higher"


def test_definition_is_immutable() -> None:
    d = load_definition(FIXTURE)
    with pytest.raises(AttributeError):
        d.trial.id = "X"  # type: ignore[misc]


def _mutate(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = example()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("analysis", "covarience"), "us", "analysis.covarience: unknown key"),
        (("arms", 1, "code"), "MINOX", "arms: duplicate arm code 'MINOX'"),
        (("visits", 2, "code"), "WEEK4", "visits: duplicate visit code 'WEEK4'"),
        (("visits", 2, "window"), [-30, 7], "visits[2].window: window of WEEK8"),
        (
            ("visits", 3, "baseline"),
            True,
            "visits: exactly one visit must have baseline = true (found 2",
        ),
        (
            ("visits", 0, "baseline"),
            False,
            "visits: exactly one visit must have baseline = true (found 0)",
        ),
        (
            ("endpoints", "primary", "parameter"),
            "DENSITY",
            "endpoints.primary.parameter: unknown parameter 'DENSITY'",
        ),
        (
            ("endpoints", "primary", "visit"),
            "WEEK52",
            "endpoints.primary.visit: unknown visit 'WEEK52'",
        ),
        (
            ("analysis", "covariance"),
            "unstructured",
            "analysis.covariance: 'unstructured' is not one of",
        ),
        (
            ("arms", 1, "components", 1, "device"),
            "laser",
            "arms[1].components[1].device: 'laser' is not one of",
        ),
        (
            ("arms", 1, "components", 1, "needle_depth_mm"),
            [1.5, 0.5],
            "arms[1].components[1].needle_depth_mm: expected [low, high]",
        ),
        (
            ("arms", 0, "reference"),
            False,
            "arms: exactly one arm must have reference = true (found 0)",
        ),
        (("trial", "id"), KeyError, "trial.id: required key is missing"),
        (("parameters", 0, "integer"), "yes", "parameters[0].integer: expected bool"),
        (("visits", 1, "day"), 0, "visits[1].day: there is no study day 0"),
        (("analysis", "alpha"), 1.5, "analysis.alpha: must be in (0, 1)"),
    ],
)
def test_inconsistent_definition_names_the_key(
    path: tuple[Any, ...], value: Any, message: str
) -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition(_mutate(path, value))
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_load_definition_names_file(tmp_path: Path) -> None:
    bad = tmp_path / "trial.toml"
    bad.write_text("[trial\nid=1")
    with pytest.raises(DefinitionError, match=r"trial.toml: not valid TOML"):
        load_definition(tmp_path)
    with pytest.raises(DefinitionError, match="trial definition not found"):
        load_definition(tmp_path / "nope")


def test_interim_plan_is_parsed_and_checked() -> None:
    data = example()
    data["interim"] = {"information_fractions": [0.5, 1.0], "sided": 1, "active_arms": 2}
    d = parse_definition(data)
    assert d.interim is not None and d.interim.information_fractions == (0.5, 1.0)
    data["interim"] = {"information_fractions": [0.5, 0.4, 1.0]}
    with pytest.raises(DefinitionError, match=r"^interim\.information_fractions: must increase"):
        parse_definition(data)
