"""Each rule, broken in one place (must be reported) and at its boundary (must not be)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from trialkit.definition import TrialDefinition
from trialkit.validation import RULES, validate_datasets

Frames = dict[str, pd.DataFrame]
D = pd.Timestamp


def _set(name: str, row: int, column: str, value: object) -> Callable[[Frames], None]:
    def mutate(f: Frames) -> None:
        frame = f[name].astype({column: "object"}) if isinstance(value, str) else f[name]
        frame.loc[row, column] = value  # type: ignore[call-overload]
        f[name] = frame

    return mutate


def _dup(name: str, row: int) -> Callable[[Frames], None]:
    def mutate(f: Frames) -> None:
        f[name] = pd.concat([f[name], f[name].iloc[[row]]], ignore_index=True)

    return mutate


def _drop(name: str, query: Callable[[pd.DataFrame], pd.Series]) -> Callable[[Frames], None]:
    def mutate(f: Frames) -> None:
        f[name] = f[name][~query(f[name])].reset_index(drop=True)

    return mutate


def _add_column(name: str, column: str) -> Callable[[Frames], None]:
    """Append a column named ``column`` (a second one if it exists), values of the first column."""

    def mutate(f: Frames) -> None:
        f[name] = pd.concat([f[name], f[name].iloc[:, [0]].set_axis([column], axis=1)], axis=1)

    return mutate


def _no_records(name: str) -> Callable[[Frames], None]:
    return _drop(name, lambda frame: frame.index >= 0)


def _both(*fns: Callable[[Frames], None]) -> Callable[[Frames], None]:
    def mutate(f: Frames) -> None:
        for fn in fns:
            fn(f)

    return mutate


def _baseline_row(f: Frames, subject: str) -> int:
    a = f["assessments"]
    return int(a.index[(a["USUBJID"] == subject) & (a.VISIT == "BASELINE")][0])


def _on_baseline(subject: str, column: str, value: object) -> Callable[[Frames], None]:
    def mutate(f: Frames) -> None:
        _set("assessments", _baseline_row(f, subject), column, value)(f)

    return mutate


def _mn_row(f: Frames, subject: str, k: int) -> int:
    e = f["exposure"]
    return int(e.index[(e["USUBJID"] == subject) & (e.EXTRT == "microneedling")][k])


def _on_mn(subject: str, k: int, column: str, value: object) -> Callable[[Frames], None]:
    def mutate(f: Frames) -> None:
        _set("exposure", _mn_row(f, subject, k), column, value)(f)

    return mutate


def _week4_row(f: Frames) -> int:
    a = f["assessments"]
    return int(a.index[(a.USUBJID == "S1") & (a.VISIT == "WEEK4")][0])


def _on_week4(column: str, value: object) -> Callable[[Frames], None]:
    return lambda f: _set("assessments", _week4_row(f), column, value)(f)


def _prp_row(f: Frames) -> int:
    e = f["exposure"]
    return int(e.index[e.EXTRT == "prp"][0])


def _on_prp(column: str, value: object) -> Callable[[Frames], None]:
    return lambda f: _set("exposure", _prp_row(f), column, value)(f)


# (rule, case id, mutation that breaks the rule, mutation at the valid boundary)
CASES: list[tuple[str, str, Callable[[Frames], None], Callable[[Frames], None]]] = [
    ("TK001", "subject-sex", _set("subjects", 0, "SEX", None), _set("subjects", 0, "SEX", "F")),
    ("TK001", "aval", _on_week4("AVAL", float("nan")), _on_week4("AVAL", 0.0)),
    (
        "TK001",
        "mn-depth",
        _on_mn("S2", 0, "NEEDLE_DEPTH_MM", float("nan")),
        _on_mn("S2", 0, "NEEDLE_DEPTH_MM", 1.5),
    ),
    ("TK002", "age-text", _set("subjects", 0, "AGE", "thirty"), _set("subjects", 0, "AGE", "30")),
    (
        "TK002",
        "date-text",
        _set("subjects", 0, "RANDDT", "2024-13-01"),
        _set("subjects", 0, "RANDDT", "2024-01-01"),
    ),
    ("TK003", "sex", _set("subjects", 1, "SEX", "X"), _set("subjects", 1, "SEX", "M")),
    ("TK003", "armcd", _set("subjects", 0, "ARMCD", "PLACEBO"), lambda f: None),
    ("TK003", "visit", _on_week4("VISIT", "WEEK5"), _on_week4("VISIT", "UNSCHEDULED")),
    ("TK003", "paramcd", _on_week4("PARAMCD", "HAIRDENS"), lambda f: None),
    ("TK003", "aesev", _set("adverse_events", 0, "AESEV", "mild"), lambda f: None),
    ("TK003", "cmrescue", _set("concomitant_medications", 0, "CMRESCUE", "yes"), lambda f: None),
    (
        "TK003",
        "device",
        _on_mn("S2", 0, "DEVICE", "laser"),
        _on_mn("S2", 0, "DEVICE", "dermaroller"),
    ),
    ("TK004", "age", _set("subjects", 0, "AGE", 17), _set("subjects", 0, "AGE", 18)),
    ("TK004", "aval-max", _on_week4("AVAL", 601.0), _on_week4("AVAL", 600.0)),
    ("TK004", "aval-integer", _on_week4("AVAL", 150.5), _on_week4("AVAL", 150.0)),
    ("TK004", "dose", _set("exposure", 0, "EXDOSE", -1.0), _set("exposure", 0, "EXDOSE", 0.0)),
    ("TK005", "usubjid", _dup("subjects", 0), lambda f: None),
    ("TK010", "ae", _set("adverse_events", 0, "USUBJID", "S9"), lambda f: None),
    ("TK010", "assessment", _on_week4("USUBJID", "S9"), lambda f: None),
    ("TK011", "week4", lambda f: _dup("assessments", _week4_row(f))(f), lambda f: None),
    (
        "TK011",
        "unscheduled-ok",
        lambda f: _dup("assessments", _week4_row(f))(f),
        lambda f: _both(
            _dup("assessments", _week4_row(f)),
            _set("assessments", len(f["assessments"]), "VISIT", "UNSCHEDULED"),
        )(f),
    ),
    ("TK012", "two", lambda f: _dup("assessments", _baseline_row(f, "S1"))(f), lambda f: None),
    (
        "TK012",
        "none",
        _drop("assessments", lambda a: (a.USUBJID == "S1") & (a.VISIT == "BASELINE")),
        lambda f: None,
    ),
    (
        "TK013",
        "after-exposure",
        _on_baseline("S2", "ADT", D("2024-01-02")),
        _on_baseline("S2", "ADT", D("2024-01-01")),
    ),
    (
        "TK014",
        "prp-in-minox",
        _set("exposure", 0, "EXTRT", "finasteride"),
        _set("exposure", 0, "EXTRT", "minoxidil"),
    ),
    (
        "TK015",
        "depth",
        _on_mn("S2", 1, "NEEDLE_DEPTH_MM", 2.0),
        _on_mn("S2", 1, "NEEDLE_DEPTH_MM", 0.5),
    ),
    ("TK016", "volume", _on_prp("VOLUME_ML", 6.5), _on_prp("VOLUME_ML", 6.0)),
    (
        "TK017",
        "ae",
        _set("adverse_events", 0, "AEENDT", D("2024-01-08")),
        _set("adverse_events", 0, "AEENDT", D("2024-01-09")),
    ),
    (
        "TK017",
        "exposure",
        _set("exposure", 0, "EXENDT", D("2023-12-31")),
        _set("exposure", 0, "EXENDT", D("2024-01-01")),
    ),
    (
        "TK018",
        "assessment-after-eos",
        lambda f: _set("assessments", _week4_row(f), "ADT", D("2024-07-02"))(f),
        lambda f: _set("subjects", 0, "EOSDT", D("2024-07-02"))(f),
    ),
    (
        "TK018",
        "ae-after-eos",
        _set("adverse_events", 0, "AESTDT", D("2024-06-21")),
        _set("adverse_events", 0, "AESTDT", D("2024-06-20")),
    ),
    (
        "TK019",
        "before-randdt",
        _set("exposure", 0, "EXSTDT", D("2023-12-31")),
        _set("exposure", 0, "EXSTDT", D("2024-01-01")),
    ),
    (
        "TK020",
        "discontinued-no-reason",
        _set("subjects", 1, "DCSREAS", None),
        _set("subjects", 1, "DCSREAS", "lost to follow-up"),
    ),
    ("TK020", "ongoing-with-date", _set("subjects", 2, "EOSDT", D("2024-07-01")), lambda f: None),
    (
        "TK020",
        "completed-with-reason",
        _set("subjects", 0, "DCSREAS", "adverse event"),
        lambda f: None,
    ),
    (
        "TK021",
        "after-2200",
        _set("adverse_events", 0, "AEENDT", "2201-01-01"),
        _set("adverse_events", 0, "AEENDT", "2200-12-31"),
    ),
    (
        "TK021",
        "before-1900",
        _set("subjects", 0, "RANDDT", D("1899-12-31")),
        _set("subjects", 0, "RANDDT", D("1900-01-01")),
    ),
    (
        "TK021",
        "beyond-datetime64",
        _set("subjects", 2, "EOSDT", "9999-12-31"),
        _set("subjects", 2, "EOSDT", None),
    ),
    ("TK022", "aval-inf", _on_week4("AVAL", float("inf")), _on_week4("AVAL", 600.0)),
    (
        "TK022",
        "dose-nan-text",
        _set("exposure", 0, "EXDOSE", "nan"),
        _set("exposure", 0, "EXDOSE", "1"),
    ),
    (
        "TK022",
        "age-minus-inf-text",
        _set("subjects", 0, "AGE", "-inf"),
        _set("subjects", 0, "AGE", "1e2"),
    ),
    ("TK023", "aval-twice", _add_column("assessments", "AVAL"), lambda f: None),
    ("TK024", "no-assessments", _no_records("assessments"), _no_records("adverse_events")),
    (
        "TK032",
        "studyid-twice",
        _both(_add_column("exposure", "STUDYID"), _add_column("exposure", "STUDYID")),
        _add_column("exposure", "STUDYID"),
    ),
    (
        "TK030",
        "window",
        _on_week4("ADT", D("2024-01-01") + pd.Timedelta(days=28 + 8)),
        _on_week4("ADT", D("2024-01-01") + pd.Timedelta(days=28 + 7)),
    ),
    (
        "TK030",
        "baseline-window",
        _on_baseline("S1", "ADT", D("2024-01-02")),
        _on_baseline("S1", "ADT", D("2023-12-18")),
    ),
    (
        "TK031",
        "weekly-mn",
        _on_mn("S2", 1, "EXSTDT", D("2024-01-11")),
        _on_mn("S2", 1, "EXSTDT", D("2024-01-10")),
    ),
]


def test_every_rule_has_a_case() -> None:
    assert {c[0] for c in CASES} == set(RULES)


def test_clean_trial_has_no_findings(definition: TrialDefinition, frames: Frames) -> None:
    result = validate_datasets(definition, frames)
    assert result.findings.empty, result.findings.to_string()
    assert not result.has_errors


@pytest.mark.parametrize(
    ("rule", "case", "fail", "ok"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_rule(
    definition: TrialDefinition,
    frames: Frames,
    rule: str,
    case: str,
    fail: Callable[[Frames], None],
    ok: Callable[[Frames], None],
) -> None:
    broken = {n: f.copy() for n, f in frames.items()}
    fail(broken)
    findings = validate_datasets(definition, broken).findings
    assert rule in set(findings["rule"]), findings.to_string()
    assert (findings.loc[findings.rule == rule, "severity"] == RULES[rule].severity).all()
    fine = {n: f.copy() for n, f in frames.items()}
    ok(fine)
    findings = validate_datasets(definition, fine).findings
    assert rule not in set(findings["rule"]), findings.to_string()
