"""The tipping-point figure of the missing-data section: each active arm's delta-adjusted
difference from the reference, with its confidence band, against delta; the tipping delta
marked and the favourable side of zero labelled (from the parameter's ``direction``).

Drawn as :mod:`trialkit.report.figures` draws (same palette, markers, SVG output).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd

from trialkit.report.figures import STYLE, arm_colours, arm_markers, new_figure, plain, to_svg
from trialkit.report.formatting import fmt_num


def tipping_figure(
    rows: pd.DataFrame,
    tipping: Mapping[str, float | None],
    arm_labels: Mapping[str, str],
    all_arms: Sequence[str],
    reference: str,
    unit: str,
    direction: str,
    confidence: float,
) -> str:
    """``rows``: ``arm, delta, estimate, lower, upper`` (results.json ``tipping_point``);
    ``tipping``: arm -> tipping delta or None; ``arm_labels``: the arms drawn, in order;
    ``all_arms`` keeps each arm's colour; ``direction``: ``higher`` or ``lower`` is better."""
    with matplotlib.rc_context(STYLE):  # the report figures' style
        colours, markers = arm_colours(all_arms), arm_markers(all_arms)
        fig = new_figure(6.8, 3.6)
        ax = fig.add_subplot()
        for code, label in arm_labels.items():
            arm = rows.loc[rows["arm"].astype(str) == code].sort_values("delta")
            if arm.empty:
                continue
            x = arm["delta"].to_numpy(float)
            colour = colours.get(code, "#000000")
            ax.fill_between(
                x, arm["lower"].to_numpy(float), arm["upper"].to_numpy(float),
                color=colour, alpha=0.15, linewidth=0,
            )  # fmt: skip
            ax.plot(
                x, arm["estimate"].to_numpy(float), color=colour, marker=markers.get(code, "o"),
                markersize=4, linewidth=1.6, label=plain(label),
            )  # fmt: skip
            delta = tipping.get(code)
            if delta is not None and np.isfinite(delta):
                ax.axvline(delta, color=colour, linestyle="--", linewidth=1.0)
                ax.annotate(
                    plain(f"tipping delta {fmt_num(delta, 2)}"), (delta, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(3, -3), textcoords="offset points",
                    va="top", fontsize=7.5, color=colour, rotation=90,
                )  # fmt: skip
        ax.axhline(0.0, color="#555555", linewidth=0.8)
        # the estimate is the active arm minus the reference: above zero favours the active arm
        # when higher values are better, the reference when lower ones are
        above, below = "active arm", plain(reference)
        if direction == "lower":
            above, below = below, above
        for y, va, text in (
            (1.0, "top", f"↑ favours {above}"),
            (0.0, "bottom", f"↓ favours {below}"),
        ):
            ax.annotate(
                text, (0.01, y),
                xycoords="axes fraction", va=va, ha="left", fontsize=7.5, color="#555555",
            )  # fmt: skip
        ax.set_xlabel(plain(f"Delta added to imputed values of the active arms ({unit})"))
        ax.set_ylabel(plain(f"Difference from {reference} ({unit})"))
        ax.set_title(
            f"Delta-adjusted difference with {confidence:.0%} confidence interval",
            fontsize=9, loc="left",
        )  # fmt: skip
        fig.legend(loc="outside lower center", ncols=min(4, max(1, len(arm_labels))), frameon=False,
                   fontsize=8)  # fmt: skip
        return to_svg(fig, "tipping")


__all__ = ["tipping_figure"]
