"""The whole store lifecycle on SQLite and PostgreSQL: three transfers with additions,
changes and removals, a problem fixed and back, answers, lock, export, diff and audit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.store.helpers import assert_one_line_error, run, same_records
from trialkit.store.diff import DIFF_COLUMNS
from trialkit.store.queries import QUERY_COLUMNS, query_id


def _queries(capsys: pytest.CaptureFixture[str], store: str, out: Path) -> pd.DataFrame:
    code, _, err = run(capsys, "queries", "--store", store, "--out", out)
    assert code == 0, err
    return pd.read_csv(out / "queries.csv", dtype="str", keep_default_na=False)


K1_QUERY = query_id("TK001", "assessments", "DHURAT2013-01-001|WEEK4|HAIRCNT", "AVAL")


def test_three_transfers(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "ingest", transfers[0], "--store", store_url, "--user", "dm1")
    assert code == 0, err
    assert "transfer 1 stored" in out
    assert "assessments: 386 added, 0 changed, 0 removed" in out
    assert "queries: 1 opened, 0 closed, 0 reopened" in out

    code, out, err = run(capsys, "ingest", transfers[1], "--store", store_url, "--note", "t2")
    assert code == 0, err
    assert "assessments: 1 added, 3 changed, 0 removed" in out
    assert "adverse_events: 0 added, 0 changed, 1 removed" in out
    assert "queries: 1 opened, 1 closed, 0 reopened" in out
    queries = _queries(capsys, store_url, tmp_path / "q2")
    assert list(queries.columns) == list(QUERY_COLUMNS)
    k1 = queries.set_index("query_id").loc[K1_QUERY]
    assert (k1["status"], k1["opened_transfer"], k1["closed_transfer"]) == ("closed", "1", "2")
    k5 = queries[queries["rule"] == "TK002"].iloc[0]
    assert k5["status"] == "open"

    code, out, err = run(
        capsys,
        "queries",
        "answer",
        k5["query_id"],
        "--store",
        store_url,
        "--text",
        "=value as read on the CRF",
        "--user",
        "site01",
    )
    assert code == 0, err
    code, _, err = run(capsys, "ingest", transfers[2], "--store", store_url)
    assert code == 0, err
    queries = _queries(capsys, store_url, tmp_path / "q3").set_index("query_id")
    assert queries.loc[K1_QUERY, "status"] == "reopened"
    assert queries.loc[K1_QUERY, "closed_transfer"] == ""
    assert queries.loc[k5["query_id"], "status"] == "answered"
    assert queries.loc[k5["query_id"], "answer"] == "'=value as read on the CRF"  # formula-safe

    code, out, err = run(capsys, "diff", "--store", store_url, "--out", tmp_path / "d")
    assert code == 0, err
    diff = pd.read_csv(tmp_path / "d" / "diff.csv", dtype="str", keep_default_na=False)
    assert list(diff.columns) == list(DIFF_COLUMNS)
    rows = {(r.dataset, r.key, r.column, r.change, r.old, r.new) for r in diff.itertuples()}
    assert rows == {
        ("assessments", "DHURAT2013-01-001|WEEK4|HAIRCNT", "AVAL", "changed", "149", ""),
        ("assessments", "DHURAT2013-01-001|UNSCHEDULED|HAIRCNT", "", "removed", "", ""),
        (
            "concomitant_medications",
            "DHURAT2013-01-004|HYDROCORTISONE 1% CREAM|2011-04-06",
            "CMENDT",
            "changed",
            "2011-04-15",
            "2011-04-20",
        ),
    }
    assert set(diff["from_transfer"]) == {"2"} and set(diff["to_transfer"]) == {"3"}

    code, out, err = run(capsys, "diff", "--store", store_url, "--from", "1", "--to", "2")
    assert code == 0, err
    assert "assessments: 1 added, 0 removed, 3 changed (3 field(s))" in out
    assert "adverse_events: 0 added, 1 removed, 0 changed" in out

    code, out, err = run(
        capsys,
        "lock",
        "--store",
        store_url,
        "--transfer",
        "2",
        "--reason",
        "database lock for the final analysis",
        "--user",
        "dm1",
    )
    assert (code, out.strip()) == (0, "transfer 2 locked"), err
    code, _, err = run(capsys, "ingest", transfers[0], "--store", store_url)
    assert_one_line_error(code, err, "transfer 2 is locked")

    for number, folder in enumerate(transfers, start=1):
        target = tmp_path / f"export{number}"
        code, _, err = run(
            capsys, "export", "--store", store_url, "--transfer", number, "--out", target
        )
        assert code == 0, err
        same_records(folder, target)
    code, _, err = run(
        capsys, "export", "--store", store_url, "--transfer", "locked", "--out", tmp_path / "locked"
    )
    assert code == 0, err
    same_records(transfers[1], tmp_path / "locked")

    code, out, err = run(
        capsys, "unlock", "--store", store_url, "--reason", "late data", "--user", "dm1"
    )
    assert (code, out.strip()) == (0, "transfer 2 unlocked"), err

    code, out, err = run(
        capsys,
        "audit",
        "--store",
        store_url,
        "--subject",
        "DHURAT2013-01-001",
        "--out",
        tmp_path / "a",
    )
    assert code == 0, err
    trail = pd.read_csv(tmp_path / "a" / "audit.csv", dtype="str", keep_default_na=False)
    aval = trail[trail["key"].eq("DHURAT2013-01-001|WEEK4|HAIRCNT") & trail["column"].eq("AVAL")]
    assert list(zip(aval["transfer"], aval["old"], aval["new"], strict=True)) == [
        ("2", "", "149"),
        ("3", "149", ""),
    ]
    assert {k.split("|")[0] for k in trail["key"]} == {"", "DHURAT2013-01-001"}
    code, out, err = run(capsys, "audit", "--store", store_url, "--out", tmp_path / "all")
    assert code == 0, err
    trail = pd.read_csv(tmp_path / "all" / "audit.csv", dtype="str", keep_default_na=False)
    actions = set(trail["action"])
    assert {
        "record added",
        "record changed",
        "record removed",
        "query opened",
        "query closed",
        "query reopened",
        "query answered",
        "lock",
        "unlock",
        "ingest",
    } <= actions
    assert set(trail["user"]) >= {"dm1", "site01"}

    code, out, err = run(capsys, "store", "verify", "--store", store_url)
    assert code == 0, err
    assert "verified" in out


def test_queries_import_and_close(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path], tmp_path: Path
) -> None:
    for folder in transfers[:2]:
        assert run(capsys, "ingest", folder, "--store", store_url)[0] == 0
    listing = _queries(capsys, store_url, tmp_path / "q")
    listing.loc[listing["status"] == "open", "answer"] = "=corrected at the site"
    listing.to_csv(tmp_path / "answers.csv", index=False)
    code, out, err = run(
        capsys,
        "queries",
        "import",
        tmp_path / "answers.csv",
        "--store",
        store_url,
        "--user",
        "site01",
    )
    assert (code, out.strip()) == (0, "1 query changed"), err
    answered = _queries(capsys, store_url, tmp_path / "q2")
    assert answered.loc[answered["status"] == "answered", "answer"].tolist() == [
        "'=corrected at the site"
    ]
    qid = answered.loc[answered["status"] == "answered", "query_id"].iloc[0]
    code, out, err = run(
        capsys, "queries", "close", qid, "--store", store_url, "--reason", "confirmed with the site"
    )
    assert code == 0, err
    code, _, err = run(capsys, "queries", "answer", qid, "--store", store_url, "--text", "x")
    assert_one_line_error(code, err, qid, "closed")
    code, _, err = run(capsys, "queries", "answer", "QNOSUCH", "--store", store_url, "--text", "x")
    assert_one_line_error(code, err, "QNOSUCH")
    code, out, _ = run(capsys, "queries", "--store", store_url, "--status", "closed")
    assert "2 queries" in out
    # the same file again changes nothing; a new answer to the closed query is refused
    code, out, err = run(
        capsys, "queries", "import", tmp_path / "answers.csv", "--store", store_url
    )
    assert (code, out.strip()) == (0, "0 queries changed"), err
    listing.loc[listing["query_id"] == qid, "answer"] = "another answer"
    listing.to_csv(tmp_path / "answers.csv", index=False)
    code, out, err = run(
        capsys, "queries", "import", tmp_path / "answers.csv", "--store", store_url
    )
    assert_one_line_error(code, err, "answers.csv row", qid, "closed")
    assert run(capsys, "store", "verify", "--store", store_url)[0] == 0


def test_ingest_refusals(
    capsys: pytest.CaptureFixture[str], store_url: str, transfers: list[Path], tmp_path: Path
) -> None:
    assert run(capsys, "ingest", transfers[0], "--store", store_url)[0] == 0
    code, _, err = run(capsys, "ingest", transfers[0], "--store", store_url)
    assert_one_line_error(code, err, "ingested already as transfer 1")
    other = tmp_path / "other"
    other.mkdir()
    toml = (transfers[1] / "trial.toml").read_text(encoding="utf-8")
    for path in transfers[1].iterdir():
        (other / path.name).write_bytes(path.read_bytes())
    (other / "trial.toml").write_text(
        toml.replace('id = "DHURAT2013"', 'id = "OTHER01"', 1), encoding="utf-8"
    )
    assert 'id = "DHURAT2013"' in toml
    code, _, err = run(capsys, "ingest", other, "--store", store_url)
    assert_one_line_error(code, err, "'DHURAT2013'", "'OTHER01'")
    code, _, err = run(capsys, "ingest", transfers[1], "--store", store_url, "--reject-errors")
    assert code == 1 and "not stored (--reject-errors)" in err
    code, _, err = run(capsys, "diff", "--store", store_url)
    assert_one_line_error(code, err, "one transfer")
