"""Each rule, broken in one place (must be reported) and at its boundary (must not be)."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.validation.conftest import FIXTURE
from trialkit.definition import TrialDefinition, parse_definition
from trialkit.validation import RULES, validate_datasets
from trialkit.validation.checks import allocation_test

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


def _more_subjects(arm: str, n: int) -> Callable[[Frames], None]:
    """``n`` more subjects like S1, randomised to ``arm``."""

    def mutate(f: Frames) -> None:
        s1 = f["subjects"].iloc[[0]]
        extra = pd.concat([s1] * n, ignore_index=True)
        extra["USUBJID"], extra["ARMCD"] = [f"X{i}" for i in range(n)], arm
        f["subjects"] = pd.concat([f["subjects"], extra], ignore_index=True)

    return mutate


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
    ("TK004", "age", _set("subjects", 0, "AGE", 151), _set("subjects", 0, "AGE", 150)),
    ("TK025", "age-adult", _set("subjects", 0, "AGE", 17), _set("subjects", 0, "AGE", 18)),
    ("TK025", "age-old", _set("subjects", 0, "AGE", 101), _set("subjects", 0, "AGE", 100)),
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
        "TK033",
        "prp-in-minox",
        _set("exposure", 0, "EXTRT", "prp"),
        _set("exposure", 0, "EXTRT", "minoxidil"),
    ),
    (
        "TK003",
        "extrt-not-of-the-trial",
        _set("exposure", 0, "EXTRT", "finasteride"),
        _set("exposure", 0, "EXTRT", "minoxidil"),
    ),
    ("TK034", "allocation", _more_subjects("MINOX", 27), _more_subjects("MINOX", 3)),
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
    assert {c[0] for c in CASES} | {c[0] for c in DEFINITION_CASES} == set(RULES)


# (rule, case id, change of the example trial.toml, mutation that breaks it, one that does not)
Mutation = Callable[[Frames], None]
DEFINITION_CASES: list[tuple[str, str, Callable[[dict[str, Any]], None], Mutation, Mutation]] = [
    (
        "TK025",
        "adolescents",
        lambda t: t["trial"].update(population={"age": [12, 75]}),
        _set("subjects", 0, "AGE", 11),
        _set("subjects", 0, "AGE", 12),
    ),
    (
        "TK026",
        "women-only",
        lambda t: t["trial"].update(population={"sex": ["F"]}),
        lambda f: None,
        _both(_set("subjects", 0, "SEX", "F"), _set("subjects", 2, "SEX", "F")),
    ),
    (
        "TK034",
        "planned-2-to-1",
        lambda t: t["arms"][0].update(allocation=2),
        _more_subjects("MINOX_MN", 27),
        _more_subjects("MINOX", 3),
    ),
]


@pytest.mark.parametrize(
    ("rule", "case", "change", "fail", "ok"),
    DEFINITION_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in DEFINITION_CASES],
)
def test_rule_of_the_definition(
    frames: Frames,
    rule: str,
    case: str,
    change: Callable[[dict[str, Any]], None],
    fail: Callable[[Frames], None],
    ok: Callable[[Frames], None],
) -> None:
    toml = tomllib.loads(FIXTURE.read_text())
    change(toml)
    definition = parse_definition(toml)
    for mutate, found in ((fail, True), (ok, False)):
        changed = {n: f.copy() for n, f in frames.items()}
        mutate(changed)
        findings = validate_datasets(definition, changed).findings
        assert (rule in set(findings["rule"])) is found, findings.to_string()


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


def test_allocation_test_against_the_closed_form() -> None:
    """Two arms: chi-square on 1 df, p = erfc(sqrt(x / 2)); 3 arms: p = exp(-x / 2) on 2 df."""
    x, df, p = allocation_test(np.array([60.0, 40.0]), np.array([1.0, 1.0]))
    assert (x, df) == (4.0, 1) and p == pytest.approx(math.erfc(math.sqrt(2.0)), rel=1e-12)
    x, df, p = allocation_test(np.array([50.0, 60.0, 10.0]), np.array([2.0, 1.0, 1.0]))
    assert x == pytest.approx(100 / 60 + 900 / 30 + 400 / 30) and df == 2  # expected 60, 30, 30
    assert p == pytest.approx(math.exp(-x / 2), rel=1e-12)


def test_window_deviation_is_one_per_subject_visit(frames: Frames) -> None:
    """Three parameters assessed on one late day are one deviation, not three."""
    toml = tomllib.loads(FIXTURE.read_text())
    toml["parameters"] += [{"code": c, "label": c} for c in ("HDIAM", "HDIAM2")]
    d = parse_definition(toml)
    a = frames["assessments"]
    more = pd.concat([a.assign(PARAMCD=c) for c in ("HDIAM", "HDIAM2")], ignore_index=True)
    a = pd.concat([a, more], ignore_index=True)
    a.loc[(a.USUBJID == "S1") & (a.VISIT == "WEEK4"), "ADT"] = D("2024-02-15")
    a.loc[(a.USUBJID == "S3") & (a.VISIT == "WEEK8"), "ADT"] = D("2024-03-15")
    found = validate_datasets(d, {**frames, "assessments": a}).findings
    windows = found[found.rule == "TK030"]
    assert sorted(zip(windows.USUBJID, windows.VISIT, strict=True)) == [
        ("S1", "WEEK4"), ("S3", "WEEK8"),
    ]  # fmt: skip
