"""The rule table in docs/validation.md is the registry's, and every schema check maps to a rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trialkit.definition import DEVICES, SETTINGS, TREATMENTS, load_definition
from trialkit.resources import example_trials_dir
from trialkit.validation.rules import RULES, rules_table
from trialkit.validation.schemas import CHECK_RULES, datasets_reference, load_schema, specialise
from trialkit.vocabulary import DATASETS

DOC = Path(__file__).parents[2] / "docs" / "validation.md"


def test_docs_table_matches_registry() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = re.search(r"<!-- rules-table:start -->\n(.*?)\n<!-- rules-table:end -->", text, re.S)
    assert table is not None, "docs/validation.md lacks the rules-table markers"
    assert table.group(1).strip() == rules_table(), (
        "docs/validation.md rule table is out of date; regenerate it from rules_table()"
    )


def test_rule_ids_are_well_formed() -> None:
    for rule_id, rule in RULES.items():
        assert re.fullmatch(r"TK\d{3}", rule_id)
        assert rule.severity == ("warning" if rule_id.startswith("TK03") else "error")


@pytest.mark.parametrize("name", DATASETS)
def test_schema_checks_map_to_rules(name: str) -> None:
    for column in load_schema(name).columns.values():
        for check in column.checks:
            assert check.name in CHECK_RULES, f"{name}.{column.name}: {check.name} has no rule"


def test_schema_code_lists_match_definition() -> None:
    exposure = load_schema("exposure").columns
    allowed = {c: set(exposure[c].checks[0].statistics["allowed_values"]) for c in exposure
               if exposure[c].checks and exposure[c].checks[0].name == "isin"}  # fmt: skip
    assert allowed == {"DEVICE": set(DEVICES), "SETTING": set(SETTINGS)}


def test_extrt_code_list_is_the_trials_treatments() -> None:
    """EXTRT may name any treatment of the trial (``other`` by its name), and only those."""
    d = load_definition(example_trials_dir() / "tk_aga_301")
    check = specialise("exposure", d).columns["EXTRT"].checks[-1]
    assert set(check.statistics["allowed_values"]) == set(d.treatments) < set(TREATMENTS)


def test_datasets_doc_matches_the_schemas() -> None:
    text = (DOC.parent / "datasets.md").read_text(encoding="utf-8")
    table = re.search(
        r"<!-- datasets-table:start -->\n(.*?)\n<!-- datasets-table:end -->", text, re.S
    )
    assert table is not None, "docs/datasets.md lacks the datasets-table markers"
    assert table.group(1).strip() == datasets_reference(), (
        "docs/datasets.md column tables are out of date; regenerate them from datasets_reference()"
    )


@pytest.mark.parametrize("name", DATASETS)
def test_every_schema_column_has_a_meaning(name: str) -> None:
    for column in load_schema(name).columns.values():
        assert column.description, f"{name}.{column.name} has no description"
