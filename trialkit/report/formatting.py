"""Number and text formatting shared by every table of a report (one place, one style).

Estimates keep a fixed number of decimals per table; p-values follow the usual clinical
convention: ``<0.001`` below a thousandth, three decimals otherwise, ``>0.999`` near one.
A value that does not exist (``None``, NaN) prints as an en dash, never as ``nan``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

MISSING = "–"
#: The most characters a report shows of one table cell, and of any other text (a title, a
#: description); the rest is cut with a marker giving the text's length, so a 1 MB field
#: renders (in the PDF too) and the cut is never silent.
CELL_TEXT_MAX = 1000
TEXT_MAX = 5_000
#: A word longer than ``LONG_WORD`` characters (longer than a SHA-256 digest: a pasted blob, a
#: cut text) gets a break opportunity (U+200B, zero width) every ``WRAP_EVERY`` characters, so
#: it wraps within its table column instead of running off the page.
LONG_WORD = 64
WRAP_EVERY = 16
_LONG_WORD = re.compile(rf"[^\s\u200b]{{{LONG_WORD + 1},}}")  # so it is done once only
#: Characters that are invalid in XML (SVG) or invisible: shown as U+FFFD.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN, pandas NA and empty strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(value != value)  # NaN and pd.NA (whose comparison raises or is NA)
    except (TypeError, ValueError):
        return True


def _as_float(value: Any) -> float | None:
    """A finite float, or ``None``."""
    if is_missing(value) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_num(value: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals and a true minus sign; missing is an en dash."""
    number = _as_float(value)
    if number is None:
        return MISSING
    text = f"{number:.{digits}f}"
    if text.startswith("-") and float(text) == 0:  # -0.0 prints as 0.0
        text = text[1:]
    return text.replace("-", "−")


def fmt_int(value: Any) -> str:
    """A count; missing is an en dash."""
    number = _as_float(value)
    return MISSING if number is None else f"{round(number):d}"


def fmt_p(value: Any) -> str:
    """A p-value: ``<0.001``, three decimals, or ``>0.999``."""
    number = _as_float(value)
    if number is None:
        return MISSING
    if number < 0.001:
        return "<0.001"
    if number > 0.999:
        return ">0.999"
    return f"{number:.3f}"


def fmt_ci(lower: Any, upper: Any, digits: int = 1) -> str:
    """A confidence interval as ``(lo, hi)``; missing when either end is missing."""
    if _as_float(lower) is None or _as_float(upper) is None:
        return MISSING
    return f"({fmt_num(lower, digits)}, {fmt_num(upper, digits)})"


def fmt_est_ci(estimate: Any, lower: Any, upper: Any, digits: int = 1) -> str:
    """An estimate followed by its confidence interval."""
    if _as_float(estimate) is None:
        return MISSING
    return f"{fmt_num(estimate, digits)} {fmt_ci(lower, upper, digits)}"


def fmt_mean_sd(mean: Any, sd: Any, digits: int = 1) -> str:
    """``mean (SD)``."""
    if _as_float(mean) is None:
        return MISSING
    return f"{fmt_num(mean, digits)} ({fmt_num(sd, digits)})"


def fmt_n_pct(count: Any, pct: Any, digits: int = 1) -> str:
    """``n (pct%)`` as the analysis computed them; ``0`` alone when the count is zero, the
    count alone without a percentage."""
    if _as_float(count) == 0:
        return "0"
    if _as_float(pct) is None:
        return fmt_int(count)
    return f"{fmt_int(count)} ({fmt_num(pct, digits)}%)"


def fmt_pct(value: Any, digits: int = 1) -> str:
    """A percentage given in percent units."""
    number = _as_float(value)
    return MISSING if number is None else f"{fmt_num(number, digits)}%"


def fmt_date(value: Any) -> str:
    """A date as ``YYYY-MM-DD``."""
    if is_missing(value):
        return MISSING
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text[:10]


def fmt_text(value: Any) -> str:
    """Any value as text (missing as an en dash); escaping is the template engine's job."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return fmt_num(value, 2)
    return str(value)


def display_text(text: str, limit: int = TEXT_MAX) -> str:
    """Text as a report shows it: unprintable characters as U+FFFD, at most ``limit``
    characters (a longer text is cut with a marker giving its full length), and very long
    words breakable (see ``LONG_WORD``)."""
    clean = _UNPRINTABLE.sub("\ufffd", text)
    if len(clean) > limit:
        clean = f"{clean[:limit]}… [cut, {len(clean):,} characters in all]"
    return _LONG_WORD.sub(_breakable, clean)


def _breakable(match: re.Match[str]) -> str:
    """A long word with a zero-width break opportunity every ``WRAP_EVERY`` characters."""
    word = match.group(0)
    return "\u200b".join(word[i : i + WRAP_EVERY] for i in range(0, len(word), WRAP_EVERY))


def fmt_cell(column: str, value: Any) -> str:
    """Format a cell of a generic results table by its column name."""
    name = column.lower()
    if name in ("p", "p_value", "pvalue", "p_adjusted", "interaction_p") or name.endswith("_p"):
        return fmt_p(value)
    if name in ("n", "count", "randomized", "subjects", "events") or name.startswith("n_"):
        return fmt_int(value)
    if name in ("df", "num_df", "den_df"):
        return fmt_num(value, 1)
    if isinstance(value, bool):
        return fmt_text(value)
    number = _as_float(value)
    if number is not None and not isinstance(value, str):
        if float(number).is_integer() and isinstance(value, int):
            return fmt_int(number)
        return fmt_num(number, 2)
    return fmt_text(value)


def short_hash(digest: str, length: int = 12) -> str:
    """The first ``length`` hex digits of a SHA-256 digest."""
    return digest[:length]


ACRONYMS = frozenset(
    {"pp", "itt", "mitt", "ancova", "mmrm", "gee", "nb", "ci", "ae", "sae", "teae", "mi", "lsm"}
)


def humanize(name: str) -> str:
    """``sensitivity_pp`` -> ``Sensitivity PP``: a readable title from a results key."""
    words = [w.upper() if w.lower() in ACRONYMS else w for w in name.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def visit_label(code: str) -> str:
    """``WEEK24`` -> ``Week 24``; other codes unchanged."""
    m = re.fullmatch(r"(WEEK|MONTH|DAY)_?(\d+)", code, flags=re.I)
    return f"{m.group(1).capitalize()} {int(m.group(2))}" if m else code


def join_labels(labels: Sequence[str]) -> str:
    """``a, b and c``."""
    items = list(labels)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
