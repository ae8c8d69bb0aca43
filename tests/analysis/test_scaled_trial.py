"""The benchmarks' trials (``write_scaled_trial``): the multicentre example at any size."""

from __future__ import annotations

import pytest

from trialkit.examples import write_scaled_trial
from trialkit.resources import example_trials_dir
from trialkit.vocabulary import DATASETS


def test_bundled_size_is_the_bundled_example(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = write_scaled_trial(tmp_path_factory.mktemp("scaled") / "t", n_per_arm=75)
    bundled = example_trials_dir() / "tk_aga_301"
    written = sorted(p.name for p in folder.glob("*.csv"))
    assert written == sorted(f"{n}.csv" for n in DATASETS if (bundled / f"{n}.csv").exists())
    for name in written:
        assert (folder / name).read_bytes() == (bundled / name).read_bytes()
    assert (folder / "trial.toml").read_bytes() == (bundled / "trial.toml").read_bytes()


def test_other_sizes_scale_subjects_and_the_interim_plan(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = write_scaled_trial(tmp_path_factory.mktemp("scaled") / "t", n_per_arm=20)
    lines = (folder / "subjects.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 80
    assert "max_subjects = 80" in (folder / "trial.toml").read_text(encoding="utf-8")
