"""Seeded generator of synthetic trial datasets from a trial definition and a :class:`Scenario`.

The model, per subject and parameter: value = true baseline + arm mean change at that day
(linear between the scheduled visits' targets) + a random change reached at the last visit
(random slope, linear in time) + residual error correlated over time (AR(1) in days,
``rho`` per 28 days). Counts are rounded to integers, ordinal grades come from a latent scale
driven by another parameter's change. A relative score (SALT) changes by a share of its
baseline: a responder's percent change follows the arm's targets times a depth of response,
everyone's drifts by a random percentage. Parameters of kind ``safety`` (vital signs) go to the
``vital_signs`` dataset. Arms get subjects in their allocation ratio. Everything is drawn from
one ``numpy.random.default_rng`` in a fixed order, so the same definition and scenario give the
same frames, byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from trialkit.definition import Arm, Parameter, TrialDefinition
from trialkit.examples.scenario import ParameterSpec, Scenario
from trialkit.treatments import Component
from trialkit.vocabulary import EARLY_TERMINATION, UNSCHEDULED

SUBJECT_COLUMNS = (
    "STUDYID",
    "USUBJID",
    "SITEID",
    "ARMCD",
    "ARM",
    "RANDDT",
    "AGE",
    "SEX",
    "SEVERITY",
    "EOSSTT",
    "EOSDT",
    "DCSREAS",
)
ASSESSMENT_COLUMNS = ("STUDYID", "USUBJID", "VISIT", "ADT", "PARAMCD", "AVAL")
#: Vital signs have the columns of assessments (parameters of kind ``safety``).
VITAL_SIGNS_COLUMNS = ASSESSMENT_COLUMNS
EXPOSURE_COLUMNS = (
    "STUDYID",
    "USUBJID",
    "EXTRT",
    "EXSTDT",
    "EXENDT",
    "EXDOSE",
    "EXDOSU",
    "EXDOSFRQ",
    "DEVICE",
    "SETTING",
    "NEEDLE_DEPTH_MM",
    "VOLUME_ML",
)
AE_COLUMNS = (
    "STUDYID",
    "USUBJID",
    "AESEQ",
    "AETERM",
    "AEDECOD",
    "AEBODSYS",
    "AESTDT",
    "AEENDT",
    "AESEV",
    "AEREL",
    "AESER",
)
#: Action taken with study treatment; added when the scenario has ``ae_actions``.
AE_ACTION = "AEACN"
#: The action of the adverse event that ends a subject's study treatment.
DRUG_WITHDRAWN = "DRUG WITHDRAWN"
CM_COLUMNS = ("STUDYID", "USUBJID", "CMSEQ", "CMTRT", "CMINDC", "CMSTDT", "CMENDT", "CMRESCUE")

#: Ordinary concomitant medications: (CMTRT, CMINDC).
ORDINARY_CMS = (
    ("PARACETAMOL", "Headache"),
    ("IBUPROFEN", "Procedural pain"),
    ("HYDROCORTISONE 1% CREAM", "Scalp erythema"),
    ("CETIRIZINE", "Seasonal allergy"),
    ("MULTIVITAMIN", "Supplement"),
    ("KETOCONAZOLE 2% SHAMPOO", "Dandruff"),
)

#: Dose, unit and frequency of a dispensing period of each drug (the vehicle as minoxidil).
DRUG_DOSE = {
    "minoxidil": (1.0, "mL", "BID"),
    "finasteride": (1.0, "mg", "QD"),
    "vehicle": (1.0, "mL", "BID"),
}


@dataclass
class _Subject:
    """A simulated subject while the generator works on it (days are study days, day 1 = RANDDT)."""

    usubjid: str
    site: str
    rand_day: int  # days after the scenario's start date
    age: int
    sex: str
    severity: str
    arm: str = ""
    eos_day: int = 0
    dropout_day: int | None = None
    reason: str | None = None
    stop_day: int | None = None
    slopes: dict[str, float] = field(default_factory=dict)
    depths: dict[str, float] = field(default_factory=dict)  # relative: response depth, 0 if none
    baselines: dict[str, float] = field(default_factory=dict)
    visits: list[tuple[str, int]] = field(default_factory=list)  # (VISIT, study day)


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (integers summing to ``total``)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    sizes = np.floor(raw).astype(int)
    order = np.argsort(-(raw - sizes), kind="stable")
    for i in order[: total - sizes.sum()]:
        sizes[i] += 1
    return [int(s) for s in sizes]


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """One key of ``weights`` drawn with probability proportional to its weight."""
    keys = list(weights)
    p = np.asarray([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _enrol(d: TrialDefinition, s: Scenario, rng: np.random.Generator) -> list[_Subject]:
    """Subjects by site, with randomisation day, age, sex and severity, in enrolment order."""
    total = sum(_quota(d, s).values())
    sizes = _largest_remainder(total, [site.weight for site in s.sites])
    subjects: list[_Subject] = []
    for site, n in zip(s.sites, sizes, strict=True):
        days = np.sort(rng.integers(site.start_day, s.enrolment_days + 1, size=n))
        for k, day in enumerate(days, start=1):
            age = _age(s, rng)
            subjects.append(
                _Subject(
                    usubjid=f"{d.trial.id}-{site.id}-{k:03d}",
                    site=site.id,
                    rand_day=int(day),
                    age=age,
                    sex=_choice(rng, dict(s.sex)),
                    severity=_choice(rng, dict(s.severity)),
                )
            )
    subjects.sort(key=lambda x: (x.rand_day, x.usubjid))
    return subjects


def _age(s: Scenario, rng: np.random.Generator) -> int:
    """An age in ``age_range``: a rounded normal draw, clipped or drawn again (``age_outside``)."""
    lo, hi = s.age_range
    age = round(rng.normal(s.age_mean, s.age_sd))
    while s.age_outside == "redraw" and not lo <= age <= hi:
        age = round(rng.normal(s.age_mean, s.age_sd))
    return int(np.clip(age, lo, hi))


def _ratio(d: TrialDefinition) -> dict[str, int]:
    """Each arm's whole share of the allocation ratio (``allocation`` of trial.toml)."""
    if any(not float(a.allocation).is_integer() for a in d.arms):
        raise ValueError("the generator needs whole allocation ratios")
    return {a.code: int(a.allocation) for a in d.arms}


def _quota(d: TrialDefinition, s: Scenario) -> dict[str, int]:
    """Subjects per arm: ``n_per_arm`` per unit of the arm's allocation ratio."""
    return {code: s.n_per_arm * k for code, k in _ratio(d).items()}


def _randomise(
    d: TrialDefinition, s: Scenario, subjects: list[_Subject], rng: np.random.Generator
) -> None:
    """Permuted blocks within severity strata, each block in the allocation ratio; the
    incomplete blocks share the remaining quota."""
    unit = [code for code, k in _ratio(d).items() for _ in range(k)]
    if s.block_size % len(unit):
        raise ValueError(
            f"block_size {s.block_size} is not a multiple of the allocation ratio's {len(unit)}"
        )
    quota = _quota(d, s)
    leftovers: list[_Subject] = []
    for stratum in sorted({x.severity for x in subjects}):
        members = [x for x in subjects if x.severity == stratum]
        full = len(members) // s.block_size * s.block_size
        for start in range(0, full, s.block_size):
            block = unit * (s.block_size // len(unit))
            for x, arm in zip(
                members[start : start + s.block_size], rng.permutation(block), strict=True
            ):
                x.arm = str(arm)
                quota[x.arm] -= 1
        leftovers.extend(members[full:])
    rest = [a for a in quota for _ in range(quota[a])]
    leftovers.sort(key=lambda x: (x.rand_day, x.usubjid))
    for x, arm in zip(leftovers, rng.permutation(rest), strict=True):
        x.arm = str(arm)


def _effect_curve(
    d: TrialDefinition, p: ParameterSpec, arm: str
) -> tuple[list[float], list[float]]:
    """Knots (study day, mean change) of an arm's mean change: 0 at day 1, the targets after."""
    table = p.effects.get(arm, {})
    knots = sorted((d.visit(v).day, float(c)) for v, c in table.items())
    return [1.0] + [float(k[0]) for k in knots], [0.0] + [k[1] for k in knots]


def _schedule(d: TrialDefinition, s: Scenario, x: _Subject, rng: np.random.Generator) -> None:
    """Visit days, dropout and end of study of one subject."""
    base = d.baseline_visit
    last = d.post_baseline_visits[-1]
    offset = 0 if rng.random() < 0.5 else -int(rng.integers(1, s.baseline_offset_max + 1))
    offset = max(offset, base.window[0])
    x.visits = [(base.code, base.day + offset)]
    for v in d.post_baseline_visits:
        if rng.random() < s.out_of_window_prob:
            side = 1 if rng.random() < 0.6 else -1
            off = (v.window[1] if side > 0 else v.window[0]) + side * int(rng.integers(1, 5))
        else:
            off = int(np.clip(round(rng.normal(0, s.visit_offset_sd)), *v.window))
        missed = v is not last and rng.random() < s.missed_visit_prob
        if not missed:
            x.visits.append((v.code, v.day + off))
    if x.dropout_day is not None:
        x.visits = [(c, day) for c, day in x.visits if day < x.dropout_day or c == base.code]
        x.eos_day = x.dropout_day
    else:
        x.eos_day = x.visits[-1][1]


def _values(
    d: TrialDefinition, s: Scenario, x: _Subject, rng: np.random.Generator
) -> list[tuple[str, int, str, float]]:
    """Assessment rows (VISIT, study day, PARAMCD, AVAL) of one subject."""
    last_day = d.post_baseline_visits[-1].day
    schedule = list(x.visits)
    if x.dropout_day is not None and rng.random() < s.et_assessment_prob:
        schedule.append((EARLY_TERMINATION, x.eos_day))
    unscheduled: list[tuple[str, int]] = []
    if rng.random() < s.unscheduled_prob and x.eos_day > 20:
        day = int(rng.integers(15, x.eos_day))
        if all(day != v for _, v in schedule):
            unscheduled.append((UNSCHEDULED, day))
    rows: list[tuple[str, int, str, float]] = []
    for p in s.parameters:
        par = d.parameter(p.code)
        visits = [
            (c, day)
            for c, day in schedule
            if c in (EARLY_TERMINATION, d.baseline_visit.code) or p.visits is None or c in p.visits
        ] + (unscheduled if p.unscheduled else [])
        visits.sort(key=lambda cd: cd[1])
        days = np.asarray([day for _, day in visits], dtype=float)
        kx, ky = _effect_curve(d, p, x.arm)
        if p.kind == "ordinal":
            src = d.parameter(p.source) if p.source else None
            src_spec = s.parameter(p.source) if p.source else None
            if src is None or src_spec is None:
                raise ValueError(f"ordinal parameter {p.code} needs a source parameter")
            sx, sy = _effect_curve(d, src_spec, x.arm)
            frac = np.clip((days - 1) / (last_day - 1), 0, None)
            change = np.interp(days, sx, sy) + x.slopes[src_spec.code] * frac
            latent = change / p.per_level + rng.normal(0, p.noise_sd, size=len(days))
            levels = par.levels or (int(par.min or 0), int(par.max or 0))
            grades = np.clip(np.rint(latent), min(levels), max(levels))
            for (code, day), g in zip(visits, grades, strict=True):
                value = float(p.baseline_value) if code == d.baseline_visit.code else float(g)
                rows.append((code, day, p.code, value))
            continue
        frac = np.clip((days - 1) / (last_day - 1), 0, None)
        change = np.interp(days, kx, ky)
        if p.kind == "relative":
            pchg = x.depths[p.code] * change + x.slopes[p.code] * frac
            mean = x.baselines[p.code] * (1 + pchg / 100)
        else:
            mean = x.baselines[p.code] + change + x.slopes[p.code] * frac
        lag = np.abs(days[:, None] - days[None, :]) / 28.0
        cov = p.residual_sd**2 * np.power(p.rho, lag) + 1e-9 * np.eye(len(days))
        values = mean + np.linalg.cholesky(cov) @ rng.standard_normal(len(days))
        lo, hi = _limits(par)
        values = np.clip(np.round(values, 0 if p.kind == "count" else p.decimals), lo, hi)
        rows.extend((c, day, p.code, float(v)) for (c, day), v in zip(visits, values, strict=True))
    return rows


def _limits(par: Parameter) -> tuple[float, float]:
    """The parameter's range, open where trial.toml gives no limit."""
    return (
        -math.inf if par.min is None else par.min,
        math.inf if par.max is None else par.max,
    )


def _baseline(
    d: TrialDefinition, s: Scenario, p: ParameterSpec, x: _Subject, rng: np.random.Generator
) -> float:
    """A subject's true baseline: uniform in its severity's range (clipped to the parameter's),
    else normal around the mean (shifted by ``age_slope`` per year of age)."""
    if p.baseline_ranges:
        lo, hi = p.baseline_ranges[x.severity]
        return float(np.clip(rng.uniform(lo, hi), *_limits(d.parameter(p.code))))
    mean = p.baseline_mean + p.age_slope * (x.age - s.age_mean)
    return float(rng.normal(mean, p.baseline_sd))


def _final_change(d: TrialDefinition, p: ParameterSpec, x: _Subject) -> float:
    """The subject's own change at the last visit beyond its arm's mean (for a relative score,
    its responder's percent change plus drift)."""
    slope = x.slopes.get(p.code, 0.0)
    if p.kind != "relative":
        return slope
    return slope + x.depths[p.code] * _effect_curve(d, p, x.arm)[1][-1]


def _depths(c: Component, n: int, rng: np.random.Generator) -> list[float]:
    """Needle depth of each session: start low in the range, escalate 0.25 mm every 4 sessions."""
    lo, hi = c.needle_depth_mm or (0.0, 0.0)
    steps = round((hi - lo) / 0.25)
    start = lo + 0.25 * int(rng.integers(0, steps // 2 + 1))
    top = start + 0.25 * int(rng.integers(0, round((hi - start) / 0.25) + 1))
    return [round(min(start + 0.25 * (k // 4), top), 2) for k in range(n)]


def _exposure(
    d: TrialDefinition, arm: Arm, x: _Subject, rng: np.random.Generator
) -> list[dict[str, object]]:
    """Exposure rows of one subject: drugs per dispensing period, procedures per session."""
    end = x.eos_day if x.dropout_day is None else x.eos_day - 1
    if x.stop_day is not None:
        end = min(end, x.stop_day - 1)
    end = max(end, 1)
    rows: list[dict[str, object]] = []
    cuts = [1] + [day for code, day in x.visits if code != d.baseline_visit.code and 1 < day < end]
    session_days: dict[int, list[int]] = {}
    for c in arm.components:
        if c.treatment in DRUG_DOSE:
            dose, unit, freq = DRUG_DOSE[c.treatment]
            for i, start in enumerate(cuts):
                stop = cuts[i + 1] - 1 if i + 1 < len(cuts) else end
                rows.append(
                    {
                        "EXTRT": c.extrt,
                        "EXSTDT": start,
                        "EXENDT": stop,
                        "EXDOSE": dose,
                        "EXDOSU": unit,
                        "EXDOSFRQ": freq,
                    }
                )
            continue
        interval = c.interval_days or 28
        shared = next((k for k in session_days if interval % k == 0), None)
        if shared is not None:  # on every k-th session day of a procedure given more often
            days = session_days[shared][:: interval // shared][: c.sessions]
        else:
            jitter = interval // 10
            n = c.sessions or len(range(1, d.post_baseline_visits[-1].day, interval))
            days = [
                1 + k * interval + (int(rng.integers(-jitter, jitter + 1)) if k else 0)
                for k in range(n)
            ]
            days = [day for day in days if day <= end]
            session_days[interval] = days
        setting = c.setting or next((o.setting for o in arm.components if o.setting), "clinic")
        if c.protocol_range("VOLUME_ML") is None:  # microneedling (a depth each), sham
            depths: list[float | None] = [None] * len(days)
            if c.protocol_range("NEEDLE_DEPTH_MM") is not None:
                depths = list(_depths(c, len(days), rng))
            for day, depth in zip(days, depths, strict=True):
                row: dict[str, object] = {
                    "EXTRT": c.extrt,
                    "EXSTDT": day,
                    "EXENDT": day,
                    "EXDOSE": 1.0,
                    "EXDOSU": "session",
                    "EXDOSFRQ": "ONCE",
                    "DEVICE": c.device,
                    "SETTING": setting,
                }
                if depth is not None:
                    row["NEEDLE_DEPTH_MM"] = depth
                rows.append(row)
        else:
            vlo, vhi = c.volume_ml or (0.0, 0.0)
            for day in days:
                vol = float(np.clip(round(rng.uniform(vlo, vhi) * 2) / 2, vlo, vhi))
                rows.append(
                    {
                        "EXTRT": c.extrt,
                        "EXSTDT": day,
                        "EXENDT": day,
                        "EXDOSE": vol,
                        "EXDOSU": "mL",
                        "EXDOSFRQ": "ONCE",
                        "SETTING": setting,
                        "VOLUME_ML": vol,
                    }
                )
    return rows


def _adverse_events(
    s: Scenario, arm: Arm, x: _Subject, rng: np.random.Generator
) -> list[dict[str, object]]:
    """Adverse events of one subject; one leading to discontinuation if that is the reason
    (with ``ae_actions``, each has an AEACN, that one's the treatment's withdrawal)."""
    terms = [t for t in s.ae_terms if t.treatment is None or t.treatment in arm.treatments]
    if not terms:
        return []
    weights = np.asarray([t.weight for t in terms])
    n = int(rng.poisson(s.ae_rate.get(arm.code, 0.0) * x.eos_day / 169))
    rows = []
    for _ in range(n):
        t = terms[int(rng.choice(len(terms), p=weights / weights.sum()))]
        start = int(rng.integers(1, x.eos_day + 1))
        stop: int | None = min(start + int(rng.geometric(0.25)) - 1, x.eos_day)
        if rng.random() < s.ongoing_ae_prob:
            stop = None
        serious = rng.random() < s.serious_prob
        sev = "SEVERE" if serious else _choice(rng, {"MILD": 0.7, "MODERATE": 0.25, "SEVERE": 0.05})
        rel = "Y" if rng.random() < t.related_prob else "N"
        row: dict[str, object] = {
            "AETERM": t.term,
            "AEDECOD": t.decod,
            "AEBODSYS": t.bodsys,
            "AESTDT": start,
            "AEENDT": stop,
            "AESEV": sev,
            "AEREL": rel,
            "AESER": "Y" if serious else "N",
        }
        if s.ae_actions:
            row[AE_ACTION] = _choice(rng, dict(s.ae_actions))
        rows.append(row)
    if x.reason == "ADVERSE EVENT":
        linked = [t for t in terms if t.treatment is not None] or terms
        t = linked[int(rng.integers(len(linked)))]
        start = max(1, x.eos_day - int(rng.integers(3, 15)))
        rows.append(
            {
                "AETERM": t.term,
                "AEDECOD": t.decod,
                "AEBODSYS": t.bodsys,
                "AESTDT": start,
                "AEENDT": x.eos_day,
                "AESEV": "MODERATE",
                "AEREL": "Y",
                "AESER": "N",
                AE_ACTION: DRUG_WITHDRAWN,
            }
        )
    return sorted(rows, key=lambda r: (r["AESTDT"], str(r["AETERM"])))


def _medications(
    d: TrialDefinition, s: Scenario, arm: Arm, x: _Subject, rng: np.random.Generator
) -> list[dict[str, object]]:
    """Concomitant medications of one subject: ordinary ones and perhaps a rescue medication."""
    rows: list[dict[str, object]] = []
    for _ in range(int(rng.poisson(s.cm_rate))):
        trt, indc = ORDINARY_CMS[int(rng.integers(len(ORDINARY_CMS)))]
        start = int(rng.integers(-60, x.eos_day + 1))
        stop = None if rng.random() < 0.3 else min(start + int(rng.integers(0, 30)), x.eos_day)
        rows.append(
            {"CMTRT": trt, "CMINDC": indc, "CMSTDT": start, "CMENDT": stop, "CMRESCUE": "N"}
        )
    allowed = [r for r in s.rescue_treatments if r.split()[0].lower() not in arm.treatments]
    if allowed and rng.random() < s.rescue_prob and x.eos_day > 71:
        trt = allowed[int(rng.integers(len(allowed)))]
        start = int(rng.integers(57, x.eos_day - 13))
        rows.append(
            {
                "CMTRT": trt,
                "CMINDC": d.trial.indication.capitalize(),
                "CMSTDT": start,
                "CMENDT": x.eos_day,
                "CMRESCUE": "Y",
            }
        )
    return sorted(rows, key=lambda r: (r["CMSTDT"], str(r["CMTRT"])))


def _frame(
    rows: list[dict[str, object]], columns: tuple[str, ...], start: date, date_cols: tuple[str, ...]
) -> pd.DataFrame:
    """A frame with ``columns`` in order; study-day integers in ``date_cols`` become dates."""
    frame = pd.DataFrame(rows, columns=list(columns))
    for col in date_cols:
        days = pd.to_numeric(frame[col]).astype("float64")
        frame[col] = (pd.Timestamp(start) + pd.to_timedelta(days, unit="D")).astype(
            "datetime64[ns]"
        )
    return frame


def generate_trial(definition: TrialDefinition, scenario: Scenario) -> dict[str, pd.DataFrame]:
    """Simulate the collected datasets of a trial (pure and deterministic given the seed)."""
    d, s = definition, scenario
    rng = np.random.default_rng(s.seed)
    subjects = _enrol(d, s, rng)
    _randomise(d, s, subjects, rng)
    primary = d.primary.parameter
    for x in subjects:
        for p in s.parameters:
            if p.kind != "ordinal":
                x.baselines[p.code] = _baseline(d, s, p, x, rng)
                x.slopes[p.code] = float(rng.normal(0, p.slope_sd))
            if p.kind == "relative":
                responds = rng.random() < p.responders.get(x.arm, 0.0)
                depth = max(0.0, float(rng.normal(1.0, p.depth_sd))) if responds else 0.0
                x.depths[p.code] = depth
    last_day = d.post_baseline_visits[-1].day
    spec = s.parameter(primary)
    better = 1.0 if d.parameter(primary).direction == "higher" else -1.0
    for arm in d.arms:
        members = [x for x in subjects if x.arm == arm.code]
        k = int(rng.binomial(len(members), s.dropout.get(arm.code, 0.0)))
        sd = spec.slope_sd or 1.0
        w = np.exp(
            [-s.dropout_slope_weight * (better * _final_change(d, spec, x)) / sd for x in members]
        )
        for i in sorted(rng.choice(len(members), size=k, replace=False, p=w / w.sum())):
            x = members[int(i)]
            x.dropout_day = int(rng.integers(8, last_day - 3))
            x.reason = _choice(rng, dict(s.dropout_reasons)) if s.dropout_reasons else "OTHER"
    for x in subjects:
        _schedule(d, s, x, rng)
        if rng.random() < s.treatment_stop_prob and x.eos_day > 60:
            x.stop_day = int(rng.integers(29, x.eos_day - 28))

    sub_rows: list[dict[str, object]] = []
    ass_rows: list[dict[str, object]] = []
    vs_rows: list[dict[str, object]] = []
    safety = {p.code for p in d.parameters if p.kind == "safety"}
    ex_rows: list[dict[str, object]] = []
    ae_rows: list[dict[str, object]] = []
    cm_rows: list[dict[str, object]] = []
    order = {v.code: i for i, v in enumerate(sorted(d.visits, key=lambda v: v.day))}
    order.update({UNSCHEDULED: len(order), EARLY_TERMINATION: len(order) + 1})
    param_order = {p.code: i for i, p in enumerate(d.parameters)}
    for x in sorted(subjects, key=lambda x: x.usubjid):
        arm = d.arm(x.arm)
        off = x.rand_day - 1  # study day -> days after start date
        sub_rows.append(
            {
                "STUDYID": d.trial.id,
                "USUBJID": x.usubjid,
                "SITEID": x.site,
                "ARMCD": arm.code,
                "ARM": arm.label,
                "RANDDT": x.rand_day,
                "AGE": x.age,
                "SEX": x.sex,
                "SEVERITY": x.severity,
                "EOSSTT": "DISCONTINUED" if x.dropout_day else "COMPLETED",
                "EOSDT": x.eos_day + off,
                "DCSREAS": x.reason,
            }
        )
        rows = _values(d, s, x, rng)
        rows.sort(key=lambda r: (r[1], order[r[0]], param_order[r[2]]))
        for c, day, code, v in rows:
            (vs_rows if code in safety else ass_rows).append(
                {
                    "STUDYID": d.trial.id,
                    "USUBJID": x.usubjid,
                    "VISIT": c,
                    "ADT": day + off,
                    "PARAMCD": code,
                    "AVAL": v,
                }
            )
        for r in _exposure(d, arm, x, rng):
            r.update(STUDYID=d.trial.id, USUBJID=x.usubjid)
            r["EXSTDT"] = int(r["EXSTDT"]) + off  # type: ignore[call-overload]
            r["EXENDT"] = int(r["EXENDT"]) + off  # type: ignore[call-overload]
            ex_rows.append(r)
        for seq, r in enumerate(_adverse_events(s, arm, x, rng), start=1):
            r.update(STUDYID=d.trial.id, USUBJID=x.usubjid, AESEQ=seq)
            r["AESTDT"] = int(r["AESTDT"]) + off  # type: ignore[call-overload]
            r["AEENDT"] = None if r["AEENDT"] is None else int(r["AEENDT"]) + off  # type: ignore[call-overload]
            ae_rows.append(r)
        for seq, r in enumerate(_medications(d, s, arm, x, rng), start=1):
            r.update(STUDYID=d.trial.id, USUBJID=x.usubjid, CMSEQ=seq)
            r["CMSTDT"] = int(r["CMSTDT"]) + off  # type: ignore[call-overload]
            r["CMENDT"] = None if r["CMENDT"] is None else int(r["CMENDT"]) + off  # type: ignore[call-overload]
            cm_rows.append(r)

    start = s.start_date
    ae_columns = (*AE_COLUMNS, AE_ACTION) if s.ae_actions else AE_COLUMNS
    frames = {
        "subjects": _frame(sub_rows, SUBJECT_COLUMNS, start, ("RANDDT", "EOSDT")),
        "assessments": _frame(ass_rows, ASSESSMENT_COLUMNS, start, ("ADT",)),
        "exposure": _frame(ex_rows, EXPOSURE_COLUMNS, start, ("EXSTDT", "EXENDT")),
        "adverse_events": _frame(ae_rows, ae_columns, start, ("AESTDT", "AEENDT")),
        "concomitant_medications": _frame(cm_rows, CM_COLUMNS, start, ("CMSTDT", "CMENDT")),
    }
    if safety:
        frames["vital_signs"] = _frame(vs_rows, VITAL_SIGNS_COLUMNS, start, ("ADT",))
    for col in ("EXDOSE", "NEEDLE_DEPTH_MM", "VOLUME_ML"):
        frames["exposure"][col] = frames["exposure"][col].astype("float64")
    for name in ("assessments", "vital_signs"):
        if name in frames:
            frames[name]["AVAL"] = frames[name]["AVAL"].astype("float64")
    return frames


def outside_window(definition: TrialDefinition, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Scheduled assessments dated outside their visit window, the first row of each
    subject-visit (what TK030 reports: one window deviation per subject and visit)."""
    d = definition
    subj = frames["subjects"][["USUBJID", "RANDDT"]]
    a = frames["assessments"].merge(subj, on="USUBJID", how="inner")
    day = {v.code: v.day for v in d.visits}
    lo = {v.code: v.window[0] for v in d.visits}
    hi = {v.code: v.window[1] for v in d.visits}
    a = a[a["VISIT"].isin(list(day))]
    adt = pd.to_datetime(a["ADT"], errors="coerce")
    offset = (adt - a["RANDDT"]).dt.days + 1 - a["VISIT"].map(day)
    bad = (offset < a["VISIT"].map(lo)) | (offset > a["VISIT"].map(hi))
    first = a.loc[bad, ["USUBJID", "VISIT", "ADT"]].drop_duplicates(["USUBJID", "VISIT"])
    return first.reset_index(drop=True)


def interim_cutoff(
    definition: TrialDefinition, frames: dict[str, pd.DataFrame], share: float = 0.5
) -> date:
    """The first date by which ``share`` of subjects reached the last visit's target day."""
    last = definition.post_baseline_visits[-1].day
    target = (frames["subjects"]["RANDDT"] + pd.Timedelta(days=last - 1)).sort_values()
    k = max(1, math.ceil(share * len(target)))
    return pd.Timestamp(target.iloc[k - 1]).date()
