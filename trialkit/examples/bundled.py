"""The bundled example trials: regenerate them, check the committed files, make small fresh ones.

Each folder of ``example_trials/`` with a ``scenario.toml`` is an example: ``trial.toml`` (the
definition, hand-written), ``scenario.toml`` (generator settings), ``README.md`` and the CSV
datasets the generator writes. A scenario with ``based_on`` (a dirty transfer) reuses its base's
definition and settings, copies the base's ``trial.toml`` and adds ``planted_problems.csv``.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from pathlib import Path

import pandas as pd

from trialkit.datasets import read_trial_datasets
from trialkit.definition import TrialDefinition, load_definition
from trialkit.examples.corruptions import apply_corruptions
from trialkit.examples.generator import generate_trial
from trialkit.examples.io import render_trial, write_trial
from trialkit.examples.scenario import Scenario, SiteSpec, load_scenario
from trialkit.resources import example_trials_dir

#: The example used by :func:`make_small_trial` (its definition and settings, fewer subjects).
SMALL_TRIAL_BASE = "tk_aga_301"


def example_names(root: Path | None = None) -> list[str]:
    """Names of the bundled examples (folders with a scenario.toml), bases before dirty copies."""
    root = root or example_trials_dir()
    names = sorted(p.parent.name for p in root.glob("*/scenario.toml"))
    return sorted(names, key=lambda n: (load_scenario(root / n).based_on is not None, n))


def example_dir(name: str, root: Path | None = None) -> Path:
    """The folder of bundled example ``name``."""
    return (root or example_trials_dir()) / name


def load_example(name: str, root: Path | None = None) -> tuple[TrialDefinition, Scenario]:
    """Definition and scenario of a bundled example (a dirty one uses its base's trial.toml)."""
    folder = example_dir(name, root)
    scenario = load_scenario(folder)
    source = folder.parent / scenario.based_on if scenario.based_on else folder
    return load_definition(source), scenario


def render_example(name: str, root: Path | None = None) -> dict[str, bytes]:
    """File name -> bytes of every generated file of example ``name`` (what is committed)."""
    folder = example_dir(name, root)
    definition, scenario = load_example(name, root)
    frames = generate_trial(definition, scenario)
    files: dict[str, bytes] = {}
    if scenario.corruptions:
        frames, planted = apply_corruptions(definition, scenario, frames)
        frames = {**frames, "planted_problems": planted}
    files.update(render_trial(frames))
    if scenario.based_on:
        files["trial.toml"] = (folder.parent / scenario.based_on / "trial.toml").read_bytes()
    return files


def regenerate(root: Path | None = None) -> list[Path]:
    """Rewrite the generated files of every bundled example; return the paths written."""
    written = []
    for name in example_names(root):
        folder = example_dir(name, root)
        for fname, data in render_example(name, root).items():
            (folder / fname).write_bytes(data)
            written.append(folder / fname)
    return written


def check(root: Path | None = None) -> list[Path]:
    """Generated files whose committed bytes differ from a fresh generation (empty: all match)."""
    differ = []
    for name in example_names(root):
        folder = example_dir(name, root)
        for fname, data in render_example(name, root).items():
            path = folder / fname
            if not path.exists() or path.read_bytes() != data:
                differ.append(path)
    return differ


def small_scenario(seed: int, n_per_arm: int = 10, base: str = SMALL_TRIAL_BASE) -> Scenario:
    """The settings of ``base`` with ``n_per_arm`` subjects per arm at three sites and ``seed``."""
    _, scenario = load_example(base)
    sites = (SiteSpec("01", 3.0), SiteSpec("02", 2.0, 10), SiteSpec("03", 1.0, 20))
    return dataclasses.replace(
        scenario,
        name=f"{base}_small_{seed}",
        seed=seed,
        n_per_arm=n_per_arm,
        sites=sites,
        enrolment_days=60,
        corruptions=(),
        based_on=None,
        interim_cutoff=None,
    )


def make_small_trial(
    seed: int, n_per_arm: int = 10, base: str = SMALL_TRIAL_BASE
) -> tuple[TrialDefinition, dict[str, pd.DataFrame]]:
    """A fresh small clean trial (definition of ``base``, ``n_per_arm`` subjects per arm;
    ``[interim]`` ``max_subjects`` scaled to that size, as in :func:`write_small_trial`).

    The frames are exactly what :func:`trialkit.datasets.read_trial_datasets` gives for the
    written files (same dtypes), so property tests see what the pipeline sees. Different seeds
    give different subjects, visit dates, dropouts and values; the same seed the same data.
    """
    definition, _ = load_example(base)
    frames = generate_trial(definition, small_scenario(seed, n_per_arm, base))
    if definition.interim is not None and definition.interim.max_subjects is not None:
        plan = dataclasses.replace(
            definition.interim, max_subjects=n_per_arm * len(definition.arms)
        )
        definition = dataclasses.replace(definition, interim=plan)
    with tempfile.TemporaryDirectory() as tmp:
        write_trial(frames, tmp)
        read = read_trial_datasets(Path(tmp))
    return definition, {name: ds.frame for name, ds in read.items()}


def write_small_trial(
    folder: Path | str, seed: int, n_per_arm: int = 10, base: str = SMALL_TRIAL_BASE
) -> Path:
    """Write a fresh small trial folder (``trial.toml`` of ``base`` and the CSV datasets).

    The ``[interim]`` plan's ``max_subjects`` becomes the small trial's size (``n_per_arm``
    times the arms), so its group sequential looks reach sensible information fractions.
    """
    return _write_resized(Path(folder), small_scenario(seed, n_per_arm, base), base)


def scaled_scenario(n_per_arm: int, base: str = SMALL_TRIAL_BASE) -> Scenario:
    """The settings of ``base`` (its sites, seed and enrolment) with ``n_per_arm`` subjects per
    arm: a trial of any size for benchmarks (``base``'s own size gives its bundled data)."""
    _, scenario = load_example(base)
    return dataclasses.replace(
        scenario, name=f"{base}_{n_per_arm}_per_arm", n_per_arm=n_per_arm, corruptions=()
    )


def write_scaled_trial(folder: Path | str, n_per_arm: int, base: str = SMALL_TRIAL_BASE) -> Path:
    """Write a trial folder of :func:`scaled_scenario` (``max_subjects`` scaled as in
    :func:`write_small_trial`)."""
    return _write_resized(Path(folder), scaled_scenario(n_per_arm, base), base)


def _write_resized(folder: Path, scenario: Scenario, base: str) -> Path:
    """Generate ``scenario`` with ``base``'s definition into ``folder``; ``trial.toml`` is
    ``base``'s with the ``[interim]`` ``max_subjects`` set to the trial's size."""
    definition, _ = load_example(base)
    write_trial(generate_trial(definition, scenario), folder)
    text = (example_dir(base) / "trial.toml").read_text(encoding="utf-8")
    size = scenario.n_per_arm * len(definition.arms)
    text = re.sub(r"(?m)^max_subjects = \d+$", f"max_subjects = {size}", text)
    (folder / "trial.toml").write_text(text, encoding="utf-8")
    return folder
