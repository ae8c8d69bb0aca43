"""The digest of what one ingest wrote for one dataset: its layout, the record versions it
added and the ones it ended. Ingest records it in the audit trail; ``store verify`` recomputes
it from the tables, so a record changed behind the store's back is found."""

from __future__ import annotations

import hashlib
import json
import zlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    """SHA-256 of a layout, the versions ``added`` (id, record_key, seq, cells) and ended ids.

    The versions are hashed as the text ``id<FS>key<FS>seq<FS>cells<RE>`` of each in id
    order, joined; Arrow builds that text in one buffer.
    """
    digest = hashlib.sha256()
    head = [columns, file_name, hashlib.sha256(order).hexdigest()]
    digest.update(json.dumps(head, ensure_ascii=False).encode("utf-8"))
    by_id = pa.array(np.argsort(added["id"].to_numpy(dtype="int64"), kind="stable"))
    fields = [pa.array(added[c]).take(by_id) for c in ("id", "record_key", "seq", "cells")]
    lines = pc.binary_join_element_wise(
        pc.binary_join_element_wise(*(pc.cast(f, pa.string()) for f in fields), FIELD_SEPARATOR),
        "",
        RECORD_END,
    )
    text = pc.cast(lines, pa.large_string())  # every version's text, back to back
    if len(text):
        offsets = np.frombuffer(text.buffers()[1], dtype="int64")
        start, end = offsets[text.offset], offsets[text.offset + len(text)]
        digest.update(memoryview(text.buffers()[2])[start:end])
    digest.update(("-" + ",".join(str(i) for i in np.sort(removed))).encode("ascii"))
    return digest.hexdigest()
