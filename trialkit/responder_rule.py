"""Responder rules of binary endpoints: ``VARIABLE OP NUMBER`` parsed by a strict grammar.

``responder = "AVAL <= 20"`` or ``"PCHG <= -50"`` in ``trial.toml``: VARIABLE is one of
``RESPONDER_VARIABLES`` (AVAL, CHG, PCHG), OP one of ``RESPONDER_OPERATORS``, NUMBER a plain
decimal (no exponent). Nothing is evaluated; the threshold is the exact decimal written. A
subject-visit is decided in exact arithmetic, reading each float as the decimal it prints as,
as :mod:`trialkit.estimators.responders` does (its :func:`exact_value`): CHG as AVAL - BASE and
PCHG through that module's percent-change rule, so SALT 20 against ``AVAL <= 20`` or a halving
against ``PCHG <= -50`` is never lost to rounding. Parsing a rule imports no numerics (the
definition reads fast); deciding one imports them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from trialkit.errors import DefinitionError, ModelSpecificationError
from trialkit.vocabulary import RESPONDER_OPERATORS, RESPONDER_VARIABLES

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_OPS = sorted(RESPONDER_OPERATORS, key=len, reverse=True)  # "<=" before "<"
_GRAMMAR = re.compile(
    rf"\s*({'|'.join(RESPONDER_VARIABLES)})\s*({'|'.join(map(re.escape, _OPS))})"
    r"\s*([+-]?\d{1,15}(?:\.\d{1,15})?)\s*"
)
_COMPARE: dict[str, Callable[[int | Fraction, Fraction], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


@dataclass(frozen=True)
class ResponderRule:
    """A responder rule: a subject-visit responds when ``variable op threshold`` holds."""

    variable: str
    op: str
    threshold: Fraction
    text: str

    def flags(self, frame: pd.DataFrame) -> pd.Series:
        """Per row of ``frame`` (AVAL, BASE and the rule's variable): whether the rule holds.

        Nullable boolean, NA where the variable is missing (PCHG also where BASE is 0, as it is
        not defined there); decided exactly from AVAL and BASE, not from the stored float.
        """
        import numpy as np
        import pandas as pd

        from trialkit.estimators.responders import exact_value

        needed = ["AVAL", "BASE", self.variable] if self.variable != "AVAL" else ["AVAL"]
        missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
        if missing:
            raise ModelSpecificationError(
                f"responder rule {self.text!r}: column(s) {', '.join(missing)} missing"
            )
        aval = pd.to_numeric(frame["AVAL"], errors="coerce").to_numpy(dtype=float)
        base = (
            np.zeros(len(frame))
            if self.variable == "AVAL"
            else pd.to_numeric(frame["BASE"], errors="coerce").to_numpy(dtype=float)
        )
        known = frame[self.variable].notna().to_numpy(dtype=bool) & np.isfinite(aval)
        known &= np.isfinite(base) & ((base != 0) | (self.variable != "PCHG"))
        met = np.zeros(len(frame), dtype=bool)
        rows = np.flatnonzero(known)
        if self.variable == "PCHG":
            met[rows] = self._percent_change(aval[rows], base[rows])
        else:
            compare, chg = _COMPARE[self.op], self.variable == "CHG"
            met[rows] = [
                compare(exact_value(a) - (exact_value(b) if chg else 0), self.threshold)
                for a, b in zip(aval[rows], base[rows], strict=True)
            ]
        out = pd.array(met, dtype="boolean")
        out[~known] = pd.NA
        return pd.Series(out, index=frame.index, name="RESPFL")

    def _percent_change(self, aval: np.ndarray, base: np.ndarray) -> np.ndarray:
        """``PCHG op threshold`` for BASE > 0 by the percent-change rule of the responders
        module: >= and <= directly, > and < as the complement of the opposite rule."""
        from trialkit.estimators.responders import responders_exact

        if (base < 0).any():
            raise ModelSpecificationError(
                f"responder rule {self.text!r}: negative BASE {base[base < 0][0]!r}"
            )
        t = self.threshold
        if self.op in (">=", "<"):
            at_least = responders_exact(aval, base, t, "higher")  # PCHG >= t
            return at_least if self.op == ">=" else ~at_least
        at_most = responders_exact(aval, base, -t, "lower")  # PCHG <= t
        return at_most if self.op == "<=" else ~at_most


def parse_responder_rule(text: str, key: str) -> ResponderRule:
    """The rule ``text`` of trial.toml key ``key``; anything off the grammar names the key."""
    match = _GRAMMAR.fullmatch(text)
    if match is None:
        raise DefinitionError(
            f"{key}: {text[:60]!r} is not a responder rule (VARIABLE OP NUMBER, VARIABLE one of "
            f"{', '.join(RESPONDER_VARIABLES)}, OP one of {', '.join(RESPONDER_OPERATORS)}, "
            "e.g. 'AVAL <= 20')"
        )
    variable, op, number = match.groups()
    return ResponderRule(variable, op, Fraction(number), f"{variable} {op} {number}")


__all__ = ["ResponderRule", "parse_responder_rule"]
