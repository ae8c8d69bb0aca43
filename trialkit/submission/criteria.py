"""The responder criteria of the efficacy BDS (CRITy, CRITyFL), one per distinct rule and
parameter of the plan: the primary endpoint's responder rule, the secondary endpoints' in the
SAP's order, then the rule of ``analysis.responder_pct_change`` on the primary parameter.

Each record of the rule's parameter is judged by :meth:`ResponderRule.flags`, the function the
analysis decides responders with, so CRIT1FL at the primary visit is the analysis' response.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialkit.definition import TrialDefinition
from trialkit.responder_rule import ResponderRule, parse_responder_rule


@dataclass(frozen=True)
class Criterion:
    """Criterion ``number`` of the BDS: ``rule`` on the records of ``parameter``; ``key`` is
    where the plan states it (``endpoints.primary.responder``)."""

    number: int
    parameter: str
    rule: ResponderRule
    key: str

    @property
    def names(self) -> tuple[str, str]:
        """The variables: CRITy (the rule's text) and CRITyFL (Y, N, blank)."""
        return f"CRIT{self.number}", f"CRIT{self.number}FL"

    @property
    def method(self) -> str:
        """The derivation in words (define.xml's method of both variables)."""
        return (
            f"{self.parameter} records: CRIT{self.number}FL = Y when {self.rule.text} holds, N "
            f"when not, blank when {self.rule.variable} is missing (or BASE is 0 for PCHG); "
            f"CRIT{self.number} = '{self.rule.text}' where judged ({self.key}). Decided exactly "
            "from AVAL and BASE (trialkit.responder_rule), as the analysis decides responders."
        )


def pct_change_rule(definition: TrialDefinition) -> ResponderRule:
    """``analysis.responder_pct_change`` as a rule on the primary parameter's direction."""
    pct = definition.analysis.responder_pct_change
    lower = definition.parameter(definition.primary.parameter).direction == "lower"
    text = f"PCHG <= -{pct}" if lower else f"PCHG >= {pct}"
    return parse_responder_rule(text, "analysis.responder_pct_change")


def plan_criteria(definition: TrialDefinition) -> list[Criterion]:
    """Every responder rule of the plan, numbered from 1; a rule stated twice is one criterion."""
    stated = [("endpoints.primary.responder", definition.primary)]
    stated += [(f"endpoints.secondary[{i}].responder", e) for i, e in
               enumerate(definition.secondary)]  # fmt: skip
    rules = [(key, e.parameter, e.responder) for key, e in stated if e.responder is not None]
    rules.append(
        ("analysis.responder_pct_change", definition.primary.parameter, pct_change_rule(definition))
    )
    out: list[Criterion] = []
    seen: set[tuple[str, str, str, object]] = set()
    for key, parameter, rule in rules:
        identity = (parameter, rule.variable, rule.op, rule.threshold)
        if identity not in seen:
            seen.add(identity)
            out.append(Criterion(len(out) + 1, parameter, rule, key))
    return out


def criterion_columns(frame: pd.DataFrame, criteria: list[Criterion]) -> dict[str, pd.Series]:
    """CRITy and CRITyFL of each criterion for the BDS rows ``frame`` (PARAMCD, AVAL, BASE,
    CHG, PCHG): blank off the criterion's parameter and where the rule cannot be judged."""
    out: dict[str, pd.Series] = {}
    for c in criteria:
        rows = (frame["PARAMCD"] == c.parameter).to_numpy(dtype=bool)
        flag = np.full(len(frame), None, dtype=object)
        met = c.rule.flags(frame.loc[rows])
        judged = met.notna().to_numpy(dtype=bool)
        values = np.where(met.fillna(False).to_numpy(dtype=bool), "Y", "N").astype(object)
        values[~judged] = None
        flag[rows] = values
        text = [None if f is None else c.rule.text for f in flag]
        name, flag_name = c.names
        out[name] = pd.Series(text, index=frame.index, dtype=object)
        out[flag_name] = pd.Series(flag, index=frame.index, dtype=object)
    return out


__all__ = ["Criterion", "criterion_columns", "pct_change_rule", "plan_criteria"]
