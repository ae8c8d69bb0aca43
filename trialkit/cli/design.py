"""``trialkit design gsd``: print the boundaries of a group sequential plan as a table or JSON.

The plan comes from ``--trial``'s trial.toml ``[interim]`` table and/or command-line options
(options override the table).  Bad plans raise DefinitionError; the top-level CLI reports it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from trialkit.design.plan import (
    InterimPlan,
    load_interim_plan,
    parse_interim_plan,
    read_interim_table,
)
from trialkit.errors import DefinitionError

app = typer.Typer(help="Group sequential designs (interim analyses).", no_args_is_help=True)

_OPTION_NAMES = {
    "information_fractions": "--fractions",
    "alpha": "--alpha",
    "sided": "--sided",
    "efficacy_spending": "--spending",
    "efficacy_gamma": "--gamma",
    "beta": "--beta",
    "futility_spending": "--futility",
    "futility_gamma": "--futility-gamma",
    "binding_futility": "--binding",
    "effect": "--effect",
    "sd": "--sd",
}

_SHORT = {
    "information_fraction": "fraction",
    "efficacy_z": "efficacy_z",
    "cumulative_alpha": "cum_alpha",
    "cumulative_beta": "cum_beta",
    "cumulative_power": "cum_power",
}


@app.callback()
def _design() -> None:
    """Group sequential designs (interim analyses)."""


def _parse_fractions(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise DefinitionError(
            f"--fractions: must be comma-separated numbers (got {text!r})"
        ) from exc


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def build_plan(trial: Path | None, options: dict[str, Any]) -> InterimPlan:
    """Plan from ``trial``'s [interim] table (if given) overridden by the non-None ``options``."""
    given = {k: v for k, v in options.items() if v is not None}
    if trial is None and not given:
        raise DefinitionError("--fractions: give --fractions or --trial")
    base: dict[str, Any] = {}
    if trial is not None:
        load_interim_plan(trial)  # file, TOML and plan errors name the trial.toml key
        base = dict(read_interim_table(trial))
    if "information_fractions" not in given and "information_fractions" not in base:
        raise DefinitionError("--fractions: give --fractions or --trial")
    mapping = {**base, **given}
    return parse_interim_plan(
        mapping, lambda name: _OPTION_NAMES[name] if name in given else f"interim.{name}"
    )


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


@app.command()
def gsd(
    trial: Annotated[
        Path | None, typer.Option("--trial", help="Trial directory or trial.toml with [interim].")
    ] = None,
    fractions: Annotated[
        str | None, typer.Option(help="Information fractions, e.g. 0.33,0.67,1")
    ] = None,
    alpha: Annotated[
        float | None, typer.Option(help="Alpha (two-sided level if --sided 2).")
    ] = None,
    sided: Annotated[int | None, typer.Option(help="1 or 2.")] = None,
    spending: Annotated[
        str | None, typer.Option(help="Efficacy spending: of, pocock, hsd, kd.")
    ] = None,
    gamma: Annotated[
        float | None, typer.Option(help="Gamma of hsd or kd efficacy spending.")
    ] = None,
    beta: Annotated[float | None, typer.Option(help="1 - power.")] = None,
    futility: Annotated[
        str | None, typer.Option(help="Futility (beta) spending: of, pocock, hsd, kd.")
    ] = None,
    futility_gamma: Annotated[
        float | None, typer.Option(help="Gamma of hsd or kd beta spending.")
    ] = None,
    binding: Annotated[
        bool | None, typer.Option("--binding/--non-binding", help="Binding futility.")
    ] = None,
    effect: Annotated[
        float | None, typer.Option(help="Assumed effect (for maximum information).")
    ] = None,
    sd: Annotated[float | None, typer.Option(help="Assumed standard deviation.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the efficacy (and futility) boundaries of a group sequential plan."""
    options: dict[str, Any] = {
        "information_fractions": _parse_fractions(fractions) if fractions is not None else None,
        "alpha": alpha,
        "sided": sided,
        "efficacy_spending": spending,
        "efficacy_gamma": gamma,
        "beta": beta,
        "futility_spending": futility,
        "futility_gamma": futility_gamma,
        "binding_futility": binding,
        "effect": effect,
        "sd": sd,
    }
    summary = summarize(build_plan(trial, options))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(render(summary), nl=False)
