"""Hostile ``trial.toml``: each case is refused by ``trialkit validate`` with exit 2 and one line
naming the key (never exit 3, never a traceback), and the trial folder is left as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hostile.conftest import assert_clean_run, watch
from trialkit.cli import main
from trialkit.definition import CODE_PATTERN, MAX_DEPTH
from trialkit.resources import example_trials_dir
from trialkit.vocabulary import EARLY_TERMINATION, UNSCHEDULED

BASE = (example_trials_dir() / "dhurat2013" / "trial.toml").read_text(encoding="utf-8")
ORDINAL = """
[[parameters]]
code = "GPA"
label = "Global photographic assessment"
scale = "ordinal"
levels = [-3, -2, -1, 0, 1, 2, 3]
"""
INTERIM = "\n[interim]\ninformation_fractions = [0.5, 1.0]\n"


@pytest.fixture
def trial(work: Path) -> Path:
    """The copy of the small example trial in the case's work folder."""
    return work / "trial"


def edited(old: str, new: str, text: str = BASE) -> str:
    """``text`` with its one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def analysis_key(line: str) -> str:
    """The example with ``line`` added to its ``[analysis]`` table."""
    return edited("[analysis]\n", f"[analysis]\n{line}\n")


def validate(
    trial: Path, capsys: pytest.CaptureFixture[str], expected_code: int, names: list[str]
) -> str:
    """Run ``trialkit validate`` on ``trial`` and make the checks of every case (the work
    folder left as it was); the stderr line."""
    before = watch(trial.parent)
    code = main(["validate", str(trial)])
    captured = capsys.readouterr()
    return assert_clean_run(
        code, captured.err, expected_code=expected_code, names=names, before=before,
        stdout=captured.out,
    )  # fmt: skip


def refused(trial: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, key: str) -> str:
    """Write ``text`` as trial.toml; validate must exit 2 with one line naming the file and
    ``key``, and change nothing. The line."""
    toml = trial / "trial.toml"
    toml.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    line = validate(trial, capsys, 2, [f"{toml}: {key}"])
    assert line.startswith("trialkit: error: "), line
    return line


def accepted(
    trial: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, expected_code: int = 0
) -> None:
    """Write ``text`` as trial.toml; the definition must load (exit 0, or 1 for findings of
    the data) with nothing on stderr."""
    (trial / "trial.toml").write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    validate(trial, capsys, expected_code, [])


# --- encoding, size, nesting -------------------------------------------------------------


def test_bom_is_accepted(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accepted(trial, capsys, b"\xef\xbb\xbf" + BASE.encode("utf-8"))


def test_two_boms_are_not_toml(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, b"\xef\xbb\xbf" * 2 + BASE.encode("utf-8"), "not valid TOML")


def test_utf16_is_not_utf8(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, BASE.encode("utf-16"), "not UTF-8 text")


def test_random_bytes(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, bytes(range(256)), "not UTF-8 text")


def test_deep_array(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = "a = " + "[" * 10_000 + "]" * 10_000 + "\n"
    refused(trial, capsys, deep + BASE, f"line 1: nested deeper than {MAX_DEPTH} levels")


def test_deep_inline_table(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = "a = " + "{b = " * 5_000 + "1" + "}" * 5_000 + "\n"
    refused(trial, capsys, BASE + deep, f"line {BASE.count(chr(10)) + 1}: nested deeper than")


def test_nesting_just_over_the_limit(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    over = MAX_DEPTH + 1
    refused(trial, capsys, "a = " + "[" * over + "]" * over + "\n" + BASE, "line 1: nested")


def test_nesting_at_the_limit_reaches_the_key_check(
    trial: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(trial, capsys, "a = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n" + BASE, "a: unknown")


def test_deep_dotted_key(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(trial, capsys, "x." * 5_000 + "x = 1\n" + BASE, "x.x.x")
    assert line.endswith(f"nested deeper than {MAX_DEPTH} levels")


def test_deep_table_header(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, BASE + "\n[" + "x." * 5_000 + "x]\n", "x.x.x")


def test_brackets_in_strings_and_comments_do_not_count(
    trial: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = edited('phase = "4"', 'phase = "' + "[{" * 100 + '" # ' + "[" * 100)
    text = edited('label = "5% minoxidil"', "label = '''" + "[" * 100 + "'''", text)
    accepted(trial, capsys, text)


def test_quotes_before_a_closing_delimiter_do_not_hide_brackets(
    trial: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = "[" * 1000 + "]" * 1000
    refused(trial, capsys, f'a = ["""x"""", {deep}, ""]\n' + BASE, "line 1: nested")


def test_file_over_one_megabyte(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, BASE + "#" * 1_000_001 + "\n", "larger than 1000000 bytes")


def test_text_too_long(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited('phase = "4"', f'phase = "{"x" * 10_001}"')
    refused(trial, capsys, text, "trial.phase: text longer than 10000 characters")


def test_list_too_long(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, analysis_key(f"age_groups = {list(range(1001))}"), "analysis.age_")


def test_control_character_in_text(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited('label = "5% minoxidil"', 'label = "5% min\\u0007oxidil"')
    refused(trial, capsys, text, "arms[0].label: control character '\\x07'")


def test_key_with_a_newline(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, edited("[analysis]\n", '[analysis]\n"al\\npha" = 1\n'), "analysis.'al")


def test_integer_of_5000_digits(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, analysis_key("ae_lag_days = 1" + "0" * 5000), "not valid TOML")


def test_hex_integer_of_8000_bits(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(trial, capsys, analysis_key("ae_lag_days = 0x" + "f" * 2000), "analysis.ae_")
    assert "<integer of 8000 bits>" in line


def test_trial_toml_is_a_fifo(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = trial / "trial.toml"
    toml.unlink()
    os.mkfifo(toml)
    validate(trial, capsys, 2, [f"{toml}: not a regular file"])


def test_trial_toml_is_a_folder(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = trial / "trial.toml"
    toml.unlink()
    toml.mkdir()
    validate(trial, capsys, 2, [f"{toml}: not a regular file"])


# --- numbers -------------------------------------------------------------------------------


def test_parameter_max_nan(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited("max = 600", "max = nan")
    refused(trial, capsys, text, "parameters[0].max: must be a finite number (got nan)")


@pytest.mark.parametrize("value", ["inf", "-inf", "+inf", "-nan"])
def test_parameter_min_not_finite(
    trial: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    refused(trial, capsys, edited("min = 0", f"min = {value}"), "parameters[0].min: must be a f")


def test_ae_lag_days_huge(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(trial, capsys, analysis_key(f"ae_lag_days = {2**63 - 1}"), "analysis.ae_lag")
    assert "[0, 3650]" in line


@pytest.mark.parametrize("value", ["-1", "3651", "1.5", "true", '"30"', "nan"])
def test_ae_lag_days_out_of_range_or_type(
    trial: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    refused(trial, capsys, analysis_key(f"ae_lag_days = {value}"), "analysis.ae_lag_days: must")


def test_ae_lag_days_at_the_limits(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accepted(trial, capsys, analysis_key("ae_lag_days = 3650"))
    accepted(trial, capsys, analysis_key("ae_lag_days = 0"))


@pytest.mark.parametrize("value", ["nan", "inf", "0", "1", "1.0"])
def test_alpha(trial: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    refused(trial, capsys, edited("alpha = 0.05", f"alpha = {value}"), "analysis.alpha: must")


@pytest.mark.parametrize("value", ["inf", "nan", "0", "101"])
def test_concentration(trial: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    text = BASE.replace("concentration_pct = 5.0", f"concentration_pct = {value}", 1)
    refused(trial, capsys, text, "arms[0].components[0].concentration_pct: must")


@pytest.mark.parametrize(
    ("value", "key"),
    [("[nan, 1.5]", "[0]: must be a finite"), ("[1.5, inf]", "[1]: must be a finite"),
     ("[2.0, 1.0]", ": expected [low, high] with low <= high"), ("[1.5]", ": expected [low,"),
     ("[1.5, 11]", "[1]: must be in [0, 10]"), ('[1, "2"]', "[1]: must be a number")],
)  # fmt: skip
def test_needle_depth(
    trial: Path, capsys: pytest.CaptureFixture[str], value: str, key: str
) -> None:
    text = edited("needle_depth_mm = [1.5, 1.5]", f"needle_depth_mm = {value}")
    refused(trial, capsys, text, f"arms[1].components[1].needle_depth_mm{key}")


@pytest.mark.parametrize("value", [str(2**63 - 1), "0", "-7", "7.0"])
def test_interval_days(trial: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    text = edited("interval_days = 7", f"interval_days = {value}")
    refused(trial, capsys, text, "arms[1].components[1].interval_days: must be")


def test_sessions_zero(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited("sessions = 12", "sessions = 0")
    refused(trial, capsys, text, "arms[1].components[1].sessions: must be a positive integer")


@pytest.mark.parametrize("value", [str(2**63 - 1), str(-(2**63)), "3651", "85.5"])
def test_visit_day(trial: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    refused(trial, capsys, edited("day = 85", f"day = {value}"), "visits[3].day: must be")


def test_visit_window_huge(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited("day = 85\nwindow = [-5, 5]", f"day = 85\nwindow = [{-(2**63)}, 5]")
    refused(trial, capsys, text, "visits[3].window[0]: must be an integer in [-3650, 3650]")


def test_visit_window_misses_its_target(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited("day = 85\nwindow = [-5, 5]", "day = 85\nwindow = [2, 5]")
    refused(trial, capsys, text, "visits[3].window: must contain the target day")


def test_min_session_share_nan(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited("min_session_share = 0.8", "min_session_share = nan")
    refused(trial, capsys, text, "per_protocol.min_session_share: must be a finite number")


@pytest.mark.parametrize(
    ("line", "key"),
    [("responder_pct_change = 0", "analysis.responder_pct_change"),
     ("pool_sites_min_size = 0", "analysis.pool_sites_min_size"),
     (f"pool_sites_min_size = {2**63 - 1}", "analysis.pool_sites_min_size")],
)  # fmt: skip
def test_analysis_counts(
    trial: Path, capsys: pytest.CaptureFixture[str], line: str, key: str
) -> None:
    text = edited("responder_pct_change = 20", line)
    refused(trial, capsys, text, f"{key}: must be a positive integer")


def test_subgroup_cut_nan(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited('label = "Norwood-Hamilton stage"', 'label = "N"\ncuts = [3, nan]')
    refused(trial, capsys, text, "subgroups[0].cuts[1]: must be a finite number")


@pytest.mark.parametrize(
    ("line", "key"),
    [("information_fractions = [nan, 1.0]", "information_fractions[0]: must be a finite"),
     ("information_fractions = [0.5, 1.0]\nalpha = inf", "alpha: must be a finite"),
     ("information_fractions = [0.5, 1.0]\neffect = nan", "effect: must be a finite"),
     (f"information_fractions = [0.5, 1.0]\nmax_subjects = {2**63 - 1}", "max_subjects: must"),
     (f"information_fractions = [0.5, 1.0]\nactive_arms = {2**63 - 1}", "active_arms: must"),
     ('information_fractions = [0.5, 1.0]\nalpha_sharing = [nan]', "alpha_sharing[0]: must")],
)  # fmt: skip
def test_interim_numbers(
    trial: Path, capsys: pytest.CaptureFixture[str], line: str, key: str
) -> None:
    refused(trial, capsys, f"{BASE}\n[interim]\n{line}\n", f"interim.{key}")


# --- type-mixed lists ----------------------------------------------------------------------


def test_age_groups_mixed(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(trial, capsys, analysis_key('age_groups = [40, "x"]'), "analysis.age_groups[1]")
    assert line.endswith("must be an integer (got 'x')")


def test_age_groups_decreasing(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, analysis_key("age_groups = [65, 40]"), "analysis.age_groups: must inc")


def test_age_groups_nested(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, analysis_key("age_groups = [[40], 65]"), "analysis.age_groups[0]: must")


def test_cuts_mixed(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited('label = "Norwood-Hamilton stage"', 'label = "N"\ncuts = [1, "x"]')
    refused(trial, capsys, text, "subgroups[0].cuts[1]: must be a number")


def test_levels_mixed(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ordinal = ORDINAL.replace("0, 1", '"0", 1')
    text = edited("\n[endpoints.primary]", ordinal + "\n[endpoints.primary]")
    refused(trial, capsys, text, "parameters[1].levels[3]: must be an integer (got '0')")


def test_ordinal_parameter_is_accepted(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accepted(trial, capsys, edited("\n[endpoints.primary]", ORDINAL + "\n[endpoints.primary]"))


def test_levels_outside_min_max(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ordinal = ORDINAL.replace('scale = "ordinal"', 'scale = "ordinal"\nmin = -2\nmax = 3')
    text = edited("\n[endpoints.primary]", ordinal + "\n[endpoints.primary]")
    refused(trial, capsys, text, "parameters[1].levels: level -3 is outside [min, max]")


def test_covariates_mixed(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, analysis_key('covariates = ["AGE", 1]'), "analysis.covariates[1]")


def test_information_fractions_mixed(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = BASE + '\n[interim]\ninformation_fractions = [0.5, "1"]\n'
    refused(trial, capsys, text, "interim.information_fractions[1]: must be a number")


# --- codes -----------------------------------------------------------------------------------


def test_visit_code_with_a_slash(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited('code = "WEEK8"', 'code = "WEEK/8"')
    refused(trial, capsys, text, "visits[2].code: 'WEEK/8' is not a code")


def test_parameter_code_with_a_slash(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = BASE.replace('"HAIRCNT"', '"HAIR/CNT"')
    refused(trial, capsys, text, "parameters[0].code: 'HAIR/CNT' is not a code")


@pytest.mark.parametrize(
    "code", ["", "../x", "A B", "1ARM", "X" * 33, "MINOX\\u00c9", "MINOX\\n", "A-B", "A.B"]
)
def test_arm_code_not_a_code(trial: Path, capsys: pytest.CaptureFixture[str], code: str) -> None:
    text = edited('code = "MINOX_MN"', f'code = "{code}"')
    refused(trial, capsys, text, "arms[1].code: ")


def test_arm_code_not_a_string(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, edited('code = "MINOX_MN"', "code = 7"), "arms[1].code: expected a code")


def test_longest_code_is_accepted(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = "W" * 32
    assert CODE_PATTERN.fullmatch(code)
    accepted(trial, capsys, edited('code = "WEEK8"', f'code = "{code}"'), 1)  # data say WEEK8


def test_subgroup_variable_not_a_code(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited('variable = "SEVERITY"', 'variable = "SEVERITY/x"')
    refused(trial, capsys, text, "subgroups[0].variable: 'SEVERITY/x' is not a code")


def test_stratum_not_a_code(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited('strata = ["SEVERITY"]', 'strata = ["SEVERITY + AGE"]')
    refused(trial, capsys, text, "analysis.strata[0]: 'SEVERITY + AGE' is not a code")


def test_stratum_twice(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited('strata = ["SEVERITY"]', 'strata = ["SEVERITY", "SEVERITY"]')
    refused(trial, capsys, text, "analysis.strata: 'SEVERITY' appears twice")


# --- inconsistent definitions ----------------------------------------------------------------


def _without_second_arm() -> str:
    start = BASE.index('[[arms]]\ncode = "MINOX_MN"')
    return BASE[:start] + BASE[BASE.index("[[visits]]") :]


def test_single_arm(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, _without_second_arm(), "arms: at least two arms are needed (found 1)")


def test_no_arms(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = BASE.index("[[arms]]")
    text = "arms = []\n" + BASE[:start] + BASE[BASE.index("[[visits]]") :]
    refused(trial, capsys, text, "arms: at least two arms are needed (found 0)")


def test_two_reference_arms(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited(
        'label = "5% minoxidil + weekly', 'reference = true\nlabel = "5% minoxidil + weekly'
    )
    refused(trial, capsys, text, "arms: exactly one arm must have reference = true (found 2)")


def test_no_reference_arm(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited("reference = true\n", "")
    refused(trial, capsys, text, "arms: exactly one arm must have reference = true (found 0)")


def test_empty_arm_code(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, edited('code = "MINOX_MN"', 'code = ""'), "arms[1].code: '' is not")


def test_duplicate_arm_code_ignoring_case(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited('code = "MINOX_MN"', 'code = "minox"')
    refused(trial, capsys, text, "arms: duplicate arm code 'minox'")


def test_duplicate_visit_code(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(trial, capsys, edited('code = "WEEK8"', 'code = "WEEK4"'), "visits: duplicate visit")


def test_duplicate_parameter_code(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ordinal = ORDINAL.replace('"GPA"', '"HAIRCNT"')
    text = edited("\n[endpoints.primary]", ordinal + "\n[endpoints.primary]")
    refused(trial, capsys, text, "parameters: duplicate parameter code 'HAIRCNT'")


@pytest.mark.parametrize("code", [UNSCHEDULED, EARLY_TERMINATION])
def test_visit_coded_as_a_pseudo_visit(
    trial: Path, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    text = edited('code = "WEEK8"', f'code = "{code}"')
    refused(trial, capsys, text, f"visits[2].code: '{code}' is reserved for unplanned visits")


def test_endpoint_repeated(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edited('variable = "PCHG"', 'variable = "CHG"')
    refused(trial, capsys, text, "endpoints.secondary[0]: CHG of HAIRCNT at WEEK12 is already")


def test_endpoint_name_repeated(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "Change in target-area hair count at week 12"
    text = edited(
        'name = "Percent change in target-area hair count at week 12"', f'name = "{name}"'
    )
    refused(trial, capsys, text, "endpoints.secondary[0].name: 'Change in target-area hair")


def test_subgroup_repeated(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = BASE + '\n[[subgroups]]\nvariable = "SEVERITY"\n'
    refused(trial, capsys, text, "subgroups: 'SEVERITY' is a subgroup twice")


def test_interim_arms_not_the_trials(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = BASE + INTERIM + "active_arms = 2\n"
    refused(trial, capsys, text, "interim.active_arms: the plan has 2, the trial 1 active arms")


def test_interim_arms_match(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accepted(trial, capsys, BASE + INTERIM + "active_arms = 1\n")


def test_blank_title(trial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = BASE.index("title = ")
    text = BASE[:start] + 'title = "  "' + BASE[BASE.index("\n", start) :]
    refused(trial, capsys, text, "trial.title: must not be blank")
