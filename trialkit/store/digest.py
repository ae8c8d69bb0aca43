"""The digest of what one ingest wrote for one dataset: its layout, the record versions it
added and the ones it ended. Ingest records it in the audit trail; ``store verify`` recomputes
it from the tables, so a record changed behind the store's back is found."""

from __future__ import annotations

import hashlib
import json
import zlib

import numpy as np
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
    columns: list[str], file_name: str, order: bytes, added: pa.Table, removed: np.ndarray
) -> str:
    """SHA-256 of a layout, the versions ``added`` (id, record_key, seq, cells) and ended ids.

    The versions are hashed as the text ``id<FS>key<FS>seq<FS>cells<RE>`` of each in id
    order, joined. Arrow builds that text in one join, as ``<RE>id<FS>key<FS>seq<FS>cells``
    of each: the same bytes, shifted by one.
    """
    digest = hashlib.sha256()
    head = [columns, file_name, hashlib.sha256(order).hexdigest()]
    digest.update(json.dumps(head, ensure_ascii=False).encode("utf-8"))
    ids = added["id"].to_numpy()
    if (np.diff(ids) < 0).any():  # ingest writes versions in id order; verify reads any order
        added = added.take(pa.array(np.argsort(ids, kind="stable")))
    text = [pc.cast(added[c], pa.large_string()) for c in ("id", "record_key", "seq", "cells")]
    end, fs, none = (pa.scalar(t, pa.large_string()) for t in (RECORD_END, FIELD_SEPARATOR, ""))
    lines = pc.binary_join_element_wise(
        pc.binary_join_element_wise(end, text[0], none), *text[1:], fs
    )
    skip = 1  # the first <RE>
    for chunk in lines.chunks:  # every version's text, in order
        if len(chunk):
            offsets = np.frombuffer(chunk.buffers()[1], dtype="int64")
            start, end = offsets[chunk.offset], offsets[chunk.offset + len(chunk)]
            digest.update(memoryview(chunk.buffers()[2])[start + skip : end])
            skip = 0
    if not skip:
        digest.update(RECORD_END.encode("ascii"))
    digest.update(("-" + ",".join(str(i) for i in np.sort(removed))).encode("ascii"))
    return digest.hexdigest()
