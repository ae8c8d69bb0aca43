"""A small, safe model-formula parser and design-matrix builder.

User text is never evaluated: a formula is a response name, ``~`` and terms made of
column names joined by ``+``, ``*`` (main effects and interaction) and ``:``
(interaction), with optional ``1`` / ``0`` / ``-1`` for the intercept. Anything else is
a :class:`~trialkit.errors.ModelSpecificationError` naming the offending token.

Coding follows R: categorical columns get treatment contrasts (reference = first level,
overridable), and a factor inside an interaction is coded by contrasts when the term
without it is in the model, else by indicators of all its levels. Column names follow
patsy (``ARMCD[T.TRT]:AVISIT[T.VIS2]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialkit.errors import ModelSpecificationError

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_.][A-Za-z0-9_.]*)|(?P<num>\d+)|(?P<op>[~+*:\-]))")


@dataclass(frozen=True)
class ParsedFormula:
    """The parts of a formula: response, terms (tuples of column names) and intercept."""

    response: str
    terms: tuple[tuple[str, ...], ...]
    intercept: bool


def _tokenize(text: str) -> list[str]:
    """Split formula text into names, integers and operators; refuse anything else."""
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            bad = text[pos:].strip()[:1]
            if bad == "(" and tokens and re.match(r"[A-Za-z_.]", tokens[-1]):
                bad = tokens[-1] + "(...)"
            raise ModelSpecificationError(f"formula: unsupported token {bad!r} in {text!r}")
        tok = m.group("name") or m.group("num") or m.group("op")
        assert tok is not None
        tokens.append(tok)
        pos = m.end()
    return tokens


def parse_formula(text: str) -> ParsedFormula:
    """Parse ``response ~ terms``; ``a*b`` is ``a + b + a:b``; terms sorted by order as in R."""
    tokens = _tokenize(text)
    if len(tokens) < 3 or tokens[1] != "~" or not re.match(r"[A-Za-z_.]", tokens[0]):
        raise ModelSpecificationError(f"formula: expected 'response ~ terms', got {text!r}")
    response = tokens[0]
    rhs = tokens[2:]
    intercept = True
    # split on '+' and '-' (only '-1' / '- 1' is allowed as subtraction)
    summands: list[tuple[str, list[str]]] = []
    sign = "+"
    current: list[str] = []
    for tok in rhs:
        if tok in ("+", "-"):
            if current:
                summands.append((sign, current))
            elif summands or tok == "+":
                raise ModelSpecificationError(f"formula: misplaced {tok!r} in {text!r}")
            sign, current = tok, []
        elif tok == "~":
            raise ModelSpecificationError(f"formula: second '~' in {text!r}")
        else:
            current.append(tok)
    if not current:
        raise ModelSpecificationError(f"formula: missing term at end of {text!r}")
    summands.append((sign, current))

    terms: list[tuple[str, ...]] = []
    for sign, toks in summands:
        if len(toks) == 1 and toks[0] in ("0", "1"):
            if sign == "-" and toks[0] == "0":
                raise ModelSpecificationError(f"formula: unsupported token '-0' in {text!r}")
            intercept = toks[0] == "1" and sign == "+"
            continue
        if sign == "-":
            raise ModelSpecificationError(
                f"formula: only '-1' may be subtracted, got '-{''.join(toks)}' in {text!r}"
            )
        # product of ':'-groups joined by '*'
        groups: list[list[str]] = [[]]
        expect_name = True
        for tok in toks:
            if expect_name:
                if tok in ("*", ":") or tok.isdigit():
                    raise ModelSpecificationError(f"formula: unexpected token {tok!r} in {text!r}")
                groups[-1].append(tok)
                expect_name = False
            else:
                if tok == "*":
                    groups.append([])
                elif tok != ":":
                    raise ModelSpecificationError(f"formula: unexpected token {tok!r} in {text!r}")
                expect_name = True
        if expect_name:
            raise ModelSpecificationError(f"formula: term ends with an operator in {text!r}")
        # a*b*c: all non-empty subsets of the ':' groups
        n = len(groups)
        for mask in range(1, 2**n):
            names: list[str] = []
            for i in range(n):
                if mask >> i & 1:
                    for nm in groups[i]:
                        if nm not in names:
                            names.append(nm)
            term = tuple(names)
            if not any(set(term) == set(t) for t in terms):
                terms.append(term)
    # R orders terms by their order (number of variables), stable within an order
    terms.sort(key=len)
    return ParsedFormula(response=response, terms=tuple(terms), intercept=intercept)


@dataclass
class Term:
    """One model term: its variables, how each factor is coded, and its design columns."""

    name: str
    variables: tuple[str, ...]
    full_coding: dict[str, bool]
    columns: list[str] = field(default_factory=list)
    slice: slice = field(default_factory=lambda: slice(0, 0))


@dataclass
class DesignInfo:
    """Everything needed to rebuild design rows for new data (reference grids, contrasts)."""

    response: str
    intercept: bool
    terms: list[Term]
    factor_levels: dict[str, list[str]]
    numeric: list[str]
    column_names: list[str]

    @property
    def variables(self) -> list[str]:
        """Columns of the data the right-hand side uses, in order of first appearance."""
        out: list[str] = []
        for t in self.terms:
            for v in t.variables:
                if v not in out:
                    out.append(v)
        return out

    def term_slices(self) -> dict[str, slice]:
        """Design columns of each term (including ``Intercept``)."""
        out: dict[str, slice] = {}
        if self.intercept:
            out["Intercept"] = slice(0, 1)
        for t in self.terms:
            out[t.name] = t.slice
        return out

    def build(self, data: pd.DataFrame, coding: str = "treatment") -> np.ndarray:
        """Design matrix of ``data`` (all variables present; factor values must be known levels).

        ``coding="sum"`` codes contrasts as R's ``contr.sum`` (used for type III tests).
        """
        n = len(data)
        blocks: list[np.ndarray] = []
        if self.intercept:
            blocks.append(np.ones((n, 1)))
        cache: dict[tuple[str, bool], np.ndarray] = {}
        for term in self.terms:
            block = np.ones((n, 1))
            for v in term.variables:
                if v in self.factor_levels:
                    key = (v, term.full_coding[v])
                    if key not in cache:
                        cache[key] = _factor_columns(
                            data[v], self.factor_levels[v], key[1], v, coding
                        )
                    cols = cache[key]
                else:
                    cols = np.asarray(data[v], dtype=float).reshape(n, 1)
                # R's column order: first variable varies fastest
                block = (block[:, None, :] * cols[:, :, None]).reshape(n, -1)
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((n, 0))


def _factor_columns(
    values: pd.Series, levels: list[str], full: bool, name: str, coding: str = "treatment"
) -> np.ndarray:
    """Indicator columns of a factor: all levels (``full``) or contrasts (treatment or sum)."""
    codes = factor_codes(values, levels)
    if (codes < 0).any():
        bad = values[codes < 0].iloc[0]
        raise ModelSpecificationError(
            f"column {name!r}: level {bad!r} was not seen in the model data"
        )
    ind = np.zeros((len(values), len(levels)))
    ind[np.arange(len(values)), codes] = 1.0
    if full:
        return ind
    if coding == "sum":
        return ind[:, :-1] - ind[:, -1:]
    return ind[:, 1:]


def factor_codes(values: pd.Series, levels: Sequence[str]) -> np.ndarray:
    """Index of each value's string form in ``levels`` (-1 if absent or missing); fast."""
    raw, uniques = pd.factorize(values, use_na_sentinel=True)
    where = {lev: i for i, lev in enumerate(levels)}
    lookup = np.array([where.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return lookup[raw]  # raw == -1 (missing) picks the trailing -1


def is_categorical(series: pd.Series) -> bool:
    """Object, string, category and bool columns are factors; numeric columns are covariates."""
    return bool(
        isinstance(series.dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(series)
        or pd.api.types.is_object_dtype(series)
        or pd.api.types.is_string_dtype(series)
    )


def factor_levels(series: pd.Series, reference: str | None = None, name: str = "") -> list[str]:
    """Levels of a factor as strings: categorical order, else sorted; ``reference`` moved first."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        used = {str(v) for v in pd.unique(series.dropna())}
        levels = [str(c) for c in series.cat.categories if str(c) in used]
    else:
        levels = sorted({str(v) for v in pd.unique(series.dropna())})
    if reference is not None:
        if str(reference) not in levels:
            raise ModelSpecificationError(
                f"column {name!r}: reference level {reference!r} not among its levels {levels}"
            )
        levels.remove(str(reference))
        levels.insert(0, str(reference))
    return levels


def _level_label(v: str, lev: str, full: bool) -> str:
    return f"{v}[{lev}]" if full else f"{v}[T.{lev}]"


def make_design(
    formula: str | ParsedFormula,
    data: pd.DataFrame,
    reference: Mapping[str, str] | None = None,
    extra_factors: Sequence[str] = (),
    levels_of: Mapping[str, list[str]] | None = None,
) -> tuple[DesignInfo, np.ndarray, np.ndarray]:
    """Build ``(design_info, X, y)`` from a formula and a data frame (rows already filtered).

    ``extra_factors`` are columns to treat as factors even if numeric (e.g. the visit column);
    ``levels_of`` fixes the level order of some factors (e.g. the visit order).
    """
    parsed = parse_formula(formula) if isinstance(formula, str) else formula
    reference = dict(reference or {})
    needed = [parsed.response] + [v for t in parsed.terms for v in t]
    for v in needed:
        if v not in data.columns:
            raise ModelSpecificationError(f"formula names column {v!r}, which is not in the data")
    for v in reference:
        if v not in data.columns:
            raise ModelSpecificationError(
                f"reference= names column {v!r}, which is not in the data"
            )
    levels: dict[str, list[str]] = {}
    numeric: list[str] = []
    for t in parsed.terms:
        for v in t:
            if v in levels or v in numeric:
                continue
            if is_categorical(data[v]) or v in extra_factors:
                if data[v].isna().any():
                    raise ModelSpecificationError(
                        f"column {v!r} has missing values in rows used by the model"
                    )
                if levels_of and v in levels_of:
                    levs = list(levels_of[v])
                    ref_v = reference.get(v)
                    if ref_v is not None and str(ref_v) in levs:
                        levs.remove(str(ref_v))
                        levs.insert(0, str(ref_v))
                    levels[v] = levs
                else:
                    levels[v] = factor_levels(data[v], reference.get(v), v)
            else:
                if not pd.api.types.is_numeric_dtype(data[v]):
                    raise ModelSpecificationError(
                        f"column {v!r} is neither numeric nor categorical"
                    )
                if data[v].isna().any():
                    raise ModelSpecificationError(
                        f"column {v!r} has missing values in rows used by the model"
                    )
                numeric.append(v)
    term_sets = [frozenset(t) for t in parsed.terms]
    terms: list[Term] = []
    col = 0
    names: list[str] = ["Intercept"] if parsed.intercept else []
    col = len(names)
    # without an intercept, the first factor coded by all its levels takes its place (as R)
    empty_present = parsed.intercept
    for t in parsed.terms:
        full: dict[str, bool] = {}
        for v in t:
            if v in levels:
                margin = frozenset(t) - {v}
                present = empty_present if not margin else margin in term_sets
                full[v] = not present
        if len(t) == 1 and t[0] in levels:
            empty_present = True
        labels: list[str] = [""]
        for v in t:
            if v in levels:
                levs = levels[v] if full[v] else levels[v][1:]
                parts = [_level_label(v, lev, full[v]) for lev in levs]
            else:
                parts = [v]
            # first variable varies fastest (R)
            labels = [f"{a}:{b}" if a else b for b in parts for a in labels]
        term = Term(name=":".join(t), variables=t, full_coding=full, columns=labels)
        term.slice = slice(col, col + len(labels))
        col += len(labels)
        names.extend(labels)
        terms.append(term)
    info = DesignInfo(
        response=parsed.response,
        intercept=parsed.intercept,
        terms=terms,
        factor_levels=levels,
        numeric=numeric,
        column_names=names,
    )
    y_series = data[parsed.response]
    if not pd.api.types.is_numeric_dtype(y_series):
        raise ModelSpecificationError(f"response column {parsed.response!r} is not numeric")
    X = info.build(data)
    y = np.asarray(y_series, dtype=float)
    return info, X, y
