"""``trialkit simulate`` and ``trialkit sample-size``, registered on the main app by
:mod:`trialkit.cli`. Thin wrappers: the work is in :mod:`trialkit.simulation`; libraries are
imported inside the commands so ``trialkit --help`` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Scenarios = Annotated[
    Path, typer.Argument(help="Scenarios file (TOML) naming the trial.", show_default=False)
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, help="Local worker processes (default: the cores).", show_default=False
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="tcp://HOST:PORT|local:N",
        help="Run on a Dask scheduler, or on a LocalCluster of N workers.",
        show_default=False,
    ),
]
Replicates = Annotated[
    int | None,
    typer.Option(
        "--replicates",
        min=1,
        help="Replicates per scenario (default: the file's).",
        show_default=False,
    ),
]
Seed = Annotated[
    int | None,
    typer.Option("--seed", min=0, help="Seed (default: the file's).", show_default=False),
]


def simulate(
    scenarios: Scenarios,
    out: Annotated[Path, typer.Option("--out", help="Output folder.", show_default=False)],
    replicates: Replicates = None,
    seed: Seed = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
) -> None:
    """Simulate the trial's analysis plan under each scenario: power, type I error, bias,
    coverage and, for an interim plan, stopping per look (see docs/simulation.md)."""
    from trialkit.cli.progress import progress_bar
    from trialkit.simulation.run import SimulationOptions, run_simulation
    from trialkit.simulation.scenarios import load_scenarios

    plan = load_scenarios(scenarios)
    options = SimulationOptions(replicates, seed, workers, scheduler, resume, force)
    with progress_bar("replicates", "replicate") as update:
        result = run_simulation(plan, out, options, update)
    summary = result["summary"]
    shown = summary[
        [
            "scenario",
            "comparison",
            "replicates",
            "rejection_rate",
            "mc_se",
            "bias",
            "coverage",
            "failed_fits",
        ]
    ]
    typer.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    typer.echo(f"wrote {out}")


def sample_size(
    scenarios: Scenarios,
    power: Annotated[
        float,
        typer.Option("--power", min=0.01, max=0.999, help="Target power of every comparison."),
    ] = 0.8,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="The scenario whose assumptions are used (default: the first).",
            show_default=False,
        ),
    ] = None,
    simulate_search: Annotated[
        bool,
        typer.Option("--simulate", help="Also search the total N by simulating the analysis plan."),
    ] = False,
    replicates: Replicates = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
) -> None:
    """Total subjects for the target power: closed forms (MMRM with retention, Lu, Luo & Chen
    2008; ANCOVA at the primary visit) and, with --simulate, by simulation."""
    from dataclasses import replace

    from trialkit.errors import InputError
    from trialkit.simulation.samplesize import (
        closed_form_total,
        comparison_alpha,
        comparisons,
        simulated_total,
    )
    from trialkit.simulation.scenarios import load_scenarios

    plan = load_scenarios(scenarios)
    if replicates is not None:
        plan = replace(plan, replicates=replicates)
    chosen = next((s for s in plan.scenarios if scenario in (None, s.name)), None)
    if chosen is None:
        raise InputError(f"--scenario: no scenario named {scenario!r} in {scenarios}")
    alpha = comparison_alpha(plan)
    typer.echo(
        f"scenario {chosen.name}: power {power:g}, two-sided alpha {alpha:.4g} per comparison"
    )
    largest = 0
    for c in comparisons(plan, chosen):
        try:
            n_mmrm = closed_form_total(plan, c, power, "mmrm")
            n_ancova = closed_form_total(plan, c, power, "ancova")
        except ValueError as exc:
            raise InputError(f"{scenarios}: scenario {chosen.name}: {exc}") from None
        largest = max(largest, n_mmrm)
        typer.echo(
            f"{c.arm} vs {c.reference}: effect {c.effect:g}; total N {n_mmrm} (MMRM, "
            f"Lu, Luo & Chen 2008), {n_ancova} (ANCOVA at {plan.trial.primary.visit})"
        )
    if simulate_search:
        total, tried = simulated_total(plan, chosen, power, largest, workers, scheduler)
        steps = ", ".join(f"{n}: {p:.3f}" for n, p in sorted(tried.items()))
        typer.echo(
            f"simulated ({plan.replicates} replicates): total N {total} "
            f"(smallest power by N: {steps})"
        )


def register(app: typer.Typer) -> None:
    """Attach ``simulate`` and ``sample-size`` to the main app."""
    app.command("simulate")(simulate)
    app.command("sample-size")(sample_size)
