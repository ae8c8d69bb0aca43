"""``trialkit audit``: the audit trail as a table, every value every record ever had (from the
record versions, with the transfer's time and user) and every entry of the audit log."""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Connection, select

from trialkit.store.bulk import read_frame
from trialkit.store.diff import field_changes, layout_columns, wide
from trialkit.store.schema import audit, records, transfers

AUDIT_COLUMNS = (
    "at",
    "user",
    "transfer",
    "action",
    "dataset",
    "key",
    "column",
    "old",
    "new",
    "detail",
)


def _record_history(conn: Connection, subject: str | None) -> pd.DataFrame:
    stmt = select(
        records.c.dataset,
        records.c.record_key,
        records.c.seq,
        records.c.cells,
        records.c.added_in,
        records.c.removed_in,
    )
    if subject is not None:
        stmt = stmt.where(records.c.subject == subject)
    versions = read_frame(conn, stmt).sort_values(["dataset", "record_key", "seq", "added_in"])
    versions = versions.reset_index(drop=True)
    fields = wide(versions, layout_columns(conn))
    ident = ["dataset", "record_key", "seq"]
    first = ~versions.duplicated(ident)
    before = pd.Series(versions.index - 1, index=versions.index)
    later = versions[~first]
    changes = field_changes(fields.loc[before[~first]], fields.loc[later.index])
    changes["row"] = changes["row"] + 1  # field_changes names the earlier version's row
    added = pd.Series(fields[first].stack())
    added = added[(added != "").to_numpy(dtype=bool)]
    parts = [
        pd.DataFrame(
            {
                "row": added.index.get_level_values(0),
                "column": added.index.get_level_values(1),
                "old": "",
                "new": added.to_numpy(dtype=object),
                "action": "record added",
            }
        ),
        changes.assign(action="record changed"),
    ]
    last = ~versions.duplicated(ident, keep="last") & versions["removed_in"].notna()
    gone = versions[last]
    parts.append(
        pd.DataFrame(
            {"row": gone.index, "column": "", "old": "", "new": "", "action": "record removed"}
        )
    )
    rows = pd.concat(parts, ignore_index=True)
    source = versions.loc[rows["row"]]
    transfer = source["added_in"].where(
        rows["action"].to_numpy() != "record removed", source["removed_in"]
    )
    return pd.DataFrame(
        {
            "transfer": transfer.astype("int64").to_numpy(),
            "action": rows["action"].to_numpy(),
            "dataset": source["dataset"].to_numpy(),
            "key": source["record_key"].to_numpy(),
            "column": rows["column"].to_numpy(),
            "old": rows["old"].to_numpy(),
            "new": rows["new"].to_numpy(),
            "detail": "",
        }
    )


def audit_table(conn: Connection, subject: str | None = None) -> pd.DataFrame:
    """The rows of ``audit.csv``, in time order; with ``subject``, only that subject's."""
    people = read_frame(
        conn, select(transfers.c.number, transfers.c.ingested_at, transfers.c.user_name)
    ).set_index("number")
    data = _record_history(conn, subject)
    data.insert(0, "at", people["ingested_at"].reindex(data["transfer"]).to_numpy())
    data.insert(1, "user", people["user_name"].reindex(data["transfer"]).to_numpy())
    stmt = select(audit).order_by(audit.c.seq)
    if subject is not None:
        stmt = stmt.where(audit.c.subject == subject)
    log = read_frame(conn, stmt)
    entries = pd.DataFrame(
        {
            "at": log["at"],
            "user": log["user_name"],
            "transfer": log["transfer"].astype("Int64"),
            "action": log["action"],
            "dataset": "",
            "key": "",
            "column": "",
            "old": "",
            "new": "",
            "detail": [_detail(d) for d in log["detail"]],
        }
    )
    out = pd.concat([entries, data], ignore_index=True)
    out["transfer"] = out["transfer"].astype("Int64")
    out = out.sort_values(["at", "transfer"], kind="stable")
    return out.reset_index(drop=True)[list(AUDIT_COLUMNS)]


def _detail(text: str) -> str:
    """An entry's detail as ``name=value`` pairs (digests and file lists left out)."""
    detail = json.loads(text)
    return "; ".join(f"{k}={v}" for k, v in sorted(detail.items()) if k not in ("files", "digest"))
