"""Ingest runs validation's checks in a child process while it builds the records: what it
stores is exactly what the one-process path stores, and validation still speaks first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from tests.store.conftest import make_transfers
from tests.store.helpers import assert_one_line_error, run
from trialkit.store.ingest import ingest


def _stored(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the store's data tables (times and users aside)."""
    with sqlite3.connect(db) as conn:
        return {
            "records": conn.execute("SELECT * FROM records ORDER BY id").fetchall(),
            "layouts": conn.execute("SELECT * FROM layouts ORDER BY transfer, dataset").fetchall(),
            "queries": conn.execute(
                "SELECT query_id, rule, dataset, record_key, column_name, message, status,"
                " opened_transfer, closed_transfer FROM queries ORDER BY query_id"
            ).fetchall(),
        }


def test_child_checks_store_what_one_process_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transfers = make_transfers(tmp_path / "t")  # type errors ('abc') and missing values
    for folder in transfers[1:]:  # a date validation sets missing; the store keeps it as sent
        ae = folder / "adverse_events.csv"
        frame = pd.read_csv(ae, dtype="str", keep_default_na=False)
        frame.loc[0, "AEENDT"] = "2304-05-06"
        frame.to_csv(ae, index=False)
    stores = {}
    for workers in ("2", "1"):
        monkeypatch.setenv("TRIALKIT_WORKERS", workers)
        db = tmp_path / f"store{workers}.db"
        summaries = [ingest(str(db), t, "dm").lines() for t in transfers]
        stores[workers] = (summaries, _stored(db))
    assert stores["2"] == stores["1"]
    cells = " ".join(str(row) for row in stores["2"][1]["records"])
    assert "abc" in cells and "2304-05-06" in cells  # kept as collected


def test_a_missing_key_column_is_named_by_validation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = make_transfers(tmp_path / "t")[0]
    path = folder / "assessments.csv"
    pd.read_csv(path, dtype="str").drop(columns="PARAMCD").to_csv(path, index=False)
    code, _, err = run(capsys, "ingest", folder, "--store", tmp_path / "s.db")
    assert_one_line_error(code, err, "assessments", "PARAMCD")
    assert not (tmp_path / "s.db").exists()
