"""The transport files hold the analysis' own values, row for row, with ADaM names, labels,
types and formats; their bytes are SAS transport version 5."""

from __future__ import annotations

import json
import math
import re
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from trialkit.submission.ard import value_at
from trialkit.submission.metadata import COPIES, dataset_spec, variable

from .conftest import Exported

EPOCH = pd.Timestamp("1960-01-01")
CRITERION = re.compile(r"CRIT[0-9]+(FL)?")
SOURCES = {"ADSL": "adsl", "ADEFF": "adbds", "ADAE": "adae", "ADEX": "adex", "ADVS": "advs"}


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
        if source not in case.results.adam:  # ADVS: only with vital signs
            assert not (case.export / f"{name.lower()}.xpt").exists()
            continue
        frame = case.results.adam[source]
        if name == "ADSL":
            adsl = frame
        xpt, meta = pyreadstat.read_xport(
            str(case.export / f"{name.lower()}.xpt"), disable_datetime_conversion=True
        )
        assert meta.table_name == name and meta.file_label == spec.label
        assert len(xpt) == len(frame), name
        unchecked = []
        for col in xpt.columns:
            var = variable(col)
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
                unchecked.append(col)
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
        set_by_export = [c for c in unchecked if c in ("SUBJID", "AGEU") or CRITERION.fullmatch(c)]
        assert unchecked == set_by_export, name  # checked elsewhere: SUBJID, criteria


def test_transport_files_equal_the_analysis_frames(dhurat: Exported) -> None:
    _check_against_analysis(dhurat)


@pytest.mark.slow
def test_transport_files_equal_the_analysis_frames_multicentre(aga: Exported) -> None:
    _check_against_analysis(aga)


@pytest.mark.slow
def test_transport_files_equal_the_analysis_frames_vital_signs(aa: Exported) -> None:
    """tk_aa_201: ADVS (with the alert-limit variables), sham and vehicle session counts."""
    _check_against_analysis(aa)
    advs, meta = pyreadstat.read_xport(str(aa.export / "advs.xpt"))
    assert set(advs["PARAMCD"]) == {"SYSBP", "DIABP", "PULSE"}
    assert meta.column_names_to_labels["ALRTIND"] == "Alert Limit Indicator"
    assert set(advs["ALRTIND"]) <= {"LOW", "NORMAL", "HIGH", ""}
    assert ((advs["ALRTFL"] == "Y") == advs["ALRTIND"].isin(["LOW", "HIGH"])).all()
    adsl, _ = pyreadstat.read_xport(str(aa.export / "adsl.xpt"))
    given = aa.results.adam["adsl"]["SHAM_MN_SESSIONS"].to_numpy(dtype=float)
    assert np.array_equal(adsl["SHMNSESS"].to_numpy(), given)
    assert all(variable(c) is not None for c in adsl.columns)  # every one has its ADaM name


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


def _recorded(case: Exported, source: str) -> float:
    """The number at an ARD SOURCE: a results.json path, or ``tables/NAME.csv[i].column``
    (read here with pandas, apart from the export's reader)."""
    if not source.startswith("tables/"):
        results = json.loads((case.analysis / "results.json").read_text())
        return float(value_at(results, source))
    path, _, rest = source.partition("[")
    row, _, column = rest.partition("].")
    table = pd.read_csv(case.analysis / path, dtype=str, keep_default_na=False)
    return float(table.loc[int(row), column])


def _check_ard(case: Exported) -> pd.DataFrame:
    ard, _ = pyreadstat.read_xport(str(case.export / "ard.xpt"))
    for row in ard.itertuples():
        assert _recorded(case, row.SOURCE) == row.STATVAL, row.SOURCE
    results = json.loads((case.analysis / "results.json").read_text())
    n_contrast_numbers = sum(
        1 for c in results["primary"]["contrasts"] for v in c.values()
        if isinstance(v, int | float)
    )  # fmt: skip
    assert (ard["ANALYSIS"] == "PRIMARY CONTRASTS").sum() == n_contrast_numbers
    secondary = ard.loc[ard["ANALYSIS"].str.startswith("SECONDARY")]
    assert list(dict.fromkeys(secondary["ENDPOINT"])) == [
        name for name, s in sorted(results["secondary"].items(), key=lambda kv: kv[1]["order"])
        if s["status"] == "ok"
    ]  # fmt: skip
    return ard


def test_ard_rows_are_results_json_values(dhurat: Exported) -> None:
    ard = _check_ard(dhurat)
    assert {"PRIMARY CONTRASTS", "PRIMARY LSMEANS", "POPULATION", "PRIMARY MODEL",
            "SECONDARY LSMEANS", "SECONDARY CONTRASTS"} <= set(ard["ANALYSIS"])  # fmt: skip


@pytest.mark.slow
def test_ard_of_a_binary_primary_and_secondaries(aa: Exported) -> None:
    ard = _check_ard(aa)
    arms = ard.loc[ard["ANALYSIS"] == "PRIMARY ARMS"]
    assert set(arms["AVISIT"]) == {"WEEK24"}
    assert set(arms["ARDARM"]) == {"CTRL", "MN_PRP", "MN_MINOX"}
    rd = ard.loc[(ard["ANALYSIS"] == "PRIMARY CONTRASTS") & (ard["STAT"] == "estimate")]
    assert list(zip(rd["ARDARM"], rd["ARDREF"], strict=True)) == [
        ("MN_PRP", "CTRL"), ("MN_MINOX", "CTRL"), ("MN_PRP", "MN_MINOX")]  # fmt: skip
    salt50 = ard.loc[(ard["ENDPOINT"] == "SALT50 at week 24")]
    assert {"SECONDARY ARMS", "SECONDARY CONTRASTS"} == set(salt50["ANALYSIS"])
    assert set(salt50["AVISIT"]) == {"WEEK24"}
    assert {"estimate", "se", "p", "odds_ratio", "responders"} <= set(salt50["STAT"])


def test_csv_files_hold_the_transport_values(dhurat: Exported) -> None:
    xpt, _ = pyreadstat.read_xport(str(dhurat.export / "adeff.xpt"))
    csv = pd.read_csv(dhurat.export / "adeff.csv", keep_default_na=False, dtype=str)
    assert list(csv.columns) == list(xpt.columns) and len(csv) == len(xpt)
    assert list(csv["ADT"]) == [d.isoformat() for d in xpt["ADT"]]
    aval = pd.to_numeric(csv["AVAL"].replace("", np.nan))
    assert np.array_equal(aval.to_numpy(), xpt["AVAL"].to_numpy(), equal_nan=True)


def _exact(value: float) -> Fraction:
    return Fraction(repr(float(value)))


def test_criterion_flags_follow_the_rule(dhurat: Exported) -> None:
    """dhurat2013's one rule (analysis.responder_pct_change = 20 on a higher-is-better hair
    count), checked by its closed form: 100 AVAL >= 120 BASE, exactly, where BASE > 0."""
    bds, _ = pyreadstat.read_xport(str(dhurat.export / "adeff.xpt"))
    assert "CRIT2" not in bds.columns
    judged = bds["CRIT1FL"] != ""
    assert (
        set(bds.loc[judged, "CRIT1"]) == {"PCHG >= 20"} and (bds.loc[~judged, "CRIT1"] == "").all()
    )
    for row in bds.itertuples():
        decidable = not (math.isnan(row.PCHG) or math.isnan(row.BASE)) and row.BASE > 0
        expected = (100 * _exact(row.AVAL) >= 120 * _exact(row.BASE)) if decidable else None
        assert {True: "Y", False: "N", None: ""}[expected] == row.CRIT1FL, row.Index
    assert (bds.loc[judged, "PARAMCD"] == "HAIRCNT").all()


@pytest.mark.slow
def test_every_responder_rule_of_the_plan_is_a_criterion(aa: Exported) -> None:
    """tk_aa_201: CRIT1 the primary's rule, CRIT2 the SALT50 secondary's, CRIT3 the
    responder_pct_change rule; CRIT1FL at week 24 is the analysis' own response."""
    bds, _ = pyreadstat.read_xport(str(aa.export / "adeff.xpt"))
    texts = [set(bds.loc[bds[f"CRIT{y}FL"] != "", f"CRIT{y}"]) for y in (1, 2, 3)]
    assert texts == [{"AVAL <= 20"}, {"PCHG <= -50"}, {"PCHG <= -20"}]
    salt = bds.loc[bds["PARAMCD"] == "SALT"]
    has_aval = salt["AVAL"].notna()
    assert (
        salt.loc[has_aval, "CRIT1FL"] == np.where(salt.loc[has_aval, "AVAL"] <= 20, "Y", "N")
    ).all()
    assert (salt.loc[~has_aval, "CRIT1FL"] == "").all()
    post = salt.loc[salt["PCHG"].notna()]  # BASE > 0 for every SALT record of the trial
    halved = [100 * _exact(a) <= 50 * _exact(b) for a, b in zip(post["AVAL"], post["BASE"],
                                                                strict=True)]  # fmt: skip
    assert (post["CRIT2FL"] == np.where(halved, "Y", "N")).all()
    assert (salt.loc[salt["PCHG"].isna(), "CRIT2FL"] == "").all()
    visit = salt.loc[(salt["AVISIT"] == "WEEK24") & (salt["ANL01FL"] == "Y")].set_index("USUBJID")
    analysed = aa.results.adam["analysis_primary"].set_index("USUBJID")
    flags = visit["CRIT1FL"].reindex(analysed.index).fillna("")
    assert (flags.eq("Y") == analysed["RESPONSE"].eq(1)).all()
    assert (flags.eq("") == analysed["REASON"].eq("missing")).all()


def test_subjid_from_the_subjects_dataset(tmp_path: Path) -> None:
    """A subjects dataset with SUBJID: ADSL's SUBJID is that column (origin Predecessor);
    without it SUBJID is derived from USUBJID (test_dates_are_sas_dates_and_subjid_is_derived)."""
    from trialkit.analysis.run import write_analysis
    from trialkit.resources import example_trials_dir
    from trialkit.submission.adam import build_datasets, read_analysis

    trial = tmp_path / "trial"
    shutil.copytree(example_trials_dir() / "dhurat2013", trial)
    subjects = pd.read_csv(trial / "subjects.csv", dtype=str, keep_default_na=False)
    subjects["SUBJID"] = [f"P{i:04d}" for i in range(len(subjects))]
    subjects.to_csv(trial / "subjects.csv", index=False)
    write_analysis(trial, tmp_path / "analysis")
    adsl = build_datasets(read_analysis(tmp_path / "analysis"))[0]
    expected = subjects.set_index("USUBJID")["SUBJID"].reindex(adsl.frame["USUBJID"])
    assert list(adsl.frame["SUBJID"]) == list(expected)
    var = next(v for v in adsl.variables if v.name == "SUBJID")
    assert (var.origin, var.method) == ("Predecessor", None)
