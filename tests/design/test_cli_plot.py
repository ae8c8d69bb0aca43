"""The ``gsd`` command (table, JSON, errors) and the boundary figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

from trialkit.cli.design import app
from trialkit.design.boundaries import group_sequential_design
from trialkit.design.plot import plot_boundaries
from trialkit.errors import DefinitionError

runner = CliRunner()


def test_gsd_table_from_options() -> None:
    result = runner.invoke(
        app, ["gsd", "--fractions", "0.33,0.67,1", "--futility", "of", "--binding"]
    )
    assert result.exit_code == 0, result.output
    assert "efficacy_z" in result.output and "futility_z" in result.output
    assert "binding" in result.output and "inflation factor" in result.output


def test_gsd_json_matches_library() -> None:
    result = runner.invoke(
        app, ["gsd", "--fractions", "0.5,1", "--sided", "2", "--alpha", "0.05", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = data["designs"][0]["boundaries"]
    expected = group_sequential_design([0.5, 1.0], 0.05, 2, "of").efficacy_z
    assert [r["efficacy_z"] for r in rows] == pytest.approx(list(expected))
    assert data["plan"]["sided"] == 2


def test_gsd_from_trial_toml_with_override(tmp_path: Path) -> None:
    (tmp_path / "trial.toml").write_text(
        '[interim]\ninformation_fractions = [0.5, 1.0]\nefficacy_spending = "hsd"\n'
        "efficacy_gamma = -4\n"
        "effect = 0.5\nsd = 1.0\nactive_arms = 2\n"
    )
    result = runner.invoke(app, ["gsd", "--trial", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    entry = json.loads(result.output)["designs"][0]
    assert entry["alpha"] == pytest.approx(0.0125) and entry["arms"] == [1, 2]
    assert "max_information" in entry and "max_subjects_two_arm" in entry
    result = runner.invoke(app, ["gsd", "--trial", str(tmp_path), "--alpha", "0.05", "--json"])
    assert json.loads(result.output)["designs"][0]["alpha"] == pytest.approx(0.025)


def test_gsd_errors_raise_definition_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["gsd", "--fractions", "0.5,0.4,1"])
    assert isinstance(result.exception, DefinitionError)
    assert str(result.exception) == "--fractions: must increase and end at 1 (got [0.5, 0.4, 1.0])"
    result = runner.invoke(app, ["gsd", "--fractions", "0.5,x"])
    assert str(result.exception).startswith("--fractions: must be comma-separated numbers")
    result = runner.invoke(app, ["gsd", "--fractions", "0.5,1", "--spending", "obf"])
    assert str(result.exception).startswith("--spending: 'obf' is not one of of, pocock, hsd, kd")
    (tmp_path / "trial.toml").write_text(
        "[interim]\ninformation_fractions = [0.5, 1.0]\nalpha = 0.9\n"
    )
    result = runner.invoke(app, ["gsd", "--trial", str(tmp_path)])
    assert str(result.exception).startswith("interim.alpha: must be in (0, 0.5)")
    result = runner.invoke(app, ["gsd"])
    assert result.exit_code != 0


def test_plot_boundaries() -> None:
    design = group_sequential_design([1 / 3, 2 / 3, 1.0], futility="of")
    fig = plot_boundaries(design.table(), {"IA1": (0.35, 1.2)})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) >= 3
    assert plot_boundaries(group_sequential_design([0.5, 1.0]).table(), None).axes
