"""Cross-dataset and protocol rules (TK001 conditional, TK010-TK020, TK025-TK026, TK030-TK034),
vectorised.

Subjects are looked up by integer code (``Index.get_indexer``) and per-subject values are
taken from numpy arrays, so a million assessment rows cost a few array operations, not a
Python loop. Frames arrive converted (see ``convert.py``) and with their file-row index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowExtensionArray, ArrowStringArray

from trialkit.definition import TrialDefinition
from trialkit.treatments import RANGE_COLUMNS
from trialkit.validation.findings import cell_findings, combine, dataset_finding, format_values
from trialkit.validation.schemas import PARAMETER_KIND

DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class _Subjects:
    """Per-subject arrays, each with a trailing sentinel so that code -1 (unknown) selects it."""

    ids: pd.Index
    randdt: np.ndarray
    eosdt: np.ndarray
    arm: np.ndarray  # index into definition.arms, -1 when ARMCD is not an arm


def _subjects(definition: TrialDefinition, subjects: pd.DataFrame) -> _Subjects:
    first = subjects[subjects["USUBJID"].notna() & ~subjects["USUBJID"].duplicated()]
    arms = pd.Index([a.code for a in definition.arms])
    nat = np.array(["NaT"], dtype="datetime64[ns]")
    return _Subjects(
        ids=pd.Index(first["USUBJID"].to_numpy()),
        randdt=np.concatenate([first["RANDDT"].to_numpy(dtype="datetime64[ns]"), nat]),
        eosdt=np.concatenate([first["EOSDT"].to_numpy(dtype="datetime64[ns]"), nat]),
        arm=np.append(codes_of(arms, first["ARMCD"]), -1),
    )


def codes_of(keys: pd.Index, values: pd.Series) -> np.ndarray:
    """Position of each value in ``keys`` (-1 when absent or missing), as an int64 array.

    Arrow-backed text (pandas' default string type) is matched with pyarrow's ``index_in``,
    which avoids converting a million strings to Python objects.
    """
    if isinstance(values.array, ArrowExtensionArray | ArrowStringArray):
        arr = pa.array(values.array)
        key_arr = pa.array(keys.astype("str").to_numpy(dtype=object), type=arr.type)
        found = pc.index_in(arr, value_set=key_arr)
        return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.asarray(keys.get_indexer(pd.Index(values.to_numpy(dtype=object))), dtype=np.int64)


def _dates(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype="datetime64[ns]")


def _fmt_dates(values: np.ndarray) -> pd.Series:
    return format_values(pd.Series(values, dtype="datetime64[ns]"))


def _dated(text: str, dates: np.ndarray) -> Callable[[np.ndarray], pd.Series]:
    """A lazy message: ``text`` followed by the selected rows' dates."""
    return lambda mask: text + _fmt_dates(dates[mask])


def cross_findings(definition: TrialDefinition, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every cross-dataset and protocol finding of the (converted) frames."""
    subj = _subjects(definition, frames["subjects"])
    codes = {
        name: codes_of(subj.ids, frame["USUBJID"])
        for name, frame in frames.items()
        if name != "subjects"
    }
    parts = [_end_of_study(frames["subjects"])]
    for name, code in codes.items():
        frame = frames[name]
        unknown = (code < 0) & frame["USUBJID"].notna().to_numpy()
        parts.append(
            cell_findings(name, frame, unknown, "USUBJID", "TK010", "USUBJID not in subjects")
        )
    first_exposure = _first_exposure(frames["exposure"], codes["exposure"], len(subj.ids))
    for name, kind in PARAMETER_KIND.items():
        if name in frames:
            parts += _visit_rules(definition, name, kind, frames[name], codes[name], subj)
    parts += _baseline_rules(definition, frames["assessments"], codes["assessments"], subj)
    parts.append(
        _baseline_timing(definition, frames["assessments"], codes["assessments"], first_exposure)
    )
    parts += _exposure_rules(definition, frames["exposure"], codes["exposure"], subj)
    parts += _date_order_rules(frames, codes, subj)
    parts += _population_rules(definition, frames["subjects"])
    parts.append(allocation_finding(definition, frames["subjects"]))
    return combine(parts)


#: Smallest p-value of the realised allocation under the planned ratio without a warning.
ALLOCATION_P = 0.001


def _population_rules(definition: TrialDefinition, s: pd.DataFrame) -> list[pd.DataFrame]:
    """TK025 AGE outside ``[trial.population].age`` (inclusive); TK026 SEX not one of its sexes."""
    pop = definition.trial.population
    parts = []
    if pop.age is not None:
        low, high = pop.age
        outside = (s["AGE"] < low) | (s["AGE"] > high)
        text = f"AGE outside the trial population's {low} to {high} years"
        parts.append(cell_findings("subjects", s, outside, "AGE", "TK025", text))
    if pop.sex is not None:
        sex = s["SEX"].astype("string")
        other = sex.isin(["M", "F"]).fillna(False) & ~sex.isin(list(pop.sex)).fillna(False)
        text = f"SEX not one of the trial population's {', '.join(pop.sex)}"
        parts.append(cell_findings("subjects", s, other.to_numpy(dtype=bool), "SEX", "TK026", text))
    return parts


def allocation_test(observed: np.ndarray, ratio: np.ndarray) -> tuple[float, int, float]:
    """Pearson's chi-square goodness of fit of arm counts ``observed`` to the planned ``ratio``:
    statistic, degrees of freedom (arms - 1) and p-value."""
    from scipy.special import chdtrc  # not scipy.stats: its import is a third of validate's time

    expected = observed.sum() * ratio / ratio.sum()
    statistic = float(((observed - expected) ** 2 / expected).sum())
    df = len(observed) - 1
    return statistic, df, float(chdtrc(df, statistic))


def allocation_finding(definition: TrialDefinition, s: pd.DataFrame) -> pd.DataFrame:
    """TK034: a warning when the randomised subjects' arm counts are implausible (p < 0.001)
    under the planned allocation ratio of ``[[arms]].allocation``."""
    first = s[s["USUBJID"].notna() & ~s["USUBJID"].duplicated()]
    codes = [a.code for a in definition.arms]
    observed = first["ARMCD"].value_counts().reindex(codes, fill_value=0).to_numpy(dtype=float)
    ratio = np.array([a.allocation for a in definition.arms], dtype=float)
    if observed.sum() == 0:
        return dataset_finding("subjects", "ARMCD", "TK034", "").iloc[:0]
    statistic, df, p = allocation_test(observed, ratio)
    if p >= ALLOCATION_P:
        return dataset_finding("subjects", "ARMCD", "TK034", "").iloc[:0]
    counts = ":".join(str(int(n)) for n in observed)
    planned = ":".join(f"{r:g}" for r in ratio)
    return dataset_finding(
        "subjects", "ARMCD", "TK034",
        f"arms {':'.join(codes)} have {counts} subjects, planned {planned}: chi-square "
        f"{statistic:.2f} on {df} df, p = {p:.2g}",
    )  # fmt: skip


def _end_of_study(s: pd.DataFrame) -> pd.DataFrame:
    """TK020: EOSSTT, EOSDT and DCSREAS must agree; TK018: randomised after end of study."""
    status = s["EOSSTT"]
    has_date, has_reason = s["EOSDT"].notna(), s["DCSREAS"].notna()
    disc, comp, ong = status == "DISCONTINUED", status == "COMPLETED", status == "ONGOING"
    checks = [
        (disc & ~has_reason, "DCSREAS", "DISCONTINUED without a DCSREAS"),
        (disc & ~has_date, "EOSDT", "DISCONTINUED without an EOSDT"),
        (comp & has_reason, "DCSREAS", "COMPLETED with a DCSREAS"),
        (comp & ~has_date, "EOSDT", "COMPLETED without an EOSDT"),
        (ong & has_date, "EOSDT", "ONGOING with an EOSDT"),
        (ong & has_reason, "DCSREAS", "ONGOING with a DCSREAS"),
    ]
    parts = [cell_findings("subjects", s, m, c, "TK020", msg) for m, c, msg in checks]
    parts.append(
        cell_findings(
            "subjects", s, s["RANDDT"] > s["EOSDT"], "EOSDT", "TK018", "EOSDT before RANDDT"
        )
    )
    return combine(parts)


def _visit_rules(
    definition: TrialDefinition,
    name: str,
    kind: str,
    a: pd.DataFrame,
    code: np.ndarray,
    subj: _Subjects,
) -> list[pd.DataFrame]:
    """TK011 (TK012 at baseline) duplicates and TK030 visit windows of a dataset by visit
    (assessments or vital signs) for its parameters of ``kind``; one TK030 per subject-visit."""
    visits = pd.Index([v.code for v in definition.visits])
    params = pd.Index([p.code for p in definition.parameters if p.kind == kind])
    vi = codes_of(visits, a["VISIT"])
    pi = codes_of(params, a["PARAMCD"])
    base = visits.get_loc(definition.baseline_visit.code)
    keyed = (code >= 0) & (vi >= 0) & (pi >= 0)
    key = (code.astype("int64") * len(visits) + vi) * max(len(params), 1) + pi
    dup = keyed & pd.Series(np.where(keyed, key, -1 - np.arange(len(a)))).duplicated().to_numpy()
    is_base = vi == base
    parts = [
        cell_findings(
            name, a, dup & ~is_base, "VISIT", "TK011",
            "more than one row for this subject, visit and parameter",
        ),
        cell_findings(
            name, a, dup & is_base, "VISIT", "TK012",
            "more than one baseline for this subject and parameter",
        ),
    ]  # fmt: skip
    # Visit windows (warnings): target = RANDDT + day - 1, allowed offsets window[0]..window[1];
    # a deviation is one per subject and visit, whatever the number of parameters assessed.
    adt = _dates(a, "ADT")
    offset = (adt - subj.randdt[code]) / DAY  # float days, NaN where a date is missing
    subject_visit = pd.Series(np.where((code >= 0) & (vi >= 0), code * len(visits) + vi, -1))
    for i, v in enumerate(definition.visits):
        target_offset = offset - (v.day - 1)
        outside = (vi == i) & ((target_offset < v.window[0]) | (target_offset > v.window[1]))
        outside = _first_per_subject_visit(outside, subject_visit.to_numpy())
        if outside.any():
            suffix = (
                f" days from the {v.code} target date (window {v.window[0]:+d} to {v.window[1]:+d})"
            )

            def message(
                m: np.ndarray, off: np.ndarray = target_offset, t: str = suffix
            ) -> pd.Series:
                days = pd.Series(np.round(off[m]).astype("int64"))
                return "ADT " + days.map("{:+d}".format) + t

            parts.append(cell_findings(name, a, outside, "ADT", "TK030", message))
    return parts


def _first_per_subject_visit(mask: np.ndarray, subject_visit: np.ndarray) -> np.ndarray:
    """``mask`` keeping only its first row of each subject-visit (rows of no known subject and
    visit are kept: they cannot be grouped)."""
    keys = pd.Series(np.where(mask, subject_visit, -1))
    repeated = keys.duplicated().to_numpy() & (keys.to_numpy() >= 0)
    return mask & ~repeated


def _baseline_rules(
    definition: TrialDefinition, a: pd.DataFrame, code: np.ndarray, subj: _Subjects
) -> list[pd.DataFrame]:
    """TK012: every subject needs a baseline of each efficacy parameter collected at baseline."""
    visits = pd.Index([v.code for v in definition.visits])
    params = pd.Index([p.code for p in definition.parameters if p.kind == "efficacy"])
    vi = codes_of(visits, a["VISIT"])
    pi = codes_of(params, a["PARAMCD"])
    keyed = (code >= 0) & (vi >= 0) & (pi >= 0)
    is_base = vi == visits.get_loc(definition.baseline_visit.code)
    n_subj, n_par = len(subj.ids), len(params)
    bkey = code[keyed & is_base].astype("int64") * n_par + pi[keyed & is_base]
    count = np.bincount(bkey, minlength=n_subj * n_par).reshape(n_subj, n_par)
    collected = count.sum(axis=0) > 0
    missing_s, missing_p = np.nonzero((count == 0) & collected)
    if not len(missing_s):
        return []
    return [
        pd.DataFrame(
            {
                "dataset": "assessments",
                "row": pd.array([pd.NA] * len(missing_s), dtype="Int64"),
                "USUBJID": format_values(pd.Series(subj.ids[missing_s])).to_numpy(),
                "VISIT": definition.baseline_visit.code,
                "column": "VISIT",
                "value": "",
                "rule": "TK012",
                "severity": "error",
                "message": "no baseline "
                + pd.Series(params[missing_p].astype("str"))
                + " assessment for this subject",
            }
        )
    ]


def _first_exposure(e: pd.DataFrame, ecode: np.ndarray, n_subj: int) -> np.ndarray:
    """Each subject's first EXSTDT (NaT without exposure), with the trailing unknown sentinel."""
    est = _dates(e, "EXSTDT")
    ok = (ecode >= 0) & ~np.isnat(est)
    first = np.full(n_subj + 1, np.datetime64("NaT"), dtype="datetime64[ns]")
    if ok.any():
        mins = pd.Series(est[ok]).groupby(ecode[ok]).min()
        first[mins.index.to_numpy()] = mins.to_numpy(dtype="datetime64[ns]")
    return first


def _baseline_timing(
    definition: TrialDefinition, a: pd.DataFrame, code: np.ndarray, first: np.ndarray
) -> pd.DataFrame:
    """TK013: a baseline assessment dated after the subject's first exposure."""
    is_base = (a["VISIT"] == definition.baseline_visit.code).fillna(False).to_numpy(dtype=bool)
    first_a = first[code]
    late = is_base & (_dates(a, "ADT") > first_a)
    text = _dated("baseline after the first exposure on ", first_a)
    return cell_findings("assessments", a, late, "ADT", "TK013", text)


#: Rule and wording of each exposure column checked against a protocol range (the registry's
#: ``TreatmentKind.ranges`` say which treatments are checked).
RANGE_RULES: dict[str, tuple[str, str]] = {
    "NEEDLE_DEPTH_MM": ("TK015", "needle depth"),
    "VOLUME_ML": ("TK016", "volume"),
}


def _exposure_rules(
    definition: TrialDefinition, e: pd.DataFrame, code: np.ndarray, subj: _Subjects
) -> list[pd.DataFrame]:
    """TK033 treatment not of the arm (a deviation), TK015/TK016 protocol ranges and TK031
    session spacing, as the treatment registry declares them for each component."""
    treatments = pd.Index(definition.treatments)
    ti = codes_of(treatments, e["EXTRT"])
    arm = subj.arm[code]
    n_arm, n_tr = len(definition.arms), len(treatments)
    allowed = np.zeros((n_arm + 1, n_tr + 1), dtype=bool)  # last row/column: unknown
    allowed[n_arm, :] = allowed[:, n_tr] = True
    interval = np.full((n_arm + 1, n_tr + 1), np.nan)
    ranges = {column: (interval.copy(), interval.copy()) for column in RANGE_COLUMNS}
    checked: dict[str, list[str]] = {column: [] for column in RANGE_COLUMNS}
    for i, a in enumerate(definition.arms):
        for c in a.components:
            j = treatments.get_loc(c.extrt)
            allowed[i, j] = True
            for column in RANGE_COLUMNS:
                rng = c.protocol_range(column)
                if column in dict(c.kind.ranges):
                    checked[column].append(c.extrt)
                if rng is not None:
                    ranges[column][0][i, j], ranges[column][1][i, j] = rng
            if c.is_procedure and c.interval_days is not None:
                interval[i, j] = c.interval_days
    arm_i = np.where(arm >= 0, arm, n_arm)
    tr_i = np.where(ti >= 0, ti, n_tr)
    parts = [
        cell_findings(
            "exposure", e, ~allowed[arm_i, tr_i], "EXTRT", "TK033",
            "treatment is not a component of the subject's arm (protocol deviation)",
        )
    ]  # fmt: skip
    extrt = format_values(e["EXTRT"]).to_numpy()
    for column, (rule, what) in RANGE_RULES.items():
        lo, hi = ranges[column][0][arm_i, tr_i], ranges[column][1][arm_i, tr_i]
        given = e["EXTRT"].isin(checked[column]).fillna(False).to_numpy(dtype=bool)
        value = e[column].to_numpy(dtype="float64")

        def required(m: np.ndarray, c: str = column) -> np.ndarray:
            return np.asarray(f"{c} is required for " + extrt[m].astype(object), dtype=object)

        absent = given & np.isnan(value)
        parts.append(cell_findings("exposure", e, absent, column, "TK001", required))
        out = given & ((value < lo) | (value > hi))

        def message(
            m: np.ndarray, w: str = what, low: np.ndarray = lo, high: np.ndarray = hi
        ) -> pd.Series:
            low_s, high_s = format_values(pd.Series(low[m])), format_values(pd.Series(high[m]))
            return f"{w} outside the arm's protocol range " + low_s + " to " + high_s

        parts.append(cell_findings("exposure", e, out, column, rule, message))
    parts.append(_session_spacing(e, code, tr_i, interval[arm_i, tr_i]))
    return parts


def interval_tolerance(interval: np.ndarray) -> np.ndarray:
    """Days a session gap may differ from the protocol interval: a quarter of it, at least 2."""
    return np.maximum(2.0, np.ceil(interval / 4))


def _session_spacing(
    e: pd.DataFrame, code: np.ndarray, tr_i: np.ndarray, interval: np.ndarray
) -> pd.DataFrame:
    """TK031: consecutive sessions of one procedure for one subject, spaced unlike the arm."""
    start = _dates(e, "EXSTDT")
    usable = (code >= 0) & ~np.isnan(interval) & ~np.isnat(start)
    idx = np.nonzero(usable)[0]
    if len(idx) < 2:
        return cell_findings("exposure", e, np.zeros(len(e), dtype=bool), "EXSTDT", "TK031", "")
    days = (start[idx] - start[idx].min()) / DAY
    order = idx[np.lexsort((days, tr_i[idx], code[idx]))]
    same = (code[order][1:] == code[order][:-1]) & (tr_i[order][1:] == tr_i[order][:-1])
    gap = (start[order][1:] - start[order][:-1]) / DAY
    want = interval[order][1:]
    bad_pair = same & (np.abs(gap - want) > interval_tolerance(want))
    mask = np.zeros(len(e), dtype=bool)
    mask[order[1:][bad_pair]] = True
    gaps = np.full(len(e), np.nan)
    wants = np.full(len(e), np.nan)
    gaps[order[1:]] = gap
    wants[order[1:]] = want

    def message(m: np.ndarray) -> pd.Series:
        return (
            "session "
            + format_values(pd.Series(gaps[m]))
            + " days after the previous one (protocol interval "
            + format_values(pd.Series(wants[m]))
            + " days)"
        )

    return cell_findings("exposure", e, mask, "EXSTDT", "TK031", message)


#: (dataset, start column, end column) pairs checked by TK017.
END_BEFORE_START = (
    ("exposure", "EXSTDT", "EXENDT"),
    ("adverse_events", "AESTDT", "AEENDT"),
    ("concomitant_medications", "CMSTDT", "CMENDT"),
)

#: Dates that must not fall after the subject's EOSDT (TK018). End dates of adverse events and
#: medications may: an event or medication continuing at end of study is followed up.
AFTER_EOS = (
    ("assessments", "ADT"),
    ("vital_signs", "ADT"),
    ("exposure", "EXSTDT"),
    ("exposure", "EXENDT"),
    ("adverse_events", "AESTDT"),
    ("concomitant_medications", "CMSTDT"),
)


def _date_order_rules(
    frames: dict[str, pd.DataFrame], codes: dict[str, np.ndarray], subj: _Subjects
) -> list[pd.DataFrame]:
    """TK017 end before start, TK018 after end of study, TK019 exposure before randomisation."""
    parts = []
    for name, start, end in END_BEFORE_START:
        if name in frames:
            f = frames[name]
            before = _dates(f, end) < _dates(f, start)
            parts.append(
                cell_findings(
                    name,
                    f,
                    before,
                    end,
                    "TK017",
                    _dated(f"{end} before {start} ", _dates(f, start)),
                )
            )
    for name, column in AFTER_EOS:
        if name in frames:
            f = frames[name]
            eos = subj.eosdt[codes[name]]
            after = _dates(f, column) > eos
            text = f"{column} after the subject's EOSDT "
            parts.append(cell_findings(name, f, after, column, "TK018", _dated(text, eos)))
    e = frames["exposure"]
    rand = subj.randdt[codes["exposure"]]
    parts.append(
        cell_findings(
            "exposure", e, _dates(e, "EXSTDT") < rand, "EXSTDT", "TK019",
            _dated("exposure before the subject's RANDDT ", rand),
        )
    )  # fmt: skip
    return parts
