"""Generator settings of an example trial, read from ``example_trials/<name>/scenario.toml``.

A :class:`Scenario` says how many subjects, which sites, what effect each arm has at each visit,
how variable and correlated the measurements are, who drops out and why, and (for a "dirty"
transfer) which problems to plant. It holds no data: :func:`trialkit.examples.generate_trial`
turns it, with the trial definition, into datasets. Parsing is strict, as for ``trial.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from trialkit.definition import TomlTable, read_toml
from trialkit.errors import DefinitionError

#: Keys of a scenario: data codes too (``dropout_reasons`` and ``ae_actions`` are keyed by
#: DCSREAS and AEACN values, spaces and all), printable and at most 64 characters.
CODE_KEYS = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
#: How a parameter's values are simulated: counts and continuous values change by an amount,
#: ordinal grades follow another parameter, relative scores (SALT) change by a share of baseline.
KINDS = ("count", "continuous", "ordinal", "relative")
#: What happens to a drawn age outside ``age_range``: set to the nearer limit, or drawn again
#: (a truncated normal, with no pile of subjects at the limits).
AGE_OUTSIDE = ("clip", "redraw")


@dataclass(frozen=True)
class SiteSpec:
    """A site: its SITEID, relative size (share of subjects) and first enrolment day."""

    id: str
    weight: float
    start_day: int = 0


@dataclass(frozen=True)
class ParameterSpec:
    """How one parameter's values are simulated (the range comes from trial.toml)."""

    code: str
    kind: Literal["count", "continuous", "ordinal", "relative"]
    visits: tuple[str, ...] | None = None  # scheduled visits where measured (None: all)
    effects: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # arm -> visit -> CHG
    baseline_mean: float = 0.0
    baseline_sd: float = 0.0
    # severity -> [low, high]: true baseline uniform there (clipped to the parameter's range)
    baseline_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    age_slope: float = 0.0  # change of the baseline mean per year of age above ``age_mean``
    slope_sd: float = 0.0  # sd of the subject's random change reached at the last visit
    residual_sd: float = 0.0
    rho: float = 0.0  # residual correlation of two measurements 28 days apart (AR(1) in time)
    decimals: int = 0
    source: str | None = None  # ordinal: parameter whose change drives the grade
    per_level: float = 1.0  # ordinal: change of ``source`` worth one grade
    noise_sd: float = 0.0  # ordinal: sd of the latent grade's noise
    baseline_value: int = 0  # ordinal: grade recorded at baseline (photos compared with it)
    unscheduled: bool = False  # measured at unscheduled visits too
    # relative: arm -> share of responders; a responder's percent change follows the arm's
    # ``effects`` (mean percent change per visit) times a depth drawn around 1 with this sd
    responders: Mapping[str, float] = field(default_factory=dict)
    depth_sd: float = 0.0


@dataclass(frozen=True)
class AETerm:
    """An adverse-event term: reported and MedDRA-like coded terms, weight, linked treatment."""

    term: str
    decod: str
    bodsys: str
    weight: float
    treatment: str | None = None  # only in arms giving this treatment
    related_prob: float = 0.5


@dataclass(frozen=True)
class Corruption:
    """One planted data problem of a dirty transfer: a kind (see corruptions.py) and its args."""

    kind: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """All generator settings of one example trial; with the seed, the data are reproducible."""

    name: str
    seed: int
    start_date: date
    enrolment_days: int
    n_per_arm: int  # subjects per arm and unit of its allocation ratio (trial.toml)
    sites: tuple[SiteSpec, ...]
    parameters: tuple[ParameterSpec, ...]
    block_size: int = 4
    age_range: tuple[int, int] = (18, 65)
    age_mean: float = 35.0
    age_sd: float = 10.0
    age_outside: Literal["clip", "redraw"] = "clip"
    sex: Mapping[str, float] = field(default_factory=lambda: {"M": 1.0})
    severity: Mapping[str, float] = field(default_factory=lambda: {"NH-III": 1.0})
    baseline_offset_max: int = 7
    visit_offset_sd: float = 2.0
    out_of_window_prob: float = 0.0
    missed_visit_prob: float = 0.0
    unscheduled_prob: float = 0.0
    dropout: Mapping[str, float] = field(default_factory=dict)  # arm -> share discontinuing
    dropout_reasons: Mapping[str, float] = field(default_factory=dict)
    dropout_slope_weight: float = 0.0  # > 0: poor responders drop out more often (MAR)
    et_assessment_prob: float = 0.8
    treatment_stop_prob: float = 0.0  # stop study treatment early but stay in the study
    rescue_prob: float = 0.0
    rescue_treatments: tuple[str, ...] = ()
    cm_rate: float = 0.0
    ae_rate: Mapping[str, float] = field(default_factory=dict)  # arm -> mean AEs per subject
    ae_terms: tuple[AETerm, ...] = ()
    ae_actions: Mapping[str, float] = field(default_factory=dict)  # AEACN weights (empty: none)
    serious_prob: float = 0.0
    ongoing_ae_prob: float = 0.0
    interim_cutoff: date | None = None
    based_on: str | None = None
    corruptions: tuple[Corruption, ...] = ()

    def parameter(self, code: str) -> ParameterSpec:
        """The settings of parameter ``code``."""
        return next(p for p in self.parameters if p.code == code)


def _date(table: TomlTable, name: str, default: Any = ...) -> date | None:
    value = table.take(name, (date, str), default)
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DefinitionError(f"{table.path(name)}: not an ISO date: {value!r}") from None


def _floats(table: TomlTable, name: str) -> dict[str, float]:
    sub = table.table(name)
    if sub is None:
        return {}
    out = {k: sub.take(k, float) for k in list(sub.data)}
    sub.done()
    return out


def _ranges(table: TomlTable, name: str) -> dict[str, tuple[float, float]]:
    """A table of ``key = [low, high]`` ranges (empty when absent)."""
    sub = table.table(name)
    if sub is None:
        return {}
    out = {k: r for k in list(sub.data) if (r := sub.range(k, float)) is not None}
    sub.done()
    return out


def _parameter(t: TomlTable) -> ParameterSpec:
    visits = t.take("visits", list, None)
    effects_t = t.table("effects")
    effects: dict[str, dict[str, float]] = {}
    if effects_t is not None:
        for arm in list(effects_t.data):
            effects[arm] = _floats(effects_t, arm)
        effects_t.done()
    p = ParameterSpec(
        code=t.take("code", str),
        kind=t.choice("kind", KINDS),
        visits=None if visits is None else tuple(visits),
        effects=effects,
        baseline_mean=t.take("baseline_mean", float, 0.0),
        baseline_sd=t.take("baseline_sd", float, 0.0),
        baseline_ranges=_ranges(t, "baseline_ranges"),
        age_slope=t.take("age_slope", float, 0.0),
        slope_sd=t.take("slope_sd", float, 0.0),
        residual_sd=t.take("residual_sd", float, 0.0),
        rho=t.take("rho", float, 0.0),
        decimals=t.take("decimals", int, 0),
        source=t.take("source", str, None),
        per_level=t.take("per_level", float, 1.0),
        noise_sd=t.take("noise_sd", float, 0.0),
        baseline_value=t.take("baseline_value", int, 0),
        unscheduled=t.take("unscheduled", bool, False),
        responders=_floats(t, "responders"),
        depth_sd=t.take("depth_sd", float, 0.0),
    )
    t.done()
    return p


def _ae_term(t: TomlTable) -> AETerm:
    term = AETerm(
        term=t.take("term", str),
        decod=t.take("decod", str),
        bodsys=t.take("bodsys", str),
        weight=t.take("weight", float),
        treatment=t.take("treatment", str, None),
        related_prob=t.take("related_prob", float, 0.5),
    )
    t.done()
    return term


def parse_scenario(data: Mapping[str, Any], base: Scenario | None = None) -> Scenario:
    """Build a :class:`Scenario` from parsed TOML; ``based_on`` scenarios override ``base``."""
    root = TomlTable(data, "")
    based_on = root.take("based_on", str, None)
    corruptions = []
    for c in root.tables("corruptions"):
        kind = c.take("kind", str)
        corruptions.append(Corruption(kind=kind, args=dict(c.data)))
        c.data.clear()
    if based_on is not None:
        if base is None:
            raise DefinitionError(f"based_on: scenario {based_on!r} is needed to read this one")
        s = replace(
            base,
            name=root.take("name", str),
            based_on=based_on,
            corruptions=tuple(corruptions),
        )
        root.done()
        return s
    age_range = root.range("age_range", int)
    s = Scenario(
        name=root.take("name", str),
        seed=root.take("seed", int),
        start_date=_date(root, "start_date"),  # type: ignore[arg-type]
        enrolment_days=root.take("enrolment_days", int),
        n_per_arm=root.take("n_per_arm", int),
        block_size=root.take("block_size", int, 4),
        sites=tuple(
            SiteSpec(
                id=s.take("id", str),
                weight=s.take("weight", float),
                start_day=s.take("start_day", int, 0),
            )
            for s in root.tables("sites", required=True)
        ),
        age_range=age_range if age_range is not None else (18, 65),
        age_mean=root.take("age_mean", float, 35.0),
        age_sd=root.take("age_sd", float, 10.0),
        age_outside=root.choice("age_outside", AGE_OUTSIDE, "clip"),
        sex=_floats(root, "sex") or {"M": 1.0},
        severity=_floats(root, "severity") or {"NH-III": 1.0},
        baseline_offset_max=root.take("baseline_offset_max", int, 7),
        visit_offset_sd=root.take("visit_offset_sd", float, 2.0),
        out_of_window_prob=root.take("out_of_window_prob", float, 0.0),
        missed_visit_prob=root.take("missed_visit_prob", float, 0.0),
        unscheduled_prob=root.take("unscheduled_prob", float, 0.0),
        dropout=_floats(root, "dropout"),
        dropout_reasons=_floats(root, "dropout_reasons"),
        dropout_slope_weight=root.take("dropout_slope_weight", float, 0.0),
        et_assessment_prob=root.take("et_assessment_prob", float, 0.8),
        treatment_stop_prob=root.take("treatment_stop_prob", float, 0.0),
        rescue_prob=root.take("rescue_prob", float, 0.0),
        rescue_treatments=root.strings("rescue_treatments"),
        cm_rate=root.take("cm_rate", float, 0.0),
        ae_rate=_floats(root, "ae_rate"),
        ae_terms=tuple(_ae_term(t) for t in root.tables("ae_terms")),
        ae_actions=_floats(root, "ae_actions"),
        serious_prob=root.take("serious_prob", float, 0.0),
        ongoing_ae_prob=root.take("ongoing_ae_prob", float, 0.0),
        interim_cutoff=_date(root, "interim_cutoff", None),
        parameters=tuple(_parameter(t) for t in root.tables("parameters", required=True)),
        corruptions=tuple(corruptions),
    )
    root.done()
    return s


def load_scenario(folder: Path | str) -> Scenario:
    """Read ``scenario.toml`` of an example-trial folder (its ``based_on`` sibling first)."""
    folder = Path(folder)
    path = folder / "scenario.toml"
    data = read_toml(path, "example scenario", CODE_KEYS)
    base = None
    if "based_on" in data:
        base = load_scenario(folder.parent / str(data["based_on"]))
    try:
        return parse_scenario(data, base)
    except DefinitionError as exc:
        raise DefinitionError(f"{path}: {exc}") from None
