"""Efficacy and monitoring sections of the final and closed reports (never the open one).

A mixin of the context builder: primary analysis, LS means over visits, responders, subgroup
forest plot, sensitivity and secondary analyses, model diagnostics and group sequential
monitoring. Every method returns the section's data or ``None`` ("not available").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from trialkit.definition import Parameter, TrialDefinition
from trialkit.report import figures
from trialkit.report.formatting import (
    MISSING,
    fmt_cell,
    fmt_ci,
    fmt_est_ci,
    fmt_int,
    fmt_n_pct,
    fmt_num,
    fmt_p,
    humanize,
)
from trialkit.report.results import AnalysisOutput
from trialkit.report.tables import frame_table, make_table

#: Column header of p-values (a non-breaking hyphen keeps it on one line).
P_VALUE = "p\u2011value"

#: Readable names of covariance structures and degrees-of-freedom methods.
COVARIANCE_NAMES = {
    "us": "unstructured", "cs": "compound symmetry", "csh": "heterogeneous compound symmetry",
    "ar1": "first-order autoregressive", "ar1h": "heterogeneous first-order autoregressive",
    "toep": "Toeplitz", "toeph": "heterogeneous Toeplitz", "adh": "ante-dependence",
}  # fmt: skip

DF_NAMES = {"kenward-roger": "Kenward-Roger", "satterthwaite": "Satterthwaite",
            "residual": "residual"}  # fmt: skip

#: Names of the alpha-spending functions of ``[interim]``.
SPENDING_NAMES = {
    "of": "Lan-DeMets O'Brien-Fleming type",
    "pocock": "Lan-DeMets Pocock type",
    "hsd": "Hwang-Shih-DeCani",
    "kd": "Kim-DeMets power",
}


class EfficacySections:
    """Section builders that read arm-level results (``self.out``), for unblinded reports."""

    d: TrialDefinition
    out: AnalysisOutput | None
    arms: list[tuple[str, str]]
    arm_label: dict[str, str]
    param: Parameter
    y_what: str
    y_unit: str
    visit_days: dict[str, int]
    visit_labels: dict[str, str]
    primary_visit: str
    confidence: float
    opt: Any

    def _generic(
        self, frame: pd.DataFrame | None, max_rows: int, caption: str | None = None
    ) -> dict[str, Any] | None:
        """A results table rendered generically, codes shown by their labels."""
        if frame is None:
            return None
        if {"arm", "level", "n", "N"} <= set(frame.columns):
            return self._distribution(frame, caption)
        labels = dict(_LABELS)
        if "proportion" in frame.columns:  # responder proportions: percentages
            frame = frame.assign(**{c: frame[c] * 100 for c in ("proportion", "lower", "upper")
                                    if c in frame.columns})  # fmt: skip
            labels |= {"proportion": "Responders (%)", "lower": "Lower CI (%)",
                       "upper": "Upper CI (%)"}  # fmt: skip
        return frame_table(
            frame, labels=labels, max_rows=max_rows, values=self.code_labels(), caption=caption
        )

    def _distribution(self, frame: pd.DataFrame, caption: str | None) -> dict[str, Any]:
        """A distribution over levels as one row per level and one column per arm, n (%)."""
        arms = [(c, lbl) for c, lbl in self.arms if c in set(frame["arm"].astype(str))]
        totals = {c: int(frame.loc[frame["arm"].astype(str) == c, "N"].max()) for c, _ in arms}
        rows = []
        for level in dict.fromkeys(frame["level"]):
            cells = [fmt_cell("level", level)]
            for code, _ in arms:
                hit = frame[(frame["arm"].astype(str) == code) & (frame["level"] == level)]
                n = int(hit["n"].iloc[0]) if len(hit) else 0
                cells.append(fmt_n_pct(n, totals[code]))
            rows.append(cells)
        header = ["Level", *[f"{lbl} (N={totals[c]})" for c, lbl in arms]]
        return make_table(header, rows, caption=caption)

    def code_labels(self) -> dict[str, dict[str, str]]:
        """Arm and visit codes in generic tables shown by their labels."""
        arms = dict(self.arm_label)
        visits = dict(self.visit_labels)
        return {"arm": arms, "reference": arms, "ARMCD": arms, "visit": visits, "AVISIT": visits}

    def primary(self) -> dict[str, Any] | None:
        """LS means, differences, CIs, p-values and adjusted p-values at the primary visit."""
        assert self.out is not None
        ls = self.out.rows("primary", "lsmeans")
        ct = self.out.rows("primary", "contrasts")
        if ls is None or ct is None:
            return None
        visit = self.primary_visit
        pop = self.out.rows("population", "by_arm")
        n_of = (
            dict(zip(pop["arm"].astype(str), pop["analysed"], strict=True))
            if pop is not None
            else {}
        )
        ref = self.d.reference_arm.code
        mult = self.out.get("primary", "multiplicity") or {}
        method = str(mult.get("method") or self.d.analysis.multiplicity)
        rows = []
        for code, label in self.arms:
            lrow = ls[(ls["arm"] == code) & (ls["visit"] == visit)]
            crow = ct[(ct["arm"] == code) & (ct["visit"] == visit)]
            lr = lrow.iloc[0] if len(lrow) else None
            cr = crow.iloc[0] if len(crow) else None
            rows.append(
                [
                    label + (" (reference)" if code == ref else ""),
                    fmt_int(n_of.get(code)),
                    f"{fmt_num(lr['estimate'])} ({fmt_num(lr['se'], 2)})"
                    if lr is not None
                    else MISSING,
                    fmt_ci(lr["lower"], lr["upper"]) if lr is not None else MISSING,
                    fmt_est_ci(cr["estimate"], cr["lower"], cr["upper"])
                    if cr is not None
                    else MISSING,
                    fmt_p(cr["p"]) if cr is not None else MISSING,
                    fmt_p(cr.get("p_adjusted")) if cr is not None else MISSING,
                ]
            )
        level = f"{self.confidence:.0%}"
        header = [
            "Arm", "N analysed", f"LS mean ({self.y_unit}) (SE)", f"{level} CI",
            f"Difference vs reference ({level} CI)", P_VALUE, f"Adjusted p ({humanize(method)})",
        ]  # fmt: skip
        main = make_table(
            header,
            rows,
            caption=f"{self.param.label}: {self.y_what} at "
            f"{self.visit_labels.get(visit, visit)} ({self.y_unit}), MMRM",
        )
        simult = None
        if "simultaneous_lower" in ct.columns:
            at = ct[(ct["visit"] == visit) & ct["simultaneous_lower"].notna()]
            if len(at):
                simult = make_table(
                    ["Arm", f"Difference with simultaneous {level} CI ({humanize(method)})"],
                    [
                        [
                            self.arm_label.get(str(r["arm"]), str(r["arm"])),
                            fmt_est_ci(
                                r["estimate"], r["simultaneous_lower"], r["simultaneous_upper"]
                            ),
                        ]
                        for _, r in at.iterrows()
                    ],
                )
        by_visit_rows = []
        for _, r in ct.iterrows():
            by_visit_rows.append(
                [
                    self.arm_label.get(str(r["arm"]), str(r["arm"])),
                    self.visit_labels.get(str(r["visit"]), str(r["visit"])),
                    fmt_est_ci(r["estimate"], r["lower"], r["upper"]),
                    fmt_p(r["p"]),
                ]
            )
        by_visit = make_table(
            ["Arm", "Visit", f"Difference vs reference ({level} CI)", P_VALUE],
            by_visit_rows,
            numeric=[False, False, True, True],
        )
        model = self.out.get("primary", "model") or {}
        return {
            "table": main,
            "simultaneous": simult,
            "by_visit": by_visit,
            "reference": self.arm_label[ref],
            "covariance": COVARIANCE_NAMES.get(
                str(model.get("covariance")), model.get("covariance")
            ),
            "fallback_used": bool(model.get("fallback_used")),
            "fallback_reason": model.get("fallback_reason"),
            "df_method": DF_NAMES.get(str(model.get("df_method")), model.get("df_method")),
            "subjects": fmt_int(model.get("subjects")),
            "observations": fmt_int(model.get("observations")),
            "multiplicity": humanize(method),
        }

    def lsmeans(self) -> dict[str, Any] | None:
        """Figure of LS means over visits by arm."""
        assert self.out is not None
        ls = self.out.rows("primary", "lsmeans")
        if ls is None:
            return None
        return {
            "figure": figures.lsmeans_figure(
                ls,
                self.arm_label,
                self.visit_days,
                self.visit_labels,
                f"LS mean {self.y_what} ({self.y_unit})",
                self.confidence,
            ),
            "caption": f"LS mean {self.y_what} in {self.param.label.lower()} by visit and arm, "
            f"with {self.confidence:.0%} confidence intervals (MMRM).",
        }

    def _supporting_tables(self, group: str) -> list[dict[str, Any]]:
        """Entries of a supporting-analysis group with their tables."""
        assert self.out is not None
        items = []
        for name, (entry, frames) in self.out.supporting(group).items():
            items.append(
                {
                    "title": str(entry.get("title") or humanize(name)),
                    "description": entry.get("description"),
                    "status": entry.get("status"),
                    "tables": [
                        self._generic(frame, 60, _table_caption(t, name)) for t, frame in frames
                    ],
                }
            )
        return items

    def responders(self) -> dict[str, Any] | None:
        """Responder analyses."""
        items = self._supporting_tables("responders")
        return {"items": items} if items else None

    def secondary(self) -> dict[str, Any] | None:
        """Secondary endpoints."""
        items = self._supporting_tables("secondary")
        return {"items": items} if items else None

    def forest(self) -> dict[str, Any] | None:
        """Forest plot of subgroup effects and interaction tests."""
        assert self.out is not None
        groups = self.out.get("subgroups")
        if not groups:
            return None
        frames = []
        inter_rows = []
        for g in groups:
            est = pd.DataFrame(g.get("estimates") or [])
            if est.empty:
                continue
            est["subgroup"] = g.get("label") or g.get("variable")
            frames.append(est)
            inter_rows.append([str(est["subgroup"].iloc[0]), fmt_p(g.get("interaction_p"))])
        if not frames:
            return None
        rows = pd.concat(frames, ignore_index=True)
        ct = self.out.rows("primary", "contrasts")
        overall = ct[ct["visit"] == self.primary_visit] if ct is not None else None
        return {
            "figure": figures.forest_figure(
                rows,
                {c: lbl for c, lbl in self.arms if c != self.d.reference_arm.code},
                f"Difference from {self.arm_label[self.d.reference_arm.code]} ({self.y_unit})",
                self.confidence,
                overall,
                [c for c, _ in self.arms],
            ),
            "interactions": make_table(["Subgroup", "Interaction p-value"], inter_rows),
        }

    def sensitivity(self) -> dict[str, Any] | None:
        """Sensitivity analyses side by side with the primary (same scale), others below."""
        assert self.out is not None
        entries = self.out.supporting("sensitivity")
        if not entries:
            return None
        active = [(c, lbl) for c, lbl in self.arms if c != self.d.reference_arm.code]
        level = f"{self.confidence:.0%}"
        header = ["Analysis"]
        for _, label in active:
            header += [f"{label}: difference ({level} CI)", P_VALUE]
        ct = self.out.rows("primary", "contrasts")
        rows = []
        if ct is not None:
            rows.append(["Primary (MMRM)", *_effect_cells(ct, active, self.primary_visit)])
        other = []
        for name, (entry, frames) in entries.items():
            title = str(entry.get("title") or humanize(name))
            same_scale = [
                f for _, f in frames
                if {"arm", "estimate", "lower", "upper"} <= set(f.columns)
                and "reference" in f.columns
                and not {"rate_ratio", "odds_ratio"} & set(f.columns)
            ]  # fmt: skip
            if same_scale:
                rows.append([title, *_effect_cells(same_scale[0], active, self.primary_visit)])
            else:
                other.append(
                    {
                        "title": title,
                        "description": entry.get("description"),
                        "tables": [
                            self._generic(f, 40, _table_caption(t, name)) for t, f in frames
                        ],
                    }
                )
        notes = [
            {"title": str(e.get("title") or humanize(n)), "description": e.get("description")}
            for n, (e, _f) in entries.items()
            if e.get("description")
        ]
        return {"table": make_table(header, rows), "notes": notes, "other": other}

    def diagnostics(self) -> dict[str, Any] | None:
        """Residual QQ plot and residuals against fitted values of the primary MMRM."""
        assert self.out is not None
        data = self.out.adam("analysis_primary")
        if data is None:
            return None
        cols = {c.upper(): c for c in data.columns}
        fit_col = cols.get("FITTED") or cols.get("PRED")
        res_col = cols.get("RESID") or cols.get("RESIDUAL")
        kind = "conditional"
        if fit_col is not None and res_col is not None:
            fitted = pd.to_numeric(data[fit_col], errors="coerce").to_numpy(float)
            resid = pd.to_numeric(data[res_col], errors="coerce").to_numpy(float)
        else:
            rebuilt = _marginal_residuals(data, self.out.get("primary", "model") or {},
                                          self.d.reference_arm.code)  # fmt: skip
            if rebuilt is None:
                return None
            fitted, resid = rebuilt
            kind = "marginal"
        if not np.isfinite(resid).any():
            return None
        return {
            "figure": figures.diagnostics_figure(fitted, resid, self.y_unit),
            "n": len(resid),
            "kind": kind,
        }

    def boundaries(self) -> dict[str, Any] | None:
        """Group sequential boundaries at the information reached, observed z by arm."""
        plan = self.d.interim
        if self.opt.kind != "interim" or self.opt.blinded or plan is None:
            return None
        assert self.out is not None
        from trialkit.design.update import t_to_z, update_design

        design = plan.design()
        observed: dict[str, tuple[float, float]] = {}
        data = self.out.adam("analysis_primary")
        ct = self.out.rows("primary", "contrasts")
        fraction = None
        if data is not None and ct is not None and plan.information == "subjects":
            at = data[data["AVISIT"].astype(str) == self.primary_visit]
            fraction = plan.information_fraction(float(at["USUBJID"].nunique()))
            sign = 1.0 if self.param.direction == "higher" else -1.0
            for _, r in ct[ct["visit"] == self.primary_visit].iterrows():
                observed[str(r["arm"])] = (fraction, t_to_z(sign * float(r["t"]), float(r["df"])))
        if fraction is not None and 0 < fraction < 1:
            design = update_design(design, [fraction])  # boundaries at the information reached
        table = design.table()
        rows = [
            [fmt_int(r["look"]), fmt_num(r["information_fraction"], 2), fmt_num(r["efficacy_z"], 3),
             fmt_p(r["nominal_p"]), fmt_num(r["cumulative_alpha"], 4)]
            for _, r in table.iterrows()
        ]  # fmt: skip
        header = ["Look", "Information fraction", "Efficacy boundary (z)",
                  "Nominal p (one-sided)", "Cumulative alpha"]  # fmt: skip
        return {
            "figure": figures.boundaries_figure(
                table, observed, self.arm_label, [c for c, _ in self.arms]
            ),
            "table": make_table(header, rows),
            "fraction": fmt_num(fraction, 2) if fraction is not None else MISSING,
            "observed": [
                [self.arm_label.get(k, k), fmt_num(z, 2)] for k, (_f, z) in observed.items()
            ],
            "spending": SPENDING_NAMES.get(plan.efficacy_spending, plan.efficacy_spending),
            "alpha": fmt_num(design.alpha, 4),
        }


_CAPTIONS = (
    ("lsmeans", "LS means by arm"),
    ("diffs", "Differences from the reference arm"),
    ("differences", "Differences from the reference arm"),
    ("proportions", "Responders by arm"),
    ("odds_ratios", "Odds ratios against the reference arm"),
    ("distribution", "Distribution by arm"),
)


def _table_caption(table: str, analysis: str) -> str:
    """A caption from a table's name: ``sensitivity_ancova_diffs`` -> differences."""
    for suffix, caption in _CAPTIONS:
        if table.endswith(suffix):
            return caption
    return humanize(table.removeprefix(analysis).strip("_")) or humanize(table)


_LABELS = {"arm": "Arm", "visit": "Visit", "estimate": "Estimate", "se": "SE", "p": P_VALUE,
           "lower": "Lower CI", "upper": "Upper CI", "n": "n", "p_value": P_VALUE,
           "statistic": "Test statistic", "reference": "Reference", "df": "df",
           "odds_ratio": "Odds ratio", "or_lower": "OR lower CI", "or_upper": "OR upper CI",
           "rate_ratio": "Rate ratio", "rr_lower": "RR lower CI", "rr_upper": "RR upper CI",
           "time": "Study day", "responders": "Responders", "level": "Level"}  # fmt: skip


def _effect_cells(frame: pd.DataFrame, active: list[tuple[str, str]], visit: str) -> list[str]:
    """Difference (CI) and p for each active arm, at the primary visit when rows have visits."""
    cells = []
    sel = frame
    if "visit" in frame.columns and (frame["visit"].astype(str) == visit).any():
        sel = frame[frame["visit"].astype(str) == visit]
    for code, _ in active:
        row = sel[sel["arm"].astype(str) == code]
        if row.empty:
            cells += [MISSING, MISSING]
            continue
        r = row.iloc[0]
        cells += [
            fmt_est_ci(r.get("estimate"), r.get("lower"), r.get("upper")),
            fmt_p(r.get("p", r.get("p_value"))),
        ]
    return cells


def _marginal_residuals(
    data: pd.DataFrame, model: Mapping[str, Any], reference: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """Fitted values X·beta and marginal residuals y - X·beta of the primary MMRM.

    Rebuilds the design from the fitted rows (``adam/analysis_primary.csv``) and the model's
    formula; ``None`` unless every design column matches a reported fixed effect by name.
    """
    from trialkit.errors import ModelSpecificationError
    from trialkit.models.formula import make_design

    formula = model.get("formula")
    effects = {r.get("term"): r.get("estimate") for r in model.get("fixed_effects") or []}
    if not formula or not effects:
        return None
    visits = [str(v) for v in model.get("visits") or []]
    frame = data.copy()
    for col in ("ARMCD", "AVISIT", "SITEGR1", "SITEID"):
        if col in frame.columns:
            frame[col] = frame[col].astype(str)
    try:
        info, x, y = make_design(
            str(formula), frame, reference={"ARMCD": reference}, extra_factors=("AVISIT",),
            levels_of={"AVISIT": visits} if visits else None,
        )  # fmt: skip
    except (ModelSpecificationError, KeyError, ValueError):
        return None
    if set(info.column_names) != set(effects) or any(v is None for v in effects.values()):
        return None
    beta = np.array([float(effects[name]) for name in info.column_names])
    fitted = x @ beta
    return fitted, np.asarray(y, dtype=float) - fitted
