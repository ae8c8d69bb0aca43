"""The suite's schema check of ``results.json`` reaches files that module and session fixtures
write (under the session's base temp), not only those under a test's ``tmp_path``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

INNER_TEST = """
import json

import pytest


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    (folder / "results.json").write_text(json.dumps({"schema_version": "1"}))
    return folder


def test_uses_the_fixture(written):
    assert (written / "results.json").exists()
"""


def test_an_invalid_results_file_of_a_module_fixture_is_an_error(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (suite / "conftest.py").write_text(
        'pytest_plugins = ["tests.conftest"]\n',
        encoding="utf-8",
    )
    (suite / "test_inner.py").write_text(INNER_TEST, encoding="utf-8")
    base = tmp_path / "base"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = ["-p", "no:xdist", "-p", "no:cacheprovider", "-q", f"--basetemp={base}"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    shutil.rmtree(base)  # the invalid file would fail this test's own check
    assert run.returncode == 1, run.stdout
    assert "1 passed, 1 error" in run.stdout
    assert "results.json" in run.stdout
