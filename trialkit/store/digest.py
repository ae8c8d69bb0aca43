"""The digest of what one ingest wrote for one dataset: its layout, the record versions it
added and the ones it ended. Ingest records it in the audit trail; ``store verify`` recomputes
it from the tables, so a record changed behind the store's back is found."""

from __future__ import annotations

import hashlib
import json
import zlib

import numpy as np
import pandas as pd

from trialkit.store.records import FIELD_SEPARATOR, RECORD_END


def encode_order(ids: np.ndarray) -> bytes:
    """Record ids in file order, delta-coded and compressed (a few bytes per transfer)."""
    return zlib.compress(np.diff(ids.astype("int64"), prepend=0).tobytes(), 1)


def decode_order(blob: bytes) -> np.ndarray:
    """The inverse of :func:`encode_order`."""
    return np.cumsum(np.frombuffer(zlib.decompress(blob), dtype="int64"))


def change_digest(
    columns: list[str], file_name: str, order: bytes, added: pd.DataFrame, removed: np.ndarray
) -> str:
    """SHA-256 of a layout, the versions ``added`` (id, record_key, seq, cells) and ended ids."""
    digest = hashlib.sha256()
    head = [columns, file_name, hashlib.sha256(order).hexdigest()]
    digest.update(json.dumps(head, ensure_ascii=False).encode("utf-8"))
    added = added.sort_values("id")
    fs = FIELD_SEPARATOR
    lines = (
        added["id"].astype("str").to_numpy(dtype=object)
        + fs
        + added["record_key"].to_numpy(dtype=object)
        + fs
        + added["seq"].astype("str").to_numpy(dtype=object)
        + fs
        + added["cells"].to_numpy(dtype=object)
        + RECORD_END
    )
    digest.update("".join(lines).encode("utf-8", "surrogatepass"))
    digest.update(("-" + ",".join(str(i) for i in np.sort(removed))).encode("ascii"))
    return digest.hexdigest()
