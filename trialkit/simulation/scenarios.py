"""Read a simulation's scenarios file (TOML) into plain data, strictly.

The file names a trial definition (its analysis plan is applied unchanged) and describes the
data-generating model of each scenario; see ``docs/simulation.md`` for every key. Every problem
is a :class:`~trialkit.errors.DefinitionError` of one line naming the file and the key.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trialkit.definition import TomlTable, TrialDefinition, load_definition, read_toml, show
from trialkit.errors import DefinitionError
from trialkit.vocabulary import CORRELATION_STRUCTURES, DROPOUT_MECHANISMS

#: Bounds that keep a scenario file's run within reason.
MAX_REPLICATES = 10_000_000
MAX_SUBJECTS = 1_000_000


@dataclass(frozen=True)
class Scenario:
    """One data-generating model: per-arm mean changes and retention by post-baseline visit."""

    name: str
    mean_change: dict[str, tuple[float, ...]]
    sd: tuple[float, ...]
    correlation: np.ndarray  # (T, T), positive definite, unit diagonal
    baseline_slope: float
    retention: dict[str, tuple[float, ...]]
    dropout: str

    def covariance(self) -> np.ndarray:
        """Covariance of the changes over the post-baseline visits."""
        sd = np.asarray(self.sd)
        return self.correlation * np.outer(sd, sd)


@dataclass(frozen=True)
class SimulationPlan:
    """A scenarios file: the trial, the run's size and seed, and the scenarios."""

    source: Path
    trial_path: Path
    trial: TrialDefinition
    replicates: int
    seed: int
    subjects: int
    allocation: dict[str, float]
    baseline_mean: float
    baseline_sd: float
    scenarios: tuple[Scenario, ...]

    @property
    def visits(self) -> tuple[str, ...]:
        """The trial's post-baseline visits, in order (the columns of every per-visit list)."""
        return tuple(v.code for v in self.trial.post_baseline_visits)

    @property
    def arms(self) -> tuple[str, ...]:
        """The trial's arm codes, in declared order."""
        return tuple(a.code for a in self.trial.arms)


def _per_visit(
    t: TomlTable, name: str, visits: int, low: float, high: float | None
) -> tuple[float, ...]:
    """A list of one number per post-baseline visit, each within the bounds."""
    key = t.path(name)
    values = t.take(name, list)
    if len(values) != visits:
        raise DefinitionError(
            f"{key}: {len(values)} values for the trial's {visits} post-baseline visits"
        )
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise DefinitionError(f"{key}[{i}]: expected a number, got {show(v)}")
        if v < low or (high is not None and v > high):
            bound = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
            raise DefinitionError(f"{key}[{i}]: {show(v)} is not {bound}")
        out.append(float(v))
    return tuple(out)


def _per_arm(
    t: TomlTable, name: str, arms: tuple[str, ...], visits: int, low: float, high: float | None
) -> dict[str, tuple[float, ...]]:
    """A table with one per-visit list for every arm of the trial (and no other)."""
    sub = t.table(name)
    if sub is None:
        raise DefinitionError(f"{t.path(name)}: required key is missing")
    for code in sub.data:
        if code not in arms:
            raise DefinitionError(
                f"{sub.path(code)}: {code!r} is not an arm of the trial ({', '.join(arms)})"
            )
    out = {}
    for code in arms:
        if code not in sub.data:
            raise DefinitionError(f"{sub.path(code)}: arm {code!r} is not given a value")
        out[code] = _per_visit(sub, code, visits, low, high)
    sub.done()
    return out


def _correlation(t: TomlTable, visits: int) -> np.ndarray:
    """An AR(1) or compound symmetry correlation, or a full matrix: positive definite."""
    key = t.path("correlation")
    value = t.take("correlation", (dict, list))
    if isinstance(value, list):
        if len(value) != visits or any(not isinstance(r, list) or len(r) != visits for r in value):
            raise DefinitionError(f"{key}: expected a {visits} x {visits} matrix")
        rows = TomlTable({f"{i}": r for i, r in enumerate(value)}, key)
        R = np.array([_per_visit(rows, f"{i}", visits, -1.0, 1.0) for i in range(visits)])
        if not np.allclose(R, R.T) or not np.allclose(np.diag(R), 1.0):
            raise DefinitionError(f"{key}: must be symmetric with a unit diagonal")
    else:
        c = TomlTable(value, key)
        structure = c.choice("structure", CORRELATION_STRUCTURES)
        rho = c.number("rho", None, -1.0, 1.0, low_open=True, high_open=True)
        if rho is None:
            raise DefinitionError(f"{c.path('rho')}: required key is missing")
        c.done()
        lags = np.abs(np.subtract.outer(np.arange(visits), np.arange(visits)))
        R = rho**lags if structure == "ar1" else np.where(lags == 0, 1.0, rho)
    if np.linalg.eigvalsh(R).min() <= 1e-10:
        raise DefinitionError(f"{key}: not positive definite")
    return np.asarray(R, dtype=float)


def _scenario(t: TomlTable, arms: tuple[str, ...], visits: int) -> Scenario:
    name = t.text("name")
    mean_change = _per_arm(t, "mean_change", arms, visits, -np.inf, None)
    sd = _per_visit(t, "sd", visits, 0.0, None)
    if min(sd) <= 0:
        raise DefinitionError(f"{t.path('sd')}: every SD must be positive")
    correlation = _correlation(t, visits)
    slope = t.number("baseline_slope", 0.0)
    retention = _per_arm(t, "retention", arms, visits, 0.0, 1.0)
    for code, r in retention.items():
        if any(b > a for a, b in itertools.pairwise(r)):
            raise DefinitionError(
                f"{t.path('retention')}.{code}: must not increase ({show(list(r))})"
            )
        if r[-1] <= 0:
            raise DefinitionError(f"{t.path('retention')}.{code}: nobody reaches the last visit")
    dropout = t.choice("dropout", DROPOUT_MECHANISMS, "mcar")
    t.done()
    return Scenario(name, mean_change, sd, correlation, slope, retention, dropout)


def parse_scenarios(path: Path, data: dict[str, object]) -> SimulationPlan:
    """Check the parsed scenarios file ``data`` (read from ``path``) against its trial."""
    t = TomlTable(data, "")
    trial_path = (path.parent / t.text("trial")).resolve()
    trial = load_definition(trial_path)
    arms = tuple(a.code for a in trial.arms)
    visits = len(trial.post_baseline_visits)
    replicates = t.integer("replicates", 1000, 1, MAX_REPLICATES)
    seed = t.integer("seed", 20240101, 0, 2**63 - 1)
    subjects = t.integer("subjects", None, 2 * len(arms), MAX_SUBJECTS)
    if subjects is None:
        raise DefinitionError(f"{t.path('subjects')}: required key is missing")
    alloc_t = t.table("allocation")
    allocation = {a.code: float(a.allocation) for a in trial.arms}
    if alloc_t is not None:
        for code in alloc_t.data:
            if code not in arms:
                raise DefinitionError(f"{alloc_t.path(code)}: {code!r} is not an arm of the trial")
        allocation = {a: alloc_t.number(a, allocation[a], 0.0, 1000.0, low_open=True) for a in arms}
        alloc_t.done()
    base = t.table("baseline")
    if base is None:
        raise DefinitionError("baseline: required table is missing")
    mean = base.number("mean", None)
    sd = base.number("sd", None, 0.0, None, low_open=True)
    for name, value in (("mean", mean), ("sd", sd)):
        if value is None:
            raise DefinitionError(f"{base.path(name)}: required key is missing")
    base.done()
    tables = t.tables("scenarios", required=True)
    if not tables:
        raise DefinitionError("scenarios: at least one scenario is needed")
    scenarios = tuple(_scenario(s, arms, visits) for s in tables)
    names = [s.name for s in scenarios]
    dup = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if dup is not None:
        raise DefinitionError(f"scenarios: name {dup!r} appears twice")
    t.done()
    assert mean is not None and sd is not None
    return SimulationPlan(
        path, trial_path, trial, replicates, seed, subjects, allocation, mean, sd, scenarios
    )


def load_scenarios(path: Path | str) -> SimulationPlan:
    """Read and check a scenarios file; errors name the file and the key."""
    path = Path(path)
    data = read_toml(path, what="scenarios file")
    try:
        return parse_scenarios(path, data)
    except DefinitionError as exc:
        text = str(exc)
        raise DefinitionError(text if text.startswith(str(path)) else f"{path}: {text}") from None
