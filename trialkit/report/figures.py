"""Report figures: matplotlib (Agg, no pyplot state) rendered to deterministic inline SVG.

Every figure uses the Okabe-Ito colour-blind-safe palette, gives each arm the same colour
everywhere (by its position in ``trial.toml``), labels its axes with units, and keeps text
as text (``svg.fonttype = none``) so it can be searched and read by assistive tools. Output is
byte-for-byte reproducible: a fixed ``svg.hashsalt`` per figure and no date metadata.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from trialkit.report.formatting import display_text

#: Okabe & Ito (2008), reordered so neighbouring arms contrast well; black is kept for pooled.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
)
POOLED_COLOUR = "#000000"
#: Site lines (recruitment): Okabe-Ito without yellow, which is too pale on white.
SITE_COLOURS: tuple[str, ...] = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#0072B2")
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X")
#: The most characters of one data text (an arm label, a subgroup level) a figure shows.
FIGURE_TEXT_MAX = 120

#: The report figures' matplotlib style (a figure is drawn inside ``rc_context(STYLE)``).
STYLE: Any = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "text.usetex": False,
    "path.simplify": False,  # keeps the tiny segments that draw scatter dots
}


def arm_colours(arm_codes: Sequence[str]) -> dict[str, str]:
    """Colour of each arm, by its position in ``trial.toml`` (stable across figures)."""
    return {code: OKABE_ITO[i % len(OKABE_ITO)] for i, code in enumerate(arm_codes)}


def arm_markers(arm_codes: Sequence[str]) -> dict[str, str]:
    """Marker of each arm: a second cue besides colour, for grey-scale prints."""
    return {code: MARKERS[i % len(MARKERS)] for i, code in enumerate(arm_codes)}


def plain(text: Any) -> str:
    """Data text for matplotlib: as :func:`display_text` shows it (no character that is invalid
    in SVG, at most ``FIGURE_TEXT_MAX`` characters), with ``$`` escaped (it starts mathtext).

    matplotlib escapes ``<``, ``&`` and quotes itself, so any label makes a well-formed figure.
    """
    return display_text(str(text), FIGURE_TEXT_MAX).replace("$", r"\$")


def to_svg(fig: Figure, name: str, dpi: float = 100) -> str:
    """The figure as an inline ``<svg>`` element: no XML prologue, no date, stable ids.

    ``name`` salts the element ids so two figures on one page never share an id.
    """
    buffer = io.StringIO()
    rc: Any = {**STYLE, "svg.hashsalt": f"trialkit-{name}"}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        # text stays text (the reader's fonts draw it): a glyph missing from matplotlib's
        # font only makes its layout estimate, so it is no reason to warn
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(buffer, format="svg", dpi=dpi, metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = text[start:]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    # matplotlib numbers ids per figure (axes_1, line2d_1...): prefix them to keep them unique
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', svg)
    svg = re.sub(r'(url\(#|href="#)([^)"]+)', lambda m: f"{m.group(1)}{name}-{m.group(2)}", svg)
    # scale with the page: keep the viewBox, let CSS set the width
    svg = re.sub(r'\swidth="[^"]*pt"\s+height="[^"]*pt"', ' class="figure-svg"', svg, count=1)
    return svg.strip()


def _legend_columns(labels: Iterable[str]) -> int:
    """Legend columns that fit the figure's width: long arm labels get two columns."""
    items = list(labels)
    longest = max((len(x) for x in items), default=0)
    per_row = 4 if longest <= 18 else 3 if longest <= 26 else 2 if longest <= 48 else 1
    return max(1, min(len(items), per_row))


def new_figure(width: float, height: float) -> Figure:
    """A figure with constrained layout and the report's style."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def lsmeans_figure(
    lsmeans: pd.DataFrame,
    arm_labels: Mapping[str, str],
    visit_days: Mapping[str, int],
    visit_labels: Mapping[str, str],
    y_label: str,
    confidence: float,
) -> str:
    """LS mean change from baseline over visits, one line per arm, with CI bars."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.8, 3.6)
        ax = fig.add_subplot()
        codes = list(arm_labels)
        colours, markers = arm_colours(codes), arm_markers(codes)
        days = sorted(set(visit_days.values()))
        span = (max(days) - min(days)) if len(days) > 1 else 1
        dodge = span * 0.012
        for i, code in enumerate(codes):
            rows = lsmeans[lsmeans["arm"] == code].copy()
            if rows.empty:
                continue
            rows["day"] = rows["visit"].map(visit_days)
            rows = rows.dropna(subset=["day"]).sort_values("day")
            x = rows["day"].to_numpy(float) / 7.0 + (i - (len(codes) - 1) / 2) * dodge / 7.0
            y = rows["estimate"].to_numpy(float)
            lo = y - rows["lower"].to_numpy(float)
            hi = rows["upper"].to_numpy(float) - y
            ax.errorbar(
                x, y, yerr=np.vstack([lo, hi]), color=colours[code], marker=markers[code],
                markersize=5, capsize=3, linewidth=1.6, label=plain(arm_labels[code]),
            )  # fmt: skip
        ax.axhline(0.0, color="#555555", linewidth=0.8)
        ticks = sorted(visit_days.items(), key=lambda kv: kv[1])
        ax.set_xticks([d / 7.0 for _, d in ticks])
        ax.set_xticklabels([plain(visit_labels.get(v, v)) for v, _ in ticks])
        ax.set_xlabel("Visit (weeks after randomisation)")
        ax.set_ylabel(plain(y_label))
        ax.set_title(f"LS mean with {confidence:.0%} confidence interval", fontsize=9, loc="left")
        fig.legend(loc="outside lower center", ncols=_legend_columns(arm_labels.values()),
                   frameon=False, fontsize=8)  # fmt: skip
        return to_svg(fig, "lsmeans")


def forest_figure(
    rows: pd.DataFrame,
    arm_labels: Mapping[str, str],
    x_label: str,
    confidence: float,
    overall: pd.DataFrame | None = None,
    all_arms: Sequence[str] | None = None,
) -> str:
    """Forest plot: arm minus reference within each subgroup level (and overall), with CIs.

    ``rows`` has ``subgroup, level, arm, estimate, lower, upper``; ``overall`` has
    ``arm, estimate, lower, upper`` for the whole population. ``all_arms`` (every ARMCD in
    trial.toml order) keeps each arm's colour the same as in the other figures.
    """
    with matplotlib.rc_context(STYLE):
        codes = list(arm_labels)
        every = list(all_arms) if all_arms is not None else codes
        colours, markers = arm_colours(every), arm_markers(every)
        active = [c for c in codes if c in set(rows["arm"])]
        lines: list[tuple[str, str | None]] = []  # (label, key) ; key None = header
        if overall is not None and not overall.empty:
            lines.append(("All subjects", "__overall__"))
        for subgroup, group in rows.groupby("subgroup", sort=False):
            lines.append((str(subgroup), None))
            for level in dict.fromkeys(group["level"].astype(str)):
                lines.append((f"    {level}", f"{subgroup}\x1f{level}"))
        height = 1.0 + 0.28 * len(lines) * max(1, len(active)) ** 0.5
        fig = new_figure(6.8, min(max(height, 2.5), 9.0))
        ax = fig.add_subplot()
        ax.grid(axis="y", visible=False)
        n_lines = len(lines)
        offset = 0.18 if len(active) > 1 else 0.0
        for row_i, (_label, key) in enumerate(lines):
            ypos = n_lines - row_i
            if key is None:
                continue
            for j, code in enumerate(active):
                if key == "__overall__":
                    assert overall is not None
                    sel = overall[overall["arm"] == code]
                else:
                    subgroup, level = key.split("\x1f")
                    sel = rows[
                        (rows["subgroup"].astype(str) == subgroup)
                        & (rows["level"].astype(str) == level)
                        & (rows["arm"] == code)
                    ]
                if sel.empty:
                    continue
                r = sel.iloc[0]
                y = ypos - (j - (len(active) - 1) / 2) * offset  # first arm on top
                est, lo, hi = float(r["estimate"]), float(r["lower"]), float(r["upper"])
                if not np.isfinite(est):
                    continue
                ax.plot([lo, hi], [y, y], color=colours[code], linewidth=1.4)
                ax.plot(
                    [est], [y], marker=markers[code], color=colours[code], markersize=5,
                    linestyle="none", label=plain(arm_labels[code]),
                )  # fmt: skip
        ax.axvline(0.0, color="#555555", linewidth=0.8)
        ax.set_yticks([n_lines - i for i in range(n_lines)])
        ax.set_yticklabels([plain(label) for label, _ in lines])
        for tick, (_label, key) in zip(ax.get_yticklabels(), lines, strict=True):
            if key is None:
                tick.set_fontweight("bold")
        ax.set_ylim(0.4, n_lines + 0.6)
        ax.set_xlabel(plain(x_label))
        ax.set_title(
            f"Difference from reference with {confidence:.0%} confidence interval",
            fontsize=9, loc="left",
        )  # fmt: skip
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=False))
        fig.legend(
            unique.values(), unique.keys(), loc="outside lower center",
            ncols=_legend_columns(unique.keys()), frameon=False, fontsize=8,
        )  # fmt: skip
        return to_svg(fig, "forest")


def _dots(ax: Any, x: np.ndarray, y: np.ndarray, colour: str, size: float = 3.0) -> None:
    """Many points as one path of round-capped tiny segments (one SVG element, not one each).

    Matplotlib writes a marker per point, which makes PDF rendering of a thousand-point
    scatter slow; a single path with a subpath per point draws the same dots.
    """
    span = float(np.ptp(x)) if len(x) > 1 and np.ptp(x) > 0 else 1.0
    eps = span * 1e-4
    n = len(x)
    xs = np.column_stack([x, x + eps, np.full(n, np.nan)]).ravel()
    ys = np.column_stack([y, y, np.full(n, np.nan)]).ravel()
    (line,) = ax.plot(xs, ys, color=colour, linewidth=size, alpha=0.6, solid_capstyle="round")
    line.set_antialiased(True)


def diagnostics_figure(
    fitted: np.ndarray, residuals: np.ndarray, qq: pd.DataFrame, unit: str
) -> str:
    """Model diagnostics: normal QQ plot of residuals (the analysis' positions and line,
    ``tables/primary_residual_qq.csv``), and residuals against fitted values."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.8, 3.0)
        ax_qq, ax_rf = fig.subplots(1, 2)
        resid = np.asarray(residuals, dtype=float)
        ok = np.isfinite(resid) & np.isfinite(np.asarray(fitted, dtype=float))
        resid, fit = resid[ok], np.asarray(fitted, dtype=float)[ok]
        quantile = qq["theoretical_quantile"].to_numpy(dtype=float)
        _dots(ax_qq, quantile, qq["residual"].to_numpy(dtype=float), OKABE_ITO[0])
        ax_qq.plot(quantile, qq["line"].to_numpy(dtype=float), color=OKABE_ITO[3], linewidth=1)
        ax_qq.set_xlabel("Theoretical normal quantile")
        ax_qq.set_ylabel(plain(f"Residual ({unit})"))
        ax_qq.set_title("Normal QQ plot of residuals", fontsize=9)
        _dots(ax_rf, fit, resid, OKABE_ITO[0])
        ax_rf.axhline(0.0, color=OKABE_ITO[3], linewidth=1)
        ax_rf.set_xlabel(plain(f"Fitted value ({unit})"))
        ax_rf.set_ylabel(plain(f"Residual ({unit})"))
        ax_rf.set_title("Residuals against fitted values", fontsize=9)
        return to_svg(fig, "diagnostics")


def recruitment_figure(by_date: pd.DataFrame, planned: int | None = None) -> str:
    """Cumulative subjects randomised over time, pooled over arms (safe for open reports).

    ``by_date`` is the analysis' ``pooled_recruitment_dates`` table (``period, site, n,
    cumulative``): the "Total" site drawn thick, each site as a thin line under it.
    """
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.8, 3.0)
        ax = fig.add_subplot()
        site = by_date["site"].astype(str)
        names = [s for s in dict.fromkeys(site) if s != "Total"]
        few = len(names) <= 6

        def steps(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
            return pd.to_datetime(rows["period"]).to_numpy(), rows["cumulative"].to_numpy()

        for k, name in enumerate(sorted(names)):
            ax.step(
                *steps(by_date[site == name]), where="post", linewidth=1.0,
                color=SITE_COLOURS[k % len(SITE_COLOURS)] if few else "#999999",
                label=plain(f"Site {name}") if few else None,
            )  # fmt: skip
        if not few:
            ax.plot([], [], color="#999999", linewidth=1.0, label="Single sites")
        ax.step(
            *steps(by_date[site == "Total"]), where="post", color=POOLED_COLOUR,
            linewidth=1.8, label="All sites",
        )  # fmt: skip
        if planned:
            ax.axhline(planned, color=OKABE_ITO[3], linestyle="--", linewidth=1, label="Planned")
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_xlabel("Date of randomisation")
        ax.set_ylabel("Subjects randomised (cumulative)")
        ax.legend(loc="upper left", frameon=False, fontsize=8)  # cumulative lines rise to the right
        return to_svg(fig, "recruitment")


def boundaries_figure(
    table: pd.DataFrame,
    observed: Mapping[str, tuple[float, float]],
    arm_labels: Mapping[str, str],
    all_arms: Sequence[str],
) -> str:
    """Group sequential efficacy (and futility) boundaries on the z scale by information
    fraction, with each arm's observed z at this look in the arm's colour."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.8, 3.4)
        ax = fig.add_subplot()
        colours, markers = arm_colours(all_arms), arm_markers(all_arms)
        t = table["information_fraction"].to_numpy(dtype=float)
        eff = np.clip(table["efficacy_z"].to_numpy(dtype=float), None, 8.0)
        ax.plot(t, eff, "-", color="#555555", linewidth=1.6, marker="o", markersize=4,
                label="Efficacy boundary")  # fmt: skip
        if "futility_z" in table:
            fut = np.clip(table["futility_z"].to_numpy(dtype=float), -8.0, None)
            ax.plot(t, fut, "--", color="#999999", linewidth=1.2, label="Futility boundary")
        for code, (frac, z) in observed.items():
            ax.plot([frac], [z], linestyle="none", marker=markers.get(code, "o"), markersize=7,
                    color=colours.get(code, POOLED_COLOUR),
                    label=plain(f"{arm_labels.get(code, code)} (observed)"))  # fmt: skip
        ax.axhline(0.0, color="#555555", linewidth=0.6)
        ax.set_xlim(0.0, 1.05)
        ax.set_xlabel("Information fraction")
        ax.set_ylabel("z (positive favours active arm)")
        handles, labels = ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", frameon=False, fontsize=8,
                   ncols=_legend_columns(labels))  # fmt: skip
        return to_svg(fig, "boundaries")
