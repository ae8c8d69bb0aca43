"""The transport files hold the analysis' own values, row for row, with ADaM names, labels,
types and formats; their bytes are SAS transport version 5."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from trialkit.submission.ard import value_at
from trialkit.submission.metadata import COPIES, VARIABLES, dataset_spec

from .conftest import Exported

EPOCH = pd.Timestamp("1960-01-01")
SOURCES = {"ADSL": "adsl", "ADEFF": "adbds", "ADAE": "adae"}


def _expected(values: pd.Series, kind: str) -> list[Any]:
    if kind == "date":
        days = (pd.to_datetime(values) - EPOCH).dt.days
        return [float(d) if pd.notna(d) else math.nan for d in days]
    if kind == "text":
        return [None if v is None or v is pd.NA or v != v or v == "" else str(v) for v in values]
    return [float(v) if pd.notna(v) else math.nan for v in values]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _check_against_analysis(case: Exported) -> None:
    for name, source in SOURCES.items():
        spec = dataset_spec(name)
        frame = case.results.adam[source]
        if name == "ADSL":
            adsl = frame
        xpt, meta = pyreadstat.read_xport(
            str(case.export / f"{name.lower()}.xpt"), disable_datetime_conversion=True
        )
        assert meta.table_name == name and meta.file_label == spec.label
        assert len(xpt) == len(frame), name
        checked = 0
        for col in xpt.columns:
            var = VARIABLES.get(col)
            label = var.label if var else col
            assert meta.column_names_to_labels[col] == label, (name, col)
            kind = var.kind if var else None
            fmt = meta.original_variable_types[col]
            assert fmt == ("DATE9." if kind == "date" else None), (name, col, fmt)
            src = spec.renames.get(col, COPIES.get(col, col))
            values = frame[src] if src in frame.columns else None
            if values is None and src in adsl.columns:  # subject-level: from ADSL by USUBJID
                values = frame[["USUBJID"]].merge(adsl[["USUBJID", src]], how="left")[src]
            if values is None:
                continue
            kind = kind or ("float" if pd.api.types.is_numeric_dtype(values) else "text")
            stored = "string" if kind == "text" else "double"
            assert meta.readstat_variable_types[col] == stored, (name, col)
            found = [None if v == "" else v for v in xpt[col]] if kind == "text" else list(xpt[col])
            expected = _expected(values, kind)
            bad = [
                i for i, (a, b) in enumerate(zip(found, expected, strict=True)) if not _same(a, b)
            ]
            assert not bad, (name, col, bad[:3], found[bad[0]], expected[bad[0]])
            checked += 1
        assert checked >= len(xpt.columns) - 4, name  # all but the few set by the export


def test_transport_files_equal_the_analysis_frames(dhurat: Exported) -> None:
    _check_against_analysis(dhurat)


@pytest.mark.slow
def test_transport_files_equal_the_analysis_frames_multicentre(aga: Exported) -> None:
    _check_against_analysis(aga)


def test_version_5_header_records(dhurat: Exported) -> None:
    for path in sorted(dhurat.export.glob("*.xpt")):
        data = path.read_bytes()
        assert len(data) % 80 == 0
        assert data[:80] == b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!" + b"0" * 30 + b"  "
        assert data[80:104] == b"SAS     SAS     SASLIB  "
        member = data[240:320]
        assert member.startswith(b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!")
        assert member[48:78] == b"000000000000000001600000000140"  # 140-byte NAMESTR: v5
        assert data[320:400].startswith(b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!")
        name = path.stem.upper().encode()
        assert data[400:424] == b"SAS     " + name.ljust(8) + b"SASDATA "
        assert b"NAMESTR HEADER RECORD" in data and b"OBS     HEADER RECORD" in data
        assert b"LIBV8" not in data and b"MEMBV8" not in data  # no version 8 records


def test_dates_are_sas_dates_and_subjid_is_derived(dhurat: Exported) -> None:
    adsl, _ = pyreadstat.read_xport(str(dhurat.export / "adsl.xpt"))  # DATE9. -> dates
    first = dhurat.results.adam["adsl"].iloc[0]
    assert adsl.loc[0, "RANDDT"] == first["RANDDT"].date()
    assert adsl.loc[0, "SUBJID"] == first["USUBJID"].removeprefix(f"{first['STUDYID']}-")


def test_exposure_records_of_the_trial_folder(dhurat: Exported) -> None:
    adex, _ = pyreadstat.read_xport(str(dhurat.export / "adex.xpt"))
    collected = pd.read_csv(dhurat.trial / "exposure.csv", dtype=str, keep_default_na=False)
    rows = collected.iloc[adex["EXSEQ"].astype(int) - 1].reset_index(drop=True)
    assert len(adex) == len(collected)
    assert list(adex["EXTRT"]) == list(rows["EXTRT"])
    assert [d.isoformat() for d in adex["ASTDT"]] == list(rows["EXSTDT"])
    assert np.allclose(adex["EXDOSE"], pd.to_numeric(rows["EXDOSE"]), equal_nan=True)


def test_ard_rows_are_results_json_values(dhurat: Exported) -> None:
    import json

    results = json.loads((dhurat.analysis / "results.json").read_text())
    ard, _ = pyreadstat.read_xport(str(dhurat.export / "ard.xpt"))
    assert {"PRIMARY CONTRASTS", "PRIMARY LSMEANS", "POPULATION", "PRIMARY MODEL"} <= set(
        ard["ANALYSIS"]
    )
    for row in ard.itertuples():
        assert float(value_at(results, row.SOURCE)) == row.STATVAL, row.SOURCE
    n_contrast_numbers = sum(
        1 for c in results["primary"]["contrasts"] for k, v in c.items()
        if (isinstance(v, int | float) and not isinstance(v, bool)) or isinstance(v, bool)
    )  # fmt: skip
    assert (ard["ANALYSIS"] == "PRIMARY CONTRASTS").sum() == n_contrast_numbers


def test_csv_files_hold_the_transport_values(dhurat: Exported) -> None:
    xpt, _ = pyreadstat.read_xport(str(dhurat.export / "adeff.xpt"))
    csv = pd.read_csv(dhurat.export / "adeff.csv", keep_default_na=False, dtype=str)
    assert list(csv.columns) == list(xpt.columns) and len(csv) == len(xpt)
    assert list(csv["ADT"]) == [d.isoformat() for d in xpt["ADT"]]
    aval = pd.to_numeric(csv["AVAL"].replace("", np.nan))
    assert np.array_equal(aval.to_numpy(), xpt["AVAL"].to_numpy(), equal_nan=True)
