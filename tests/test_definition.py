"""The trial definition parser: the issue's example parses; each inconsistency names its key;
the file is read within its documented limits."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest

from trialkit.definition import (
    CODE_PATTERN,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_ITEMS,
    MAX_TEXT,
    check_integer,
    check_number,
    load_definition,
    parse_definition,
    read_toml,
    show,
)
from trialkit.design.plan import load_interim_plan, read_interim_table
from trialkit.errors import DefinitionError
from trialkit.resources import example_trials_dir
from trialkit.vocabulary import PSEUDO_VISITS, UNSCHEDULED

FIXTURE = Path(__file__).parent / "fixtures" / "issue_example.toml"


def example() -> dict[str, Any]:
    return tomllib.loads(FIXTURE.read_text())


def test_issue_example_parses() -> None:
    d = load_definition(FIXTURE)
    assert d.trial.id == "TK-AGA-301"
    assert [a.code for a in d.arms] == ["MINOX", "MINOX_MN", "MN_PRP"]
    assert d.reference_arm.code == "MINOX"
    assert d.baseline_visit.code == "BASELINE"
    assert [v.code for v in d.post_baseline_visits][-1] == "WEEK24"
    assert d.arm("MN_PRP").component("microneedling").needle_depth_mm == (1.0, 2.5)  # type: ignore[union-attr]
    assert d.arm("MN_PRP").component("prp").volume_ml == (3.0, 6.0)  # type: ignore[union-attr]
    assert d.primary.parameter == "HAIRCNT" and d.primary.variable == "CHG"
    assert d.analysis.covariance_fallback == ("toeph", "ar1h", "cs")
    assert d.parameter("HAIRCNT").direction == "higher"


def test_definition_is_immutable() -> None:
    d = load_definition(FIXTURE)
    with pytest.raises(AttributeError):
        d.trial.id = "X"  # type: ignore[misc]


def _mutate(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = example()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("analysis", "covarience"), "us", "analysis.covarience: unknown key"),
        (("arms", 1, "code"), "MINOX", "arms: duplicate arm code 'MINOX'"),
        (("visits", 2, "code"), "WEEK4", "visits: duplicate visit code 'WEEK4'"),
        (("visits", 2, "window"), [-30, 7], "visits[2].window: window of WEEK8"),
        (
            ("visits", 3, "baseline"),
            True,
            "visits: exactly one visit must have baseline = true (found 2",
        ),
        (
            ("visits", 0, "baseline"),
            False,
            "visits: exactly one visit must have baseline = true (found 0)",
        ),
        (
            ("endpoints", "primary", "parameter"),
            "DENSITY",
            "endpoints.primary.parameter: unknown parameter 'DENSITY'",
        ),
        (
            ("endpoints", "primary", "visit"),
            "WEEK52",
            "endpoints.primary.visit: unknown visit 'WEEK52'",
        ),
        (
            ("analysis", "covariance"),
            "unstructured",
            "analysis.covariance: 'unstructured' is not one of",
        ),
        (
            ("arms", 1, "components", 1, "device"),
            "laser",
            "arms[1].components[1].device: 'laser' is not one of",
        ),
        (
            ("arms", 1, "components", 1, "needle_depth_mm"),
            [1.5, 0.5],
            "arms[1].components[1].needle_depth_mm: expected [low, high]",
        ),
        (
            ("arms", 0, "reference"),
            False,
            "arms: exactly one arm must have reference = true (found 0)",
        ),
        (("trial", "id"), KeyError, "trial.id: required key is missing"),
        (("parameters", 0, "integer"), "yes", "parameters[0].integer: expected bool"),
        (("visits", 1, "day"), 0, "visits[1].day: there is no study day 0"),
        (("analysis", "alpha"), 1.5, "analysis.alpha: must be in (0, 1)"),
    ],
)
def test_inconsistent_definition_names_the_key(
    path: tuple[Any, ...], value: Any, message: str
) -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition(_mutate(path, value))
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_load_definition_names_file(tmp_path: Path) -> None:
    bad = tmp_path / "trial.toml"
    bad.write_text("[trial\nid=1")
    with pytest.raises(DefinitionError, match=r"trial.toml: not valid TOML"):
        load_definition(tmp_path)
    with pytest.raises(DefinitionError, match="trial definition not found"):
        load_definition(tmp_path / "nope")


def test_interim_plan_is_parsed_and_checked() -> None:
    data = example()
    data["interim"] = {"information_fractions": [0.5, 1.0], "sided": 1, "active_arms": 2}
    d = parse_definition(data)
    assert d.interim is not None and d.interim.information_fractions == (0.5, 1.0)
    data["interim"] = {"information_fractions": [0.5, 0.4, 1.0]}
    with pytest.raises(DefinitionError, match=r"^interim\.information_fractions: must increase"):
        parse_definition(data)


DOC = Path(__file__).parents[1] / "docs" / "trial_toml.md"


def test_docs_state_the_limits_and_the_code_pattern() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"`^{CODE_PATTERN.pattern}$`" in text
    for limit in (MAX_FILE_BYTES, MAX_TEXT, MAX_ITEMS):
        assert f"{limit:,}" in text, limit
    assert f"at most {MAX_DEPTH} levels" in text and f"+/-{MAX_DAYS}" in text
    assert all(f"`{code}`" in text for code in PSEUDO_VISITS)


def test_bundled_examples_use_safe_codes() -> None:
    for name in ("dhurat2013", "tk_aga_301", "tk_aga_301_dirty"):
        d = load_definition(example_trials_dir() / name)
        codes = [a.code for a in d.arms] + [v.code for v in d.visits]
        codes += [p.code for p in d.parameters] + [s.variable for s in d.subgroups]
        assert all(CODE_PATTERN.fullmatch(c) for c in codes), name


@pytest.mark.parametrize(
    ("value", "bounds", "message"),
    [
        (math.nan, {}, "k: must be a finite number (got nan)"),
        (-math.inf, {"low": 0}, "k: must be a finite number (got -inf)"),
        (10**400, {}, "k: must be a finite number (got <integer of 1329 bits>)"),
        (True, {}, "k: must be a number (got True)"),
        ("1", {}, "k: must be a number (got '1')"),
        (0, {"low": 0, "low_open": True}, "k: must be in (0, inf) (got 0)"),
        (2**63, {"low": 0, "high": 9, "integer": True}, "k: must be an integer in [0, 9] (got"),
        (0, {"low": 1, "high": 9, "integer": True}, "k: must be a positive integer up to 9"),
        (1.0, {"integer": True}, "k: must be an integer (got 1.0)"),
    ],
)
def test_check_number_refuses(value: object, bounds: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        check_number("k", value, **bounds)
    assert str(info.value).startswith(message), str(info.value)


def test_check_number_accepts_the_bounds() -> None:
    assert check_number("k", 0, 0, 1) == 0 and check_number("k", 1.0, 0, 1) == 1.0
    assert check_integer("k", 3650, 0, 3650) == 3650


def test_show_is_short_and_one_line() -> None:
    assert show("a\nb" * 100).count("\n") == 0 and len(show("x" * 10_000)) < 80
    assert show(list(range(1000))).endswith("...]")


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "trial.toml"
    path.write_bytes(data)
    return path


def test_read_toml_drops_one_bom(tmp_path: Path) -> None:
    assert read_toml(_write(tmp_path, b"\xef\xbb\xbfa = 1\n")) == {"a": 1}
    assert load_definition(_write(tmp_path, b"\xef\xbb\xbf" + FIXTURE.read_bytes())).arms


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a = " + "[" * 33 + "]" * 33, "line 1: nested deeper than 32 levels"),
        ("a = 1\nb = " + "{c = " * 33 + "1" + "}" * 33, "line 2: nested deeper than 32"),
        ("a." * 40 + "a = 1", "a.a.a.a"),
        ("[" + "a." * 40 + "a]", "a.a.a.a"),
        ('a = """x"""" \nb = ' + "[" * 40 + "]" * 40, "line 2: nested"),
        ('a = """x""""' + ", [" * 40 + "]" * 40, "line 1: nested"),
        ("a = '''x''''\nb = " + "[" * 40 + "]" * 40, "line 2: nested"),
        ('a = "\\"[" \nb = ' + "[" * 40 + "]" * 40, "line 2: nested"),
        ('"a b" = 1', "'a b': unknown key"),
        ("a = " + str(list(range(1001))), "a: more than 1000 items"),
        ('a = "' + "x" * 10_001 + '"', "a: text longer than 10000 characters"),
        ('a = "\\u001b"', "a: control character '\\x1b' in text"),
        ("a = 1" + "0" * 5000, "not valid TOML"),
    ],
)
def test_read_toml_bounds(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        read_toml(_write(tmp_path, text.encode()))
    assert str(info.value).startswith(f"{tmp_path / 'trial.toml'}: {message}"), str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 32 + "]" * 32,
        'a = "' + "[" * 40 + '" # ' + "{" * 40,
        "a = '''\n" + "[" * 40 + "\n'''",
        'a = """\\"""' + "[" * 40 + '"""',
        "a = ['''x'''''] # " + "[" * 40,
    ],
)
def test_brackets_at_the_limit_or_in_strings_are_read(tmp_path: Path, text: str) -> None:
    assert "a" in read_toml(_write(tmp_path, text.encode()))


def test_read_toml_refuses_large_and_special_files(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="larger than 1000000 bytes"):
        read_toml(_write(tmp_path, b"#" * (MAX_FILE_BYTES + 1)))
    with pytest.raises(DefinitionError, match="not a regular file"):
        read_toml(tmp_path)
    with pytest.raises(DefinitionError, match=r"not UTF-8 text \(byte 4\)"):
        read_toml(_write(tmp_path, b"a = \xff"))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("arms",), [], "arms: at least two arms are needed (found 0)"),
        (("arms", 0, "code"), "A/B", "arms[0].code: 'A/B' is not a code"),
        (("visits", 2, "code"), UNSCHEDULED, "visits[2].code: 'UNSCHEDULED' is reserved"),
        (("visits", 2, "code"), "week4", "visits: duplicate visit code 'week4'"),
        (("visits", 1, "window"), [1, 7], "visits[1].window: must contain the target day"),
        (("parameters", 0, "max"), math.nan, "parameters[0].max: must be a finite number"),
        (("analysis", "ae_lag_days"), 2**63 - 1, "analysis.ae_lag_days: must be an integer in"),
        (("analysis", "age_groups"), [40, "x"], "analysis.age_groups[1]: must be an integer"),
        (("analysis", "age_groups"), [65, 40], "analysis.age_groups: must increase"),
        (("analysis", "covariates"), ["SITEID", "SITEID"], "analysis.covariates: 'SITEID'"),
        (("trial", "title"), " ", "trial.title: must not be blank"),
    ],
)
def test_hostile_values_name_the_key(path: tuple[Any, ...], value: Any, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition(_mutate(path, value))
    assert str(info.value).startswith(message), str(info.value)


def test_endpoints_subgroups_and_interim_arms_are_consistent() -> None:
    data = example()
    data["endpoints"].setdefault("secondary", []).append(dict(data["endpoints"]["primary"]))
    with pytest.raises(DefinitionError, match=r"^endpoints\.secondary\[\d\]: CHG of HAIRCNT"):
        parse_definition(data)
    data = example()
    data["subgroups"] = [{"variable": "AGE"}, {"variable": "AGE"}]
    with pytest.raises(DefinitionError, match=r"^subgroups: 'AGE' is a subgroup twice"):
        parse_definition(data)
    data = example()
    data["interim"] = {"information_fractions": [0.5, 1.0], "active_arms": 1}
    with pytest.raises(DefinitionError, match=r"^interim\.active_arms: the plan has 1, the"):
        parse_definition(data)


def test_interim_plan_file_is_read_within_the_limits(tmp_path: Path) -> None:
    """``trialkit design`` reads [interim] through read_toml too: BOM accepted, depth bounded."""
    plan = b"\xef\xbb\xbf[interim]\ninformation_fractions = [0.5, 1.0]\n"
    assert read_interim_table(_write(tmp_path, plan)) == {"information_fractions": [0.5, 1.0]}
    assert load_interim_plan(tmp_path).information_fractions == (0.5, 1.0)
    with pytest.raises(DefinitionError, match="nested deeper than"):
        load_interim_plan(_write(tmp_path, plan + b"x = " + b"[" * 5000 + b"]" * 5000))
