"""Cross-dataset and protocol rules (TK001 conditional, TK010-TK020, TK030-TK031), vectorised.

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

from trialkit.definition import TREATMENTS, TrialDefinition
from trialkit.validation.findings import cell_findings, combine, format_values

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
    parts += _assessment_rules(definition, frames, codes, subj)
    parts += _exposure_rules(definition, frames["exposure"], codes["exposure"], subj)
    parts += _date_order_rules(frames, codes, subj)
    return combine(parts)


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


def _assessment_rules(
    definition: TrialDefinition,
    frames: dict[str, pd.DataFrame],
    codes: dict[str, np.ndarray],
    subj: _Subjects,
) -> list[pd.DataFrame]:
    """TK011 duplicates, TK012 baseline count, TK013 baseline timing, TK030 visit windows."""
    a, code = frames["assessments"], codes["assessments"]
    visits = pd.Index([v.code for v in definition.visits])
    params = pd.Index([p.code for p in definition.parameters])
    vi = codes_of(visits, a["VISIT"])
    pi = codes_of(params, a["PARAMCD"])
    base = visits.get_loc(definition.baseline_visit.code)
    keyed = (code >= 0) & (vi >= 0) & (pi >= 0)
    key = (code.astype("int64") * len(visits) + vi) * len(params) + pi
    dup = keyed & pd.Series(np.where(keyed, key, -1 - np.arange(len(a)))).duplicated().to_numpy()
    is_base = vi == base
    parts = [
        cell_findings(
            "assessments", a, dup & ~is_base, "VISIT", "TK011",
            "more than one row for this subject, visit and parameter",
        ),
        cell_findings(
            "assessments", a, dup & is_base, "VISIT", "TK012",
            "more than one baseline for this subject and parameter",
        ),
    ]  # fmt: skip
    # Missing baselines: every subject needs one for each parameter collected at baseline.
    n_subj, n_par = len(subj.ids), len(params)
    bkey = code[keyed & is_base].astype("int64") * n_par + pi[keyed & is_base]
    count = np.bincount(bkey, minlength=n_subj * n_par).reshape(n_subj, n_par)
    collected = count.sum(axis=0) > 0
    missing_s, missing_p = np.nonzero((count == 0) & collected)
    if len(missing_s):
        parts.append(
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
        )
    # Baseline after first exposure.
    e, ecode = frames["exposure"], codes["exposure"]
    est = _dates(e, "EXSTDT")
    ok = (ecode >= 0) & ~np.isnat(est)
    first = np.full(n_subj + 1, np.datetime64("NaT"), dtype="datetime64[ns]")
    if ok.any():
        mins = pd.Series(est[ok]).groupby(ecode[ok]).min()
        first[mins.index.to_numpy()] = mins.to_numpy(dtype="datetime64[ns]")
    adt = _dates(a, "ADT")
    first_a = first[code]
    late = is_base & (adt > first_a)
    parts.append(
        cell_findings(
            "assessments", a, late, "ADT", "TK013",
            _dated("baseline after the first exposure on ", first_a),
        )
    )  # fmt: skip
    # Visit windows (warnings): target = RANDDT + day - 1, allowed offsets window[0]..window[1].
    offset = (adt - subj.randdt[code]) / DAY  # float days, NaN where a date is missing
    for i, v in enumerate(definition.visits):
        target_offset = offset - (v.day - 1)
        outside = (vi == i) & ((target_offset < v.window[0]) | (target_offset > v.window[1]))
        if outside.any():
            suffix = (
                f" days from the {v.code} target date (window {v.window[0]:+d} to {v.window[1]:+d})"
            )

            def message(
                m: np.ndarray, off: np.ndarray = target_offset, t: str = suffix
            ) -> pd.Series:
                days = pd.Series(np.round(off[m]).astype("int64"))
                return "ADT " + days.map("{:+d}".format) + t

            parts.append(cell_findings("assessments", a, outside, "ADT", "TK030", message))
    return parts


def _exposure_rules(
    definition: TrialDefinition, e: pd.DataFrame, code: np.ndarray, subj: _Subjects
) -> list[pd.DataFrame]:
    """TK014 treatment not in the arm, TK015/TK016 protocol ranges, TK031 session spacing."""
    treatments = pd.Index(TREATMENTS)
    ti = codes_of(treatments, e["EXTRT"])
    arm = subj.arm[code]
    n_arm, n_tr = len(definition.arms), len(treatments)
    allowed = np.zeros((n_arm + 1, n_tr + 1), dtype=bool)  # last row/column: unknown
    allowed[n_arm, :] = allowed[:, n_tr] = True
    low = np.full((n_arm + 1, n_tr + 1), np.nan)
    high, interval = low.copy(), low.copy()
    for i, a in enumerate(definition.arms):
        for c in a.components:
            j = treatments.get_loc(c.treatment)
            allowed[i, j] = True
            rng = c.needle_depth_mm if c.treatment == "microneedling" else c.volume_ml
            if rng is not None:
                low[i, j], high[i, j] = rng
            if c.interval_days is not None:
                interval[i, j] = c.interval_days
    arm_i = np.where(arm >= 0, arm, n_arm)
    tr_i = np.where(ti >= 0, ti, n_tr)
    parts = [
        cell_findings(
            "exposure", e, ~allowed[arm_i, tr_i], "EXTRT", "TK014",
            "treatment is not a component of the subject's arm",
        )
    ]  # fmt: skip
    lo, hi = low[arm_i, tr_i], high[arm_i, tr_i]
    for treatment, column, rule, what in (
        ("microneedling", "NEEDLE_DEPTH_MM", "TK015", "needle depth"),
        ("prp", "VOLUME_ML", "TK016", "PRP volume"),
    ):
        given = (e["EXTRT"] == treatment).to_numpy()
        value = e[column].to_numpy(dtype="float64")
        parts.append(
            cell_findings(
                "exposure", e, given & np.isnan(value), column, "TK001",
                f"{column} is required for {treatment}",
            )
        )  # fmt: skip
        out = given & ((value < lo) | (value > hi))

        def message(m: np.ndarray, w: str = what) -> pd.Series:
            low_s, high_s = format_values(pd.Series(lo[m])), format_values(pd.Series(hi[m]))
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
