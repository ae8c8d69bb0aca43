"""``trialkit design gsd``: print the boundaries of a group sequential plan as a table or JSON.

The plan comes from ``--trial``'s trial.toml ``[interim]`` table and/or command-line options
(options override the table); :mod:`trialkit.design.summary` computes and words the
boundaries. Bad plans raise DefinitionError; the top-level CLI reports it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from trialkit.design.plan import (
    InterimPlan,
    load_interim_plan,
    parse_interim_plan,
    read_interim_table,
)
from trialkit.design.summary import render, summarize
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
