"""Estimands (ICH E9(R1)): intercurrent-event strategies applied to BDS, and their wording."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialkit.definition import Estimand, TrialDefinition
from trialkit.derive._common import text_where
from trialkit.vocabulary import (
    BINARY_METHOD_LABELS,
    COMPOSITE_STRATEGIES,
    ENDPOINT_VARIABLE_LABELS,
    ESTIMAND_STRATEGY_LABELS,
    INTERCURRENT_EVENT_LABELS,
    INTERCURRENT_EVENTS,
    POPULATION_LABELS,
)

#: Per intercurrent event: its ADSL date column, BDS "after the event" flag and ICEREAS code.
ICE_COLUMNS: dict[str, tuple[str, str, str]] = {
    "discontinuation": ("DISCDT", "DISCFL", "DISCONTINUATION"),
    "rescue_medication": ("RESCDT", "RESCFL", "RESCUE_MEDICATION"),
}


def apply_estimand(bds: pd.DataFrame, adsl: pd.DataFrame, estimand: Estimand) -> pd.DataFrame:
    """A new BDS where post-event records of hypothetical-strategy events are set aside.

    A record is after an event when ADT is strictly later than the event date (a value on the
    day of the event was taken before it); baseline records are never affected. Every row is
    kept and AVAL, CHG and PCHG stay as collected: DISCFL/RESCFL mark records after each event
    whatever the strategy; ICEFL = "Y" and ICEREAS (the earliest such event) mark those the
    hypothetical strategy sets aside, and their ANL01FL becomes "N", so every analysis treats
    them as missing. Values after a composite-strategy event stay in the analysis:
    :func:`composite_non_response` names them.
    """
    dates = [c for c, _, _ in ICE_COLUMNS.values()]
    out = bds.drop(columns=[c for c in dates if c in bds.columns])
    subj = adsl[["USUBJID", *(c for c in dates if c in adsl.columns)]]
    out = out.merge(subj, on="USUBJID", how="left", validate="many_to_one")
    not_baseline = ~out["ABLFL"].eq("Y").fillna(False).to_numpy(dtype=bool)
    first = np.full(len(out), np.datetime64("NaT"), dtype="datetime64[ns]")
    reason = np.full(len(out), None, dtype=object)
    for event in INTERCURRENT_EVENTS:
        date_col, flag_col, code = ICE_COLUMNS[event]
        if date_col not in out.columns:
            out[date_col] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        event_date = out[date_col].astype("datetime64[ns]")
        later = (out["ADT"] > event_date).fillna(False).to_numpy(dtype=bool) & not_baseline
        out[flag_col] = text_where(later, "Y")
        if estimand.strategy(event) == "hypothetical":
            ev = event_date.to_numpy()
            earlier = later & (np.isnat(first) | (ev < first))
            first = np.where(earlier, ev, first)
            reason = np.where(earlier, code, reason)
    hit = pd.notna(reason)
    if "ANL01FL" in out.columns:
        out["ANL01FL"] = out["ANL01FL"].astype(object).mask(hit, "N")
    out["ICEFL"] = text_where(hit, "Y")
    out["ICEREAS"] = reason
    return out


def composite_non_response(bds: pd.DataFrame, estimand: Estimand) -> np.ndarray:
    """Per record of ``bds`` (after :func:`apply_estimand`): True where it comes after an
    event whose strategy is composite, so a responder endpoint counts it as a non-response."""
    out = np.zeros(len(bds), dtype=bool)
    for event in INTERCURRENT_EVENTS:
        if estimand.strategy(event) in COMPOSITE_STRATEGIES:
            flag = ICE_COLUMNS[event][1]
            out |= bds[flag].astype("string").eq("Y").fillna(False).to_numpy(dtype=bool)
    return out


def describe_estimand(definition: TrialDefinition) -> str:
    """The primary estimand in words: population, variable, events and strategies, summary
    (a responder primary: the response, the declared comparisons and the risk difference)."""
    primary = definition.primary
    param = definition.parameter(primary.parameter)
    visit = definition.visit(primary.visit)
    unit = f" ({param.unit})" if param.unit else ""
    when = f"{visit.label or visit.code} (study day {visit.day})"
    ref = definition.reference_arm
    if primary.responder is None:
        variable = f"{param.label}{unit}"  # AVAL: the parameter itself
        if primary.variable != "AVAL":
            variable = f"{ENDPOINT_VARIABLE_LABELS[primary.variable]} in {variable}"
        actives = [a.label for a in definition.arms if not a.reference]
        treatments = f"{'; '.join(actives)}, each compared with {ref.label} (reference)"
        summary = (
            f"difference in least-squares means (each active arm minus {ref.label}) at "
            f"{visit.code}, from the MMRM"
        )
    else:
        variable = f"response ({primary.responder.text}) in {param.label}{unit}"
        treatments = "; ".join(
            f"{definition.arm(c.arm).label} versus {definition.arm(c.versus).label}"
            for c in definition.comparisons
        )
        summary = (
            f"difference in the proportion of responders (and the odds ratio) of each "
            f"comparison at {visit.code}, from "
            f"{BINARY_METHOD_LABELS[definition.analysis.binary_method]}"
        )
    strategy = definition.estimand.strategy
    events = [
        f"{INTERCURRENT_EVENT_LABELS[e]}: {ESTIMAND_STRATEGY_LABELS[strategy(e)]}"
        for e in INTERCURRENT_EVENTS
    ]
    lines = [
        f"Population: {POPULATION_LABELS[definition.analysis.population]}.",
        f"Variable: {variable} at {when}.",
        f"Treatments: {treatments}.",
        "Intercurrent events: " + "; ".join(events) + ".",
        f"Population-level summary: {summary}.",
    ]
    if definition.estimand.description:
        lines.append(f"Description: {definition.estimand.description}")
    return "\n".join(lines)
