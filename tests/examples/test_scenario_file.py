"""``scenario.toml`` is read by the one TOML reader (trialkit.definition.read_toml): its limits
and messages hold for an example's settings too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trialkit.definition import MAX_FILE_BYTES
from trialkit.errors import DefinitionError
from trialkit.examples import load_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "example_trials" / "tk_aga_301"


def test_a_missing_scenario_is_named(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"scenario\.toml: example scenario not found"):
        load_scenario(tmp_path)


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    text = (EXAMPLE / "scenario.toml").read_text(encoding="utf-8")
    (tmp_path / "scenario.toml").write_text("\ufeff" + text, encoding="utf-8")
    assert load_scenario(tmp_path) == load_scenario(EXAMPLE)


def test_an_oversized_scenario_is_refused(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE / "scenario.toml", tmp_path / "scenario.toml")
    with (tmp_path / "scenario.toml").open("a", encoding="utf-8") as fh:
        fh.write("#" * MAX_FILE_BYTES)
    with pytest.raises(DefinitionError, match=f"larger than {MAX_FILE_BYTES} bytes"):
        load_scenario(tmp_path)
