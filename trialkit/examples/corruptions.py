"""Plant data problems into a clean generated trial, making a "dirty" transfer for the validator.

The scenario's ``[[corruptions]]`` list names each problem by ``kind`` (a function below) with its
arguments and the rule ID it must trip. Each plant of a row takes a fresh subject (never one
with a natural out-of-window visit, never one used by another plant), so every problem produces
a finding of exactly its rule; a repeated column is a finding of its dataset (USUBJID blank).
The result is the corrupted frames and ``planted_problems`` (rule, dataset, USUBJID, column,
description), which also lists the clean trial's natural TK030 warnings, so it is the complete
list of findings a validator should report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trialkit.definition import TrialDefinition
from trialkit.examples.generator import outside_window
from trialkit.examples.scenario import Scenario
from trialkit.vocabulary import UNSCHEDULED

PLANTED_COLUMNS = ("rule", "dataset", "USUBJID", "column", "description")


@dataclass
class _Work:
    """The frames being corrupted, the subjects still free to use, and the problems planted."""

    definition: TrialDefinition
    frames: dict[str, pd.DataFrame]
    free: list[str]
    rng: np.random.Generator
    planted: list[dict[str, str]] = field(default_factory=list)

    def subject(
        self,
        arm: str | None = None,
        status: str | None = None,
        where: Callable[[str], bool] | None = None,
    ) -> str:
        """A free subject (optionally of ``arm``, with EOSSTT ``status``), now taken."""
        subj = self.frames["subjects"].drop_duplicates("USUBJID").set_index("USUBJID")
        ok = [
            u
            for u in self.free
            if (arm is None or subj.at[u, "ARMCD"] == arm)
            and (status is None or subj.at[u, "EOSSTT"] == status)
        ]
        for i in self.rng.permutation(len(ok)):
            u = ok[int(i)]
            if where is None or where(u):
                self.free.remove(u)
                return u
        raise ValueError(f"no free subject for arm={arm} status={status}")

    def plant(self, rule: str, dataset: str, usubjid: str, column: str, description: str) -> None:
        """Record one planted problem."""
        self.planted.append(
            {
                "rule": rule,
                "dataset": dataset,
                "USUBJID": usubjid,
                "column": column,
                "description": description,
            }
        )

    def set(self, dataset: str, index: Any, column: str, value: Any) -> None:
        """Set one cell, turning the column into object dtype when the value does not fit."""
        frame = self.frames[dataset]
        if value is None or isinstance(value, str) or frame[column].dtype.kind in "Mf":
            frame[column] = frame[column].astype(object)
        frame.loc[index, column] = value

    def add(self, dataset: str, rows: pd.DataFrame) -> None:
        """Append rows, then keep the dataset ordered by subject (stable: new rows come last)."""
        frame = pd.concat([self.frames[dataset], rows], ignore_index=True)
        self.frames[dataset] = frame.sort_values("USUBJID", kind="stable").reset_index(drop=True)

    def rows(self, dataset: str, usubjid: str) -> pd.DataFrame:
        """The rows of one subject in ``dataset``."""
        frame = self.frames[dataset]
        return frame[frame["USUBJID"] == usubjid]

    def randdt(self, usubjid: str) -> pd.Timestamp:
        """The subject's randomisation date."""
        s = self.frames["subjects"]
        return pd.Timestamp(s.loc[s["USUBJID"] == usubjid, "RANDDT"].iloc[0])


def _assessment(w: _Work, a: Mapping[str, Any], where: str = "") -> tuple[str, Any]:
    """A free subject's row of parameter ``paramcd`` at ``visit``."""
    param, visit = a.get("paramcd", "HAIRCNT"), a.get("visit", "WEEK8")
    ass = w.frames["assessments"]

    def has(u: str) -> bool:
        return bool(
            ((ass["USUBJID"] == u) & (ass["PARAMCD"] == param) & (ass["VISIT"] == visit)).any()
        )

    u = w.subject(a.get("arm"), a.get("status"), has)
    idx = ass.index[(ass["USUBJID"] == u) & (ass["PARAMCD"] == param) & (ass["VISIT"] == visit)][0]
    return u, idx


def set_subject_value(w: _Work, a: Mapping[str, Any]) -> None:
    """A subject-level cell set to ``value`` (blank when ``value`` is absent)."""
    u = w.subject(a.get("arm"), a.get("status"))
    s = w.frames["subjects"]
    value = a.get("value")
    w.set("subjects", s.index[s["USUBJID"] == u][0], a["column"], value)
    shown = "blank" if value is None else repr(value)
    w.plant(
        a["rule"], "subjects", u, a["column"], a.get("description", f"{a['column']} is {shown}")
    )


def set_assessment_value(w: _Work, a: Mapping[str, Any]) -> None:
    """One assessment cell (AVAL, ADT, VISIT or PARAMCD) set to ``value``."""
    u, idx = _assessment(w, a)
    w.set("assessments", idx, a["column"], a["value"])
    desc = a.get("description", f"{a['column']} is {a['value']!r}")
    w.plant(
        a["rule"],
        "assessments",
        u,
        a["column"],
        f"{a.get('visit', 'WEEK8')} {a.get('paramcd', 'HAIRCNT')}: {desc}",
    )


def set_ae_value(w: _Work, a: Mapping[str, Any]) -> None:
    """One adverse-event cell set to ``value``."""
    ae = w.frames["adverse_events"]
    u = w.subject(where=lambda u: bool((ae["USUBJID"] == u).any()))
    idx = ae.index[ae["USUBJID"] == u][0]
    w.set("adverse_events", idx, a["column"], a["value"])
    term = str(ae.at[idx, "AEDECOD"])
    w.plant(
        a["rule"],
        "adverse_events",
        u,
        a["column"],
        a.get("description", f"{term}: {a['column']} is {a['value']!r}"),
    )


def duplicate_subject(w: _Work, a: Mapping[str, Any]) -> None:
    """A subject's row repeated in subjects."""
    u = w.subject()
    w.add("subjects", w.rows("subjects", u))
    w.plant("TK005", "subjects", u, "USUBJID", "subject row appears twice")


def orphan_assessment(w: _Work, a: Mapping[str, Any]) -> None:
    """A baseline hair count of a subject who is not in subjects (a site's unrandomised screen)."""
    u = str(a["usubjid"])
    row = w.frames["assessments"].iloc[[0]].copy()
    row["USUBJID"] = u
    row["VISIT"] = w.definition.baseline_visit.code
    row["PARAMCD"] = a.get("paramcd", "HAIRCNT")
    w.add("assessments", row)
    w.plant("TK010", "assessments", u, "USUBJID", "assessment of a subject not in subjects")


def duplicate_assessment(w: _Work, a: Mapping[str, Any]) -> None:
    """A second row for the same subject, scheduled visit and parameter (another value)."""
    u, idx = _assessment(w, a)
    row = w.frames["assessments"].loc[[idx]].copy()
    row["AVAL"] = row["AVAL"] + float(a.get("delta", 7))
    w.add("assessments", row)
    w.plant(
        "TK011",
        "assessments",
        u,
        "VISIT",
        f"two {a.get('visit')} {a.get('paramcd', 'HAIRCNT')} rows with different values",
    )


def drop_baseline(w: _Work, a: Mapping[str, Any]) -> None:
    """A subject's baseline row of one parameter deleted."""
    a = {**a, "visit": w.definition.baseline_visit.code}
    u, idx = _assessment(w, a)
    w.frames["assessments"] = w.frames["assessments"].drop(index=idx).reset_index(drop=True)
    w.plant("TK012", "assessments", u, "VISIT", f"no baseline {a.get('paramcd', 'HAIRCNT')}")


def baseline_after_exposure(w: _Work, a: Mapping[str, Any]) -> None:
    """A baseline dated ``days`` after randomisation (first dose): also outside its window."""
    a = {**a, "visit": w.definition.baseline_visit.code}
    u, idx = _assessment(w, a)
    days = int(a.get("days", 3))
    new = w.randdt(u) + pd.Timedelta(days=days)
    w.set("assessments", idx, "ADT", new)
    p = a.get("paramcd", "HAIRCNT")
    w.plant(
        "TK013", "assessments", u, "ADT", f"baseline {p} dated {days} days after first exposure"
    )
    w.plant(
        "TK030", "assessments", u, "ADT", f"same baseline {p}: study day {days + 1}, after window"
    )


def foreign_treatment(w: _Work, a: Mapping[str, Any]) -> None:
    """A PRP session (or other treatment) given to a subject whose arm lacks it."""
    u = w.subject(a["arm"], "COMPLETED")
    ex = w.rows("exposure", u).iloc[[0]].copy()
    day = w.randdt(u) + pd.Timedelta(days=int(a.get("day", 28)))
    vol = float(a.get("volume", 4.0))
    ex = ex.assign(
        EXTRT=a.get("treatment", "prp"),
        EXSTDT=day,
        EXENDT=day,
        EXDOSE=vol,
        EXDOSU="mL",
        EXDOSFRQ="ONCE",
        SETTING="clinic",
        VOLUME_ML=vol,
    )
    w.add("exposure", ex)
    w.plant("TK033", "exposure", u, "EXTRT", f"{a.get('treatment', 'prp')} given in arm {a['arm']}")


def _session(w: _Work, arm: str, treatment: str) -> tuple[str, Any]:
    """A completed subject of ``arm`` and the row of their third ``treatment`` session."""
    u = w.subject(arm, "COMPLETED")
    ex = w.rows("exposure", u)
    return u, ex.index[ex["EXTRT"] == treatment][2]


def needle_depth(w: _Work, a: Mapping[str, Any]) -> None:
    """One microneedling session deeper than the arm's protocol range."""
    u, idx = _session(w, a["arm"], "microneedling")
    w.set("exposure", idx, "NEEDLE_DEPTH_MM", float(a["value"]))
    w.plant(
        "TK015", "exposure", u, "NEEDLE_DEPTH_MM", f"needle depth {a['value']} mm in {a['arm']}"
    )


def prp_volume(w: _Work, a: Mapping[str, Any]) -> None:
    """One PRP session with a volume outside the arm's protocol range."""
    u, idx = _session(w, a["arm"], "prp")
    w.set("exposure", idx, "VOLUME_ML", float(a["value"]))
    w.set("exposure", idx, "EXDOSE", float(a["value"]))
    w.plant("TK016", "exposure", u, "VOLUME_ML", f"PRP volume {a['value']} mL in {a['arm']}")


def ae_end_before_start(w: _Work, a: Mapping[str, Any]) -> None:
    """An adverse event whose end date is before its start date (dates swapped)."""
    ae = w.frames["adverse_events"]
    start_dt = pd.to_datetime(ae["AESTDT"], errors="coerce")
    end_dt = pd.to_datetime(ae["AEENDT"], errors="coerce")
    ok = end_dt.notna() & (end_dt > start_dt)
    u = w.subject(where=lambda u: bool((ok & (ae["USUBJID"] == u)).any()))
    idx = ae.index[ok & (ae["USUBJID"] == u)][0]
    start, end = ae.at[idx, "AESTDT"], ae.at[idx, "AEENDT"]
    w.set("adverse_events", idx, "AESTDT", end)
    w.set("adverse_events", idx, "AEENDT", start)
    w.plant(
        "TK017", "adverse_events", u, "AEENDT", f"{ae.at[idx, 'AEDECOD']!s} ends before it starts"
    )


def assessment_after_eos(w: _Work, a: Mapping[str, Any]) -> None:
    """An unscheduled hair count ``days`` after a discontinued subject's EOSDT."""
    u = w.subject(status="DISCONTINUED")
    s = w.rows("subjects", u)
    row = w.rows("assessments", u).iloc[[0]].copy()
    row["VISIT"] = UNSCHEDULED
    row["ADT"] = s["EOSDT"].iloc[0] + pd.Timedelta(days=int(a.get("days", 20)))
    w.add("assessments", row)
    w.plant(
        "TK018",
        "assessments",
        u,
        "ADT",
        f"unscheduled assessment {a.get('days', 20)} days after EOSDT",
    )


def exposure_before_randomisation(w: _Work, a: Mapping[str, Any]) -> None:
    """The first dispensing starts ``days`` before RANDDT (baseline still earlier: no TK013)."""
    days = int(a.get("days", 3))
    ass = w.frames["assessments"]

    def early_baseline(u: str) -> bool:
        base = ass[(ass["USUBJID"] == u) & (ass["VISIT"] == w.definition.baseline_visit.code)]
        return bool((base["ADT"] < w.randdt(u) - pd.Timedelta(days=days)).all())

    u = w.subject(a.get("arm"), "COMPLETED", early_baseline)
    ex = w.rows("exposure", u)
    idx = ex.index[0]
    w.set("exposure", idx, "EXSTDT", w.randdt(u) - pd.Timedelta(days=days))
    w.plant(
        "TK019",
        "exposure",
        u,
        "EXSTDT",
        f"{ex.at[idx, 'EXTRT']!s} dispensed {days} days before RANDDT",
    )


def end_of_study(w: _Work, a: Mapping[str, Any]) -> None:
    """End-of-study fields made inconsistent: DISCONTINUED without reason, or COMPLETED with one."""
    s = w.frames["subjects"]
    if a.get("status") == "COMPLETED":
        u = w.subject(status="COMPLETED")
        w.set("subjects", s.index[s["USUBJID"] == u][0], "DCSREAS", "WITHDRAWAL BY SUBJECT")
        w.plant("TK020", "subjects", u, "DCSREAS", "COMPLETED with a DCSREAS")
    else:
        u = w.subject(
            status="DISCONTINUED",
            where=lambda u: w.rows("subjects", u)["DCSREAS"].iloc[0] != "ADVERSE EVENT",
        )
        w.set("subjects", s.index[s["USUBJID"] == u][0], "DCSREAS", None)
        w.plant("TK020", "subjects", u, "DCSREAS", "DISCONTINUED without DCSREAS")


def out_of_window(w: _Work, a: Mapping[str, Any]) -> None:
    """A visit's assessment moved ``days`` after its target date, past the window's end."""
    u, idx = _assessment(w, {**a, "status": "COMPLETED"})
    visit = w.definition.visit(a.get("visit", "WEEK8"))
    days = int(a.get("days", visit.window[1] + 5))
    w.set("assessments", idx, "ADT", w.randdt(u) + pd.Timedelta(days=visit.day - 1 + days))
    w.plant(
        "TK030",
        "assessments",
        u,
        "ADT",
        f"{visit.code} {a.get('paramcd', 'HAIRCNT')} "
        f"{days} days after its target (window {visit.window[0]}..{visit.window[1]})",
    )


def session_gap(w: _Work, a: Mapping[str, Any]) -> None:
    """Two consecutive sessions removed mid-study: three intervals between two sessions."""
    u = w.subject(a["arm"], "COMPLETED")
    ex = w.rows("exposure", u)
    sessions = ex.index[ex["EXTRT"] == a.get("treatment", "microneedling")]
    k = int(a.get("after", 5))
    w.frames["exposure"] = (
        w.frames["exposure"].drop(index=sessions[k + 1 : k + 3]).reset_index(drop=True)
    )
    starts = ex.loc[sessions, "EXSTDT"].to_numpy(dtype="datetime64[D]")
    gap = int((starts[k + 3] - starts[k]).astype(int))
    w.plant(
        "TK031",
        "exposure",
        u,
        "EXSTDT",
        f"{a.get('treatment', 'microneedling')} sessions {gap} days apart in arm {a['arm']}",
    )


def repeat_column(w: _Work, a: Mapping[str, Any]) -> None:
    """A column trialkit does not use named twice in the header (an export repeating it).

    Run last: the later plants' row edits need columns of one name each.
    """
    name, column = a["dataset"], a["column"]
    frame = w.frames[name]
    w.frames[name] = pd.concat([frame, frame[[column]]], axis=1)
    w.plant("TK032", name, "", column, f"{column} named twice in the header")


KINDS: dict[str, Callable[[_Work, Mapping[str, Any]], None]] = {
    f.__name__: f
    for f in (
        set_subject_value,
        set_assessment_value,
        set_ae_value,
        duplicate_subject,
        orphan_assessment,
        duplicate_assessment,
        drop_baseline,
        baseline_after_exposure,
        foreign_treatment,
        needle_depth,
        prp_volume,
        ae_end_before_start,
        assessment_after_eos,
        exposure_before_randomisation,
        end_of_study,
        out_of_window,
        session_gap,
        repeat_column,
    )
}


def apply_corruptions(
    definition: TrialDefinition, scenario: Scenario, frames: dict[str, pd.DataFrame]
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Corrupted copies of ``frames`` and the planted-problems table (inputs are not changed)."""
    natural = outside_window(definition, frames)
    free = sorted(set(frames["subjects"]["USUBJID"]) - set(natural["USUBJID"]))
    work = _Work(
        definition,
        {k: v.copy() for k, v in frames.items()},
        free,
        np.random.default_rng(scenario.seed + 1),
    )
    for c in scenario.corruptions:
        if c.kind not in KINDS:
            raise ValueError(f"unknown corruption kind {c.kind!r} (one of {', '.join(KINDS)})")
        KINDS[c.kind](work, c.args)
    for r in natural.itertuples(index=False):
        work.plant(
            "TK030",
            "assessments",
            str(r.USUBJID),
            "ADT",
            f"{r.VISIT}: natural out-of-window visit of the clean trial",
        )
    planted = pd.DataFrame(work.planted, columns=list(PLANTED_COLUMNS))
    return work.frames, planted
