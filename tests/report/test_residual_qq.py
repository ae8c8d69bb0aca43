"""The diagnostics' normal QQ plot: the analysis writes its positions (scipy's probplot of the
primary MMRM's residuals) to tables/primary_residual_qq.csv, and the report draws those."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

from trialkit.report import AnalysisOutput, figures
from trialkit.report.blinding import pool

from .conftest import render

QQ = "primary_residual_qq"


def test_the_table_is_probplot_of_the_written_residuals(analysis_output: Path) -> None:
    """Checked against probplot run here on adam/analysis_primary.csv's RESID."""
    table = pd.read_csv(analysis_output / "tables" / f"{QQ}.csv")
    resid = pd.read_csv(analysis_output / "adam" / "analysis_primary.csv")["RESID"].dropna()
    (quantile, ordered), (slope, intercept, _) = stats.probplot(resid.to_numpy(), dist="norm")
    assert list(table.columns) == ["theoretical_quantile", "residual", "line"]
    assert len(table) == len(resid) > 0
    np.testing.assert_allclose(table["theoretical_quantile"], quantile, rtol=1e-15)
    np.testing.assert_allclose(table["residual"], ordered, rtol=1e-15)
    np.testing.assert_allclose(table["line"], slope * quantile + intercept, rtol=1e-14)
    listed = json.loads((analysis_output / "results.json").read_text(encoding="utf-8"))["tables"]
    assert {"name": QQ, "path": f"tables/{QQ}.csv"}.items() <= next(
        t for t in listed if t["name"] == QQ
    ).items()


def test_the_figure_draws_the_tables_points_and_line(
    small_trial: Path, analysis_output: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the table's figures moved (so that a recomputation would show), the plot follows."""
    out = tmp_path / "results"
    shutil.copytree(analysis_output, out)
    path = out / "tables" / f"{QQ}.csv"
    table = pd.read_csv(path) * 2 + 1
    table.to_csv(path, index=False)
    drawn: dict[str, Figure] = {}
    to_svg = figures.to_svg

    def keep(fig: Figure, name: str, dpi: float = 100) -> str:
        drawn[name] = fig
        return to_svg(fig, name, dpi)

    monkeypatch.setattr(figures, "to_svg", keep)
    render(small_trial, out)
    points, line = drawn["diagnostics"].axes[0].get_lines()
    # the dots are one path: each point, a point a hair to its right, a gap (figures._dots)
    x, y = np.asarray(points.get_xdata()), np.asarray(points.get_ydata())
    np.testing.assert_array_equal(x[::3], table["theoretical_quantile"])
    np.testing.assert_array_equal(y[::3], table["residual"])
    np.testing.assert_array_equal(line.get_xdata(), table["theoretical_quantile"])
    np.testing.assert_array_equal(line.get_ydata(), table["line"])


def test_the_open_report_does_not_receive_it(analysis_output: Path) -> None:
    output = AnalysisOutput.load(analysis_output)
    assert output.table(QQ) is not None
    assert QQ not in pool(output).tables
