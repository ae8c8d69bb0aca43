"""Reading datasets: blank text is missing in every format, dates are parsed within the plausible
range, a repeated column keeps its first occurrence (CSV, Parquet, XPT) and is reported, and
the frames handed on hold no value validation refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest

from trialkit.datasets import DATE_OUT_OF_RANGE, NOT_A_DATE, parse_dates, read_dataset
from trialkit.definition import TrialDefinition
from trialkit.resources import example_trials_dir
from trialkit.validation import validate_datasets, validate_trial

Frames = dict[str, pd.DataFrame]


def _trial(tmp_path: Path) -> Path:
    return Path(shutil.copytree(example_trials_dir() / "dhurat2013", tmp_path / "trial"))


def _sas_subjects(trial: Path) -> pd.DataFrame:
    """subjects.csv as a SAS transfer holds it: text columns blank ('') where missing."""
    subjects = pd.read_csv(trial / "subjects.csv", dtype="str", keep_default_na=False)
    subjects["AGE"] = subjects["AGE"].astype("float64")
    ongoing = subjects.index[:2]
    subjects.loc[ongoing, ["EOSSTT", "EOSDT"]] = ["ONGOING", " "]  # SAS pads with spaces
    assert (subjects["DCSREAS"] == "").any()
    (trial / "subjects.csv").unlink()
    return subjects


def _no_errors(trial: Path) -> pd.DataFrame:
    report = validate_trial(trial)
    errors = report.findings[report.findings["severity"] == "error"]
    assert errors.empty, errors.to_string()
    return report.datasets["subjects"].frame


def test_xpt_blank_character_values_are_missing(tmp_path: Path) -> None:
    trial = _trial(tmp_path)
    subjects = _sas_subjects(trial)
    pyreadstat.write_xport(subjects, str(trial / "subjects.xpt"), file_format_version=8)
    read = _no_errors(trial)
    assert read["EOSDT"].isna().sum() == 2 and read["DCSREAS"].notna().sum() < len(read)


def test_parquet_blank_character_values_are_missing(tmp_path: Path) -> None:
    trial = _trial(tmp_path)
    _sas_subjects(trial).to_parquet(trial / "subjects.parquet")
    read = _no_errors(trial)
    assert read["EOSDT"].isna().sum() == 2


def test_csv_cell_of_spaces_is_missing(tmp_path: Path) -> None:
    trial = _trial(tmp_path)
    path = trial / "adverse_events.csv"
    frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    frame.loc[0, "AESEV"] = "   "
    frame.to_csv(path, index=False)
    findings = validate_trial(trial).findings
    assert findings[["dataset", "row", "column", "rule"]].astype(str).values.tolist() == [
        ["adverse_events", "1", "AESEV", "TK001"]
    ]


def _assessments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": ["S1", "S1"],
            "VISIT": ["BASELINE", "WEEK4"],
            "ADT": ["2024-01-01", "2024-01-29"],
            "PARAMCD": ["HAIRCNT", "HAIRCNT"],
            "AVAL": [150.0, 160.0],
            "AVAX": [1.0, 2.0],
        }
    )


def test_csv_repeated_header_name_keeps_the_first(tmp_path: Path) -> None:
    path = tmp_path / "assessments.csv"
    _assessments().rename(columns={"AVAX": "AVAL"}).to_csv(path, index=False)
    ds = read_dataset(path, "assessments")
    assert ds.repeated_columns == ("AVAL",)
    assert list(ds.frame.columns) == ["USUBJID", "VISIT", "ADT", "PARAMCD", "AVAL"]
    assert ds.frame["AVAL"].tolist() == [150.0, 160.0]


def test_csv_column_named_like_a_pandas_duplicate_is_not_one(tmp_path: Path) -> None:
    path = tmp_path / "assessments.csv"
    _assessments().rename(columns={"AVAX": "AVAL.1"}).to_csv(path, index=False)
    ds = read_dataset(path, "assessments")
    assert ds.repeated_columns == () and "AVAL.1" in ds.frame


def test_parquet_repeated_field_keeps_the_first(tmp_path: Path) -> None:
    path = tmp_path / "assessments.parquet"
    frame = _assessments()
    table = pa.table(
        [pa.array(frame[c]) for c in frame.columns],
        names=[c if c != "AVAX" else "AVAL" for c in frame.columns],
    )
    pq.write_table(table, path)
    ds = read_dataset(path, "assessments")
    assert ds.repeated_columns == ("AVAL",) and ds.frame["AVAL"].tolist() == [150.0, 160.0]


def test_xpt_repeated_variable_keeps_the_first(tmp_path: Path) -> None:
    path = tmp_path / "assessments.xpt"
    pyreadstat.write_xport(_assessments(), str(path))
    path.write_bytes(path.read_bytes().replace(b"AVAX", b"AVAL"))  # SAS allows no such file
    ds = read_dataset(path, "assessments")
    assert ds.repeated_columns == ("AVAL",) and ds.frame["AVAL"].tolist() == [150.0, 160.0]


def test_repeated_required_column_in_a_trial_is_an_error(tmp_path: Path) -> None:
    trial = _trial(tmp_path)
    subjects = pd.read_csv(trial / "subjects.csv", dtype="str", keep_default_na=False)
    (trial / "subjects.csv").unlink()
    table = pa.Table.from_pandas(subjects, preserve_index=False)
    pq.write_table(table.append_column("SEX", table.column("SEX")), trial / "subjects.parquet")
    findings = validate_trial(trial).findings
    assert findings[["dataset", "column", "rule"]].values.tolist() == [["subjects", "SEX", "TK023"]]
    assert findings["row"].isna().all()


def test_reader_records_why_a_date_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "assessments.csv"
    frame = _assessments().drop(columns="AVAX")
    frame["ADT"] = ["9999-12-31", "2024-02-30"]
    frame.to_csv(path, index=False)
    ds = read_dataset(path, "assessments")
    assert ds.frame["ADT"].isna().all() and ds.frame["ADT"].dtype == "datetime64[ns]"
    assert ds.bad_dates[["row", "value", "problem"]].values.tolist() == [
        [1, "2024-02-30", NOT_A_DATE],
        [0, "9999-12-31", DATE_OUT_OF_RANGE],
    ]


def test_parse_dates_bounds_and_blanks() -> None:
    raw = pd.Series(
        ["2024-01-01", " 2024-01-02 ", "", None, "x", "9999-12-31", "1899-12-31", "2200-12-31",
         "2200-12-31T23:59", "2201-01-01", "1900-01-01"]
    )  # fmt: skip
    dates, not_date, out_of_range = parse_dates(raw)
    assert dates.dtype == "datetime64[ns]"
    assert dates.notna().tolist() == [True, True, False, False, False, False, False, True, True,
                                      False, True]  # fmt: skip
    assert not_date.tolist() == [False] * 4 + [True] + [False] * 6
    assert out_of_range.tolist() == [False] * 5 + [True, True, False, False, True, False]


def test_frames_handed_on_hold_no_refused_value(
    definition: TrialDefinition, frames: Frames
) -> None:
    broken = {n: f.copy() for n, f in frames.items()}
    a = broken["assessments"] = broken["assessments"].astype({"AVAL": "object", "ADT": "object"})
    a.loc[1, "AVAL"], a.loc[2, "AVAL"], a.loc[3, "AVAL"] = "-inf", "abc", np.inf
    a.loc[4, "ADT"] = "2262-04-12"
    broken["exposure"].loc[0, "EXDOSE"] = np.inf
    before = {n: f.copy() for n, f in broken.items()}
    result = validate_datasets(definition, broken)
    kept = result.kept["assessments"]
    assert kept.loc[[1, 2, 3], "AVAL"].isna().all() and pd.isna(kept.loc[4, "ADT"])
    assert kept.loc[5, "AVAL"] == a.loc[5, "AVAL"]
    assert pd.isna(result.kept["exposure"].loc[0, "EXDOSE"])
    rules = result.findings.set_index(["dataset", "row"])["rule"]
    assert rules[("assessments", 2)] == "TK022" and rules[("assessments", 3)] == "TK002"
    assert rules[("assessments", 5)] == "TK021" and rules[("exposure", 1)] == "TK022"
    assert "TK001" not in set(result.findings["rule"])
    for name, frame in before.items():
        pd.testing.assert_frame_equal(broken[name], frame)


@pytest.mark.parametrize("name", ["subjects", "assessments", "exposure"])
def test_repeated_column_given_as_a_frame_is_a_finding(
    definition: TrialDefinition, frames: Frames, name: str
) -> None:
    f = frames[name]
    frames[name] = pd.concat([f, f[["USUBJID"]]], axis=1)
    result = validate_datasets(definition, frames)
    assert result.findings[["dataset", "column", "rule"]].values.tolist() == [
        [name, "USUBJID", "TK023"]
    ]
    assert list(result.kept[name].columns) == list(f.columns)


def test_parquet_timestamp_beyond_datetime64_ns_is_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "assessments.parquet"
    frame = _assessments().drop(columns="AVAX")
    frame["ADT"] = pd.Series(["2024-01-01", "9999-12-31"], dtype="datetime64[s]")
    frame.to_parquet(path)
    ds = read_dataset(path, "assessments")
    assert ds.frame["ADT"].dtype == "datetime64[ns]" and ds.frame["ADT"].notna().tolist() == [
        True,
        False,
    ]
    assert ds.bad_dates[["row", "value", "problem"]].values.tolist() == [
        [1, "9999-12-31", DATE_OUT_OF_RANGE]
    ]
