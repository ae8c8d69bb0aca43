"""InterimPlan.from_mapping: valid plans and one clear line naming the key for bad ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trialkit.design.plan import InterimPlan, load_interim_plan
from trialkit.design.power import max_information
from trialkit.errors import DefinitionError, InputError

BASE: dict[str, Any] = {"information_fractions": [0.5, 1.0]}


def test_full_plan() -> None:
    plan = InterimPlan.from_mapping(
        {
            "information_fractions": [0.3, 0.7, 1],
            "alpha": 0.05,
            "sided": 1,
            "efficacy_spending": "hsd",
            "efficacy_gamma": -4,
            "futility_spending": "kd",
            "futility_gamma": 2,
            "binding_futility": True,
            "beta": 0.1,
            "effect": 0.4,
            "sd": 1.2,
            "information": "variance",
            "active_arms": 2,
            "alpha_sharing": [0.03, 0.02],
        }
    )
    assert plan.information_fractions == (0.3, 0.7, 1.0)
    assert plan.arm_alphas() == (0.03, 0.02)
    design = plan.design()
    assert design.alpha == 0.03 and design.futility_z is not None and design.binding
    assert plan.max_information() == pytest.approx(max_information(design, 0.4))


def test_defaults_and_sharing() -> None:
    plan = InterimPlan.from_mapping({**BASE, "active_arms": 3, "alpha_sharing": "bonferroni"})
    assert plan.alpha == 0.025 and plan.sided == 1 and plan.efficacy_spending == "of"
    assert plan.arm_alphas() == pytest.approx((0.025 / 3,) * 3)
    with_subjects = InterimPlan.from_mapping({**BASE, "max_subjects": 200})
    assert with_subjects.planned_max_subjects() == 200


def test_derived_max_subjects_counts_every_arm() -> None:
    """Closed form: n per arm = 2 sd^2 (z_{1-alpha_arm} + z_{1-beta})^2 / effect^2, 1:1:1:1."""
    from scipy.stats import norm

    one_look = {"information_fractions": [1.0], "effect": 13.0, "sd": 20.0, "beta": 0.2}
    for arms in (1, 3):
        plan = InterimPlan.from_mapping({**one_look, "active_arms": arms})
        z = norm.ppf(1 - 0.025 / arms) + norm.ppf(0.8)
        per_arm = 2 * 20.0**2 * z**2 / 13.0**2
        assert plan.planned_max_subjects() == pytest.approx((arms + 1) * per_arm, rel=1e-9)
    shared = InterimPlan.from_mapping(
        {**one_look, "active_arms": 2, "alpha_sharing": [0.02, 0.005]}
    )
    z = norm.ppf(1 - 0.005) + norm.ppf(0.8)
    assert shared.planned_max_subjects() == pytest.approx(3 * 2 * 20.0**2 * z**2 / 13.0**2)


BAD = [
    (
        {"information_fractions": [0.5, 0.4, 1.0]},
        "interim.information_fractions: must increase and end at 1 (got [0.5, 0.4, 1.0])",
    ),
    (
        {"information_fractions": [0.5, 0.9]},
        "interim.information_fractions: must increase and end at 1",
    ),
    (
        {"information_fractions": "0.5, 1"},
        "interim.information_fractions: must be a non-empty list of numbers",
    ),
    ({}, "interim.information_fractions: required"),
    ({**BASE, "alpha": 0.5}, "interim.alpha: must be in (0, 0.5) (got 0.5)"),
    ({**BASE, "alpha": 0}, "interim.alpha: must be in (0, 0.5)"),
    ({**BASE, "alpha": "0.05"}, "interim.alpha: must be a number (got '0.05')"),
    ({**BASE, "alpha": True}, "interim.alpha: must be a number"),
    ({**BASE, "beta": 0.7}, "interim.beta: must be in (0, 0.5)"),
    ({**BASE, "sided": 3}, "interim.sided: must be one of 1, 2 (got 3)"),
    (
        {**BASE, "efficacy_spending": "obf"},
        "interim.efficacy_spending: 'obf' is not one of of, pocock, hsd, kd",
    ),
    (
        {**BASE, "futility_spending": "x"},
        "interim.futility_spending: 'x' is not one of of, pocock, hsd, kd",
    ),
    ({**BASE, "efficacy_spending": "hsd"}, "interim.efficacy_gamma: required for hsd spending"),
    (
        {**BASE, "efficacy_spending": "kd", "efficacy_gamma": -1},
        "interim.efficacy_gamma: must be > 0 for kd",
    ),
    ({**BASE, "efficacy_gamma": 2}, "interim.efficacy_gamma: only used with hsd or kd spending"),
    (
        {**BASE, "sided": 2, "futility_spending": "of"},
        "interim.futility_spending: futility boundaries need sided = 1",
    ),
    ({**BASE, "binding_futility": "yes"}, "interim.binding_futility: must be true or false"),
    ({**BASE, "binding_futility": True}, "interim.binding_futility: needs futility_spending"),
    ({**BASE, "effect": -0.2}, "interim.effect: must be in (0, inf)"),
    ({**BASE, "sd": 0}, "interim.sd: must be in (0, inf)"),
    (
        {**BASE, "information": "events"},
        "interim.information: 'events' is not one of",
    ),
    ({**BASE, "max_subjects": 10.5}, "interim.max_subjects: must be an integer"),
    ({**BASE, "active_arms": 0}, "interim.active_arms: must be a positive integer"),
    (
        {**BASE, "active_arms": 2, "alpha_sharing": [0.02, 0.01]},
        "interim.alpha_sharing: must sum to alpha = 0.025",
    ),
    (
        {**BASE, "active_arms": 2, "alpha_sharing": [0.025]},
        "interim.alpha_sharing: needs one alpha per active arm",
    ),
    ({**BASE, "alpha_sharing": "holm"}, "interim.alpha_sharing: 'holm' is not one of"),
    (
        {**BASE, "alpha_sharing": 3},
        "interim.alpha_sharing: must be split_equally, bonferroni or a list",
    ),
    ({**BASE, "look": 2}, "interim.look: unknown key"),
]


@pytest.mark.parametrize(("mapping", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_plans_name_the_key(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as err:
        InterimPlan.from_mapping(mapping)
    text = str(err.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert err.value.exit_code == 2


def test_key_prefix_and_not_a_table() -> None:
    with pytest.raises(DefinitionError, match=r"^arms\.a\.interim\.alpha: "):
        InterimPlan.from_mapping({**BASE, "alpha": 2}, key="arms.a.interim")
    with pytest.raises(DefinitionError, match=r"^interim: must be a table"):
        InterimPlan.from_mapping([1, 2])  # type: ignore[arg-type]


def test_plan_is_frozen() -> None:
    plan = InterimPlan.from_mapping(BASE)
    with pytest.raises(AttributeError):
        plan.alpha = 0.05  # type: ignore[misc]


def test_load_from_trial_toml(tmp_path: Path) -> None:
    (tmp_path / "trial.toml").write_text(
        "[interim]\ninformation_fractions = [0.5, 1.0]\nalpha = 0.02\n"
    )
    assert load_interim_plan(tmp_path).alpha == 0.02
    (tmp_path / "trial.toml").write_text("[study]\nname = 'x'\n")
    with pytest.raises(DefinitionError, match=r"^interim: "):
        load_interim_plan(tmp_path)
    with pytest.raises(InputError):
        load_interim_plan(tmp_path / "missing")
