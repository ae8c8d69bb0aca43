"""One interim (or the final) look of a group sequential trial, from the primary analysis output.

At a data cutoff :func:`interim_look` takes the plan (``[interim]`` of trial.toml), the primary
contrasts (``primary.contrasts``: every active arm minus the reference, per visit, with the
Kenward-Roger ``df`` and ``t``) and, for ``information = "subjects"``, the analysed records, and:

- measures the information reached as the plan says.  ``"subjects"``: subjects with a non-missing
  primary variable at the primary visit (rows of the primary parameter flagged ``ANL01FL = "Y"``
  and in the analysis population, when those columns are present) over the plan's planned
  maximum subjects.  ``"variance"``: 1 / se^2 of each active arm's primary contrast over the
  maximum information of that arm's design; the look's fraction is the smallest over the arms
  (one look, one fraction; the smallest spends the least alpha now).  The fraction is capped at 1
  (``information_fraction_observed`` keeps the uncapped value); reaching 1 makes the look final;
- recomputes each arm's boundaries (the design at the arm's share of alpha,
  ``plan.arm_alphas()``) at the fractions actually reached (``update_design``): earlier looks'
  fractions (``previous_fractions``) are spent again, so the alpha spent at them is kept and
  their boundaries are reproduced; later planned looks stay as planned;
- maps each arm's t statistic to z through its p-value (``t_to_z``, finite df) and orients it so
  that positive z favours the active arm: for a parameter with ``direction = "lower"`` the sign
  flips.  With ``sided = 1`` the efficacy boundary is crossed when z >= the boundary and the
  futility boundary (if any; interim looks only) when z <= it; with ``sided = 2`` the efficacy
  boundary is crossed when |z| >= the boundary, on either side (the sign of z tells which);
- gives the conditional power (B-value formula, ``trialkit.design.power``; intermediate looks and
  futility ignored, upper boundary only) of reaching the last boundary of the updated design,
  under the design effect (the drift the planned design was powered for) and under the current
  trend (z / sqrt(t)); none at the final look;
- at the final look (``final=True`` or fraction 1) tests against the last boundary of the
  updated design, which spends all remaining alpha: not against the nominal alpha.

The result states which boundary was crossed, neutrally; what follows is the committee's call.
Only :meth:`InterimLook.blinded_summary` may reach the open (blinded) report.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from trialkit.definition import TrialDefinition
from trialkit.design import power, update
from trialkit.design.boundaries import GroupSequentialDesign
from trialkit.design.plan import InterimPlan
from trialkit.errors import DefinitionError, InputError, ModelSpecificationError

#: ADSL flag of each analysis population.
POPULATION_FLAGS: dict[str, str] = {
    "ITT": "ITTFL",
    "MITT": "MITTFL",
    "PP": "PPROTFL",
    "SAFETY": "SAFFL",
}

#: Columns of :attr:`InterimLook.arms`, in order.
ARM_COLUMNS: tuple[str, ...] = (
    "arm",
    "reference",
    "visit",
    "alpha",
    "estimate",
    "se",
    "df",
    "t",
    "z",
    "p_one_sided",
    "information",
    "information_fraction",
    "efficacy_z",
    "futility_z",
    "efficacy_crossed",
    "futility_crossed",
    "conditional_power_design",
    "conditional_power_trend",
)

#: Columns of :attr:`InterimLook.boundaries`, in order (futility ones only with futility).
BOUNDARY_COLUMNS: tuple[str, ...] = (
    "arm",
    "look",
    "information_fraction",
    "efficacy_z",
    "nominal_p",
    "cumulative_alpha",
    "futility_z",
    "cumulative_beta",
    "cumulative_power",
)


@dataclass(frozen=True, eq=False)
class InterimLook:
    """What one look found: information reached, updated boundaries and each arm's z statistic."""

    look: int
    final: bool
    information_measure: str
    information_observed: float
    information_max: float
    information_fraction_observed: float
    information_fraction: float
    previous_fractions: tuple[float, ...]
    sided: int
    alpha: float
    direction: str
    efficacy_spending: str
    futility_spending: str | None
    binding_futility: bool
    arms: pd.DataFrame
    boundaries: pd.DataFrame

    def boundary_table(self, arm: str) -> pd.DataFrame:
        """The updated boundaries of ``arm``, one row per look, ready for ``plot_boundaries``."""
        rows = self.boundaries[self.boundaries["arm"] == arm]
        if rows.empty:
            raise InputError(f"interim look: no boundaries for arm {arm!r}")
        return rows.drop(columns="arm").reset_index(drop=True)

    def observed(self, arm: str | None = None) -> dict[str, tuple[float, float]]:
        """(fraction, z) of each arm (or of ``arm``) at this look, for ``plot_boundaries``."""
        out: dict[str, tuple[float, float]] = {}
        for code, z in zip(self.arms["arm"], self.arms["z"], strict=True):
            if (arm is None or code == arm) and math.isfinite(z):
                out[str(code)] = (self.information_fraction, float(z))
        return out

    def blinded_summary(self) -> dict[str, Any]:
        """The only numbers the open report may show: the look and the information fraction."""
        return {"look": self.look, "information_fraction": self.information_fraction}

    def to_json(self) -> dict[str, Any]:
        """The look as plain JSON types (NaN and infinite values, e.g. an unused boundary, null)."""
        return {
            "look": self.look,
            "final": self.final,
            "information_measure": self.information_measure,
            "information_observed": _plain(self.information_observed),
            "information_max": _plain(self.information_max),
            "information_fraction_observed": _plain(self.information_fraction_observed),
            "information_fraction": _plain(self.information_fraction),
            "previous_fractions": [_plain(x) for x in self.previous_fractions],
            "sided": self.sided,
            "alpha": self.alpha,
            "direction": self.direction,
            "efficacy_spending": self.efficacy_spending,
            "futility_spending": self.futility_spending,
            "binding_futility": self.binding_futility,
            "arms": _records(self.arms, ARM_COLUMNS),
            "boundaries": _records(self.boundaries, BOUNDARY_COLUMNS),
        }


def primary_subjects(frame: pd.DataFrame, definition: TrialDefinition) -> int:
    """Subjects with a non-missing primary variable at the primary visit (the information count).

    ``frame`` is the BDS after the estimand (``apply_estimand``) or the ``analysis_primary``
    frame; ``PARAMCD``, ``ANL01FL`` and the population flag filter the rows when present.
    """
    ep = definition.primary
    for col in ("USUBJID", "AVISIT", ep.variable):
        if col not in frame.columns:
            raise ModelSpecificationError(f"interim information: column {col} is missing")
    keep = _equals(frame["AVISIT"], ep.visit)
    if "PARAMCD" in frame.columns:
        keep &= _equals(frame["PARAMCD"], ep.parameter)
    if "ANL01FL" in frame.columns:
        keep &= _equals(frame["ANL01FL"], "Y")
    flag = POPULATION_FLAGS.get(definition.analysis.population)
    if flag is not None and flag in frame.columns:
        keep &= _equals(frame[flag], "Y")
    keep &= pd.to_numeric(frame[ep.variable], errors="coerce").notna().to_numpy(dtype=bool)
    return int(frame.loc[keep, "USUBJID"].nunique())


def interim_look(
    plan: InterimPlan,
    look: int | None,
    contrasts: pd.DataFrame,
    data: pd.DataFrame | int | None,
    definition: TrialDefinition,
    final: bool = False,
    previous_fractions: Sequence[float] = (),
) -> InterimLook:
    """Evaluate look ``look`` (default: the one after ``previous_fractions``) at a data cutoff.

    ``contrasts`` are the primary contrasts (``arm, visit, t, df``; ``se`` for the variance
    measure; ``reference`` and ``estimate`` when present); ``data`` the analysed records or the
    subject count for ``information = "subjects"`` (ignored for ``"variance"``).
    """
    previous = _check_previous(plan, look, previous_fractions)
    k = len(previous) + 1
    rows = _primary_rows(plan, contrasts, definition)
    designs = {a: plan.design(alpha=a) for a in dict.fromkeys(plan.arm_alphas())}

    if plan.information == "subjects":
        if data is None:
            raise InputError("interim information: subjects measure needs the analysed records")
        observed = float(data if isinstance(data, int) else primary_subjects(data, definition))
        i_max = plan.planned_max_subjects()
        for row in rows:
            row["information"] = _information(row["se"])
            row["information_fraction"] = min(observed / i_max, 1.0)
    else:
        if plan.effect is None:
            raise DefinitionError("interim.effect: needed for the variance information measure")
        reached = []
        for row in rows:
            arm_max = power.max_information(designs[row["alpha"]], plan.effect)
            info = _information(row["se"])
            row["information"] = info
            row["information_fraction"] = min(info / arm_max, 1.0)
            if math.isfinite(info):
                reached.append((info / arm_max, info, arm_max))
        if not reached:
            raise ModelSpecificationError(
                f"primary contrasts: no finite se at visit {definition.primary.visit}"
            )
        _, observed, i_max = min(reached)
    raw = update.information_fraction(observed, i_max)
    fraction = min(raw, 1.0)
    if fraction <= 0.0:
        raise InputError(f"interim look {k}: no information reached yet (fraction 0)")
    if previous and fraction <= previous[-1]:
        raise InputError(
            f"interim look {k}: information fraction {fraction:.4g} is not above the previous "
            f"look's {previous[-1]:.4g}"
        )
    is_final = final or fraction >= 1.0
    if not is_final and k >= len(plan.information_fractions):
        raise InputError(
            f"interim look {k}: the plan has {len(plan.information_fractions)} looks; "
            "pass final=True to make this the final analysis"
        )

    sign = 1.0 if definition.parameter(definition.primary.parameter).direction == "higher" else -1.0
    updated: dict[float, GroupSequentialDesign] = {
        a: update.update_design(d, [*previous, fraction], final=is_final)
        for a, d in designs.items()
    }
    tables = []
    for row in rows:
        design, gsd = designs[row["alpha"]], updated[row["alpha"]]
        row.update(_evaluate(row, sign, k, fraction, is_final, design, gsd, plan.sided))
        table = gsd.table()
        table.insert(0, "arm", row["arm"])
        tables.append(table)
    arms = pd.DataFrame(rows)[list(ARM_COLUMNS)]
    for col in ("efficacy_crossed", "futility_crossed"):
        arms[col] = arms[col].astype("boolean")
    boundaries = pd.concat(tables, ignore_index=True)
    boundaries = boundaries[[c for c in BOUNDARY_COLUMNS if c in boundaries.columns]]
    return InterimLook(
        look=k,
        final=is_final,
        information_measure=plan.information,
        information_observed=observed,
        information_max=i_max,
        information_fraction_observed=raw,
        information_fraction=fraction,
        previous_fractions=previous,
        sided=plan.sided,
        alpha=plan.alpha,
        direction="higher" if sign > 0 else "lower",
        efficacy_spending=plan.efficacy_spending,
        futility_spending=plan.futility_spending,
        binding_futility=plan.binding_futility,
        arms=arms,
        boundaries=boundaries,
    )


# --- helpers ---------------------------------------------------------------------------------


def _equals(values: pd.Series, value: str) -> pd.Series:
    """``values == value`` as plain booleans, missing values False (any string dtype)."""
    return values.astype("string").eq(value).fillna(False).astype(bool)


def _information(se: float) -> float:
    """1 / se^2, NaN when the se is missing or not positive."""
    return 1.0 / (se * se) if math.isfinite(se) and se > 0 else math.nan


def _check_previous(
    plan: InterimPlan, look: int | None, previous_fractions: Sequence[float]
) -> tuple[float, ...]:
    """Earlier looks' fractions, checked: positive, increasing, below 1, matching ``look``."""
    previous = tuple(float(x) for x in previous_fractions)
    ok = all(0.0 < x < 1.0 for x in previous) and all(
        b > a for a, b in itertools.pairwise(previous)
    )
    if not ok:
        raise InputError(
            f"interim previous_fractions: must increase within (0, 1) (got {list(previous)!r})"
        )
    if look is not None and look != len(previous) + 1:
        raise InputError(
            f"interim look: look {look} needs {look - 1} previous fractions (got {len(previous)})"
        )
    return previous


def _primary_rows(
    plan: InterimPlan, contrasts: pd.DataFrame, definition: TrialDefinition
) -> list[dict[str, Any]]:
    """The primary-visit contrast of each active arm (trial.toml order) with the arm's alpha."""
    for col in ("arm", "visit", "t", "df"):
        if col not in contrasts.columns:
            raise ModelSpecificationError(f"primary contrasts: column {col} is missing")
    ref = definition.reference_arm.code
    visit = definition.primary.visit
    active = [a.code for a in definition.arms if not a.reference]
    if len(active) != plan.active_arms:
        raise DefinitionError(
            f"interim.active_arms: the plan has {plan.active_arms}, trial.toml {len(active)} "
            "active arms"
        )
    at = contrasts[_equals(contrasts["visit"], visit).to_numpy()]
    if "reference" in at.columns:
        at = at[_equals(at["reference"], ref).to_numpy()]
    rows: list[dict[str, Any]] = []
    for code, alpha in zip(active, plan.arm_alphas(), strict=True):
        mine = at[_equals(at["arm"], code).to_numpy()]
        if len(mine) != 1:
            raise ModelSpecificationError(
                f"primary contrasts: {len(mine)} rows for arm {code} vs {ref} at {visit} "
                "(need exactly one)"
            )
        r = mine.iloc[0]
        rows.append(
            {
                "arm": code,
                "reference": ref,
                "visit": visit,
                "alpha": alpha,
                "estimate": _number(r.get("estimate")),
                "se": _number(r.get("se")),
                "df": _number(r["df"]),
                "t": _number(r["t"]),
            }
        )
    return rows


def _evaluate(
    row: Mapping[str, Any],
    sign: float,
    k: int,
    fraction: float,
    final: bool,
    design: GroupSequentialDesign,
    gsd: GroupSequentialDesign,
    sided: int,
) -> dict[str, Any]:
    """z of one arm (positive favours it), crossings at look ``k`` and conditional power."""
    eff = gsd.efficacy_z[k - 1]
    fut = gsd.futility_z[k - 1] if gsd.futility_z is not None and not final else math.nan
    t, df = row["t"], row["df"]
    out: dict[str, Any] = {
        "z": math.nan,
        "p_one_sided": math.nan,
        "efficacy_z": eff,
        "futility_z": fut,
        "efficacy_crossed": None,
        "futility_crossed": None,
        "conditional_power_design": math.nan,
        "conditional_power_trend": math.nan,
    }
    if not math.isfinite(t):
        return out
    if not df > 0:
        raise ModelSpecificationError(
            f"primary contrasts: arm {row['arm']} has t = {t:g} but df = {df!r}"
        )
    z = update.t_to_z(sign * t, df)
    out["z"] = z
    out["p_one_sided"] = float(ndtr(-z))
    out["efficacy_crossed"] = bool((abs(z) if sided == 2 else z) >= eff)
    if gsd.futility_z is not None and not final:
        out["futility_crossed"] = bool(z <= fut)
    if not final and fraction < 1.0:
        drift = design.drift if design.drift is not None else power.design_drift(design)
        final_z = gsd.efficacy_z[-1]
        out["conditional_power_design"] = power.conditional_power(z, fraction, final_z, drift)
        out["conditional_power_trend"] = power.conditional_power_trend(gsd, z, fraction)
    return out


def _number(value: object) -> float:
    """A float from a contrast cell; missing (None, NA, NaN) as NaN."""
    if value is None or value is pd.NA:
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _plain(value: object) -> Any:
    """A JSON-ready value: Python int/float/bool/str, NaN, NA and infinities as None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return x if math.isfinite(x) else None


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts with every key of ``columns`` (absent columns null)."""
    return [
        {c: _plain(rec[c]) if c in rec else None for c in columns}
        for rec in frame.to_dict(orient="records")
    ]
