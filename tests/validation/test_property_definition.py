"""Property: whatever is done to ``trial.toml`` (keys dropped, types changed, NaN, infinity,
huge integers, odd strings, deep nesting, random bytes), ``trialkit validate`` ends with exit
0, 1 or 2 (never 3, the internal error), prints no traceback and does not hang."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import re
import signal
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialkit.cli import main
from trialkit.examples.bundled import write_small_trial
from trialkit.resources import example_trials_dir
from trialkit.vocabulary import UNSCHEDULED

EXAMPLES = {
    name: tomllib.loads((example_trials_dir() / name / "trial.toml").read_text(encoding="utf-8"))
    for name in ("dhurat2013", "tk_aga_301")
}
NASTY: list[Any] = [
    math.nan, math.inf, -math.inf, 2**63 - 1, -(2**63), 10**30, 0, -1, 1.5, 1e308, True,
    "", " ", "x/y", "../x", UNSCHEDULED, "A" * 40, "a\x00b", "é", "1e309", "nan",
    [], {}, [40, "x"], [[1, 2]], [math.nan], {"a": 1}, ["A", "A"], [0.5, 0.5],
]  # fmt: skip
SECONDS = 20  # one run taking longer than this counts as a hang


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key or list index path in a parsed TOML document."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*path, key)
        if isinstance(value, dict | list):
            yield from _paths(value, (*path, key))


def _mutate(doc: dict[str, Any], op: tuple[str, int, Any]) -> None:
    """Drop, replace or duplicate the node at path number ``index`` (modulo their count)."""
    kind, index, value = op
    paths = list(_paths(doc))
    path = paths[index % len(paths)]
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if kind == "drop":
        del parent[last]
    elif kind == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    else:
        parent[last] = value


def _toml(value: Any) -> str:
    """``value`` as an inline TOML value (tables inline, so one line per top-level key)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _text_edit(text: str, edit: tuple[str, int, bytes]) -> bytes:
    """``text`` as bytes with one edit at ``position`` (modulo its length)."""
    kind, position, noise = edit
    raw = text.encode("utf-8")
    at = position % (len(raw) + 1)
    if kind == "bytes":
        return raw[:at] + noise + raw[at:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw
    if kind == "truncate":
        return raw[:at]
    if kind == "deep":
        depth = 10 + position % 5000
        return b"deep = " + b"[" * depth + b"]" * depth + b"\n" + raw
    return raw


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError(f"validate ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def small_trial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small clean trial folder (3 subjects per arm): quick to validate."""
    return write_small_trial(tmp_path_factory.mktemp("fuzz") / "trial", seed=7, n_per_arm=3)


structure_op = st.tuples(
    st.sampled_from(["drop", "replace", "duplicate"]),
    st.integers(0, 10_000),
    st.one_of(st.sampled_from(NASTY), st.text(max_size=8), st.integers(), st.floats()),
)
text_op = st.tuples(
    st.sampled_from(["none", "bytes", "bom", "truncate", "deep"]),
    st.integers(0, 10**6),
    st.binary(min_size=1, max_size=8),
)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    base=st.sampled_from(sorted(EXAMPLES)),
    ops=st.lists(structure_op, max_size=3),
    edit=text_op,
)
def test_validate_never_fails_internally(
    small_trial: Path, base: str, ops: list[tuple[str, int, Any]], edit: tuple[str, int, bytes]
) -> None:
    doc = copy.deepcopy(EXAMPLES[base])
    for op in ops:
        if doc:
            _mutate(doc, op)
    text = "".join(f"{_key(k)} = {_toml(v)}\n" for k, v in doc.items())
    (small_trial / "trial.toml").write_bytes(_text_edit(text, edit))
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with _time_limit(SECONDS), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(small_trial)])
    assert code in (0, 1, 2), err.getvalue()
    assert "Traceback" not in out.getvalue() + err.getvalue()
    if code == 2:
        assert len(err.getvalue().strip().splitlines()) == 1, err.getvalue()
    assert time.monotonic() - started < SECONDS


def test_serialised_examples_validate(small_trial: Path) -> None:
    """The fuzzer's TOML writer is faithful: an unmutated example still loads."""
    text = "".join(f"{_key(k)} = {_toml(v)}\n" for k, v in EXAMPLES["tk_aga_301"].items())
    assert tomllib.loads(text) == EXAMPLES["tk_aga_301"]
    (small_trial / "trial.toml").write_text(text, encoding="utf-8")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["validate", str(small_trial)]) in (0, 1)
