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


# --- real protocols: control arms, any treatment, binary endpoints, comparisons, vitals --------

AA_EXAMPLE = """
[trial]
id = "TK-AA-201"
title = "Microneedling with PRP or 5% minoxidil versus vehicle and sham in alopecia areata"
indication = "alopecia areata"
[trial.population]
age = [12, 75]
sex = ["F", "M"]

[[arms]]
code = "CTRL"
label = "Vehicle + sham microneedling"
reference = true
allocation = 1
[[arms.components]]
treatment = "vehicle"
matches = "minoxidil"
frequency = "twice daily"
[[arms.components]]
treatment = "sham_microneedling"
device = "dermapen"
interval_days = 14

[[arms]]
code = "MN_PRP"
label = "Microneedling + PRP"
allocation = 2
[[arms.components]]
treatment = "microneedling"
device = "dermapen"
setting = "clinic"
needle_depth_mm = [1.0, 2.5]
interval_days = 14
[[arms.components]]
treatment = "prp"
volume_ml = [3.0, 6.0]
interval_days = 28

[[arms]]
code = "MN_MINOX"
label = "Microneedling + 5% minoxidil"
allocation = 1
[[arms.components]]
treatment = "microneedling"
device = "dermaroller"
setting = "home"
needle_depth_mm = [0.5, 1.0]
interval_days = 7
[[arms.components]]
treatment = "minoxidil"
route = "topical"
concentration_pct = 5.0
frequency = "twice daily"

[[visits]]
code = "BASELINE"
day = 1
window = [-14, 0]
baseline = true
[[visits]]
code = "WEEK12"
day = 85
window = [-7, 7]
[[visits]]
code = "WEEK24"
day = 169
window = [-10, 10]

[[parameters]]
code = "SALT"
label = "Severity of Alopecia Tool score"
unit = "%"
min = 0
max = 100
direction = "lower"

[[parameters]]
code = "SYSBP"
label = "Systolic blood pressure"
unit = "mmHg"
kind = "safety"
alert_low = 90
alert_high = 160

[endpoints.primary]
name = "SALT <= 20 at week 24"
parameter = "SALT"
visit = "WEEK24"
responder = "AVAL <= 20"
missing = "non_responder"

[[endpoints.secondary]]
name = "Percent change in SALT at week 24"
parameter = "SALT"
visit = "WEEK24"
variable = "PCHG"

[[endpoints.secondary]]
name = "SALT50 at week 24"
parameter = "SALT"
visit = "WEEK24"
responder = "PCHG <= -50"

[analysis]
binary_method = "logistic"
covariates = ["BASE"]
strata = ["SEVERITY"]
[[analysis.comparisons]]
arm = "MN_PRP"
versus = "CTRL"
[[analysis.comparisons]]
arm = "MN_MINOX"
versus = "CTRL"
[[analysis.comparisons]]
arm = "MN_PRP"
versus = "MN_MINOX"

[safety]
meddra_version = "27.1"
"""


def aa_example() -> dict[str, Any]:
    return tomllib.loads(AA_EXAMPLE)


def test_real_protocol_example_parses() -> None:
    d = parse_definition(aa_example())
    assert d.trial.population.age == (12, 75) and d.trial.population.sex == ("F", "M")
    assert [a.allocation for a in d.arms] == [1, 2, 1]
    ctrl = d.arm("CTRL")
    assert ctrl.component("vehicle").matches == "minoxidil"  # type: ignore[union-attr]
    assert ctrl.component("sham_microneedling").is_procedure  # type: ignore[union-attr]
    assert not ctrl.component("vehicle").is_procedure  # type: ignore[union-attr]
    assert d.primary.kind == "binary" and d.primary.variable == "AVAL"
    assert d.primary.responder is not None and d.primary.responder.threshold == 20
    assert [e.kind for e in d.secondary] == ["continuous", "binary"]
    assert d.secondary[1].variable == "PCHG" and d.secondary[1].missing == "non_responder"
    assert d.parameter("SYSBP").kind == "safety" and d.parameter("SYSBP").alert_high == 160
    assert d.parameter("SALT").kind == "efficacy" and d.parameter("SALT").alert_low is None
    assert [(c.arm, c.versus) for c in d.comparisons] == [
        ("MN_PRP", "CTRL"), ("MN_MINOX", "CTRL"), ("MN_PRP", "MN_MINOX"),
    ]  # fmt: skip
    assert d.analysis.binary_method == "logistic"
    assert d.safety.meddra_version == "27.1"
    assert d.reference_arm.code == "CTRL"


def test_defaults_keep_old_files_valid() -> None:
    d = load_definition(FIXTURE)
    pairs = [(c.arm, c.versus) for c in d.comparisons]
    assert pairs == [("MINOX_MN", "MINOX"), ("MN_PRP", "MINOX")]
    assert d.analysis.comparisons == () and d.analysis.binary_method == "logistic"
    assert all(a.allocation == 1 for a in d.arms)
    assert d.primary.kind == "continuous" and d.primary.responder is None
    assert d.primary.missing == "non_responder"
    assert all(p.kind == "efficacy" for p in d.parameters)
    assert d.trial.population.age == (18, 100) and d.trial.population.sex is None
    assert d.safety.meddra_version is None


def test_reference_arm_is_optional_with_declared_comparisons() -> None:
    data = aa_example()
    del data["arms"][0]["reference"]
    d = parse_definition(data)
    assert d.reference_arm.code == "CTRL"  # the versus of the first comparison
    data["analysis"]["comparisons"] = [{"arm": "CTRL", "versus": "MN_MINOX"}]
    d = parse_definition(data)
    assert d.reference_arm.code == "MN_MINOX"
    assert [(c.arm, c.versus) for c in d.comparisons] == [("CTRL", "MN_MINOX")]
    del data["analysis"]["comparisons"]
    with pytest.raises(DefinitionError, match=r"^arms: exactly one arm must have reference"):
        parse_definition(data)


def test_a_responder_endpoint_may_be_secondary_to_a_continuous_primary() -> None:
    data = example()
    data["endpoints"]["secondary"] = [
        {"parameter": "HAIRCNT", "visit": "WEEK24", "responder": "PCHG >= 20"},
        {"parameter": "HAIRCNT", "visit": "WEEK24", "variable": "PCHG"},
    ]
    d = parse_definition(data)
    data["endpoints"]["secondary"][0]["missing"] = "exclude"
    assert parse_definition(data).secondary[0].missing == "exclude"
    assert d.secondary[0].kind == "binary" and d.secondary[0].missing == "non_responder"
    assert d.secondary[1].kind == "continuous"


def test_composite_strategy_needs_a_binary_primary() -> None:
    """``non_response`` (composite) is accepted for a responder primary, refused for a
    continuous one with one line naming the key."""
    events = [
        {"event": "rescue_medication", "strategy": "treatment_policy"},
        {"event": "discontinuation", "strategy": "non_response"},
    ]
    data = aa_example()
    data["estimand"] = {"intercurrent_events": events}
    d = parse_definition(data)
    assert d.estimand.strategy("discontinuation") == "non_response"
    data = example()
    data["estimand"] = {"intercurrent_events": events}
    with pytest.raises(DefinitionError) as info:
        parse_definition(data)
    assert str(info.value) == (
        "estimand.intercurrent_events[1].strategy: 'non_response' (composite) needs a binary "
        "primary endpoint (endpoints.primary has no responder rule)"
    )
    data["estimand"]["intercurrent_events"][1]["strategy"] = "composite"
    with pytest.raises(DefinitionError, match=r"^estimand.intercurrent_events\[1\].strategy: "):
        parse_definition(data)


def _aa(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = aa_example()
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
        (
            ("endpoints", "primary", "responder"),
            "AVAL = 20",
            "endpoints.primary.responder: 'AVAL = 20' is not a responder rule",
        ),
        (
            ("endpoints", "secondary", 1, "responder"),
            "SALT50",
            "endpoints.secondary[1].responder: 'SALT50' is not a responder rule",
        ),
        (
            ("endpoints", "primary", "variable"),
            "CHG",
            "endpoints.primary.variable: CHG differs from the responder rule's AVAL",
        ),
        (
            ("endpoints", "primary", "missing"),
            "impute",
            "endpoints.primary.missing: 'impute' is not one of non_responder, exclude",
        ),
        (
            ("endpoints", "secondary", 0, "missing"),
            "exclude",
            "endpoints.secondary[0].missing: only a responder endpoint has this key",
        ),
        (
            ("endpoints", "secondary", 1, "responder"),
            "AVAL <= 20",
            "endpoints.secondary[1]: AVAL <= 20 of SALT at WEEK24 is already an endpoint",
        ),
        (
            ("arms", 0, "components", 0, "treatment"),
            "jak_inhibitor",
            "arms[0].components[0].treatment: 'jak_inhibitor' is not one of minoxidil,",
        ),
        (
            ("arms", 0, "components", 0, "matches"),
            KeyError,
            "arms[0].components[0].matches: required for vehicle",
        ),
        (
            ("arms", 0, "components", 0, "matches"),
            "vehicle",
            "arms[0].components[0].matches: vehicle cannot imitate itself",
        ),
        (
            ("arms", 0, "components", 1, "interval_days"),
            KeyError,
            "arms[0].components[1].interval_days: required for sham_microneedling",
        ),
        (
            ("arms", 0, "components", 1, "needle_depth_mm"),
            [0.5, 1.0],
            "arms[0].components[1].needle_depth_mm: not an attribute of sham_microneedling",
        ),
        (
            ("arms", 2, "components", 1, "route"),
            "oral",
            "arms[2].components[1].dose_mg: required for minoxidil with route = 'oral'",
        ),
        (
            ("arms", 0, "components", 0, "route"),
            "oral",
            "arms[0].components[0].route: vehicle is given topical, not oral",
        ),
        (("arms", 1, "allocation"), 0, "arms[1].allocation: must be in (0, 1000] (got 0)"),
        (("arms", 1, "allocation"), -2, "arms[1].allocation: must be in (0, 1000] (got -2)"),
        (("arms", 1, "allocation"), "2", "arms[1].allocation: must be a number"),
        (
            ("analysis", "comparisons", 1, "arm"),
            "MINOX",
            "analysis.comparisons[1].arm: unknown arm 'MINOX'",
        ),
        (
            ("analysis", "comparisons", 0, "versus"),
            "PLACEBO",
            "analysis.comparisons[0].versus: unknown arm 'PLACEBO'",
        ),
        (
            ("analysis", "comparisons", 2, "versus"),
            "MN_PRP",
            "analysis.comparisons[2]: compares arm MN_PRP with itself",
        ),
        (
            ("analysis", "comparisons", 2),
            {"arm": "CTRL", "versus": "MN_PRP"},
            "analysis.comparisons[2]: CTRL and MN_PRP are already compared",
        ),
        (
            ("analysis", "comparisons", 2, "against"),
            "CTRL",
            "analysis.comparisons[2].against: unknown key",
        ),
        (
            ("analysis", "binary_method"),
            "chisq",
            "analysis.binary_method: 'chisq' is not one of logistic, cmh",
        ),
        (("parameters", 1, "kind"), "vital", "parameters[1].kind: 'vital' is not one of"),
        (
            ("parameters", 0, "alert_high"),
            90,
            'parameters[0].alert_high: only a parameter of kind "safety" has alerts',
        ),
        (
            ("parameters", 1, "alert_low"),
            200,
            "parameters[1].alert_low: alert_low 200 is above alert_high 160",
        ),
        (("parameters", 1, "alert_high"), math.inf, "parameters[1].alert_high: must be a finite"),
        (
            ("endpoints", "secondary", 0, "parameter"),
            "SYSBP",
            "endpoints.secondary[0].parameter: SYSBP is a safety parameter, never an endpoint",
        ),
        (("trial", "population", "age"), [75, 12], "trial.population.age: expected [low, high]"),
        (("trial", "population", "age"), [12, 200], "trial.population.age[1]: must be an integer"),
        (("trial", "population", "sex"), ["W"], "trial.population.sex[0]: 'W' is not one of F, M"),
        (("trial", "population", "sex"), [], "trial.population.sex: names no sex"),
        (("trial", "population", "sex"), ["F", "F"], "trial.population.sex: 'F' appears twice"),
        (("trial", "population", "height"), [1, 2], "trial.population.height: unknown key"),
        (("safety", "meddra_version"), 27.1, "safety.meddra_version: expected str"),
        (("safety", "dictionary"), "MedDRA", "safety.dictionary: unknown key"),
    ],
)
def test_new_keys_name_the_key(path: tuple[Any, ...], value: Any, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition(_aa(path, value))
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('responder = "AVAL <= 20"', 'responder = "AVAL <= twenty"', "endpoints.primary.responder"),
        ('treatment = "vehicle"', 'treatment = "jak"', "arms[0].components[0].treatment"),
        ('matches = "minoxidil"\n', "", "arms[0].components[0].matches"),
        ('arm = "MN_MINOX"', 'arm = "MN"', "analysis.comparisons[1].arm"),
        ('versus = "MN_MINOX"', 'versus = "MN_PRP"', "analysis.comparisons[2]"),
        ('arm = "MN_MINOX"', 'arm = "MN_PRP"', "analysis.comparisons[1]"),
        ("allocation = 2", "allocation = 0", "arms[1].allocation"),
    ],
)
def test_bad_new_keys_exit_2_through_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, key: str
) -> None:
    from trialkit.cli import main

    assert AA_EXAMPLE.count(old) == 1
    (tmp_path / "trial.toml").write_text(AA_EXAMPLE.replace(old, new))
    code = main(["validate", str(tmp_path)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert f"trial.toml: {key}: " in lines[0], lines[0]
