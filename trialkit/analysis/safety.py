"""Treatment-emergent adverse event tables and the serious AE listing.

ADAE records count when TRTEMFL = "Y" and the subject is in the safety population of ADSL
(SAFFL = "Y"); percentages are 100 x subjects / N, N the safety-population subjects of the
column. A subject counts once per row (once per body system, once per preferred term, once in
"any"); ``events`` counts records. Worst severity is the maximum ASEVN (1 MILD, 2 MODERATE,
3 SEVERE) of the subject's TEAEs in that row. Related: AEREL = "Y"; serious: AESER = "Y".
Tables are long frames (numbers unrounded) with an ``arm`` column: each ARMCD (sorted, or
``arms`` order) then "Total", or "Total" alone with ``by_arm=False`` for the blinded report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from trialkit.analysis.descriptive import COLUMNS, _population, _require, arm_groups

ANY = "ANY"
SEVERITY_LABELS = {1: "MILD", 2: "MODERATE", 3: "SEVERE"}
TERM_COLUMNS = ["body_system", "preferred_term", "statistic", "arm", "value"]
SEVERITY_COLUMNS = ["body_system", "preferred_term", "severity", "statistic", "arm", "value"]
Subset = Literal["all", "related", "serious"]


def _yes(s: pd.Series) -> pd.Series:
    """True where a Y/N column is "Y"."""
    return (s.astype("string").str.strip().str.upper() == "Y").fillna(False).astype(bool)


def _teae(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    population: str | None,
    by_arm: bool,
    arms: Sequence[str] | None,
) -> tuple[pd.DataFrame, list[tuple[str, pd.DataFrame]]]:
    """TEAEs of population subjects (arm from ADSL), and the column groups of subjects."""
    _require(adae, ["USUBJID", "TRTEMFL"], "ADAE")
    subj = _population(adsl, population)
    groups = arm_groups(subj, by_arm=by_arm, arms=arms)
    keep = _yes(adae["TRTEMFL"]) & adae["USUBJID"].isin(subj["USUBJID"])
    ae = adae.loc[keep].drop(columns=["ARMCD"], errors="ignore")
    cols = ["USUBJID", "ARMCD"] if "ARMCD" in subj.columns else ["USUBJID"]
    ae = ae.merge(subj[cols], on="USUBJID", how="left")
    return ae, groups


def _subset(ae: pd.DataFrame, subset: Subset) -> pd.DataFrame:
    """All TEAEs, related ones (AEREL = "Y") or serious ones (AESER = "Y")."""
    if subset == "related":
        _require(ae, ["AEREL"], "ADAE")
        return ae[_yes(ae["AEREL"])]
    if subset == "serious":
        _require(ae, ["AESER"], "ADAE")
        return ae[_yes(ae["AESER"])]
    return ae


def _in_group(ae: pd.DataFrame, arm: str, g: pd.DataFrame) -> pd.DataFrame:
    """AE records of the subjects in column ``arm``."""
    return ae[ae["USUBJID"].isin(g["USUBJID"])]


def teae_overview(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
    population: str | None = "SAFFL",
) -> pd.DataFrame:
    """Subjects (n, pct) and events with any TEAE, related, serious, severe (long: COLUMNS).

    Variables in order: Any TEAE, Related TEAE, Serious TEAE, Severe TEAE (ASEVN = 3); a
    variable whose column (AEREL, AESER, ASEVN) is absent is skipped. ``level`` is "".
    """
    ae, groups = _teae(adae, adsl, population, by_arm, arms)
    masks: list[tuple[str, pd.Series]] = [("Any TEAE", pd.Series(True, index=ae.index))]
    if "AEREL" in ae.columns:
        masks.append(("Related TEAE", _yes(ae["AEREL"])))
    if "AESER" in ae.columns:
        masks.append(("Serious TEAE", _yes(ae["AESER"])))
    if "ASEVN" in ae.columns:
        masks.append(("Severe TEAE", (ae["ASEVN"] == 3).fillna(False).astype(bool)))
    rows = []
    for variable, mask in masks:
        sub = ae[mask]
        for stat in ("n", "pct", "events"):
            for arm, g in groups:
                a = _in_group(sub, arm, g)
                n = a["USUBJID"].nunique()
                value = {
                    "n": float(n),
                    "pct": 100.0 * n / len(g) if len(g) else np.nan,
                    "events": float(len(a)),
                }[stat]
                rows.append((variable, "", stat, arm, value))
    return pd.DataFrame(rows, columns=COLUMNS)


def _term_keys(ae: pd.DataFrame) -> list[tuple[str, str]]:
    """(body system, preferred term) rows: ANY first, then each system and its terms, sorted."""
    _require(ae, ["AEBODSYS", "AEDECOD"], "ADAE")
    keys = [(ANY, "")]
    pairs = ae[["AEBODSYS", "AEDECOD"]].astype("string").fillna("UNCODED").drop_duplicates()
    for soc in sorted(pairs["AEBODSYS"].unique()):
        keys.append((soc, ""))
        keys += [(soc, pt) for pt in sorted(pairs.loc[pairs["AEBODSYS"] == soc, "AEDECOD"])]
    return keys


def _rows_of(ae: pd.DataFrame, soc: str, pt: str) -> pd.DataFrame:
    """Records of one (body system, preferred term) row; the whole frame for ANY."""
    if soc == ANY:
        return ae
    s = ae["AEBODSYS"].astype("string").fillna("UNCODED")
    m = s == soc
    if pt:
        m &= ae["AEDECOD"].astype("string").fillna("UNCODED") == pt
    return ae[m.fillna(False)]


def teae_by_term(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
    subset: Subset = "all",
    population: str | None = "SAFFL",
) -> pd.DataFrame:
    """TEAEs by body system and preferred term: subjects n, pct, events (long: TERM_COLUMNS).

    ``subset`` restricts to related or serious TEAEs (the related and serious tables). Rows:
    body_system "ANY" (preferred_term "") first, then each AEBODSYS sorted with its own row
    (preferred_term "") followed by its AEDECOD sorted; statistics n, pct, events; arms.
    """
    ae, groups = _teae(adae, adsl, population, by_arm, arms)
    ae = _subset(ae, subset)
    rows = []
    for soc, pt in _term_keys(ae):
        rec = _rows_of(ae, soc, pt)
        for stat in ("n", "pct", "events"):
            for arm, g in groups:
                a = _in_group(rec, arm, g)
                n = a["USUBJID"].nunique()
                value = {
                    "n": float(n),
                    "pct": 100.0 * n / len(g) if len(g) else np.nan,
                    "events": float(len(a)),
                }[stat]
                rows.append((soc, pt, stat, arm, value))
    return pd.DataFrame(rows, columns=TERM_COLUMNS)


def teae_by_worst_severity(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
    by_term: bool = False,
    population: str | None = "SAFFL",
) -> pd.DataFrame:
    """Subjects by the worst severity of their TEAEs: n, pct (long: SEVERITY_COLUMNS).

    Each subject counts once per row, at the maximum ASEVN of the row's TEAEs (a record
    without ASEVN is "Missing" and only counts when the subject has no graded one). Rows: ANY
    (and with ``by_term`` each body system and preferred term as in :func:`teae_by_term`);
    severities MILD, MODERATE, SEVERE (then Missing if any); statistics n, pct; arms.
    """
    ae, groups = _teae(adae, adsl, population, by_arm, arms)
    _require(ae, ["ASEVN"], "ADAE")
    keys = _term_keys(ae) if by_term else [(ANY, "")]
    levels: list[int | None] = [1, 2, 3]
    if ae["ASEVN"].isna().any():
        levels.append(None)
    rows = []
    for soc, pt in keys:
        rec = _rows_of(ae, soc, pt)
        worst = pd.to_numeric(rec["ASEVN"], errors="coerce").groupby(rec["USUBJID"]).max()
        for level in levels:
            label = "Missing" if level is None else SEVERITY_LABELS[level]
            is_level = worst.isna() if level is None else (worst == level)
            subjects = set(worst.index[is_level.to_numpy()])
            for stat in ("n", "pct"):
                for arm, g in groups:
                    n = len(subjects & set(g["USUBJID"]))
                    value = float(n) if stat == "n" else (100.0 * n / len(g) if len(g) else np.nan)
                    rows.append((soc, pt, label, stat, arm, value))
    return pd.DataFrame(rows, columns=SEVERITY_COLUMNS)


def serious_ae_listing(
    adae: pd.DataFrame, *, by_arm: bool = True, treatment_emergent_only: bool = False
) -> pd.DataFrame:
    """Serious AEs (AESER = "Y"), one row each, sorted by (ARMCD,) USUBJID, start date, term.

    Columns (those present): USUBJID, ARMCD (dropped when not ``by_arm``), AEBODSYS, AEDECOD,
    AETERM, AESTDT, AEENDT, ASTDY, AESEV, ASEVN, AEREL, AEOUT, TRTEMFL.
    """
    _require(adae, ["USUBJID", "AESER"], "ADAE")
    sae = adae[_yes(adae["AESER"])]
    if treatment_emergent_only and "TRTEMFL" in sae.columns:
        sae = sae[_yes(sae["TRTEMFL"])]
    wanted = ("USUBJID", "ARMCD", "AEBODSYS", "AEDECOD", "AETERM", "AESTDT", "AEENDT", "ASTDY",
              "AESEV", "ASEVN", "AEREL", "AEOUT", "TRTEMFL")  # fmt: skip
    cols = [c for c in wanted if c in sae.columns and (by_arm or c != "ARMCD")]
    keys = [c for c in ("ARMCD", "USUBJID", "AESTDT", "AEDECOD") if c in cols]
    return sae[cols].sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
