"""trialkit simulate: identical replicates with 1 or 2 workers and a LocalCluster, resume equals
an uninterrupted run, and its statistics against R (longpower, rpact) and nominal levels."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.simulation.trials import DESIGNS, design_files, scenarios_toml, trial_toml, write
from trialkit.cli import main
from trialkit.errors import Interrupted
from trialkit.simulation.run import SimulationOptions, parts_dir, run_simulation
from trialkit.simulation.scenarios import load_scenarios

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "simulation"


def small(tmp_path: Path, replicates: int = 6) -> Path:
    """A two-arm, three-visit trial of 40 subjects with MAR dropout."""
    means = {"A0": [1.0, 2.0, 3.0], "A1": [2.0, 5.0, 8.0]}
    retention = {"A0": [0.95, 0.9, 0.8], "A1": [0.95, 0.85, 0.8]}
    return write(
        tmp_path / "in",
        trial_toml(2, 3),
        scenarios_toml(
            means,
            retention,
            [8.0, 9.0, 10.0],
            '{ structure = "ar1", rho = 0.6 }',
            40,
            replicates,
            extra='baseline_slope = 0.05\ndropout = "mar"\n',
        ),
    )


def run(scenarios: Path, out: Path, **options: object) -> Path:
    plan = load_scenarios(scenarios)
    run_simulation(plan, out, SimulationOptions(batch_size=2, **options))  # type: ignore[arg-type]
    return out / "replicates.parquet"


def test_replicates_are_identical_with_one_and_two_workers(tmp_path: Path) -> None:
    scenarios = small(tmp_path)
    one = run(scenarios, tmp_path / "one", workers=1)
    two = run(scenarios, tmp_path / "two", workers=2)
    assert one.read_bytes() == two.read_bytes()
    rows = pd.read_parquet(one)
    assert sorted(rows["replicate"].unique()) == list(range(6))
    assert set(rows.columns) >= {
        "scenario",
        "replicate",
        "estimate",
        "se",
        "df",
        "p",
        "rejected",
        "look",
    }
    for name in ("summary.csv", "looks.csv", "power.png", "manifest.json"):
        assert (tmp_path / "one" / name).is_file()
    assert not parts_dir(tmp_path / "one").exists()


@pytest.mark.slow
def test_replicates_are_identical_on_a_local_dask_cluster(tmp_path: Path) -> None:
    scenarios = small(tmp_path, replicates=4)
    one = run(scenarios, tmp_path / "one", workers=1)
    dask = run(scenarios, tmp_path / "dask", scheduler="local:2")
    assert one.read_bytes() == dask.read_bytes()


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    scenarios = small(tmp_path)
    plan = load_scenarios(scenarios)
    out = tmp_path / "resumed"

    def stop(done: int, total: int) -> None:
        if done >= 4:
            raise Interrupted(signal.SIGINT)

    with pytest.raises(Interrupted):
        run_simulation(plan, out, SimulationOptions(workers=1, batch_size=2), stop)
    assert not out.exists()
    saved = sorted(p.name for p in parts_dir(out).glob("part-*.parquet"))
    assert len(saved) == 1  # the first batch; the second's progress call stopped the run
    assert main(["simulate", str(scenarios), "--out", str(out)]) == 2  # parts need --resume
    seen: list[int] = []
    run_simulation(
        plan,
        out,
        SimulationOptions(workers=1, batch_size=2, resume=True),
        lambda done, total: seen.append(done),
    )
    assert seen[0] == 4  # continued after the saved batch
    fresh = run(scenarios, tmp_path / "fresh", workers=1)
    assert (out / "replicates.parquet").read_bytes() == fresh.read_bytes()
    assert (out / "summary.csv").read_bytes() == (tmp_path / "fresh" / "summary.csv").read_bytes()


def test_resume_without_an_interrupted_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenarios = small(tmp_path)
    assert main(["simulate", str(scenarios), "--out", str(tmp_path / "o"), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "no interrupted simulation to resume" in err and err.count("\n") == 1


def test_an_unreachable_scheduler_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trialkit.parallel.CONNECT_TIMEOUT", 1.0)
    scenarios = small(tmp_path, replicates=2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "o"
    code = main(
        ["simulate", str(scenarios), "--out", str(out), "--scheduler", f"tcp://127.0.0.1:{port}"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "unreachable" in err and err.count("\n") == 1
    assert not out.exists()


def test_the_cli_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenarios = small(tmp_path, replicates=2)
    assert (
        main(
            [
                "simulate",
                str(scenarios),
                "--out",
                str(tmp_path / "o"),
                "--workers",
                "1",
                "--replicates",
                "3",
                "--seed",
                "5",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "rejection_rate" in printed and "A1" in printed
    summary = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert summary["replicates"].tolist() == [3, 3]  # --replicates overrides the file


def within_mc(rate: float, expected: float, n: int) -> bool:
    return abs(rate - expected) <= 3.0 * np.sqrt(expected * (1.0 - expected) / n)


@pytest.mark.slow
@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_power_agrees_with_longpower_within_3_mc_se(tmp_path: Path, design: str) -> None:
    n = 120
    run(design_files(tmp_path / "in", design, n, seed=11), tmp_path / "o", workers=2)
    summary = pd.read_csv(tmp_path / "o" / "summary.csv")
    reference = pd.read_csv(FIXTURES / "longpower.csv").set_index("design")
    rate = float(summary.loc[summary["comparison"] == "A1", "rejection_rate"].iloc[0])
    assert within_mc(rate, float(reference.loc[design, "power"]), n)


@pytest.mark.slow
def test_type_i_and_family_wise_error_under_the_null_are_nominal(tmp_path: Path) -> None:
    """Three arms, Dunnett: the family-wise error is alpha, each unadjusted test's type I too."""
    n = 200
    means = {a: [2.0, 4.0, 6.0] for a in ("A0", "A1", "A2")}
    retention = {a: [0.95, 0.9, 0.85] for a in ("A0", "A1", "A2")}
    scenarios = write(
        tmp_path / "in",
        trial_toml(3, 3, multiplicity="dunnett"),
        scenarios_toml(
            means,
            retention,
            [8.0, 9.0, 10.0],
            '{ structure = "cs", rho = 0.5 }',
            45,
            n,
            seed=3,
            name="null",
        ),
    )
    rows = pd.read_parquet(run(scenarios, tmp_path / "o", workers=2))
    summary = pd.read_csv(tmp_path / "o" / "summary.csv")
    fwer = float(summary.loc[summary["comparison"] == "any", "rejection_rate"].iloc[0])
    assert within_mc(fwer, 0.05, n)
    for arm in ("A1", "A2"):
        assert within_mc(float((rows.loc[rows["comparison"] == arm, "p"] <= 0.05).mean()), 0.05, n)
        assert summary.loc[summary["comparison"] == arm, "failed_fits"].iloc[0] == 0


@pytest.mark.slow
def test_group_sequential_rejection_per_look_agrees_with_rpact(tmp_path: Path) -> None:
    n = 150
    interim = (
        "\n[interim]\ninformation_fractions = [0.5, 1.0]\nalpha = 0.025\nsided = 1\n"
        'efficacy_spending = "of"\nmax_subjects = 80\n'
    )
    reference = pd.read_csv(FIXTURES / "rpact_gs.csv")
    for effect in (0.0, 6.0):
        means = {"A0": [0.0, 0.0, 0.0], "A1": [effect / 3, 2 * effect / 3, effect]}
        keep = {"A0": [1.0, 1.0, 1.0], "A1": [1.0, 1.0, 1.0]}
        folder = tmp_path / f"e{effect:g}"
        scenarios = write(
            folder / "in",
            trial_toml(2, 3, interim=interim),
            scenarios_toml(
                means, keep, [10.0, 10.0, 10.0], '{ structure = "ar1", rho = 0.6 }', 80, n, seed=5
            ),
        )
        run(scenarios, folder / "o", workers=2)
        looks = pd.read_csv(folder / "o" / "looks.csv")
        mine = looks[looks["comparison"] == "A1"].set_index("look")["rejection_rate"]
        ref = reference[reference["effect"] == effect].set_index("look")["rejection"]
        for look in (1, 2):
            expected = max(float(ref[look]), 1.0 / n)
            assert within_mc(float(mine.get(look, 0.0)), expected, n), (effect, look)
        summary = pd.read_csv(folder / "o" / "summary.csv")
        stop1 = float(ref[1])
        assert summary["expected_subjects"].iloc[0] == pytest.approx(
            80 - 40 * stop1, abs=40 * 3 * np.sqrt(stop1 * (1 - stop1) / n) + 1
        )
