"""A figure of group sequential boundaries with the observed z statistics (for interim reports)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def plot_boundaries(
    boundaries_df: pd.DataFrame, observed: Mapping[str, tuple[float, float]] | None = None
) -> Figure:
    """Efficacy (and futility) z boundaries by information fraction.

    ``observed`` maps a label to the (fraction, z) observed at a look.
    """
    fig = Figure(figsize=(6.0, 4.0))
    ax = fig.add_subplot()
    t = boundaries_df["information_fraction"].to_numpy(dtype=float)
    eff = np.clip(boundaries_df["efficacy_z"].to_numpy(dtype=float), None, 8.0)
    ax.plot(t, eff, "o-", color="tab:red", label="efficacy boundary")
    if "futility_z" in boundaries_df:
        fut = np.clip(boundaries_df["futility_z"].to_numpy(dtype=float), -8.0, None)
        ax.plot(t, fut, "s--", color="tab:blue", label="futility boundary")
    for label, (frac, z) in (observed or {}).items():
        ax.plot([frac], [z], "k*", markersize=10)
        ax.annotate(label, (frac, z), textcoords="offset points", xytext=(5, 5))
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xlim(0.0, 1.05)
    ax.set_xlabel("information fraction")
    ax.set_ylabel("z statistic")
    ax.legend(loc="best")
    fig.tight_layout()
    return fig
