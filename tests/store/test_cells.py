"""The store's cell text (``records.column_text``, computed with Arrow) is the text earlier
versions wrote, cell for cell: a store made before must not see its records as changed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from trialkit.store.records import column_text, key_text
from trialkit.validation.findings import format_values


def reference_text(values: pd.Series) -> list[str]:
    """The cell text of trialkit 0.x's store (pandas formatting, one value at a time)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        with_time = bool((values.dropna() != values.dropna().dt.normalize()).any())
        if with_time:
            return list(values.dt.strftime("%Y-%m-%dT%H:%M:%S").fillna(""))
    return list(format_values(values))


EDGE_FLOATS = [
    124.0, 124.5, -3.0, -0.0, 0.0, 0.1 + 0.2, 1e-4, 9.99e-5, 1e-5, 5e-324, 123456789012345.0,
    1e15, 1e16 + 2, 1e20, 1.5e300, 1.7976931348623157e308, -1e22, 99999999999999.9,
    100000000000000.5, 2.5e-3, np.nan, np.inf, -np.inf, 7.0, 1 / 3,
]  # fmt: skip


DIGITS = range(6)


def test_floats_are_written_as_before() -> None:
    rng = np.random.default_rng(7)
    randoms = [
        *(rng.normal(size=2000) * 10.0 ** rng.integers(-8, 18, 2000)),
        *np.concatenate([np.round(rng.normal(size=400) * 1e3 * 10.0**d) / 10.0**d for d in DIGITS]),
    ]
    values = pd.Series([*EDGE_FLOATS, *randoms], dtype="float64")
    assert column_text(values).to_pylist() == reference_text(values)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(pd.to_datetime(["2024-01-31", None, "1901-02-03"])),
        pd.Series(pd.to_datetime(["2024-01-31 12:30:45.9", None, "1950-06-01 00:00:00.5"])),
        pd.Series(pd.to_datetime(["2024-01-31 23:00", "2024-02-01 00:00"]).tz_localize("CET")),
        pd.Series([3, -7, 0], dtype="int64"),
        pd.Series([3, None], dtype="Int64"),
        pd.Series(["a b", None, "", " x"], dtype="str"),
        pd.Series(["S1", None], dtype="string"),
        pd.Series([True, False]),
        pd.Series([1, "x", None], dtype=object),
        pd.Series([np.nan, np.nan]),
    ],
    ids=["dates", "times", "tz", "int", "Int64", "str", "string", "bool", "object", "empty"],
)
def test_other_types_are_written_as_before(values: pd.Series) -> None:
    assert column_text(values).to_pylist() == reference_text(values)


def reference_digest(added: pd.DataFrame, removed: np.ndarray) -> str:
    """trialkit 0.x's record digest of an empty layout (what its audit entries hold)."""
    import hashlib
    import json

    digest = hashlib.sha256()
    digest.update(json.dumps([[], "", hashlib.sha256(b"").hexdigest()]).encode("utf-8"))
    added = added.sort_values("id")
    lines = (
        added["id"].astype("str").to_numpy(dtype=object)
        + "\x1e"
        + added["record_key"].to_numpy(dtype=object)
        + "\x1e"
        + added["seq"].astype("str").to_numpy(dtype=object)
        + "\x1e"
        + added["cells"].to_numpy(dtype=object)
        + "\x1d"
    )
    digest.update("".join(lines).encode("utf-8"))
    digest.update(("-" + ",".join(str(i) for i in np.sort(removed))).encode("ascii"))
    return digest.hexdigest()


@pytest.mark.parametrize("text_dtype", [object, "str"])
def test_digests_are_computed_as_before(text_dtype: object) -> None:
    from trialkit.store.digest import change_digest

    added = pd.DataFrame(
        {
            "id": [5, 2, 9],
            "record_key": ["S1|W4", "é|x", ""],
            "seq": [0, 1, 0],
            "cells": ["1\x1f2", "", "ü"],
        }
    ).astype({"record_key": text_dtype, "cells": text_dtype})
    removed = np.array([3, 1])
    table = pa.Table.from_pandas(added)
    assert change_digest([], "", b"", table, removed) == reference_digest(added, removed)
    assert change_digest([], "", b"", table.slice(0, 0), removed[:0]) == reference_digest(
        added.iloc[:0], removed[:0]
    )
    in_chunks = pa.concat_tables([table.slice(0, 1), table.slice(1)])  # as ingest's filters give
    assert change_digest([], "", b"", in_chunks, removed) == reference_digest(added, removed)


@pytest.mark.parametrize(
    ("subjects", "seq"),
    [
        (["A", "B", "C"], [0, 0, 0]),
        (["B", "A", "B", "C", "B"], [0, 0, 1, 0, 2]),  # repeats out of order: file order counts
        ([], []),
        (["A"], [0]),
    ],
)
def test_key_text_numbers_records_sharing_a_key_in_file_order(
    subjects: list[str], seq: list[int]
) -> None:
    table = pa.table({"USUBJID": pa.array(subjects, pa.string())})
    key, place = key_text("subjects", table)
    assert key.to_pylist() == subjects
    assert place.tolist() == seq
