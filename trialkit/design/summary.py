"""A group sequential plan's boundaries, drift and inflation factor per arm alpha, as data
(``summarize``) and as the text ``trialkit design gsd`` prints (``render``)."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from trialkit.design.plan import InterimPlan

#: Column -> its heading in the text table.
_SHORT = {
    "information_fraction": "fraction",
    "efficacy_z": "efficacy_z",
    "cumulative_alpha": "cum_alpha",
    "cumulative_beta": "cum_beta",
    "cumulative_power": "cum_power",
}


def _finite(value: Any) -> Any:
    """``None`` for an infinite boundary (JSON has no infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def summarize(plan: InterimPlan) -> dict[str, Any]:
    """Plan and, per distinct arm alpha, boundaries, drift and inflation factor (JSON-ready)."""
    from trialkit.design import power  # numerics only when a design is computed

    arms = []
    for alpha in sorted(set(plan.arm_alphas()), reverse=True):
        design = plan.design(alpha)
        drift = power.design_drift(design)
        entry: dict[str, Any] = {
            "alpha": alpha,
            "arms": [i + 1 for i, a in enumerate(plan.arm_alphas()) if a == alpha],
            "boundaries": [
                {k: _finite(v) for k, v in row.items()}
                for row in design.table().to_dict(orient="records")
            ],
            "drift": drift,
            "inflation_factor": (drift / power.fixed_design_drift(alpha, plan.beta, plan.sided))
            ** 2,
        }
        if plan.effect is not None:
            entry["max_information"] = (drift / plan.effect) ** 2
            if plan.sd is not None:
                entry["max_subjects_two_arm"] = 4 * plan.sd**2 * entry["max_information"]
        arms.append(entry)
    plan_dict = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(plan).items()}
    return {"plan": plan_dict, "designs": arms}


def render(summary: dict[str, Any]) -> str:
    """Readable text of ``summarize``'s result."""
    plan = summary["plan"]
    sides = "one-sided" if plan["sided"] == 1 else "two-sided"
    lines = []
    for entry in summary["designs"]:
        head = (
            f"Group sequential design: {len(plan['information_fractions'])} looks, "
            f"{sides} alpha {entry['alpha']:g} (arm {', '.join(map(str, entry['arms']))}), "
            f"efficacy spending {plan['efficacy_spending']}"
        )
        if plan["efficacy_gamma"] is not None:
            head += f" (gamma {plan['efficacy_gamma']:g})"
        lines.append(head)
        if plan["futility_spending"] is not None:
            kind = "binding" if plan["binding_futility"] else "non-binding"
            fut = f"Futility spending {plan['futility_spending']}"
            if plan["futility_gamma"] is not None:
                fut += f" (gamma {plan['futility_gamma']:g})"
            lines.append(f"{fut}, {kind}, beta {plan['beta']:g}")
        rows = entry["boundaries"]
        cols = list(rows[0].keys())
        lines.append("  ".join(f"{_SHORT.get(c, c):>11s}" if c != "look" else "look" for c in cols))
        for row in rows:
            cells = []
            for c in cols:
                v = row[c]
                if c == "look":
                    cells.append(f"{v:4d}")
                elif v is None:
                    cells.append(f"{'inf':>11s}")
                else:
                    cells.append(f"{v:11.6f}" if c != "nominal_p" else f"{v:11.4g}")
            lines.append("  ".join(cells))
        extra = (
            f"drift {entry['drift']:.6f}, inflation factor {entry['inflation_factor']:.6f} "
            f"(power {1 - plan['beta']:g})"
        )
        if "max_information" in entry:
            extra += f", max information {entry['max_information']:.4f}"
        if "max_subjects_two_arm" in entry:
            extra += f", max subjects (two arms 1:1) {entry['max_subjects_two_arm']:.1f}"
        lines.append(extra)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
