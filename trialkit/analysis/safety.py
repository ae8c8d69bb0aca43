"""Treatment-emergent adverse event tables and the serious AE listing.

ADAE records count when TRTEMFL = "Y" and the subject is in the safety population of ADSL
(SAFFL = "Y"); percentages are 100 x subjects / N, N the safety-population subjects of the
column. A subject counts once per row (once per body system, once per preferred term, once in
"any"); ``events`` counts records. Worst severity is the maximum ASEVN (1 MILD, 2 MODERATE,
3 SEVERE) of the subject's TEAEs in that row. Related: AEREL = "Y"; serious: AESER = "Y";
leading to withdrawal of study treatment: AEACN = "DRUG WITHDRAWN" (the optional CDISC column).
Body systems, and preferred terms within each, go by descending subjects in the total column,
then alphabetically. Tables are long frames (numbers unrounded) with an ``arm`` column: each
ARMCD (sorted, or ``arms`` order) then "Total", or "Total" alone with ``by_arm=False`` for the
blinded report.

The pooled (blinded) tables count every reported AE of every randomised subject
(``treatment_emergent=False``, population ITTFL): treatment emergence and the safety population
follow each subject's dosing, which follows the arm, so they would carry the arm into a pooled
count. This is the one place that rule lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from trialkit.analysis.descriptive import (
    COLUMNS,
    arm_groups,
    in_population,
    require_columns,
    subject_counts,
)

ANY = "ANY"
SEVERITY_LABELS = {1: "MILD", 2: "MODERATE", 3: "SEVERE"}
TERM_COLUMNS = ["body_system", "preferred_term", "statistic", "arm", "value"]
SEVERITY_COLUMNS = ["body_system", "preferred_term", "severity", "statistic", "arm", "value"]
Subset = Literal["all", "related", "serious", "withdrawn"]
#: AEACN (action taken with study treatment) of an AE that led to treatment withdrawal.
WITHDRAWN = "DRUG WITHDRAWN"
#: Population and AE selection of the pooled tables (see the module docstring).
POOLED_POPULATION = "ITTFL"


def meddra_suffix(version: str | None) -> str:
    """`` (MedDRA 27.1)`` for the titles of coded-term tables, or "" when no version is given."""
    return f" (MedDRA {version})" if version else ""


def _yes(s: pd.Series) -> pd.Series:
    """True where a Y/N column is "Y"."""
    return (s.astype("string").str.strip().str.upper() == "Y").fillna(False).astype(bool)


def _teae(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    population: str | None,
    by_arm: bool,
    arms: Sequence[str] | None,
    treatment_emergent: bool,
) -> tuple[pd.DataFrame, list[tuple[str, pd.DataFrame]]]:
    """TEAEs (every AE when not ``treatment_emergent``) of population subjects (arm from
    ADSL), and the column groups of subjects."""
    require_columns(adae, ["USUBJID", "TRTEMFL"] if treatment_emergent else ["USUBJID"], "ADAE")
    subj = in_population(adsl, population)
    groups = arm_groups(subj, by_arm=by_arm, arms=arms)
    keep = adae["USUBJID"].isin(subj["USUBJID"])
    if treatment_emergent:
        keep &= _yes(adae["TRTEMFL"])
    ae = adae.loc[keep].drop(columns=["ARMCD"], errors="ignore")
    cols = ["USUBJID", "ARMCD"] if "ARMCD" in subj.columns else ["USUBJID"]
    ae = ae.merge(subj[cols], on="USUBJID", how="left")
    return ae, groups


def _subset(ae: pd.DataFrame, subset: Subset) -> pd.DataFrame:
    """All TEAEs, related ones (AEREL = "Y"), serious ones (AESER = "Y") or those that led to
    treatment withdrawal (AEACN = "DRUG WITHDRAWN")."""
    if subset == "related":
        require_columns(ae, ["AEREL"], "ADAE")
        return ae[_yes(ae["AEREL"])]
    if subset == "serious":
        require_columns(ae, ["AESER"], "ADAE")
        return ae[_yes(ae["AESER"])]
    if subset == "withdrawn":
        require_columns(ae, ["AEACN"], "ADAE")
        action = ae["AEACN"].astype("string").str.strip().str.upper()
        return ae[(action == WITHDRAWN).fillna(False).to_numpy(dtype=bool)]
    return ae


def _membership(ae: pd.DataFrame, groups: list[tuple[str, pd.DataFrame]]) -> np.ndarray:
    """(groups, records) boolean matrix: record i belongs to a subject of column group j."""
    ids = ae["USUBJID"]
    return np.array([ids.isin(g["USUBJID"]).to_numpy(dtype=bool) for _, g in groups]).reshape(
        len(groups), len(ae)
    )


def _sizes(groups: list[tuple[str, pd.DataFrame]]) -> np.ndarray:
    """Number of subjects (ADSL rows) of each column group."""
    return np.array([len(g) for _, g in groups], dtype=np.int64)


def _pct(n: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """100 x n / N by column (NaN where the column has no subject), as ``100.0 * n / N``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sizes > 0, 100.0 * n / np.where(sizes > 0, sizes, 1), np.nan)


def _long(
    labels: Sequence[tuple[str, ...]], stats: dict[str, np.ndarray], arms: list[str]
) -> list[tuple[object, ...]]:
    """Rows (label..., statistic, arm, value): labels outer, then statistics, then arms."""
    values = np.stack([stats[k].astype(float) for k in stats], axis=1)  # (rows, stats, arms)
    keys = [(*lab, st, arm) for lab in labels for st in stats for arm in arms]
    return [(*k, float(v)) for k, v in zip(keys, values.reshape(-1).tolist(), strict=True)]


def _counts_by(
    ae: pd.DataFrame, by: list[str], member: np.ndarray
) -> tuple[list[pd.Series], list[pd.Series]]:
    """Distinct subjects and records of each ``by`` cell, one Series per column group."""
    n_subjects, n_records = [], []
    for in_group in member:
        sub = ae.loc[in_group]
        if by:
            grouped = sub.groupby(by, sort=False, dropna=False)["USUBJID"]
            n_subjects.append(grouped.nunique())
            n_records.append(grouped.size())
        else:
            n_subjects.append(pd.Series([sub["USUBJID"].nunique()]))
            n_records.append(pd.Series([len(sub)]))
    return n_subjects, n_records


def teae_overview(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
    population: str | None = "SAFFL",
    treatment_emergent: bool = True,
) -> pd.DataFrame:
    """Subjects (n, pct) and events with any TEAE, related, serious, severe (long: COLUMNS).

    Variables in order: Subjects (statistic N: the column's population subjects), Any TEAE,
    Related TEAE, Serious TEAE, Severe TEAE (ASEVN = 3); a
    variable whose column (AEREL, AESER, ASEVN) is absent is skipped. ``level`` is "".
    Without ``treatment_emergent`` every AE counts and the variables say "AE" for "TEAE".
    """
    ae, groups = _teae(adae, adsl, population, by_arm, arms, treatment_emergent)
    kind = "TEAE" if treatment_emergent else "AE"
    masks: list[tuple[str, pd.Series]] = [(f"Any {kind}", pd.Series(True, index=ae.index))]
    if "AEREL" in ae.columns:
        masks.append((f"Related {kind}", _yes(ae["AEREL"])))
    if "AESER" in ae.columns:
        masks.append((f"Serious {kind}", _yes(ae["AESER"])))
    if "ASEVN" in ae.columns:
        masks.append((f"Severe {kind}", (ae["ASEVN"] == 3).fillna(False).astype(bool)))
    member = _membership(ae, groups)
    sizes = _sizes(groups)
    ids = ae["USUBJID"]
    n = np.zeros((len(masks), len(groups)), dtype=np.int64)
    events = np.zeros_like(n)
    for i, (_, mask) in enumerate(masks):
        m = mask.to_numpy(dtype=bool)
        for j in range(len(groups)):
            sel = m & member[j]
            n[i, j] = ids[sel].nunique()
            events[i, j] = int(sel.sum())
    arms_out = [arm for arm, _ in groups]
    stats = {"n": n, "pct": _pct(n, sizes), "events": events}
    rows = _long([(variable, "") for variable, _ in masks], stats, arms_out)
    return pd.concat([subject_counts(groups), pd.DataFrame(rows, columns=COLUMNS)],
                     ignore_index=True)  # fmt: skip


def _by_frequency(subjects: pd.Series) -> list[str]:
    """Labels of ``subjects`` (distinct subjects by label) by descending count, then label."""
    return [str(label) for label, _ in sorted(subjects.items(), key=lambda kv: (-kv[1], kv[0]))]


def _term_keys(ae: pd.DataFrame) -> list[tuple[str, str]]:
    """(body system, preferred term) rows: ANY first, then each system and its terms, by
    descending subjects over all columns (the total column), then alphabetically."""
    coded = _coded(ae)
    keys = [(ANY, "")]
    for soc in _by_frequency(coded.groupby("SOC")["USUBJID"].nunique()):
        terms = coded.loc[coded["SOC"] == soc].groupby("PT")["USUBJID"].nunique()
        keys += [(soc, ""), *((soc, pt) for pt in _by_frequency(terms))]
    return keys


def _coded(ae: pd.DataFrame) -> pd.DataFrame:
    """USUBJID with body system and preferred term as strings (missing -> UNCODED)."""
    require_columns(ae, ["AEBODSYS", "AEDECOD"], "ADAE")
    return pd.DataFrame(
        {
            "USUBJID": ae["USUBJID"].to_numpy(),
            "SOC": ae["AEBODSYS"].astype("string").fillna("UNCODED").to_numpy(dtype=object),
            "PT": ae["AEDECOD"].astype("string").fillna("UNCODED").to_numpy(dtype=object),
        }
    )


def _key_level(keys: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which rows are ANY, a body system (preferred term ""), or a (system, term) pair."""
    is_any = np.array([soc == ANY for soc, _ in keys], dtype=bool)
    is_soc = np.array([soc != ANY and not pt for soc, pt in keys], dtype=bool)
    return is_any, is_soc, ~is_any & ~is_soc


def _lookup(cells: pd.Series, index: pd.Index) -> np.ndarray:
    """Values of ``cells`` at ``index`` (0 where a cell has no record)."""
    if cells.empty:
        return np.zeros(len(index), dtype=np.int64)
    return cells.reindex(index, fill_value=0).to_numpy(dtype=np.int64)


def _key_counts(
    coded: pd.DataFrame, keys: list[tuple[str, str]], member: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct subjects and records of each row of ``keys`` by column group: (rows, groups)."""
    is_any, is_soc, is_pair = _key_level(keys)
    soc_index = pd.Index([soc for soc, _ in keys], dtype=object)
    pair_index = pd.MultiIndex.from_tuples(keys) if keys else pd.MultiIndex.from_tuples([("", "")])
    n = np.zeros((len(keys), len(member)), dtype=np.int64)
    events = np.zeros_like(n)
    for level, by in ((is_any, []), (is_soc, ["SOC"]), (is_pair, ["SOC", "PT"])):
        if not level.any():
            continue
        subjects, records = _counts_by(coded, by, member)
        where = soc_index[level] if len(by) == 1 else pair_index[level]
        for j in range(len(member)):
            if by:
                n[level, j] = _lookup(subjects[j], where)
                events[level, j] = _lookup(records[j], where)
            else:
                n[level, j] = int(subjects[j].iloc[0])
                events[level, j] = int(records[j].iloc[0])
    return n, events


def teae_by_term(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    by_arm: bool = True,
    arms: Sequence[str] | None = None,
    subset: Subset = "all",
    population: str | None = "SAFFL",
    treatment_emergent: bool = True,
) -> pd.DataFrame:
    """TEAEs by body system and preferred term: subjects n, pct, events (long: TERM_COLUMNS).

    ``subset`` restricts to related, serious or withdrawal-leading TEAEs (AEACN). Rows:
    body_system "ANY" (preferred_term "") first, then each AEBODSYS with its own row
    (preferred_term "") followed by its AEDECOD, systems and terms by descending subjects in
    the total column then alphabetically; statistics n, pct, events; arms.
    Without ``treatment_emergent`` every AE counts (the pooled table).
    """
    ae, groups = _teae(adae, adsl, population, by_arm, arms, treatment_emergent)
    ae = _subset(ae, subset)
    keys = _term_keys(ae)
    n, events = _key_counts(_coded(ae), keys, _membership(ae, groups))
    stats = {"n": n, "pct": _pct(n, _sizes(groups)), "events": events}
    rows = _long(keys, stats, [arm for arm, _ in groups])
    return pd.DataFrame(rows, columns=TERM_COLUMNS)


def _worst_counts(
    frame: pd.DataFrame,
    keys: list[tuple[str, str]],
    levels: list[int | None],
    groups: list[tuple[str, pd.DataFrame]],
) -> np.ndarray:
    """Subjects whose worst severity (max SEV) in each row of ``keys`` is each level, by
    column group: an int array (keys, levels, groups)."""
    is_any, is_soc, is_pair = _key_level(keys)
    soc_index = pd.Index([soc for soc, _ in keys], dtype=object)
    pair_index = pd.MultiIndex.from_tuples(keys)
    n = np.zeros((len(keys), len(levels), len(groups)), dtype=np.int64)
    for level_rows, by in ((is_any, []), (is_soc, ["SOC"]), (is_pair, ["SOC", "PT"])):
        if not level_rows.any():
            continue
        worst = frame.groupby([*by, "USUBJID"], sort=False)["SEV"].max()
        subjects = worst.index.get_level_values("USUBJID")
        cells = [worst.index.get_level_values(b) for b in by]
        where = soc_index[level_rows] if len(by) == 1 else pair_index[level_rows]
        for li, level in enumerate(levels):
            is_level = (worst.isna() if level is None else worst == level).to_numpy(dtype=bool)
            for j, (_, g) in enumerate(groups):
                hit = is_level & subjects.isin(g["USUBJID"])
                if not by:
                    n[level_rows, li, j] = int(hit.sum())
                elif len(worst):
                    per_cell = pd.Series(hit.astype(np.int64)).groupby(cells, sort=False).sum()
                    n[level_rows, li, j] = _lookup(per_cell, where)
    return n


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
    ae, groups = _teae(adae, adsl, population, by_arm, arms, True)
    require_columns(ae, ["ASEVN"], "ADAE")
    keys = _term_keys(ae) if by_term else [(ANY, "")]
    levels: list[int | None] = [1, 2, 3]
    if ae["ASEVN"].isna().any():
        levels.append(None)
    ids = pd.DataFrame({"USUBJID": ae["USUBJID"].to_numpy()})
    frame = _coded(ae) if by_term else ids
    frame["SEV"] = pd.to_numeric(ae["ASEVN"], errors="coerce").to_numpy(dtype=float)
    n = _worst_counts(frame, keys, levels, groups)  # (keys, levels, groups)
    labels = [
        (soc, pt, "Missing" if level is None else SEVERITY_LABELS[level])
        for soc, pt in keys
        for level in levels
    ]
    n = n.reshape(len(keys) * len(levels), len(groups))
    stats = {"n": n, "pct": _pct(n, _sizes(groups))}
    rows = _long(labels, stats, [arm for arm, _ in groups])
    return pd.DataFrame(rows, columns=SEVERITY_COLUMNS)


def serious_ae_listing(
    adae: pd.DataFrame, *, by_arm: bool = True, treatment_emergent_only: bool = False
) -> pd.DataFrame:
    """Serious AEs (AESER = "Y"), one row each, sorted by (ARMCD,) USUBJID, start date, term.

    Columns (those present): USUBJID, ARMCD, AEBODSYS, AEDECOD, AETERM, AESTDT, AEENDT, ASTDY,
    AESEV, ASEVN, AEREL, AEOUT, TRTEMFL; not ``by_arm`` (pooled) drops ARMCD and TRTEMFL,
    which follows the arm's dosing.
    """
    require_columns(adae, ["USUBJID", "AESER"], "ADAE")
    sae = adae[_yes(adae["AESER"])]
    if treatment_emergent_only and "TRTEMFL" in sae.columns:
        sae = sae[_yes(sae["TRTEMFL"])]
    wanted = ("USUBJID", "ARMCD", "AEBODSYS", "AEDECOD", "AETERM", "AESTDT", "AEENDT", "ASTDY",
              "AESEV", "ASEVN", "AEREL", "AEOUT", "TRTEMFL")  # fmt: skip
    cols = [c for c in wanted if c in sae.columns and (by_arm or c not in ("ARMCD", "TRTEMFL"))]
    keys = [c for c in ("ARMCD", "USUBJID", "AESTDT", "AEDECOD") if c in cols]
    return sae[cols].sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
