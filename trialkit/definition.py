"""The trial definition: ``trial.toml`` parsed into typed, immutable objects and checked.

Every problem is a :class:`~trialkit.errors.DefinitionError` whose message starts with the
dotted key it concerns (``arms[2].components[1].needle_depth_mm: ...``), so a data manager
can find it in the file. Parsing is strict: an unknown key is an error, not ignored.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from trialkit.design.plan import InterimPlan
from trialkit.errors import DefinitionError

TREATMENTS = ("minoxidil", "finasteride", "microneedling", "prp")
DEVICES = ("dermaroller", "dermapen", "motorized_pen")
SETTINGS = ("clinic", "home")
COVARIANCES = ("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "adh")
DF_METHODS = ("kenward-roger", "satterthwaite", "residual")
MULTIPLICITY = ("dunnett", "holm", "fixed_sequence", "none")
POPULATIONS = ("ITT", "MITT", "PP", "SAFETY")
ENDPOINT_VARIABLES = ("CHG", "PCHG", "AVAL")
INTERCURRENT_EVENTS = ("discontinuation", "rescue_medication")
STRATEGIES = ("treatment_policy", "hypothetical")

T = TypeVar("T")


@dataclass(frozen=True)
class Component:
    """One study treatment given in an arm (a drug, microneedling or PRP) and its protocol range."""

    treatment: str
    concentration_pct: float | None = None
    dose_mg: float | None = None
    route: str | None = None
    frequency: str | None = None
    device: str | None = None
    setting: str | None = None
    needle_depth_mm: tuple[float, float] | None = None
    volume_ml: tuple[float, float] | None = None
    interval_days: int | None = None
    sessions: int | None = None

    @property
    def is_procedure(self) -> bool:
        """Microneedling and PRP are given in sessions, drugs in dispensing periods."""
        return self.treatment in ("microneedling", "prp")


@dataclass(frozen=True)
class Arm:
    """A treatment arm: its ARMCD, label and components."""

    code: str
    label: str
    components: tuple[Component, ...]
    reference: bool = False

    @property
    def treatments(self) -> frozenset[str]:
        """Names of the treatments given in this arm."""
        return frozenset(c.treatment for c in self.components)

    def component(self, treatment: str) -> Component | None:
        """The component giving ``treatment``, if the arm has one."""
        return next((c for c in self.components if c.treatment == treatment), None)


@dataclass(frozen=True)
class Visit:
    """A scheduled visit: target study day (day 1 = randomisation) and allowed window."""

    code: str
    day: int
    window: tuple[int, int]
    baseline: bool = False
    label: str | None = None


@dataclass(frozen=True)
class Parameter:
    """A measured parameter (PARAMCD) with its range and which direction is better."""

    code: str
    label: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    integer: bool = False
    direction: Literal["higher", "lower"] = "higher"
    scale: Literal["continuous", "ordinal"] = "continuous"
    levels: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Endpoint:
    """An endpoint: a parameter's variable (CHG, PCHG, AVAL) at a visit."""

    parameter: str
    visit: str
    variable: str = "CHG"
    name: str | None = None


@dataclass(frozen=True)
class Subgroup:
    """A subgroup factor: a subject-level column, optionally cut into intervals at ``cuts``."""

    variable: str
    label: str
    cuts: tuple[float, ...] = ()


@dataclass(frozen=True)
class PerProtocol:
    """Criteria that take a subject out of the per-protocol population (documented in README)."""

    min_session_share: float = 0.8
    exposure_within_protocol: bool = True
    require_primary_visit: bool = True


@dataclass(frozen=True)
class IntercurrentEvent:
    """How one intercurrent event is handled (ICH E9(R1))."""

    event: str
    strategy: str


@dataclass(frozen=True)
class Estimand:
    """The estimand of the primary analysis: its intercurrent-event strategies and summary."""

    intercurrent_events: tuple[IntercurrentEvent, ...] = ()
    description: str | None = None

    def strategy(self, event: str) -> str:
        """The strategy for ``event`` (treatment policy when none is set)."""
        for ice in self.intercurrent_events:
            if ice.event == event:
                return ice.strategy
        return "treatment_policy"


@dataclass(frozen=True)
class Analysis:
    """The statistical analysis plan of the primary and supporting analyses."""

    population: str = "ITT"
    model: str = "mmrm"
    covariance: str = "us"
    covariance_fallback: tuple[str, ...] = ()
    df: str = "kenward-roger"
    covariates: tuple[str, ...] = ()
    strata: tuple[str, ...] = ()
    pool_sites_min_size: int | None = None
    alpha: float = 0.05
    multiplicity: str = "dunnett"
    multiplicity_order: tuple[str, ...] = ()
    responder_pct_change: int = 20
    ae_lag_days: int = 30
    age_groups: tuple[int, ...] = (40, 65)


@dataclass(frozen=True)
class TrialInfo:
    """Identification of the trial."""

    id: str
    title: str
    indication: str
    sponsor: str | None = None
    phase: str | None = None


@dataclass(frozen=True)
class TrialDefinition:
    """A whole trial definition, as read from ``trial.toml``."""

    trial: TrialInfo
    arms: tuple[Arm, ...]
    visits: tuple[Visit, ...]
    parameters: tuple[Parameter, ...]
    primary: Endpoint
    secondary: tuple[Endpoint, ...] = ()
    analysis: Analysis = field(default_factory=Analysis)
    subgroups: tuple[Subgroup, ...] = ()
    per_protocol: PerProtocol = field(default_factory=PerProtocol)
    estimand: Estimand = field(default_factory=Estimand)
    interim: InterimPlan | None = None
    source: Path | None = None

    @property
    def reference_arm(self) -> Arm:
        """The arm every active arm is compared with."""
        return next(a for a in self.arms if a.reference)

    @property
    def baseline_visit(self) -> Visit:
        """The one visit flagged ``baseline = true``."""
        return next(v for v in self.visits if v.baseline)

    @property
    def post_baseline_visits(self) -> tuple[Visit, ...]:
        """Scheduled visits after baseline, ordered by target day."""
        return tuple(sorted((v for v in self.visits if not v.baseline), key=lambda v: v.day))

    def arm(self, code: str) -> Arm:
        """The arm with ARMCD ``code``."""
        return next(a for a in self.arms if a.code == code)

    def parameter(self, code: str) -> Parameter:
        """The parameter with PARAMCD ``code``."""
        return next(p for p in self.parameters if p.code == code)

    def visit(self, code: str) -> Visit:
        """The visit with code ``code``."""
        return next(v for v in self.visits if v.code == code)


# --- reading helpers -----------------------------------------------------------------------


class _Table:
    """A TOML table being read: takes keys one by one and rejects any left unread."""

    def __init__(self, data: Any, key: str) -> None:
        if not isinstance(data, Mapping):
            raise DefinitionError(f"{key}: expected a table, got {type(data).__name__}")
        self.data = dict(data)
        self.key = key

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def take(self, name: str, kind: type[T] | tuple[type, ...], default: Any = ...) -> Any:
        """Pop ``name``, checking its type; a missing key without default is an error."""
        if name not in self.data:
            if default is ...:
                raise DefinitionError(f"{self.path(name)}: required key is missing")
            return default
        value = self.data.pop(name)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if (bool not in kinds and isinstance(value, bool)) or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise DefinitionError(f"{self.path(name)}: expected {names}, got {value!r}")
        return value

    def choice(self, name: str, allowed: Sequence[str], default: Any = ...) -> Any:
        """Pop a string key that must be one of ``allowed``."""
        value = self.take(name, str, default)
        if value is not None and value is not default and value not in allowed:
            raise DefinitionError(
                f"{self.path(name)}: {value!r} is not one of {', '.join(allowed)}"
            )
        return value

    def strings(self, name: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        """Pop a list of strings."""
        values = self.take(name, list, list(default))
        for i, v in enumerate(values):
            if not isinstance(v, str):
                raise DefinitionError(f"{self.path(name)}[{i}]: expected a string, got {v!r}")
        return tuple(values)

    def range(self, name: str, kind: type = float) -> tuple[Any, Any] | None:
        """Pop a two-element ``[low, high]`` range with low <= high."""
        value = self.take(name, list, None)
        if value is None:
            return None
        ok_types = (int, float) if kind is float else (int,)
        if (
            len(value) != 2
            or not all(isinstance(v, ok_types) and not isinstance(v, bool) for v in value)
            or value[0] > value[1]
        ):
            raise DefinitionError(
                f"{self.path(name)}: expected [low, high] with low <= high, got {value!r}"
            )
        return (kind(value[0]), kind(value[1]))

    def tables(self, name: str, required: bool = False) -> list[_Table]:
        """Pop an array of tables."""
        values = self.take(name, list, ... if required else [])
        return [_Table(v, f"{self.path(name)}[{i}]") for i, v in enumerate(values)]

    def table(self, name: str) -> _Table | None:
        """Pop a sub-table, if present."""
        value = self.take(name, dict, None)
        return None if value is None else _Table(value, self.path(name))

    def done(self) -> None:
        """Reject keys nobody read: a typo must not be silently ignored."""
        if self.data:
            unknown = sorted(self.data)[0]
            raise DefinitionError(f"{self.path(unknown)}: unknown key")


def _positive(table: _Table, name: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise DefinitionError(f"{table.path(name)}: must be positive, got {value!r}")


def _component(t: _Table) -> Component:
    treatment = t.choice("treatment", TREATMENTS)
    c = Component(
        treatment=treatment,
        concentration_pct=t.take("concentration_pct", float, None),
        dose_mg=t.take("dose_mg", float, None),
        route=t.choice("route", ("topical", "oral", "intradermal"), None),
        frequency=t.take("frequency", str, None),
        device=t.choice("device", DEVICES, None),
        setting=t.choice("setting", SETTINGS, None),
        needle_depth_mm=t.range("needle_depth_mm"),
        volume_ml=t.range("volume_ml"),
        interval_days=t.take("interval_days", int, None),
        sessions=t.take("sessions", int, None),
    )
    t.done()
    for name in ("concentration_pct", "dose_mg", "interval_days", "sessions"):
        _positive(t, name, getattr(c, name))
    if treatment == "microneedling":
        for name in ("device", "needle_depth_mm", "interval_days"):
            if getattr(c, name) is None:
                raise DefinitionError(f"{t.path(name)}: required for microneedling")
    if treatment == "prp" and c.volume_ml is None:
        raise DefinitionError(f"{t.path('volume_ml')}: required for prp")
    if treatment != "microneedling" and (c.device or c.needle_depth_mm):
        raise DefinitionError(f"{t.key}: device and needle depth belong to microneedling only")
    return c


def _arm(t: _Table) -> Arm:
    arm = Arm(
        code=t.take("code", str),
        label=t.take("label", str),
        reference=t.take("reference", bool, False),
        components=tuple(_component(c) for c in t.tables("components", required=True)),
    )
    t.done()
    if not arm.components:
        raise DefinitionError(f"{t.path('components')}: an arm needs at least one component")
    dup = _first_duplicate([c.treatment for c in arm.components])
    if dup:
        raise DefinitionError(f"{t.path('components')}: treatment {dup!r} appears twice")
    return arm


def _visit(t: _Table) -> Visit:
    window = t.range("window", int)
    visit = Visit(
        code=t.take("code", str),
        day=t.take("day", int),
        window=window if window is not None else (0, 0),
        baseline=t.take("baseline", bool, False),
        label=t.take("label", str, None),
    )
    t.done()
    if visit.day == 0:
        raise DefinitionError(f"{t.path('day')}: there is no study day 0 (day 1 is randomisation)")
    return visit


def _parameter(t: _Table) -> Parameter:
    levels = t.take("levels", list, None)
    p = Parameter(
        code=t.take("code", str),
        label=t.take("label", str),
        unit=t.take("unit", str, None),
        min=t.take("min", float, None),
        max=t.take("max", float, None),
        integer=t.take("integer", bool, False),
        direction=t.choice("direction", ("higher", "lower"), "higher"),
        scale=t.choice("scale", ("continuous", "ordinal"), "continuous"),
        levels=None if levels is None else tuple(levels),
    )
    t.done()
    if p.min is not None and p.max is not None and p.min > p.max:
        raise DefinitionError(f"{t.path('min')}: min {p.min} is above max {p.max}")
    if p.scale == "ordinal":
        if not p.levels or not all(isinstance(v, int) for v in p.levels):
            raise DefinitionError(f"{t.path('levels')}: an ordinal parameter needs integer levels")
        if list(p.levels) != sorted(set(p.levels)):
            raise DefinitionError(f"{t.path('levels')}: levels must increase, got {list(p.levels)}")
    elif p.levels is not None:
        raise DefinitionError(f"{t.path('levels')}: only an ordinal parameter has levels")
    return p


def _endpoint(t: _Table) -> Endpoint:
    e = Endpoint(
        parameter=t.take("parameter", str),
        visit=t.take("visit", str),
        variable=t.choice("variable", ENDPOINT_VARIABLES, "CHG"),
        name=t.take("name", str, None),
    )
    t.done()
    return e


def _analysis(t: _Table | None) -> Analysis:
    if t is None:
        return Analysis()
    pool = t.take("pool_sites_min_size", int, None)
    a = Analysis(
        population=t.choice("population", POPULATIONS, "ITT"),
        model=t.choice("model", ("mmrm",), "mmrm"),
        covariance=t.choice("covariance", COVARIANCES, "us"),
        covariance_fallback=t.strings("covariance_fallback"),
        df=t.choice("df", DF_METHODS, "kenward-roger"),
        covariates=t.strings("covariates"),
        strata=t.strings("strata"),
        pool_sites_min_size=pool,
        alpha=t.take("alpha", float, 0.05),
        multiplicity=t.choice("multiplicity", MULTIPLICITY, "dunnett"),
        multiplicity_order=t.strings("multiplicity_order"),
        responder_pct_change=t.take("responder_pct_change", int, 20),
        ae_lag_days=t.take("ae_lag_days", int, 30),
        age_groups=tuple(t.take("age_groups", list, [40, 65])),
    )
    t.done()
    for i, cov in enumerate(a.covariance_fallback):
        if cov not in COVARIANCES:
            raise DefinitionError(
                f"{t.path('covariance_fallback')}[{i}]: {cov!r} is not one of "
                f"{', '.join(COVARIANCES)}"
            )
    if not 0 < a.alpha < 1:
        raise DefinitionError(f"{t.path('alpha')}: must lie in (0, 1), got {a.alpha}")
    if a.responder_pct_change <= 0:
        raise DefinitionError(f"{t.path('responder_pct_change')}: must be positive")
    if a.ae_lag_days < 0:
        raise DefinitionError(f"{t.path('ae_lag_days')}: must not be negative")
    if pool is not None and pool < 1:
        raise DefinitionError(f"{t.path('pool_sites_min_size')}: must be at least 1")
    if list(a.age_groups) != sorted(set(a.age_groups)) or not all(
        isinstance(v, int) for v in a.age_groups
    ):
        raise DefinitionError(f"{t.path('age_groups')}: expected increasing integer ages")
    return a


def _subgroup(t: _Table) -> Subgroup:
    variable = t.take("variable", str)
    cuts = t.take("cuts", list, [])
    s = Subgroup(variable=variable, label=t.take("label", str, variable), cuts=tuple(cuts))
    t.done()
    if list(s.cuts) != sorted(set(s.cuts)):
        raise DefinitionError(f"{t.path('cuts')}: cut points must increase")
    return s


def _per_protocol(t: _Table | None) -> PerProtocol:
    if t is None:
        return PerProtocol()
    pp = PerProtocol(
        min_session_share=t.take("min_session_share", float, 0.8),
        exposure_within_protocol=t.take("exposure_within_protocol", bool, True),
        require_primary_visit=t.take("require_primary_visit", bool, True),
    )
    t.done()
    if not 0 <= pp.min_session_share <= 1:
        raise DefinitionError(f"{t.path('min_session_share')}: must lie in [0, 1]")
    return pp


def _estimand(t: _Table | None) -> Estimand:
    if t is None:
        return Estimand()
    events = []
    for e in t.tables("intercurrent_events"):
        events.append(
            IntercurrentEvent(
                event=e.choice("event", INTERCURRENT_EVENTS),
                strategy=e.choice("strategy", STRATEGIES),
            )
        )
        e.done()
    est = Estimand(intercurrent_events=tuple(events), description=t.take("description", str, None))
    t.done()
    dup = _first_duplicate([e.event for e in events])
    if dup:
        raise DefinitionError(f"{t.path('intercurrent_events')}: event {dup!r} appears twice")
    return est


def _first_duplicate(values: Sequence[str]) -> str | None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            return v
        seen.add(v)
    return None


def _check_unique(key: str, codes: Sequence[str], what: str) -> None:
    dup = _first_duplicate(codes)
    if dup:
        raise DefinitionError(f"{key}: duplicate {what} code {dup!r}")


def _check_consistency(d: TrialDefinition) -> None:
    """Cross-key rules: unique codes, one reference arm, one baseline, windows, endpoints."""
    _check_unique("arms", [a.code for a in d.arms], "arm")
    _check_unique("visits", [v.code for v in d.visits], "visit")
    _check_unique("parameters", [p.code for p in d.parameters], "parameter")
    refs = [a.code for a in d.arms if a.reference]
    if len(refs) != 1:
        raise DefinitionError(
            f"arms: exactly one arm must have reference = true (found {len(refs)})"
        )
    baselines = [v.code for v in d.visits if v.baseline]
    if len(baselines) != 1:
        raise DefinitionError(
            f"visits: exactly one visit must have baseline = true (found {len(baselines)}"
            + (f": {', '.join(baselines)})" if baselines else ")")
        )
    by_day = sorted(enumerate(d.visits), key=lambda iv: iv[1].day)
    for (_, a), (j, b) in itertools.pairwise(by_day):
        if a.day == b.day:
            raise DefinitionError(
                f"visits[{j}].day: visits {a.code} and {b.code} share day {a.day}"
            )
        if a.day + a.window[1] >= b.day + b.window[0]:
            raise DefinitionError(
                f"visits[{j}].window: window of {b.code} (days {b.day + b.window[0]} to "
                f"{b.day + b.window[1]}) overlaps that of {a.code} (days {a.day + a.window[0]} "
                f"to {a.day + a.window[1]})"
            )
    if d.baseline_visit.day != min(v.day for v in d.visits):
        raise DefinitionError("visits: the baseline visit must come before every other visit")
    params = {p.code for p in d.parameters}
    visits = {v.code for v in d.visits}
    endpoints = [("endpoints.primary", d.primary)] + [
        (f"endpoints.secondary[{i}]", e) for i, e in enumerate(d.secondary)
    ]
    for key, e in endpoints:
        if e.parameter not in params:
            raise DefinitionError(f"{key}.parameter: unknown parameter {e.parameter!r}")
        if e.visit not in visits:
            raise DefinitionError(f"{key}.visit: unknown visit {e.visit!r}")
        if e.visit == d.baseline_visit.code:
            raise DefinitionError(f"{key}.visit: an endpoint cannot be at the baseline visit")
    if d.parameter(d.primary.parameter).scale != "continuous":
        raise DefinitionError(
            "endpoints.primary.parameter: the primary endpoint must be continuous"
        )
    arms = {a.code for a in d.arms}
    order = d.analysis.multiplicity_order
    for i, code in enumerate(order):
        if code not in arms or code == d.reference_arm.code:
            raise DefinitionError(
                f"analysis.multiplicity_order[{i}]: {code!r} is not an active arm code"
            )
    if d.analysis.multiplicity == "fixed_sequence" and sorted(order) != sorted(
        a.code for a in d.arms if not a.reference
    ):
        raise DefinitionError(
            "analysis.multiplicity_order: fixed_sequence needs every active arm once, in order"
        )


def parse_definition(data: Mapping[str, Any], source: Path | None = None) -> TrialDefinition:
    """Build a checked :class:`TrialDefinition` from the mapping ``tomllib`` gives."""
    root = _Table(data, "")
    info_t = root.table("trial")
    if info_t is None:
        raise DefinitionError("trial: required table is missing")
    info = TrialInfo(
        id=info_t.take("id", str),
        title=info_t.take("title", str),
        indication=info_t.choice("indication", ("androgenetic alopecia", "alopecia areata")),
        sponsor=info_t.take("sponsor", str, None),
        phase=info_t.take("phase", str, None),
    )
    info_t.done()
    arms = tuple(_arm(t) for t in root.tables("arms", required=True))
    visits = tuple(_visit(t) for t in root.tables("visits", required=True))
    parameters = tuple(_parameter(t) for t in root.tables("parameters", required=True))
    endpoints = root.table("endpoints")
    if endpoints is None:
        raise DefinitionError("endpoints: required table is missing")
    primary_t = endpoints.table("primary")
    if primary_t is None:
        raise DefinitionError("endpoints.primary: required table is missing")
    primary = _endpoint(primary_t)
    secondary = tuple(_endpoint(t) for t in endpoints.tables("secondary"))
    endpoints.done()
    interim = root.take("interim", dict, None)
    definition = TrialDefinition(
        trial=info,
        arms=arms,
        visits=visits,
        parameters=parameters,
        primary=primary,
        secondary=secondary,
        analysis=_analysis(root.table("analysis")),
        subgroups=tuple(_subgroup(t) for t in root.tables("subgroups")),
        per_protocol=_per_protocol(root.table("per_protocol")),
        estimand=_estimand(root.table("estimand")),
        interim=None if interim is None else InterimPlan.from_mapping(interim, key="interim"),
        source=source,
    )
    root.done()
    if not arms:
        raise DefinitionError("arms: at least two arms are needed")
    _check_consistency(definition)
    return definition


def load_definition(path: Path | str) -> TrialDefinition:
    """Read and check ``trial.toml`` (or the ``trial.toml`` inside a trial folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / "trial.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(f"{path}: trial definition not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"{path}: cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{path}: not valid TOML ({exc})") from None
    try:
        return parse_definition(data, source=path)
    except DefinitionError as exc:
        raise DefinitionError(f"{path}: {exc}") from None


__all__ = [
    "Analysis",
    "Arm",
    "Component",
    "Endpoint",
    "Estimand",
    "IntercurrentEvent",
    "Parameter",
    "PerProtocol",
    "Subgroup",
    "TrialDefinition",
    "TrialInfo",
    "Visit",
    "load_definition",
    "parse_definition",
]
