"""Bad [missing_data] plans are refused in one line naming the key (DefinitionError, exit 2)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from trialkit.definition import Estimand, IntercurrentEvent, load_definition
from trialkit.errors import DefinitionError
from trialkit.missing_data.plan import MissingDataPlan
from trialkit.resources import example_trials_dir


def _definition(events: tuple[str, ...] = ("discontinuation",)) -> Any:
    d = load_definition(example_trials_dir() / "tk_aga_301")
    est = Estimand(tuple(IntercurrentEvent(e, "hypothetical") for e in events))
    return replace(d, estimand=est)


def _plan(**keys: Any) -> MissingDataPlan:
    return MissingDataPlan.from_mapping(keys)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"method": "multiple"}, "missing_data.method: 'multiple' is not one of"),
        ({"strategies": [{"event": "discontinuation", "strategy": "JR"}]},
         "missing_data.strategies[0].strategy: 'JR' is not one of MAR, J2R, CR, CIR, LMCF"),
        ({"strategies": [{"event": "death", "strategy": "J2R"}]},
         "missing_data.strategies[0].event: 'death' is not one of"),
        ({"method": "approximate_bayes", "samples": 1, "seed": 1},
         "missing_data.samples: 1 is too few for approximate_bayes"),
        ({"method": "approximate_bayes", "samples": 100}, "missing_data.seed: required"),
        ({"method": "bootstrap_ml", "samples": 20, "imputations": 1, "seed": 1},
         "missing_data.imputations: bootstrap_ml needs at least 2"),
        ({"resampling": "bootstrap", "samples": 1, "seed": 3},
         "missing_data.samples: 1 is too few for conditional_mean (bootstrap); at least 2"),
        ({"tipping_point": {"deltas": [0]}}, "missing_data.tipping_point.deltas: give 2 to"),
        ({"tipping_point": {"deltas": [0, 1], "step": 1}},
         "missing_data.tipping_point.step: unknown"),
        ({"samples": 10, "sample": 3}, "missing_data.sample: unknown key"),
    ],
)  # fmt: skip
def test_bad_plan_names_the_key(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as err:
        _plan(**keys)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_event_not_in_the_estimand() -> None:
    plan = _plan(strategies=[{"event": "rescue_medication", "strategy": "J2R"}])
    with pytest.raises(
        DefinitionError,
        match=r"^missing_data\.strategies\[0\]\.event: "
        r"'rescue_medication' is not an intercurrent event of \[estimand\]",
    ):
        plan.check(_definition())  # fmt: skip


def test_reference_based_strategy_needs_a_reference_arm() -> None:
    d = _definition()
    d = replace(d, arms=tuple(replace(a, reference=False) for a in d.arms))
    plan = _plan(strategies=[{"event": "discontinuation", "strategy": "CIR"}])
    with pytest.raises(
        DefinitionError,
        match=r"^missing_data\.strategies\[0\]\.strategy: CIR "
        r"needs a reference arm",
    ):
        plan.check(d)  # fmt: skip
    _plan(strategies=[{"event": "discontinuation", "strategy": "MAR"}]).check(d)


def test_unknown_reference_arm() -> None:
    with pytest.raises(DefinitionError, match=r"^missing_data\.reference: 'PLACEBO' is not an arm"):
        _plan(reference="PLACEBO").check(_definition())


def test_percentile_minimum_follows_alpha() -> None:
    """A 90% percentile interval needs 19 samples (type 6 quantiles inside the range)."""
    d = _definition()
    plan = _plan(resampling="bootstrap", samples=19, seed=1, interval="percentile")
    with pytest.raises(DefinitionError, match=r"^missing_data\.samples: 19 is too few .* 39$"):
        plan.check(d)
    plan.check(replace(d, analysis=replace(d.analysis, alpha=0.1)))


def test_good_plan_reads_the_issue_example() -> None:
    plan = _plan(
        method="conditional_mean", resampling="jackknife", samples=500, seed=20240101,
        strategies=[{"event": "discontinuation", "strategy": "J2R"}],
        tipping_point={"deltas": [0, -2, -4, -6, -8, -10]},
    )  # fmt: skip
    plan.check(_definition())
    assert plan.strategy("discontinuation") == "J2R"
    assert plan.strategy("rescue_medication") == "MAR"
    assert plan.deltas == (0.0, -2.0, -4.0, -6.0, -8.0, -10.0)
    assert plan.method.pooling == "jackknife"


def _trial_with(tmp_path: Path, table: str) -> Path:
    src = (example_trials_dir() / "tk_aga_301" / "trial.toml").read_text(encoding="utf-8")
    path = tmp_path / "trial.toml"
    path.write_text(src + "\n" + table, encoding="utf-8")
    return path


def test_trial_toml_reads_the_plan(tmp_path: Path) -> None:
    """trial.toml's [missing_data] becomes TrialDefinition.missing_data, checked in context."""
    assert load_definition(example_trials_dir() / "tk_aga_301").missing_data is None
    table = (
        '[missing_data]\nseed = 1\n[[missing_data.strategies]]\nevent = "discontinuation"\n'
        'strategy = "J2R"\n[missing_data.tipping_point]\ndeltas = [0, -5]\n'
    )
    plan = load_definition(_trial_with(tmp_path, table)).missing_data
    assert plan is not None
    assert plan.strategy("discontinuation") == "J2R"
    assert plan.deltas == (0.0, -5.0)


def test_trial_toml_bad_plan_names_file_and_key(tmp_path: Path) -> None:
    """The definition's own checks run: a reference arm unknown to [[arms]] is refused."""
    path = _trial_with(tmp_path, '[missing_data]\nreference = "PLACEBO"\n')
    with pytest.raises(DefinitionError) as err:
        load_definition(path)
    assert str(err.value).startswith(f"{path}: missing_data.reference: 'PLACEBO' is not an arm")


def test_trial_without_plan_does_not_import_the_package() -> None:
    """Reading a trial without [missing_data] leaves trialkit.missing_data (numerics) unloaded."""
    code = (
        "import sys; from trialkit.definition import load_definition; "
        "from trialkit.resources import example_trials_dir; "
        "load_definition(example_trials_dir() / 'tk_aga_301'); "
        "print('trialkit.missing_data' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
