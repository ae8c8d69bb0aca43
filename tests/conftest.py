"""Suite-wide checks: the suite runs where trialkit's dependencies are installed (else one line
says how to run it), and every ``results.json`` a test or a fixture writes under the session's
temporary directory holds the documented contract (``schemas/results.schema.json``)."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from trialkit.resources import schemas_dir

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def missing_requirements() -> list[str]:
    """Distributions that pyproject.toml's dependencies and test extras name and this Python
    does not have installed."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    missing = []
    for spec in specs:
        name = re.match(r"[A-Za-z0-9._-]+", spec)
        assert name is not None, spec
        try:
            metadata.version(name.group())
        except metadata.PackageNotFoundError:
            missing.append(name.group())
    return missing


def pytest_configure(config: pytest.Config) -> None:
    """Stop at once, in one line, when the suite runs in a Python without trialkit's
    dependencies (instead of an import error per test module)."""
    missing = missing_requirements()
    if missing:
        pytest.exit(
            f"this Python lacks trialkit's dependencies ({', '.join(missing)}): run the tests "
            "with `python3 -m nox -s tests`, or `pip install -e '.[test]'` first",
            returncode=4,
        )


@cache
def results_validator() -> Any:
    """The JSON Schema validator of ``results.json``."""
    import jsonschema

    schema = json.loads((schemas_dir() / "results.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def check_results_files(root: Path) -> None:
    """Validate every ``results.json`` under ``root`` that is a trialkit results file."""
    for path in root.rglob("results.json"):
        if path.is_symlink() or not path.is_file():
            continue  # a hostile test's FIFO or link: opening it could hang or leave tmp
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue  # a hostile test's deliberately broken file
        if isinstance(doc, dict) and doc.get("schema_version") == "1":
            errors = sorted(results_validator().iter_errors(doc), key=str)
            assert not errors, f"{path}: {errors[0].message} at {list(errors[0].absolute_path)}"


@pytest.fixture(autouse=True)
def _results_follow_the_schema(request: pytest.FixtureRequest) -> Iterator[None]:
    # asked for before the test runs, so tmp_path is torn down after this check
    tmp = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if tmp is not None:
        check_results_files(tmp)


@pytest.fixture(scope="session", autouse=True)
def _fixture_results_follow_the_schema(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    # module and session fixtures write under the base temp (one per xdist worker); a failure
    # here is an error at the teardown of the session's last test
    yield
    check_results_files(tmp_path_factory.getbasetemp())
