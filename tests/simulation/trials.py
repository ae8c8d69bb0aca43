"""Small trials and scenarios files for the simulation tests, written into a test's folder.

The designs of ``DESIGNS`` are those of ``r/simulation_reference.R`` (longpower fixtures)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: name -> (post-baseline visits, correlation, sd, retention active, retention reference,
#: allocation active:reference, effect at the last visit, total N)
DESIGNS = {
    "ar1_t3": (3, '{ structure = "ar1", rho = 0.6 }', 10.0, [1, 0.9, 0.8], [1, 0.9, 0.8], 1, 6, 80),
    "cs_t4": (
        4,
        '{ structure = "cs", rho = 0.5 }',
        8.0,
        [0.95, 0.9, 0.85, 0.8],
        [0.95, 0.88, 0.8, 0.7],
        1,
        5,
        100,
    ),
    "ar1_t3_2to1": (
        3,
        '{ structure = "ar1", rho = 0.8 }',
        12.0,
        [0.9, 0.8, 0.75],
        [0.9, 0.8, 0.75],
        2,
        7,
        90,
    ),
}


def trial_toml(
    arms: int,
    visits: int,
    multiplicity: str = "none",
    interim: str = "",
    primary: str = "",
    allocation: list[float] | None = None,
    comparisons: Sequence[tuple[str, str]] = (),
) -> str:
    """A trial definition with ``arms`` arms (the first the reference), ``visits`` visits;
    ``primary``: more keys of the primary endpoint (a responder rule), ``allocation``: the arms'
    ratio, ``comparisons``: declared (arm, versus) pairs."""
    parts = [
        '[trial]\nid = "SIM"\ntitle = "Simulation test trial"\n'
        'indication = "androgenetic alopecia"\n'
    ]
    for i in range(arms):
        ref = "reference = true\n" if i == 0 else ""
        if allocation is not None:
            ref += f"allocation = {allocation[i]}\n"
        parts.append(
            f'[[arms]]\ncode = "A{i}"\nlabel = "Arm {i}"\n{ref}'
            '[[arms.components]]\ntreatment = "minoxidil"\nconcentration_pct = 5.0\n'
            'route = "topical"\nfrequency = "twice daily"\n'
        )
    parts.append('[[visits]]\ncode = "BASELINE"\nday = 1\nwindow = [-7, 0]\nbaseline = true\n')
    for j in range(1, visits + 1):
        parts.append(f'[[visits]]\ncode = "W{4 * j}"\nday = {28 * j + 1}\nwindow = [-5, 5]\n')
    parts.append(
        '[[parameters]]\ncode = "HAIRCNT"\nlabel = "Hair count"\nmin = 0\nmax = 600\n'
        f'[endpoints.primary]\nparameter = "HAIRCNT"\nvisit = "W{4 * visits}"\n'
        f'variable = "CHG"\n{primary}[analysis]\ncovariance = "us"\n'
        f'df = "kenward-roger"\nmultiplicity = "{multiplicity}"\n'
    )
    for arm, versus in comparisons:
        parts.append(f'[[analysis.comparisons]]\narm = "{arm}"\nversus = "{versus}"\n')
    return "\n".join(parts) + interim


def scenarios_toml(
    means: dict[str, list[float]],
    retention: dict[str, list[float]],
    sd: list[float],
    correlation: str,
    subjects: int,
    replicates: int,
    seed: int = 7,
    allocation: dict[str, float] | None = None,
    extra: str = "",
    name: str = "design",
) -> str:
    """A scenarios file for ``trial.toml`` beside it with one scenario."""

    def table(d: dict[str, list[float]]) -> str:
        return "{ " + ", ".join(f"{k} = {v}" for k, v in d.items()) + " }"

    alloc = (
        ""
        if allocation is None
        else "allocation = { " + ", ".join(f"{k} = {v}" for k, v in allocation.items()) + " }\n"
    )
    return (
        f'trial = "trial.toml"\nreplicates = {replicates}\nseed = {seed}\n'
        f"subjects = {subjects}\n{alloc}[baseline]\nmean = 150.0\nsd = 30.0\n"
        f'[[scenarios]]\nname = "{name}"\nmean_change = {table(means)}\nsd = {sd}\n'
        f"correlation = {correlation}\nretention = {table(retention)}\n{extra}"
    )


def write(folder: Path, trial: str, scenarios: str) -> Path:
    """Write ``trial.toml`` and ``scenarios.toml`` into ``folder``; the scenarios file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trial.toml").write_text(trial, encoding="utf-8")
    path = folder / "scenarios.toml"
    path.write_text(scenarios, encoding="utf-8")
    return path


def design_files(folder: Path, name: str, replicates: int, seed: int = 7) -> Path:
    """The longpower design ``name`` as a two-arm trial and its scenarios file."""
    visits, corr, sd, ra, rb, ratio, effect, n = DESIGNS[name]
    ramp = [effect * (j + 1) / visits for j in range(visits)]
    means = {"A0": [0.0] * visits, "A1": ramp}
    return write(
        folder,
        trial_toml(2, visits),
        scenarios_toml(
            means,
            {"A1": ra, "A0": rb},
            [sd] * visits,
            corr,
            n,
            replicates,
            seed,
            allocation={"A0": 1, "A1": ratio},
        ),
    )
