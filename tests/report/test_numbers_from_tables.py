"""Every number of a report's tables is a value the analysis wrote (one source of truth).

A trial with two undosed subjects and one who received another arm's treatment is analysed
once; the final, closed and open reports are rendered from it; each number of each HTML table
is looked up in the analysis tables of its section (in the column's arm where the table has
arm columns) or in results.json. The open report's numbers must come from the pooled tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from trialkit.definition import load_definition
from trialkit.examples import write_small_trial
from trialkit.report.blinding import POOLED_TABLES
from trialkit.report.results import AnalysisOutput

from .analysis_results import write_test_results
from .conftest import render

#: The analysis tables each report section is laid out from (``*``: any table of the run).
SECTION_TABLES = {
    "consort": ("disposition", "population"),
    "baseline": ("baseline_characteristics",),
    "data_quality": ("validation_findings_by_rule", "validation_findings"),
    "safety": ("safety_teae_overview", "safety_teae_by_term", "safety_serious_ae_listing",
               "discontinuation_listing", "protocol_deviation_listing"),
    "exposure": ("exposure",),
}  # fmt: skip
OPEN_SECTION_TABLES = {
    "recruitment": ("pooled_recruitment",),
    "retention": ("pooled_disposition", "pooled_visit_attendance"),
    "data_quality": ("validation_findings_by_rule",),
    "baseline": ("pooled_baseline_characteristics",),
    "safety_pooled": ("pooled_ae_overview", "pooled_ae_by_term", "pooled_serious_ae_listing",
                      "pooled_discontinuation_listing", "pooled_sae_by_term"),
}  # fmt: skip
#: Sections whose tables show the trial definition or provenance, not results.
NOT_RESULTS = ("title_page", "appendix", "estimand", "signoff")
NUMBER = re.compile(r"(?<![\w.<>])-?\d+(?:\.\d+)?(?![\w.])")
NOT_NUMBERS = re.compile(r"\d{4}-\d{2}(?:-\d{2})?|[A-Za-z]+[\w-]*\d[\w-]*|[<>]\s?\d+(?:\.\d+)?")


class _Tables(HTMLParser):
    """Tables of an HTML report: (section id, rows of cell texts, header row or None)."""

    def __init__(self) -> None:
        super().__init__()
        self.section = ""
        self.tables: list[tuple[str, list[list[str]], list[str] | None]] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("id"):
            self.section = str(a["id"])
        elif tag == "table":
            self.tables.append((self.section, [], None))
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            section, rows, _ = self.tables[-1]
            if self._in_head:
                self.tables[-1] = (section, rows, self._row)
            else:
                rows.append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> list[tuple[str, list[list[str]], list[str] | None]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def numbers_in(cell: str, labels: dict[str, str]) -> list[str]:
    """The numbers shown in a cell (true minus as "-"; arm labels, dates, codes and p-value
    bounds out)."""
    for label in sorted(labels, key=len, reverse=True):
        cell = cell.replace(label, " ")
    text = NOT_NUMBERS.sub(" ", cell.replace("−", "-").replace("\u200b", ""))
    return NUMBER.findall(text)


def _json_numbers(node: Any) -> Iterator[float]:
    if isinstance(node, dict):
        for v in node.values():
            yield from _json_numbers(v)
    elif isinstance(node, list):
        for v in node:
            yield from _json_numbers(v)
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield float(node)


def _values(frames: list[pd.DataFrame]) -> tuple[list[float], set[str]]:
    """Numeric values (and percentages of proportions) and text values of ``frames``."""
    numbers: list[float] = []
    texts: set[str] = set()
    for frame in frames:
        for col in frame.columns:
            values = pd.to_numeric(frame[col], errors="coerce").dropna()
            numbers += values.tolist()
            if col in ("proportion", "lower", "upper"):
                numbers += (values * 100).tolist()
            texts |= set(frame[col].dropna().astype(str))
    return numbers, texts


class Pool:
    """Numbers a cell may show, looked up as formatted with a token's decimals."""

    def __init__(self, numbers: list[float]) -> None:
        self.numbers = numbers
        self._by_digits: dict[int, set[str]] = {}

    def has(self, token: str) -> bool:
        digits = len(token.split(".")[1]) if "." in token else 0
        if digits not in self._by_digits:
            self._by_digits[digits] = {
                f"{v:.{digits}f}".replace("-0" + "." * bool(digits), "0" + "." * bool(digits))
                if float(f"{v:.{digits}f}") == 0 else f"{v:.{digits}f}"
                for v in self.numbers
            }  # fmt: skip
        return token in self._by_digits[digits]


def _arm_of_header(header: str, labels: dict[str, str]) -> str | None:
    """The arm code of a column header ``label (N=n)`` ("Total" for the total columns)."""
    label = header.rsplit(" (N=", 1)[0]
    if label in ("Total", "All subjects", "Subjects assessed"):
        return "Total"
    return labels.get(label)


def unmatched(
    html: str, output: AnalysisOutput, section_tables: dict[str, tuple[str, ...]] | None,
    allowed: set[str], json_numbers: list[float], labels: dict[str, str], arm_order: list[str],
) -> tuple[list[str], int]:  # fmt: skip
    """The numbers of ``html``'s tables not found where they should come from, and how many
    numbers were looked up."""
    missing = []
    checked = 0
    for section, rows, header in tables_of(html):
        if section in NOT_RESULTS:
            continue
        names = (section_tables or {}).get(section) or tuple(sorted(allowed))
        frames = [f for n in names if n in allowed and (f := output.table(n)) is not None]
        numbers, texts = _values(frames)
        all_numbers = Pool(numbers + json_numbers)
        long = [f for f in frames if "arm" in f.columns]
        columns: list[str | None] = [None] * max(len(r) for r in [header or [], *rows])
        if header:
            columns = [_arm_of_header(h, labels) if "(N=" in h else None for h in header]
        if section == "consort":  # the flow diagram: one column per arm, in trial.toml order
            columns = list(arm_order)
        arm_numbers = {
            arm: Pool(_values([f[f["arm"].astype(str) == arm] for f in long])[0])
            for arm in [*labels.values(), "Total"]
        }
        body = rows if section == "consort" else [r[1:] for r in rows]
        offset = 0 if section == "consort" else 1
        cells = [(c + offset, cell) for r in body for c, cell in enumerate(r)]
        cells += [(c, h) for c, h in enumerate(header or []) if "(N=" in h]
        for c, cell in cells:
            if cell in texts:
                continue
            arm = columns[c] if c < len(columns) else None
            pool = arm_numbers.get(arm, all_numbers)
            checked += len(numbers_in(cell, labels))
            missing += [f"{section}: {token!r} in {cell!r}" for token in numbers_in(cell, labels)
                        if not pool.has(token)]  # fmt: skip
    return missing, checked


@pytest.fixture(scope="module")
def switched_trial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small trial: two MINOX subjects never dosed, one MINOX_MN subject given MINOX's
    treatment only (no microneedling); analysed once (errors allowed)."""
    trial = write_small_trial(tmp_path_factory.mktemp("switch") / "trial", seed=11)
    subjects = pd.read_csv(trial / "subjects.csv", dtype=str, keep_default_na=False)
    ex = pd.read_csv(trial / "exposure.csv", dtype=str, keep_default_na=False)
    undosed = list(subjects.loc[subjects["ARMCD"] == "MINOX", "USUBJID"][:2])
    switched = subjects.loc[subjects["ARMCD"] == "MINOX_MN", "USUBJID"].iloc[0]
    drop = ex["USUBJID"].isin(undosed) | (
        (ex["USUBJID"] == switched) & (ex["EXTRT"] == "microneedling")
    )
    ex[~drop].to_csv(trial / "exposure.csv", index=False)
    out = tmp_path_factory.mktemp("switch-results") / "results"
    write_test_results(trial, out, allow_errors=True)
    return trial, out


@pytest.mark.slow
def test_the_trial_has_undosed_and_switched_subjects(switched_trial: tuple[Path, Path]) -> None:
    _, out = switched_trial
    output = AnalysisOutput.load(out)
    overview = output.table("safety_teae_overview")
    assert overview is not None
    n = overview[overview["statistic"] == "N"].set_index("arm")["value"].to_dict()
    # as treated in the safety population, not 10 per randomised arm
    assert n == {"MINOX": 9.0, "MINOX_MN": 9.0, "MN_PRP": 10.0, "MN_FIN_MINOX": 10.0,
                 "Total": 38.0}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["final", "closed", "open"])
def test_every_number_comes_from_the_analysis(switched_trial: tuple[Path, Path], kind: str) -> None:
    trial, out = switched_trial
    definition = load_definition(trial)
    labels = {a.label: a.code for a in definition.arms}
    output = AnalysisOutput.load(out)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    html = render(trial, out, "final" if kind == "final" else "interim", blinded=kind == "open")
    if kind == "open":
        allowed = set(POOLED_TABLES)
        look = results.get("interim") or {}
        json_numbers = [float(v) for v in (results["validation"]["errors"],
                        results["validation"]["warnings"], look.get("look"),
                        look.get("information_fraction")) if v is not None]  # fmt: skip
        section_tables = OPEN_SECTION_TABLES
    else:
        allowed = {p["path"].removeprefix("tables/").removesuffix(".csv")
                   for p in results["tables"]}  # fmt: skip
        json_numbers = list(_json_numbers(results))
        section_tables = SECTION_TABLES
    tables = tables_of(html)
    assert len(tables) > 5
    if kind == "open":  # no table the open report shows comes from elsewhere
        assert {s for s, _, _ in tables} - set(NOT_RESULTS) <= set(OPEN_SECTION_TABLES)
    arm_order = [a.code for a in definition.arms]
    missing, checked = unmatched(
        html, output, section_tables, allowed, json_numbers, labels, arm_order
    )
    assert not missing, "\n".join(missing)
    assert checked > 50


@pytest.mark.slow
def test_a_recomputed_count_would_be_caught(switched_trial: tuple[Path, Path]) -> None:
    """The check itself: the safety overview's N as randomised (10 per arm) is not a value of
    the as-treated table, so a report counting that way fails."""
    trial, out = switched_trial
    definition = load_definition(trial)
    labels = {a.label: a.code for a in definition.arms}
    html = render(trial, out)
    minox = next(a.label for a in definition.arms if a.code == "MINOX")
    assert f"{minox} (N=9)" in html
    wrong = html.replace(f"{minox} (N=9)", f"{minox} (N=10)")
    output = AnalysisOutput.load(out)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    allowed = {p["path"].removeprefix("tables/").removesuffix(".csv") for p in results["tables"]}
    arm_order = [a.code for a in definition.arms]
    missing, _ = unmatched(wrong, output, SECTION_TABLES, allowed, [], labels, arm_order)
    assert any("'10'" in m and "N=10" in m for m in missing)
