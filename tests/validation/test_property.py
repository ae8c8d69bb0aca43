"""Property: whatever corruption a trial folder suffers, validation returns findings or raises
a documented input error (DatasetError / DefinitionError), never anything else."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialkit.errors import DatasetError, DefinitionError
from trialkit.validation import FINDING_COLUMNS, RULES, validate_trial

from .conftest import FIXTURE, clean_frames

NASTY = [
    "", " ", "abc", "-1", "1e309", "NaN", "99999", "2024-02-30", "3024-01-01", "01/02/2024",
    "0001-01-01", "WEEK 12", "<b>x</b>", "Y", "é", "9" * 30, "2024-01-01T10:00:00+05:00",
    "inf", "-inf", "nan", "9999-12-31", "2262-04-12", "1677-09-21", "1899-12-31", "   ",
]  # fmt: skip

corruption = st.tuples(
    st.sampled_from(
        ["blank", "text", "number", "code", "shuffle_dates", "duplicate", "drop", "repeat", "empty"]
    ),
    st.sampled_from(list(clean_frames())),
    st.integers(0, 10_000),  # row (modulo the frame's length)
    st.integers(0, 100),  # column (modulo the number of columns)
    st.one_of(st.sampled_from(NASTY), st.floats(allow_nan=True), st.integers(-(10**6), 10**6)),
)


def _corrupt(frames: dict[str, pd.DataFrame], op: tuple) -> None:
    kind, name, row, col, value = op
    frame = frames[name]
    if frame.empty:
        return
    row, column = row % len(frame), frame.columns[col % len(frame.columns)]
    if kind == "drop":
        frames[name] = frame.drop(columns=column)
        return
    if kind == "duplicate":
        frames[name] = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
        return
    if kind == "repeat":  # the header names a column twice
        frames[name] = pd.concat([frame, frame[[column]]], axis=1)
        return
    if kind == "empty":  # header only
        frames[name] = frame.iloc[:0]
        return
    frame = frame.astype({column: "object"})
    if kind == "blank":
        frame.loc[row, column] = None
    elif kind == "text":
        frame.loc[row, column] = str(value)
    elif kind == "number":
        frame.loc[row, column] = value if not isinstance(value, str) else -(10**9)
    elif kind == "code":
        frame.loc[row, column] = "UNKNOWN_CODE"
    elif kind == "shuffle_dates":
        dates = [c for c in frame.columns if c.endswith("DT")]
        if dates:
            c = dates[col % len(dates)]
            frame[c] = frame[c].sample(frac=1.0, random_state=row).to_numpy()
    frames[name] = frame


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(ops=st.lists(corruption, min_size=1, max_size=6))
def test_validation_reports_or_raises_input_error(ops: list[tuple]) -> None:
    frames = clean_frames()
    for op in ops:
        _corrupt(frames, op)
    with tempfile.TemporaryDirectory() as tmp:
        trial = Path(tmp)
        shutil.copy(FIXTURE, trial / "trial.toml")
        for name, frame in frames.items():
            frame.to_csv(trial / f"{name}.csv", index=False)
        try:
            report = validate_trial(trial)
        except (DatasetError, DefinitionError):
            return
    findings = report.findings
    assert tuple(findings.columns) == FINDING_COLUMNS
    assert set(findings["rule"]) <= set(RULES)
    assert set(findings["severity"]) <= {"error", "warning"}
    assert report.has_errors == bool((findings["severity"] == "error").any())


def test_extreme_and_mixed_timezone_dates_are_findings(tmp_path: Path) -> None:
    """Regression: dates outside datetime64[ns] and mixed UTC offsets once raised.

    3024-01-01 and -0001-01-01 are dates, outside the plausible range (TK021).
    """
    frames = clean_frames()
    ae = frames["adverse_events"].astype({"AESTDT": "object", "AEENDT": "object"})
    ae.loc[0, "AESTDT"] = "3024-01-01"
    ae.loc[0, "AEENDT"] = "-0001-01-01"
    frames["adverse_events"] = pd.concat([ae, ae], ignore_index=True)
    frames["adverse_events"].loc[1, "AESTDT"] = "2024-01-01T10:00:00+05:00"
    frames["adverse_events"].loc[1, "AEENDT"] = "2024-01-02T10:00:00+01:00"
    shutil.copy(FIXTURE, tmp_path / "trial.toml")
    for name, frame in frames.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    findings = validate_trial(tmp_path).findings
    bad = findings[findings["dataset"] == "adverse_events"]
    assert {("1", "AESTDT", "TK021"), ("1", "AEENDT", "TK021")} <= set(
        zip(bad["row"].astype(str), bad["column"], bad["rule"], strict=True)
    )
