"""The trial definition: ``trial.toml`` parsed into typed, immutable objects and checked.

Every problem is a :class:`~trialkit.errors.DefinitionError` whose message starts with the
dotted key it concerns (``arms[2].components[1].needle_depth_mm: ...``), so a data manager
can find it in the file. Parsing is strict: an unknown key is an error, not ignored. The file
is read defensively (docs/trial_toml.md, "Limits"): size, nesting, text and list lengths are
bounded, every number must be finite and in its range, and codes must match ``CODE_PATTERN``.
"""

from __future__ import annotations

import itertools
import math
import re
import reprlib
import stat
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from trialkit.errors import DefinitionError
from trialkit.responder_rule import ResponderRule, parse_responder_rule
from trialkit.treatments import ATTRIBUTES, KINDS, TREATMENTS, Component
from trialkit.vocabulary import (
    BINARY_METHODS,
    COMPOSITE_STRATEGIES,
    COVARIANCE_STRUCTURES,
    DEVICES,
    DF_METHODS,
    ENDPOINT_VARIABLES,
    ESTIMAND_STRATEGIES,
    INTERCURRENT_EVENTS,
    MISSING_RESPONSE_RULES,
    MULTIPLICITY_METHODS,
    PARAMETER_KINDS,
    POPULATIONS,
    PSEUDO_VISITS,
    ROUTES,
    SETTINGS,
    SEXES,
)

if TYPE_CHECKING:
    from trialkit.design.plan import InterimPlan
    from trialkit.missing_data.plan import MissingDataPlan

#: Codes that become file names, column names or model terms (arm, visit and parameter codes,
#: covariate, stratum and subgroup columns) must match this pattern in full.
CODE_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
CODE_RULE = "a letter, then up to 31 letters, digits or underscores"


#: Limits of ``trial.toml`` (documented in docs/trial_toml.md): file size in bytes, nesting of
#: arrays and tables, characters of one text, items of one array.
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_TEXT = 10_000
MAX_ITEMS = 1_000
#: Study days, visit windows and day counts lie within +/- this many days (ten years).
MAX_DAYS = 3650

T = TypeVar("T")
D = TypeVar("D")


@dataclass(frozen=True)
class Arm:
    """A treatment arm: its ARMCD, label, components and share of the randomisation ratio."""

    code: str
    label: str
    components: tuple[Component, ...]
    reference: bool = False
    allocation: float = 1

    @property
    def treatments(self) -> frozenset[str]:
        """The EXTRT names of the treatments given in this arm (``name`` for ``other``)."""
        return frozenset(c.extrt for c in self.components)

    def component(self, treatment: str) -> Component | None:
        """The component whose EXTRT is ``treatment``, if the arm has one."""
        return next((c for c in self.components if c.extrt == treatment), None)


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
    #: ``efficacy`` (assessments, endpoints) or ``safety`` (vital signs, never an endpoint).
    kind: str = "efficacy"
    #: Values below ``alert_low`` or above ``alert_high`` are flagged in the safety tables.
    alert_low: float | None = None
    alert_high: float | None = None


@dataclass(frozen=True)
class Endpoint:
    """An endpoint: a parameter's variable (CHG, PCHG, AVAL) at a visit, continuous or, with a
    responder rule, binary (``missing`` says how a subject without a value counts)."""

    parameter: str
    visit: str
    variable: str = "CHG"
    name: str | None = None
    responder: ResponderRule | None = None
    missing: str = "non_responder"

    @property
    def kind(self) -> Literal["binary", "continuous"]:
        """``binary`` for a responder endpoint, else ``continuous``."""
        return "binary" if self.responder is not None else "continuous"


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
class Comparison:
    """One declared comparison: arm ``arm`` against arm ``versus``."""

    arm: str
    versus: str


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
    #: The comparisons as declared (empty: every arm against the reference arm).
    comparisons: tuple[Comparison, ...] = ()
    binary_method: str = "logistic"


#: Age limits (inclusive) of a trial that states none: adults, as the schema had them fixed.
ADULT_AGE = (18, 100)


@dataclass(frozen=True)
class Population:
    """Eligible subjects: age limits in years (inclusive; adults unless stated) and sexes
    (None: any); validation checks subjects.AGE and SEX against them (TK025, TK026)."""

    age: tuple[int, int] | None = ADULT_AGE
    sex: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TrialInfo:
    """Identification of the trial and its population."""

    id: str
    title: str
    indication: str
    sponsor: str | None = None
    phase: str | None = None
    population: Population = field(default_factory=Population)


@dataclass(frozen=True)
class Safety:
    """How safety data are coded and reported."""

    meddra_version: str | None = None


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
    missing_data: MissingDataPlan | None = None
    source: Path | None = None
    safety: Safety = field(default_factory=Safety)

    @property
    def reference_arm(self) -> Arm:
        """The arm flagged ``reference``, else the ``versus`` of the first declared comparison."""
        flagged = next((a for a in self.arms if a.reference), None)
        return flagged or self.arm(self.analysis.comparisons[0].versus)

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        """The declared comparisons, else every other arm against the reference, in arm order."""
        if self.analysis.comparisons:
            return self.analysis.comparisons
        ref = self.reference_arm.code
        return tuple(Comparison(a.code, ref) for a in self.arms if a.code != ref)

    @property
    def treatments(self) -> tuple[str, ...]:
        """The EXTRT names of the trial's treatments, in arm and component order."""
        return tuple(dict.fromkeys(c.extrt for a in self.arms for c in a.components))

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


# --- safe reading: bounded text, nesting, numbers and codes ---------------------------------


class _Show(reprlib.Repr):
    """``repr`` shortened for one-line messages; never fails on a huge integer."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 64:
            return f"<integer of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_SHOW = _Show()
_SHOW.maxstring = _SHOW.maxother = 60
_SHOW.maxlist = _SHOW.maxdict = 6


def show(value: object) -> str:
    """A value as it may appear in a one-line message (quoted, escaped and shortened)."""
    return _SHOW.repr(value)


def _bounds_text(
    low: float | None, high: float | None, low_open: bool, high_open: bool, integer: bool
) -> str:
    """``[0, 3650]``, ``(0, inf)`` or, for integers from 1, ``a positive integer up to 20``."""
    if integer and low == 1:
        return "a positive integer" + ("" if high is None else f" up to {high}")
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    opening = "(" if low_open or low is None else "["
    closing = ")" if high_open or high is None else "]"
    interval = f"{opening}{lo}, {hi}{closing}"
    return f"an integer in {interval}" if integer else f"in {interval}"


def check_number(
    key: str,
    value: object,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> float:
    """``value`` of ``key`` if it is a finite number within the bounds (whole if ``integer``).

    The one check of every number in ``trial.toml``: NaN, infinity, booleans, text and
    out-of-range values are a :class:`DefinitionError` naming ``key``.
    """
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise DefinitionError(
            f"{key}: must be {'an integer' if integer else 'a number'} (got {show(value)})"
        )
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        finite = False
    if not finite:
        raise DefinitionError(f"{key}: must be a finite number (got {show(value)})")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        bounds = _bounds_text(low, high, low_open, high_open, integer)
        raise DefinitionError(f"{key}: must be {bounds} (got {show(value)})")
    return value


def check_integer(key: str, value: object, low: int, high: int) -> int:
    """``value`` of ``key`` if it is an integer in ``[low, high]`` (see :func:`check_number`)."""
    return int(check_number(key, value, low, high, integer=True))


def check_code(key: str, value: object) -> str:
    """``value`` of ``key`` if it is a code matching ``CODE_PATTERN`` (safe as a file name)."""
    if not isinstance(value, str):
        raise DefinitionError(f"{key}: expected a code, got {show(value)}")
    if not CODE_PATTERN.fullmatch(value):
        raise DefinitionError(f"{key}: {show(value)} is not a code ({CODE_RULE})")
    return value


#: Where a bracket may open or close, or a comment or string start (which hide brackets).
_SPECIAL = re.compile(r"""[\[\]{}#"']""")
#: A comment or a whole string at the position of its first character (TOML allows one or
#: two quotes right before a multi-line string's closing delimiter).
_HIDDEN = re.compile(
    r'#[^\n]*|"""(?:[^\\]|\\.)*?"""(?:""?)?|'
    r"'''.*?'''(?:''?)?|"
    r'"(?:[^"\\\n]|\\.)*"|'
    r"'[^'\n]*'",
    re.S,
)
#: Key names of trial.toml (anything else is an unknown key, shown quoted).
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Control characters refused in text (tab, newline and carriage return are allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_brackets(text: str) -> None:
    """Refuse arrays and inline tables nested deeper than ``MAX_DEPTH``, before parsing.

    ``tomllib`` parses nesting recursively, so deep text must never reach it. Brackets in
    comments and strings do not count; at an unterminated string the scan stops, as the
    parser will stop there too.
    """
    depth = 0
    pos = 0
    while (found := _SPECIAL.search(text, pos)) is not None:
        char, pos = found.group(), found.end()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, found.start()) + 1
                raise DefinitionError(f"line {line}: nested deeper than {MAX_DEPTH} levels")
        elif char in "]}":
            depth = max(depth - 1, 0)
        else:
            hidden = _HIDDEN.match(text, found.start())
            if hidden is None:
                return
            pos = hidden.end()


def _check_document(data: Mapping[str, Any], keys: re.Pattern[str] = _KEY) -> None:
    """Bound the parsed document: nesting (dotted keys too), key names, texts and arrays.

    Iterative, so no depth of input can exhaust the stack.
    """
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        key, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DefinitionError(f"{key}: nested deeper than {MAX_DEPTH} levels")
        children: list[tuple[str, Any, int]] = []
        if isinstance(value, Mapping):
            for name, item in value.items():
                path = f"{key}.{name}" if key else name
                if not keys.fullmatch(name):
                    raise DefinitionError(f"{key + '.' if key else ''}{show(name)}: unknown key")
                children.append((path, item, depth + 1))
        elif isinstance(value, list):
            if len(value) > MAX_ITEMS:
                raise DefinitionError(f"{key}: more than {MAX_ITEMS} items ({len(value)})")
            children = [(f"{key}[{i}]", item, depth + 1) for i, item in enumerate(value)]
        elif isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise DefinitionError(f"{key}: text longer than {MAX_TEXT} characters")
            control = _CONTROL.search(value)
            if control:
                raise DefinitionError(f"{key}: control character {show(control.group())} in text")
        stack.extend(reversed(children))


def read_toml(
    path: Path | str, what: str = "trial definition", keys: re.Pattern[str] = _KEY
) -> dict[str, Any]:
    """Parse the TOML file ``path`` within the documented limits (the one TOML reader).

    Only a regular file of at most ``MAX_FILE_BYTES`` UTF-8 bytes (a leading byte order mark
    is dropped, as editors write one) is read; nesting, texts and arrays are bounded, and every
    key matches ``keys``. ``what`` names the file when it is missing.
    """
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise DefinitionError(f"{path}: not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise DefinitionError(f"{path}: larger than {MAX_FILE_BYTES} bytes ({info.st_size})")
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise DefinitionError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise DefinitionError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise DefinitionError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        _check_brackets(text)
        data = tomllib.loads(text)
        _check_document(data, keys)
    except DefinitionError as exc:
        raise DefinitionError(f"{path}: {exc}") from None
    except RecursionError:  # a backstop: _check_brackets keeps deep text from tomllib
        raise DefinitionError(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # TOMLDecodeError, or an integer of over 4300 digits
        raise DefinitionError(f"{path}: not valid TOML ({exc})") from None
    return data


# --- reading helpers -----------------------------------------------------------------------


class TomlTable:
    """A TOML table being read: takes keys one by one and rejects any left unread."""

    def __init__(self, data: Any, key: str, label: Callable[[str], str] | None = None) -> None:
        """``label`` names a key in messages when it is not ``key.name`` (command-line options
        overriding ``[interim]`` keys in ``trialkit design gsd``)."""
        if not isinstance(data, Mapping):
            raise DefinitionError(f"{key}: expected a table, got {type(data).__name__}")
        self.data = dict(data)
        self.key = key
        self.label = label

    def path(self, name: str) -> str:
        """How messages name key ``name`` of this table."""
        if self.label is not None:
            return self.label(name)
        return f"{self.key}.{name}" if self.key else name

    def required(self, name: str) -> Any:
        """Pop ``name``, which must be present."""
        if name not in self.data:
            raise DefinitionError(f"{self.path(name)}: required key is missing")
        return self.data.pop(name)

    def take(self, name: str, kind: type[T] | tuple[type, ...], default: Any = ...) -> Any:
        """Pop ``name``, checking its type; a missing key without default is an error."""
        if name not in self.data and default is not ...:
            return default
        value = self.required(name)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if (bool not in kinds and isinstance(value, bool)) or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise DefinitionError(f"{self.path(name)}: expected {names}, got {show(value)}")
        return value

    def text(self, name: str, default: Any = ...) -> Any:
        """Pop a string key that is not blank."""
        value = self.take(name, str, default)
        if isinstance(value, str) and not value.strip():
            raise DefinitionError(f"{self.path(name)}: must not be blank")
        return value

    def code(self, name: str) -> str:
        """Pop a required code (``CODE_PATTERN``)."""
        return check_code(self.path(name), self.required(name))

    def codes(self, name: str) -> tuple[str, ...]:
        """Pop a list of distinct codes (``CODE_PATTERN``)."""
        values = self.take(name, list, [])
        codes = tuple(check_code(f"{self.path(name)}[{i}]", v) for i, v in enumerate(values))
        dup = _first_duplicate(codes)
        if dup:
            raise DefinitionError(f"{self.path(name)}: {dup!r} appears twice")
        return codes

    def number(
        self,
        name: str,
        default: D,
        low: float | None = None,
        high: float | None = None,
        *,
        low_open: bool = False,
        high_open: bool = False,
    ) -> float | D:
        """Pop a finite number within the bounds (an integer is read as a float)."""
        if name not in self.data:
            return default
        value = self.data.pop(name)
        checked = check_number(
            self.path(name), value, low, high, low_open=low_open, high_open=high_open
        )
        return float(checked)

    def integer(self, name: str, default: D, low: int, high: int) -> int | D:
        """Pop an integer in ``[low, high]``."""
        if name not in self.data:
            return default
        return check_integer(self.path(name), self.data.pop(name), low, high)

    def choice(self, name: str, allowed: Sequence[str], default: Any = ...) -> Any:
        """Pop a string key that must be one of ``allowed``."""
        value = self.take(name, str, default)
        if value is not None and value is not default and value not in allowed:
            raise DefinitionError(
                f"{self.path(name)}: {show(value)} is not one of {', '.join(allowed)}"
            )
        return value

    def strings(self, name: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        """Pop a list of strings."""
        values = self.take(name, list, list(default))
        for i, v in enumerate(values):
            if not isinstance(v, str):
                raise DefinitionError(f"{self.path(name)}[{i}]: expected a string, got {show(v)}")
        return tuple(values)

    def numbers(
        self,
        name: str,
        kind: type,
        default: Sequence[float] = (),
        low: float | None = None,
        high: float | None = None,
    ) -> tuple[Any, ...]:
        """Pop a strictly increasing list of numbers (``kind`` int or float) within the bounds."""
        values = self.take(name, list, list(default))
        key = self.path(name)
        checked = [
            check_number(f"{key}[{i}]", v, low, high, integer=kind is int)
            for i, v in enumerate(values)
        ]
        if any(b <= a for a, b in itertools.pairwise(checked)):
            raise DefinitionError(f"{key}: must increase (got {show(values)})")
        return tuple(kind(v) for v in checked)

    def range(
        self, name: str, kind: type = float, low: float | None = None, high: float | None = None
    ) -> tuple[Any, Any] | None:
        """Pop a two-element ``[low, high]`` range (each within the bounds) with low <= high."""
        value = self.take(name, list, None)
        if value is None:
            return None
        key = self.path(name)
        if len(value) != 2:
            raise DefinitionError(f"{key}: expected [low, high], got {show(value)}")
        a, b = (
            check_number(f"{key}[{i}]", v, low, high, integer=kind is int)
            for i, v in enumerate(value)
        )
        if a > b:
            raise DefinitionError(
                f"{key}: expected [low, high] with low <= high, got {show(value)}"
            )
        return (kind(a), kind(b))

    def tables(self, name: str, required: bool = False) -> list[TomlTable]:
        """Pop an array of tables."""
        values = self.take(name, list, ... if required else [])
        return [TomlTable(v, f"{self.path(name)}[{i}]") for i, v in enumerate(values)]

    def table(self, name: str) -> TomlTable | None:
        """Pop a sub-table, if present."""
        value = self.take(name, dict, None)
        return None if value is None else TomlTable(value, self.path(name))

    def done(self) -> None:
        """Reject keys nobody read: a typo must not be silently ignored."""
        if self.data:
            unknown = sorted(self.data)[0]
            raise DefinitionError(f"{self.path(unknown)}: unknown key")


#: How each component attribute of the treatment registry is read (name, table -> value).
_ATTRIBUTE_READERS: dict[str, Callable[[TomlTable, str], Any]] = {
    "name": lambda t, n: t.text(n, None),
    "matches": lambda t, n: t.choice(n, TREATMENTS, None),
    "concentration_pct": lambda t, n: t.number(n, None, 0, 100, low_open=True),
    "dose_mg": lambda t, n: t.number(n, None, 0, 100_000, low_open=True),
    "route": lambda t, n: t.choice(n, ROUTES, None),
    "frequency": lambda t, n: t.text(n, None),
    "device": lambda t, n: t.choice(n, DEVICES, None),
    "setting": lambda t, n: t.choice(n, SETTINGS, None),
    "needle_depth_mm": lambda t, n: t.range(n, float, 0, 10),
    "volume_ml": lambda t, n: t.range(n, float, 0, 100),
    "interval_days": lambda t, n: t.integer(n, None, 1, MAX_DAYS),
    "sessions": lambda t, n: t.integer(n, None, 1, 1000),
}


def _component(t: TomlTable) -> Component:
    """A component read through the treatment registry: the kind's attributes, its required
    ones (always or given another attribute's value) and its routes."""
    kind = KINDS[t.choice("treatment", TREATMENTS)]
    values = {a: _ATTRIBUTE_READERS[a](t, a) for a in kind.attributes}
    foreign = next((a for a in ATTRIBUTES if a in t.data), None)
    if foreign is not None:
        raise DefinitionError(
            f"{t.path(foreign)}: not an attribute of {kind.name} "
            f"(its attributes: {', '.join(kind.attributes)})"
        )
    t.done()
    required = [*kind.required, *(r for a, v, r in kind.required_when if values.get(a) == v)]
    for name in required:
        if values[name] is None:
            condition = next(
                (f" with {a} = {v!r}" for a, v, r in kind.required_when if r == name), ""
            )
            raise DefinitionError(f"{t.path(name)}: required for {kind.name}{condition}")
    route = values.get("route")
    if route is not None and route not in kind.routes:
        raise DefinitionError(
            f"{t.path('route')}: {kind.name} is given {' or '.join(kind.routes)}, not {route}"
        )
    if values.get("matches") == kind.name:
        raise DefinitionError(f"{t.path('matches')}: {kind.name} cannot imitate itself")
    return Component(treatment=kind.name, **values)


def _arm(t: TomlTable) -> Arm:
    arm = Arm(
        code=t.code("code"),
        label=t.text("label"),
        reference=t.take("reference", bool, False),
        allocation=t.number("allocation", 1.0, 0, 1000, low_open=True),
        components=tuple(_component(c) for c in t.tables("components", required=True)),
    )
    t.done()
    if not arm.components:
        raise DefinitionError(f"{t.path('components')}: an arm needs at least one component")
    dup = _first_duplicate([c.extrt for c in arm.components])
    if dup:
        raise DefinitionError(f"{t.path('components')}: treatment {dup!r} appears twice")
    return arm


def _visit(t: TomlTable) -> Visit:
    window = t.range("window", int, -MAX_DAYS, MAX_DAYS)
    visit = Visit(
        code=t.code("code"),
        day=check_integer(t.path("day"), t.required("day"), -MAX_DAYS, MAX_DAYS),
        window=window if window is not None else (0, 0),
        baseline=t.take("baseline", bool, False),
        label=t.text("label", None),
    )
    t.done()
    if visit.code in PSEUDO_VISITS:
        raise DefinitionError(
            f"{t.path('code')}: {visit.code!r} is reserved for unplanned visits "
            f"({', '.join(PSEUDO_VISITS)})"
        )
    if visit.day == 0:
        raise DefinitionError(f"{t.path('day')}: there is no study day 0 (day 1 is randomisation)")
    if not visit.window[0] <= 0 <= visit.window[1]:
        raise DefinitionError(
            f"{t.path('window')}: must contain the target day (before <= 0 <= after), "
            f"got {list(visit.window)}"
        )
    return visit


def _parameter(t: TomlTable) -> Parameter:
    levels = t.numbers("levels", int, (), -1000, 1000) if "levels" in t.data else None
    p = Parameter(
        code=t.code("code"),
        label=t.text("label"),
        unit=t.text("unit", None),
        min=t.number("min", None),
        max=t.number("max", None),
        integer=t.take("integer", bool, False),
        direction=t.choice("direction", ("higher", "lower"), "higher"),
        scale=t.choice("scale", ("continuous", "ordinal"), "continuous"),
        levels=levels,
        kind=t.choice("kind", PARAMETER_KINDS, "efficacy"),
        alert_low=t.number("alert_low", None),
        alert_high=t.number("alert_high", None),
    )
    t.done()
    if p.min is not None and p.max is not None and p.min > p.max:
        raise DefinitionError(f"{t.path('min')}: min {p.min} is above max {p.max}")
    alerts = p.alert_low is not None or p.alert_high is not None
    if alerts and p.kind != "safety":
        name = "alert_low" if p.alert_low is not None else "alert_high"
        raise DefinitionError(f'{t.path(name)}: only a parameter of kind "safety" has alerts')
    if p.alert_low is not None and p.alert_high is not None and p.alert_low > p.alert_high:
        raise DefinitionError(
            f"{t.path('alert_low')}: alert_low {p.alert_low:g} is above alert_high {p.alert_high:g}"
        )
    if p.scale == "ordinal":
        if not p.levels:
            raise DefinitionError(f"{t.path('levels')}: an ordinal parameter needs integer levels")
        outside = [
            v
            for v in p.levels
            if (p.min is not None and v < p.min) or (p.max is not None and v > p.max)
        ]
        if outside:
            raise DefinitionError(f"{t.path('levels')}: level {outside[0]} is outside [min, max]")
    elif p.levels is not None:
        raise DefinitionError(f"{t.path('levels')}: only an ordinal parameter has levels")
    return p


def _endpoint(t: TomlTable) -> Endpoint:
    parameter = t.take("parameter", str)
    visit = t.take("visit", str)
    variable = t.choice("variable", ENDPOINT_VARIABLES, None)
    name = t.text("name", None)
    rule_text = t.text("responder", None)
    rule = None if rule_text is None else parse_responder_rule(rule_text, t.path("responder"))
    missing = t.choice("missing", MISSING_RESPONSE_RULES, None)
    t.done()
    if rule is not None and variable is not None and variable != rule.variable:
        raise DefinitionError(
            f"{t.path('variable')}: {variable} differs from the responder rule's {rule.variable}"
        )
    if rule is None and missing is not None:
        raise DefinitionError(f"{t.path('missing')}: only a responder endpoint has this key")
    return Endpoint(
        parameter=parameter,
        visit=visit,
        variable=rule.variable if rule is not None else variable or "CHG",
        name=name,
        responder=rule,
        missing=missing or "non_responder",
    )


def _comparison(t: TomlTable) -> Comparison:
    c = Comparison(arm=t.code("arm"), versus=t.code("versus"))
    t.done()
    return c


def _analysis(t: TomlTable | None) -> Analysis:
    if t is None:
        return Analysis()
    a = Analysis(
        population=t.choice("population", POPULATIONS, "ITT"),
        model=t.choice("model", ("mmrm",), "mmrm"),
        covariance=t.choice("covariance", COVARIANCE_STRUCTURES, "us"),
        covariance_fallback=t.strings("covariance_fallback"),
        df=t.choice("df", DF_METHODS, "kenward-roger"),
        covariates=t.codes("covariates"),
        strata=t.codes("strata"),
        pool_sites_min_size=t.integer("pool_sites_min_size", None, 1, 100_000),
        alpha=t.number("alpha", 0.05, 0, 1, low_open=True, high_open=True),
        multiplicity=t.choice("multiplicity", MULTIPLICITY_METHODS, "dunnett"),
        multiplicity_order=t.strings("multiplicity_order"),
        responder_pct_change=t.integer("responder_pct_change", 20, 1, 1000),
        ae_lag_days=t.integer("ae_lag_days", 30, 0, MAX_DAYS),
        age_groups=t.numbers("age_groups", int, (40, 65), 0, 150),
        comparisons=tuple(_comparison(c) for c in t.tables("comparisons")),
        binary_method=t.choice("binary_method", BINARY_METHODS, "logistic"),
    )
    t.done()
    for i, cov in enumerate(a.covariance_fallback):
        if cov not in COVARIANCE_STRUCTURES:
            raise DefinitionError(
                f"{t.path('covariance_fallback')}[{i}]: {show(cov)} is not one of "
                f"{', '.join(COVARIANCE_STRUCTURES)}"
            )
    return a


def _subgroup(t: TomlTable) -> Subgroup:
    variable = t.code("variable")
    s = Subgroup(
        variable=variable,
        label=t.text("label", variable),
        cuts=t.numbers("cuts", float),
    )
    t.done()
    return s


def _per_protocol(t: TomlTable | None) -> PerProtocol:
    if t is None:
        return PerProtocol()
    pp = PerProtocol(
        min_session_share=t.number("min_session_share", 0.8, 0, 1),
        exposure_within_protocol=t.take("exposure_within_protocol", bool, True),
        require_primary_visit=t.take("require_primary_visit", bool, True),
    )
    t.done()
    return pp


def _estimand(t: TomlTable | None) -> Estimand:
    if t is None:
        return Estimand()
    events = []
    for e in t.tables("intercurrent_events"):
        events.append(
            IntercurrentEvent(
                event=e.choice("event", INTERCURRENT_EVENTS),
                strategy=e.choice("strategy", ESTIMAND_STRATEGIES),
            )
        )
        e.done()
    est = Estimand(intercurrent_events=tuple(events), description=t.text("description", None))
    t.done()
    dup = _first_duplicate([e.event for e in events])
    if dup:
        raise DefinitionError(f"{t.path('intercurrent_events')}: event {dup!r} appears twice")
    return est


def _first_duplicate(values: Sequence[str]) -> str | None:
    """The first value equal to an earlier one, ignoring case (codes become file names)."""
    seen: set[str] = set()
    for v in values:
        if v.casefold() in seen:
            return v
        seen.add(v.casefold())
    return None


def _check_unique(key: str, codes: Sequence[str], what: str) -> None:
    dup = _first_duplicate(codes)
    if dup:
        raise DefinitionError(f"{key}: duplicate {what} code {dup!r}")


def _check_endpoints(d: TrialDefinition) -> None:
    """Each endpoint names a known parameter and post-baseline visit, once; names are unique."""
    params = {p.code for p in d.parameters}
    visits = {v.code for v in d.visits}
    endpoints = [("endpoints.primary", d.primary)] + [
        (f"endpoints.secondary[{i}]", e) for i, e in enumerate(d.secondary)
    ]
    seen: set[tuple[str, str, str]] = set()
    names: set[str] = set()
    for key, e in endpoints:
        if e.parameter not in params:
            raise DefinitionError(f"{key}.parameter: unknown parameter {show(e.parameter)}")
        if d.parameter(e.parameter).kind == "safety":
            raise DefinitionError(
                f"{key}.parameter: {e.parameter} is a safety parameter, never an endpoint"
            )
        if e.visit not in visits:
            raise DefinitionError(f"{key}.visit: unknown visit {show(e.visit)}")
        if e.visit == d.baseline_visit.code:
            raise DefinitionError(f"{key}.visit: an endpoint cannot be at the baseline visit")
        what = e.responder.text if e.responder is not None else e.variable
        if (e.parameter, e.visit, what) in seen:
            raise DefinitionError(
                f"{key}: {what} of {e.parameter} at {e.visit} is already an endpoint"
            )
        seen.add((e.parameter, e.visit, what))
        if e.name is not None:
            if e.name in names:
                raise DefinitionError(f"{key}.name: {show(e.name)} names two endpoints")
            names.add(e.name)
    if d.parameter(d.primary.parameter).scale != "continuous":
        raise DefinitionError(
            "endpoints.primary.parameter: the primary endpoint must be continuous"
        )


def _check_consistency(d: TrialDefinition) -> None:
    """Cross-key rules: unique codes, two arms and one reference, one baseline, windows,
    endpoints, multiplicity order, subgroups and the interim plan's arms."""
    if len(d.arms) < 2:
        raise DefinitionError(f"arms: at least two arms are needed (found {len(d.arms)})")
    _check_unique("arms", [a.code for a in d.arms], "arm")
    _check_unique("visits", [v.code for v in d.visits], "visit")
    _check_unique("parameters", [p.code for p in d.parameters], "parameter")
    refs = [a.code for a in d.arms if a.reference]
    if len(refs) > 1 or (not refs and not d.analysis.comparisons):
        raise DefinitionError(
            f"arms: exactly one arm must have reference = true (found {len(refs)}), "
            "unless [[analysis.comparisons]] are declared"
        )
    _check_comparisons(d)
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
    _check_endpoints(d)
    _check_estimand(d)
    active = list(dict.fromkeys(c.arm for c in d.comparisons))
    order = d.analysis.multiplicity_order
    for i, code in enumerate(order):
        if code not in active:
            raise DefinitionError(
                f"analysis.multiplicity_order[{i}]: {show(code)} is not an active arm code"
            )
    if d.analysis.multiplicity == "fixed_sequence" and sorted(order) != sorted(active):
        raise DefinitionError(
            "analysis.multiplicity_order: fixed_sequence needs every active arm once, in order"
        )
    dup = _first_duplicate([s.variable for s in d.subgroups])
    if dup:
        raise DefinitionError(f"subgroups: {dup!r} is a subgroup twice")
    if d.interim is not None and d.interim.active_arms != len(active):
        raise DefinitionError(
            f"interim.active_arms: the plan has {d.interim.active_arms}, the trial "
            f"{len(active)} active arms"
        )
    if d.missing_data is not None:
        d.missing_data.check(d)


def _check_estimand(d: TrialDefinition) -> None:
    """A composite strategy (a subject with the event is a non-responder) needs a binary
    primary endpoint: a continuous value has no non-response to take."""
    if d.primary.kind == "binary":
        return
    for i, ice in enumerate(d.estimand.intercurrent_events):
        if ice.strategy in COMPOSITE_STRATEGIES:
            raise DefinitionError(
                f"estimand.intercurrent_events[{i}].strategy: {show(ice.strategy)} (composite) "
                "needs a binary primary endpoint (endpoints.primary has no responder rule)"
            )


def _check_comparisons(d: TrialDefinition) -> None:
    """Declared comparisons name two different arms of the trial, each pair once."""
    arms = {a.code for a in d.arms}
    seen: set[frozenset[str]] = set()
    for i, c in enumerate(d.analysis.comparisons):
        key = f"analysis.comparisons[{i}]"
        for name in ("arm", "versus"):
            code = getattr(c, name)
            if code not in arms:
                raise DefinitionError(f"{key}.{name}: unknown arm {show(code)}")
        if c.arm == c.versus:
            raise DefinitionError(f"{key}: compares arm {c.arm} with itself")
        pair = frozenset((c.arm, c.versus))
        if pair in seen:
            raise DefinitionError(f"{key}: {c.arm} and {c.versus} are already compared")
        seen.add(pair)


def _population(t: TomlTable | None) -> Population:
    if t is None:
        return Population()
    sexes = t.strings("sex") if "sex" in t.data else None
    pop = Population(age=t.range("age", int, 0, 150) or ADULT_AGE, sex=sexes)
    t.done()
    for i, sex in enumerate(sexes or ()):
        if sex not in SEXES:
            raise DefinitionError(
                f"{t.path('sex')}[{i}]: {show(sex)} is not one of {', '.join(SEXES)}"
            )
    if sexes is not None:
        if not sexes:
            raise DefinitionError(f"{t.path('sex')}: names no sex")
        dup = _first_duplicate(sexes)
        if dup:
            raise DefinitionError(f"{t.path('sex')}: {dup!r} appears twice")
    return pop


def _safety(t: TomlTable | None) -> Safety:
    if t is None:
        return Safety()
    safety = Safety(meddra_version=t.text("meddra_version", None))
    t.done()
    return safety


def _missing_data(mapping: Mapping[str, Any]) -> MissingDataPlan:
    """The ``[missing_data]`` plan; its package (numpy, pandas) is imported only when planned."""
    from trialkit.missing_data.plan import MissingDataPlan

    return MissingDataPlan.from_mapping(mapping, key="missing_data")


def parse_definition(data: Mapping[str, Any], source: Path | None = None) -> TrialDefinition:
    """Build a checked :class:`TrialDefinition` from the mapping :func:`read_toml` gives."""
    from trialkit.design.plan import InterimPlan  # the plan module reads numbers with ours

    root = TomlTable(data, "")
    info_t = root.table("trial")
    if info_t is None:
        raise DefinitionError("trial: required table is missing")
    info = TrialInfo(
        id=info_t.text("id"),
        title=info_t.text("title"),
        indication=info_t.choice("indication", ("androgenetic alopecia", "alopecia areata")),
        sponsor=info_t.text("sponsor", None),
        phase=info_t.text("phase", None),
        population=_population(info_t.table("population")),
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
    md = root.take("missing_data", dict, None)
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
        missing_data=None if md is None else _missing_data(md),
        source=source,
        safety=_safety(root.table("safety")),
    )
    root.done()
    _check_consistency(definition)
    return definition


def load_definition(path: Path | str) -> TrialDefinition:
    """Read and check ``trial.toml`` (or the ``trial.toml`` inside a trial folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / "trial.toml"
    data = read_toml(path)
    try:
        return parse_definition(data, source=path)
    except DefinitionError as exc:
        raise DefinitionError(f"{path}: {exc}") from None


__all__ = [
    "DEVICES",
    "SETTINGS",
    "TREATMENTS",
    "Analysis",
    "Arm",
    "Comparison",
    "Component",
    "Endpoint",
    "Estimand",
    "IntercurrentEvent",
    "Parameter",
    "PerProtocol",
    "Population",
    "Safety",
    "Subgroup",
    "TrialDefinition",
    "TrialInfo",
    "Visit",
    "check_code",
    "check_integer",
    "check_number",
    "load_definition",
    "parse_definition",
    "read_toml",
    "show",
]
