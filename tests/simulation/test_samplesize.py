"""Sample size: the Lu, Luo & Chen closed form against longpower::power.mmrm (R fixtures),
the ANCOVA form against its formula, and the command's output."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import norm

from tests.simulation.trials import DESIGNS, design_files
from trialkit.cli import main
from trialkit.simulation.samplesize import closed_form_power, closed_form_total, comparisons
from trialkit.simulation.scenarios import load_scenarios

REFERENCE = pd.read_csv(
    Path(__file__).resolve().parents[1] / "fixtures" / "simulation" / "longpower.csv"
).set_index("design")


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_mmrm_power_and_n_equal_longpower(tmp_path: Path, design: str) -> None:
    plan = load_scenarios(design_files(tmp_path, design, 10))
    (c,) = comparisons(plan, plan.scenarios[0])
    ref = REFERENCE.loc[design]
    assert closed_form_power(plan, c, int(ref["N"]), "mmrm") == pytest.approx(
        ref["power"], rel=1e-9
    )
    total = closed_form_total(plan, c, 0.8, "mmrm")
    assert closed_form_power(plan, c, total, "mmrm") >= 0.8
    assert closed_form_power(plan, c, total - 2, "mmrm") < 0.8
    assert total - 3 <= ref["n_total_80"] <= total  # longpower's N is continuous


def test_ancova_uses_the_completers_at_the_primary_visit(tmp_path: Path) -> None:
    plan = load_scenarios(design_files(tmp_path, "cs_t4", 10))
    (c,) = comparisons(plan, plan.scenarios[0])
    se = math.sqrt(64 / (50 * 0.8) + 64 / (50 * 0.7))
    expected = norm.cdf(5 / se - norm.ppf(0.975))
    assert closed_form_power(plan, c, 100, "ancova") == pytest.approx(expected, rel=1e-12)
    assert closed_form_power(plan, c, 100, "mmrm") > closed_form_power(plan, c, 100, "ancova")


def test_the_command_prints_both_closed_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = design_files(tmp_path, "ar1_t3", 10)
    assert main(["sample-size", str(path), "--power", "0.8"]) == 0
    out = capsys.readouterr().out
    assert "A1 vs A0: effect 6; total N 104 (MMRM" in out and "(ANCOVA at W12)" in out
    assert main(["sample-size", str(path), "--scenario", "nope"]) == 2


@pytest.mark.slow
def test_the_simulated_search_finds_n_near_the_closed_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = design_files(tmp_path, "ar1_t3", 10)
    assert (
        main(["sample-size", str(path), "--simulate", "--replicates", "40", "--workers", "2"]) == 0
    )
    line = capsys.readouterr().out.splitlines()[-1]
    total = int(line.split("total N ")[1].split()[0])
    assert 60 <= total <= 160  # 104 by the closed form; 40 replicates give a rough answer
