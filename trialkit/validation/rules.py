"""The registry of validation rules: each has a stable ID, a severity and a one-line title.

This is the single source of the rule table in ``docs/validation.md`` (a test checks the two
agree), so an ID never changes meaning and no rule goes undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trialkit.datasets import EARLIEST_DATE, LATEST_DATE, MAY_BE_EMPTY, REQUIRED_COLUMNS

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Rule:
    """A validation rule: stable ID, severity and what it checks."""

    id: str
    severity: Severity
    title: str


_RULES = (
    Rule("TK001", "error", "required value missing"),
    Rule("TK002", "error", "value of the wrong type, or not a valid date"),
    Rule(
        "TK003",
        "error",
        "value not allowed (code lists: SEX, EOSSTT, AESEV, Y/N flags, DEVICE, SETTING; "
        "EXTRT not a treatment of the trial; ARMCD not an arm; VISIT not a visit code nor "
        "UNSCHEDULED/EARLY_TERMINATION; PARAMCD not an efficacy parameter in assessments, not a "
        "safety parameter in vital_signs)",
    ),
    Rule(
        "TK004",
        "error",
        "value out of range (AGE 0-150; AVAL outside the parameter's min/max, not one of its "
        "levels, or not an integer where the parameter is integer; negative dose/depth/volume)",
    ),
    Rule("TK005", "error", "duplicate USUBJID in subjects"),
    Rule("TK010", "error", "USUBJID not in subjects"),
    Rule(
        "TK011",
        "error",
        "more than one row for a subject, scheduled visit and parameter (assessments, vital signs)",
    ),
    Rule("TK012", "error", "no baseline, or more than one, for a subject and parameter"),
    Rule("TK013", "error", "baseline assessment after the subject's first exposure"),
    Rule("TK015", "error", "microneedling needle depth outside the arm's protocol range"),
    Rule(
        "TK016", "error", "injected volume (PRP, saline injection) outside the arm's protocol range"
    ),
    Rule("TK017", "error", "end date before start date (exposure, adverse event, medication)"),
    Rule("TK018", "error", "record dated after the subject's end of study (EOSDT)"),
    Rule("TK019", "error", "exposure before randomisation"),
    Rule(
        "TK020",
        "error",
        "end-of-study fields inconsistent (DISCONTINUED without DCSREAS or EOSDT; COMPLETED "
        "with a DCSREAS or without EOSDT; ONGOING with an EOSDT)",
    ),
    Rule(
        "TK021",
        "error",
        f"date outside {EARLIEST_DATE:%Y-%m-%d} to {LATEST_DATE:%Y-%m-%d} "
        "(missing for the analysis)",
    ),
    Rule("TK022", "error", "number not finite: inf, -inf or nan (missing for the analysis)"),
    Rule("TK023", "error", "required column named more than once (only the first is read)"),
    Rule(
        "TK024",
        "error",
        "dataset without records ("
        + ", ".join(n for n in REQUIRED_COLUMNS if n not in MAY_BE_EMPTY)
        + "; the others may be empty)",
    ),
    Rule("TK025", "error", "AGE outside the trial population's limits ([trial.population].age)"),
    Rule("TK026", "error", "SEX not one of the trial population's sexes ([trial.population].sex)"),
    Rule(
        "TK030", "warning", "assessment outside its visit window (target date = RANDDT + day - 1)"
    ),
    Rule("TK031", "warning", "procedure sessions spaced unlike the arm's interval"),
    Rule("TK032", "warning", "column trialkit does not use named more than once (first one kept)"),
    Rule(
        "TK033",
        "warning",
        "protocol deviation: treatment given that is not a component of the subject's arm (the "
        "subject stays in ITT as randomised and in the safety population as treated)",
    ),
    Rule(
        "TK034",
        "warning",
        "realised allocation implausible under the planned ratio (chi-square goodness of fit, "
        "p < 0.001)",
    ),
)

#: Rule IDs no longer used, and what replaced them (an ID never takes a new meaning).
RETIRED: dict[str, str] = {
    "TK014": "treatment not of the subject's arm, an error until it became the warning TK033",
}

#: Every rule by ID, in table order.
RULES: dict[str, Rule] = {r.id: r for r in _RULES}


def severity(rule_id: str) -> Severity:
    """The severity of rule ``rule_id``."""
    return RULES[rule_id].severity


def rules_table() -> str:
    """The rule table as Markdown, as it appears in ``docs/validation.md``."""
    lines = ["| ID | severity | rule |", "|---|---|---|"]
    lines += [f"| {r.id} | {r.severity} | {r.title} |" for r in RULES.values()]
    lines += [f"| {rule_id} | retired | {why} |" for rule_id, why in RETIRED.items()]
    return "\n".join(lines)
