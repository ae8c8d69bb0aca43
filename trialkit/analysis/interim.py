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
  fractions are spent again, so the alpha spent at them is kept, and the boundaries they used
  are kept as used; later planned looks stay as planned.  Earlier looks come as recorded by
  their analysis folders (:func:`read_previous_looks`: same trial, same ``[interim]`` plan by
  its fingerprint, interim looks in cutoff order), or as bare ``previous_fractions``;
- maps each arm's t statistic to z through its p-value (``t_to_z``, finite df) and orients it so
  that positive z favours the active arm: for a parameter with ``direction = "lower"`` the sign
  flips.  With ``sided = 1`` the efficacy boundary is crossed when z >= the boundary and the
  futility boundary (if any; interim looks only) when z <= it; with ``sided = 2`` the efficacy
  boundary is crossed when |z| >= the boundary, on either side (the sign of z tells which);
- gives the probability of crossing an efficacy boundary at a later look of the updated design
  (rpact's conditional power, futility ignored; ``trialkit.design.power``) under the plan's
  stated effect (``interim.effect`` and ``interim.sd`` at the planned maximum subjects and the
  arms' allocation; for the variance measure the drift of the arm's design), under the current
  trend (z / sqrt(t)), and the predictive power (flat prior); none at the final look;
- a comparison without an estimate at this look (an arm without post-baseline data yet, a
  declared arm without subjects) is kept with ``status = "not estimable at this look"`` and the
  reason; its boundaries are still given;
- at the final look (``final=True`` or fraction 1) tests against the last boundary of the
  updated design, which spends all remaining alpha: not against the nominal alpha.

The result states which boundary was crossed, neutrally; what follows is the committee's call.
Only :meth:`InterimLook.blinded_summary` may reach the open (blinded) report.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from trialkit.definition import TrialDefinition
from trialkit.design import power, update
from trialkit.design.alpha import Comparison, alpha_split
from trialkit.design.boundaries import GroupSequentialDesign
from trialkit.design.plan import InterimPlan
from trialkit.errors import DefinitionError, InputError, ModelSpecificationError
from trialkit.manifest import read_manifest
from trialkit.vocabulary import POPULATION_FLAGS

#: Status of a comparison at a look: estimated, or not (the reason says why).
ESTIMATED = "estimated"
NOT_ESTIMABLE = "not estimable at this look"

#: How results and reports label the three power figures of an interim look.
POWER_LABELS: dict[str, str] = {
    "conditional_power_design": "conditional power under the plan's effect (interim.effect, sd)",
    "conditional_power_trend": "conditional power under the current trend",
    "predictive_power": "predictive power (flat prior on the effect)",
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
    "predictive_power",
    "status",
    "reason",
)

#: Keys of each comparison in ``results.json["interim"]["looks"][i]["arms"]``: the decision.
DECISION_KEYS: tuple[str, ...] = (
    "arm",
    "reference",
    "status",
    "z",
    "efficacy_z",
    "futility_z",
    "efficacy_crossed",
    "futility_crossed",
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


@dataclass(frozen=True)
class RecordedLook:
    """An earlier interim look as its analysis folder recorded it (results.json ``interim``)."""

    folder: Path
    look: int
    cutoff: date
    information_fraction: float
    decisions: tuple[dict[str, Any], ...]

    def efficacy_z(self, arm: str) -> float:
        """The efficacy boundary this look used for ``arm`` (an unusable one is +inf)."""
        for d in self.decisions:
            if d["arm"] == arm:
                return math.inf if d["efficacy_z"] is None else float(d["efficacy_z"])
        raise InputError(f"{self.folder}: look {self.look} has no comparison for arm {arm}")

    def record(self) -> dict[str, Any]:
        """The look's entry of ``results.json["interim"]["looks"]``."""
        return {
            "look": self.look,
            "cutoff": self.cutoff.isoformat(),
            "final": False,
            "information_fraction": self.information_fraction,
            "arms": [dict(d) for d in self.decisions],
        }


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
    plan_fingerprint: str = ""
    cutoff: date | None = None
    earlier: tuple[RecordedLook, ...] = ()
    alpha_rule: str = ""

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
            "plan_fingerprint": self.plan_fingerprint,
            "cutoff": self.cutoff.isoformat() if self.cutoff is not None else None,
            "alpha_rule": self.alpha_rule,
            "power_labels": dict(POWER_LABELS),
            "looks": [*(e.record() for e in self.earlier), self.record()],
        }

    def record(self) -> dict[str, Any]:
        """This look's entry of ``results.json["interim"]["looks"]``: boundary and decision."""
        return {
            "look": self.look,
            "cutoff": self.cutoff.isoformat() if self.cutoff is not None else None,
            "final": self.final,
            "information_fraction": _plain(self.information_fraction),
            "arms": _records(self.arms, DECISION_KEYS),
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
    *,
    previous_looks: Sequence[RecordedLook] = (),
    cutoff: date | None = None,
    comparisons: Sequence[Comparison] | None = None,
    allocation: Mapping[str, float] | None = None,
) -> InterimLook:
    """Evaluate look ``look`` (default: the one after the earlier looks) at a data cutoff.

    ``contrasts`` are the primary contrasts (``arm, visit, t, df``; ``se`` for the variance
    measure; ``reference`` (or ``versus``) and ``estimate`` when present); ``data`` the analysed
    records or the subject count for ``information = "subjects"`` (ignored for ``"variance"``).
    Earlier looks: ``previous_looks`` (:func:`read_previous_looks`; their boundaries are kept as
    used) or bare ``previous_fractions``, not both.  ``comparisons``: (arm, versus) pairs
    (default: each non-reference arm against the reference); ``allocation``: randomisation
    ratio per arm code (default 1 each).
    """
    if previous_looks and previous_fractions:
        raise InputError("interim look: give the earlier looks or their fractions, not both")
    if previous_looks:
        previous_fractions = [r.information_fraction for r in previous_looks]
        last = previous_looks[-1].cutoff
        if cutoff is not None and cutoff <= last:
            raise InputError(
                f"interim look: cutoff {cutoff} is not after the previous look's ({last}, "
                f"{previous_looks[-1].folder})"
            )
    previous = _check_previous(plan, look, previous_fractions)
    k = len(previous) + 1
    pairs = tuple(comparisons) if comparisons is not None else default_comparisons(definition)
    split = alpha_split(plan, pairs)
    rows = _primary_rows(pairs, split.shares, contrasts, definition)
    designs = {a: plan.design(alpha=a) for a in dict.fromkeys(split.shares)}
    shares = _allocation_shares(pairs, allocation, definition)

    if plan.information == "subjects":
        if data is None:
            raise InputError("interim information: subjects measure needs the analysed records")
        observed = float(data if isinstance(data, int) else primary_subjects(data, definition))
        i_max = plan.planned_max_subjects(shares)
        for row, share in zip(rows, shares, strict=True):
            row["information"] = _information(row["se"])
            row["information_fraction"] = min(observed / i_max, 1.0)
            row["drift"] = _effect_drift(plan, i_max, share)
    else:
        if plan.effect is None:
            raise DefinitionError("interim.effect: needed for the variance information measure")
        reached = []
        for row in rows:
            arm_max = power.max_information(designs[row["alpha"]], plan.effect)
            info = _information(row["se"])
            row["information"] = info
            row["information_fraction"] = min(info / arm_max, 1.0)
            row["drift"] = plan.effect * math.sqrt(arm_max)
            if math.isfinite(info):
                reached.append((info / arm_max, info, arm_max))
        if not reached:
            raise ModelSpecificationError(
                f"primary contrasts: no finite se at visit {definition.primary.visit} "
                "(no comparison is estimable at this look)"
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
    updated: dict[tuple[float, tuple[float, ...]], GroupSequentialDesign] = {}
    tables = []
    for row in rows:
        used = tuple(r.efficacy_z(row["arm"]) for r in previous_looks)
        key = (row["alpha"], used)
        if key not in updated:
            updated[key] = update.update_design(
                designs[row["alpha"]], [*previous, fraction], final=is_final, used_efficacy_z=used
            )
        gsd = updated[key]
        row.update(_evaluate(row, sign, k, fraction, is_final, gsd, plan.sided))
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
        plan_fingerprint=plan.fingerprint(),
        cutoff=cutoff,
        earlier=tuple(previous_looks),
        alpha_rule=split.statement(),
    )


def default_comparisons(definition: TrialDefinition) -> tuple[Comparison, ...]:
    """Each non-reference arm against the reference arm, in trial.toml order."""
    ref = definition.reference_arm.code
    return tuple((a.code, ref) for a in definition.arms if not a.reference)


def read_previous_looks(dirs: Sequence[Path], definition: TrialDefinition) -> list[RecordedLook]:
    """The earlier interim looks recorded by the analysis folders ``dirs`` (look 1 first).

    Each must be a ``trialkit analyze`` output of the same trial with the same ``[interim]``
    plan (its fingerprint), an interim (not final, not dummy) look at a cutoff, computed after
    exactly the folders before it; cutoffs increase.  Anything else: InputError naming the
    folder.
    """
    plan = definition.interim
    if plan is None:
        raise InputError("previous looks: the trial has no [interim] plan in trial.toml")
    looks: list[RecordedLook] = []
    for i, folder in enumerate(Path(d) for d in dirs):
        looks.append(_read_look(folder, i + 1, definition, plan, looks))
    return looks


def describe_previous_looks(looks: Sequence[RecordedLook]) -> str:
    """One line naming the earlier looks used (for the console)."""
    if not looks:
        return "earlier looks: none"
    return "earlier looks used: " + "; ".join(
        f"look {r.look} at cutoff {r.cutoff} (information fraction {r.information_fraction:.4g})"
        f" from {r.folder}"
        for r in looks
    )


def _read_look(
    folder: Path,
    expected: int,
    definition: TrialDefinition,
    plan: InterimPlan,
    before: Sequence[RecordedLook],
) -> RecordedLook:
    """One folder's look, checked against the trial, the plan and the looks before it."""
    path = folder / "results.json"
    if not path.is_file():
        raise InputError(f"{folder}: no results.json (not a trialkit analysis folder)")
    manifest = read_manifest(folder)
    if manifest["command"] != "analyze":
        raise InputError(f"{folder}: made by 'trialkit {manifest['command']}', not analyze")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        trial_id = doc["trial"]["id"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: cannot be read as trialkit results ({exc})") from None
    if trial_id != definition.trial.id:
        raise InputError(f"{folder}: an analysis of trial {trial_id}, not {definition.trial.id}")
    if doc.get("dummy"):
        raise InputError(f"{folder}: a dummy-randomised analysis cannot be an earlier look")
    rec = doc.get("interim")
    if not isinstance(rec, dict):
        raise InputError(f"{folder}: has no group sequential look (results.json interim)")
    if rec.get("plan_fingerprint") != plan.fingerprint():
        raise InputError(
            f"{folder}: its [interim] plan is not trial.toml's (plan fingerprints differ)"
        )
    if rec.get("final") or doc.get("cutoff") is None:
        raise InputError(f"{folder}: a final analysis (no cutoff) cannot be an earlier look")
    try:
        cutoff = date.fromisoformat(str(doc["cutoff"]))
        look, fraction = int(rec["look"]), float(rec["information_fraction"])
        recorded = [float(x) for x in rec["previous_fractions"]]
        decisions = tuple(
            {key: arm[key] for key in DECISION_KEYS if key in arm} for arm in rec["arms"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: interim look record is incomplete ({exc})") from None
    if look != expected:
        raise InputError(
            f"{folder}: is look {look}, but it is given as look {expected} "
            "(give the earlier looks' folders in look order)"
        )
    if before and cutoff <= before[-1].cutoff:
        raise InputError(
            f"{folder}: cutoff {cutoff} is not after look {before[-1].look}'s "
            f"({before[-1].cutoff}, {before[-1].folder})"
        )
    chain = [r.information_fraction for r in before]
    if len(recorded) != len(chain) or any(
        abs(a - b) > 1e-12 for a, b in zip(recorded, chain, strict=False)
    ):
        raise InputError(
            f"{folder}: was analysed after looks at fractions {recorded}, "
            f"not after the folders given before it ({chain})"
        )
    return RecordedLook(folder, look, cutoff, fraction, decisions)


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


def _allocation_shares(
    pairs: Sequence[Comparison], allocation: Mapping[str, float] | None, definition: TrialDefinition
) -> list[tuple[float, float]]:
    """Per comparison the fractions of all subjects in its two arms (allocation / total)."""
    ratio = {a.code: 1.0 for a in definition.arms}
    for code, value in (allocation or {}).items():
        if code not in ratio or not float(value) > 0:
            raise DefinitionError(f"arms.allocation: {code}: must be a positive ratio of an arm")
        ratio[code] = float(value)
    total = sum(ratio.values())
    return [(ratio[a] / total, ratio[v] / total) for a, v in pairs]


def _effect_drift(plan: InterimPlan, subjects: float, share: tuple[float, float]) -> float:
    """Drift under the plan's effect and sd at ``subjects`` (NaN when the plan states none)."""
    if plan.effect is None or plan.sd is None:
        return math.nan
    info = power.comparison_information(subjects, plan.sd, *share)
    return plan.effect * math.sqrt(info)


def _primary_rows(
    pairs: Sequence[Comparison],
    alphas: Sequence[float],
    contrasts: pd.DataFrame,
    definition: TrialDefinition,
) -> list[dict[str, Any]]:
    """The primary-visit contrast of each comparison with its alpha; a comparison without one
    (its arm has no data at the cutoff) is kept, not estimable."""
    for col in ("arm", "visit", "t", "df"):
        if col not in contrasts.columns:
            raise ModelSpecificationError(f"primary contrasts: column {col} is missing")
    visit = definition.primary.visit
    versus_col = next((c for c in ("versus", "reference") if c in contrasts.columns), None)
    at = contrasts[_equals(contrasts["visit"], visit).to_numpy()]
    rows: list[dict[str, Any]] = []
    for (code, ref), alpha in zip(pairs, alphas, strict=True):
        keep = _equals(at["arm"], code)
        if versus_col is not None:
            keep &= _equals(at[versus_col], ref)
        mine = at[keep.to_numpy()]
        if len(mine) > 1:
            raise ModelSpecificationError(
                f"primary contrasts: {len(mine)} rows for arm {code} vs {ref} at {visit} (need one)"
            )
        r = mine.iloc[0] if len(mine) else pd.Series(dtype=object)
        row: dict[str, Any] = {
            "arm": code,
            "reference": ref,
            "visit": visit,
            "alpha": alpha,
            "estimate": _number(r.get("estimate")),
            "se": _number(r.get("se")),
            "df": _number(r.get("df")),
            "t": _number(r.get("t")),
            "status": ESTIMATED,
            "reason": None,
        }
        if not len(mine):
            row.update(status=NOT_ESTIMABLE, reason=f"no contrast {code} vs {ref} at {visit}")
        elif not math.isfinite(row["t"]):
            row.update(status=NOT_ESTIMABLE, reason=f"no estimate of {code} vs {ref} at {visit}")
        elif not row["df"] > 0:
            row.update(status=NOT_ESTIMABLE, reason=f"{code} vs {ref}: no degrees of freedom")
        rows.append(row)
    return rows


def _evaluate(
    row: Mapping[str, Any],
    sign: float,
    k: int,
    fraction: float,
    final: bool,
    gsd: GroupSequentialDesign,
    sided: int,
) -> dict[str, Any]:
    """z of one comparison (positive favours the arm), crossings at look ``k``, and the power
    figures over the later looks of the updated design ``gsd``."""
    eff = gsd.efficacy_z[k - 1]
    fut = gsd.futility_z[k - 1] if gsd.futility_z is not None and not final else math.nan
    out: dict[str, Any] = {
        "z": math.nan,
        "p_one_sided": math.nan,
        "efficacy_z": eff,
        "futility_z": fut,
        "efficacy_crossed": None,
        "futility_crossed": None,
        "conditional_power_design": math.nan,
        "conditional_power_trend": math.nan,
        "predictive_power": math.nan,
    }
    if row["status"] != ESTIMATED:
        return out
    z = update.t_to_z(sign * row["t"], row["df"])
    out["z"] = z
    out["p_one_sided"] = float(ndtr(-z))
    out["efficacy_crossed"] = bool((abs(z) if sided == 2 else z) >= eff)
    if gsd.futility_z is not None and not final:
        out["futility_crossed"] = bool(z <= fut)
    if not final and fraction < 1.0:
        later_t, later_c = gsd.information_fractions[k:], gsd.efficacy_z[k:]
        if math.isfinite(row["drift"]):
            out["conditional_power_design"] = power.conditional_rejection(
                z, fraction, later_t, later_c, row["drift"]
            )
        out["conditional_power_trend"] = power.conditional_rejection(
            z, fraction, later_t, later_c, power.trend_drift(z, fraction)
        )
        out["predictive_power"] = power.predictive_power(z, fraction, later_t, later_c)
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
