"""The registry of study treatment kinds: one entry per kind says what a component may state.

Each :class:`TreatmentKind` lists its attributes (the keys of ``[[arms.components]]`` besides
``treatment``), which are required (always, or when another attribute has a value, as oral
minoxidil needs ``dose_mg``), the routes it allows, whether it is a procedure given in sessions
or a drug or product dispensed in periods, and which exposure columns are checked against which
protocol range. The definition reads components through it; validation, ADSL and the
per-protocol rules follow it, so a new kind is one entry here. Plain data, no heavy imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialkit.vocabulary import ROUTES

#: Every attribute a component may have, in the order the docs list them.
ATTRIBUTES: tuple[str, ...] = (
    "name", "matches", "concentration_pct", "dose_mg", "route", "frequency", "device", "setting",
    "needle_depth_mm", "volume_ml", "interval_days", "sessions",
)  # fmt: skip
#: The routes a component could name before routes were set per kind (the four first kinds).
_FIRST_ROUTES = ("topical", "oral", "intradermal")
#: What the four first kinds accept (all but microneedling's device and needle depth).
_FIRST_ATTRIBUTES = (
    "concentration_pct", "dose_mg", "route", "frequency", "setting", "volume_ml",
    "interval_days", "sessions",
)  # fmt: skip


@dataclass(frozen=True)
class TreatmentKind:
    """A kind of study treatment: what a component of it states and how its exposure is checked.

    ``required_when`` holds ``(attribute, value, required attribute)``: with ``attribute =
    value`` the third attribute is required. ``ranges`` pairs an exposure column with the
    component's ``[low, high]`` attribute it must lie within. ``routes`` are the routes a
    component of this kind may name; ``control`` marks vehicles, placebos and shams.
    """

    name: str
    description: str
    attributes: tuple[str, ...]
    required: tuple[str, ...] = ()
    required_when: tuple[tuple[str, str, str], ...] = ()
    routes: tuple[str, ...] = ()
    procedure: bool = False
    control: bool = False
    ranges: tuple[tuple[str, str], ...] = ()
    #: A procedure's prefix of its ADSL session columns (``MN`` -> MN_SESSIONS).
    short: str | None = None
    #: Summarised in every ADSL, given or not (the layout ADSL had before the registry).
    always_in_adsl: bool = False


_KINDS = (
    TreatmentKind(
        "minoxidil", "minoxidil, topical (default) or oral (`route = \"oral\"` with `dose_mg`)",
        _FIRST_ATTRIBUTES, required_when=(("route", "oral", "dose_mg"),), routes=_FIRST_ROUTES,
        always_in_adsl=True,
    ),
    TreatmentKind(
        "finasteride", "finasteride", _FIRST_ATTRIBUTES, routes=_FIRST_ROUTES, always_in_adsl=True
    ),
    TreatmentKind(
        "microneedling", "microneedling sessions",
        (*_FIRST_ATTRIBUTES, "device", "needle_depth_mm"),
        required=("device", "needle_depth_mm", "interval_days"), routes=_FIRST_ROUTES,
        procedure=True, ranges=(("NEEDLE_DEPTH_MM", "needle_depth_mm"),), short="MN",
        always_in_adsl=True,
    ),
    TreatmentKind(
        "prp", "platelet-rich plasma injection sessions", _FIRST_ATTRIBUTES,
        required=("volume_ml",), routes=_FIRST_ROUTES, procedure=True,
        ranges=(("VOLUME_ML", "volume_ml"),), short="PRP", always_in_adsl=True,
    ),
    TreatmentKind(
        "dutasteride", "dutasteride", ("dose_mg", "route", "frequency"), routes=("oral", "topical")
    ),
    TreatmentKind(
        "vehicle", "topical vehicle (placebo); `matches` names the treatment it imitates",
        ("matches", "concentration_pct", "route", "frequency"), required=("matches",),
        routes=("topical",), control=True,
    ),
    TreatmentKind(
        "placebo", "oral placebo; `matches` may name the treatment it imitates",
        ("matches", "dose_mg", "route", "frequency"), routes=("oral",), control=True,
    ),
    TreatmentKind(
        "sham_microneedling", "sham microneedling sessions (no needle penetration)",
        ("device", "setting", "interval_days", "sessions"), required=("interval_days",),
        procedure=True, control=True, short="SHAM_MN",
    ),
    TreatmentKind(
        "saline_injection", "saline injection sessions (control for PRP)",
        ("volume_ml", "interval_days", "sessions"), required=("volume_ml", "interval_days"),
        procedure=True, control=True, ranges=(("VOLUME_ML", "volume_ml"),), short="SALINE",
    ),
    TreatmentKind(
        "other", "any other drug; `name` is its EXTRT in the exposure data",
        ("name", "dose_mg", "route", "frequency"), required=("name",), routes=ROUTES,
    ),
)  # fmt: skip

#: The treatment kinds by name, in registry order.
KINDS: dict[str, TreatmentKind] = {k.name: k for k in _KINDS}
#: Names of the treatment kinds (the values of ``treatment`` in ``[[arms.components]]``).
TREATMENTS: tuple[str, ...] = tuple(KINDS)
#: The kind whose exposure rows are named by the component's ``name``, not by the kind.
OTHER = "other"


@dataclass(frozen=True)
class Component:
    """One study treatment given in an arm and its protocol range (built by the definition
    through :data:`KINDS`; attributes a kind does not have stay None)."""

    treatment: str
    name: str | None = None
    matches: str | None = None
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
    def kind(self) -> TreatmentKind:
        """The registry entry of this component's treatment."""
        return KINDS[self.treatment]

    @property
    def extrt(self) -> str:
        """The EXTRT naming this treatment in the exposure data: ``name`` for ``other``."""
        return self.name if self.treatment == OTHER and self.name else self.treatment

    @property
    def is_procedure(self) -> bool:
        """Procedures are given in sessions, drugs and products in dispensing periods."""
        return self.kind.procedure

    def protocol_range(self, column: str) -> tuple[float, float] | None:
        """The protocol's ``[low, high]`` for exposure ``column``, if this kind checks it."""
        attribute = dict(self.kind.ranges).get(column)
        return None if attribute is None else getattr(self, attribute)


#: Exposure columns some kind checks against a protocol range, in registry order.
RANGE_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(c for k in _KINDS for c, _ in k.ranges))

__all__ = [
    "ATTRIBUTES",
    "KINDS",
    "OTHER",
    "RANGE_COLUMNS",
    "TREATMENTS",
    "Component",
    "TreatmentKind",
]
