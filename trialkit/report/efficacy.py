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
    fmt_pct,
    humanize,
)
from trialkit.report.results import AnalysisOutput
from trialkit.report.tables import frame_table, make_table
from trialkit.vocabulary import COVARIANCE_LABELS, DF_LABELS, SPENDING_LABELS

#: Column header of p-values (a non-breaking hyphen keeps it on one line).
P_VALUE = "p\u2011value"


def _reason(entry: Mapping[str, Any]) -> str | None:
    """Why a supporting analysis has no table (its recorded message), or ``None`` if it ran."""
    if entry.get("status") != "failed":
        return None
    return str(entry.get("message") or "no reason recorded")


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
                cells.append(
                    fmt_n_pct(hit["n"].iloc[0], hit["pct"].iloc[0]) if len(hit) else MISSING
                )
            rows.append(cells)
        header = ["Level", *[f"{lbl} (N={totals[c]})" for c, lbl in arms]]
        return make_table(header, rows, caption=caption)

    def code_labels(self) -> dict[str, dict[str, str]]:
        """Arm and visit codes in generic tables shown by their labels."""
        arms = dict(self.arm_label)
        visits = dict(self.visit_labels)
        return {"arm": arms, "reference": arms, "ARMCD": arms, "visit": visits, "AVISIT": visits}

    def binary_primary(self) -> dict[str, Any] | None:
        """A binary primary: responders per arm; per comparison the risk difference with its
        CI, p-values and the odds ratio (as the analysis wrote them)."""
        assert self.out is not None
        arms = self.out.rows("primary", "arms")
        ct = self.out.rows("primary", "contrasts")
        if arms is None or ct is None:
            return None
        level = f"{self.confidence:.0%}"
        mult = self.out.get("primary", "multiplicity") or {}
        method = humanize(str(mult.get("method") or self.d.analysis.multiplicity))
        model = self.out.get("primary", "model") or {}
        ep = self.d.primary
        rule = ep.responder.text if ep.responder is not None else ""
        ref = self.d.reference_arm.code
        by_arm = {str(r["ARMCD"]): r for _, r in arms.iterrows()}
        rows = [
            [
                label + (" (reference)" if code == ref else ""),
                fmt_int(by_arm[code]["n"]) if code in by_arm else MISSING,
                fmt_n_pct(by_arm[code]["responders"], by_arm[code]["percent"])
                if code in by_arm
                else MISSING,
            ]
            for code, label in self.arms
        ]
        responders = make_table(
            ["Arm", "N analysed", "Responders n (%)"], rows,
            caption=f"{ep.name or self.param.label}: responders ({rule}) at "
            f"{self.visit_labels.get(ep.visit, ep.visit)}",
        )  # fmt: skip
        decisions = self.decisions()
        header = ["Comparison", f"Risk difference, percentage points ({level} CI)", P_VALUE,
                  f"Adjusted p ({method})", f"Odds ratio ({level} CI)", "Method"]  # fmt: skip
        rows = [
            [
                self.comparison_name({"arm": r["ARMCD"], "reference": r["versus"]}),
                fmt_est_ci(r["estimate_pp"], r["lower_pp"], r["upper_pp"]),
                fmt_p(r["p"]),
                fmt_p(r.get("p_adjusted")),
                fmt_est_ci(r["odds_ratio"], r["or_lower"], r["or_upper"], 2),
                str(r["method"]) + (f" ({r['note']})" if r.get("note") else ""),
            ]
            for _, r in ct.iterrows()
        ]
        if decisions:  # the deciding rule is the group sequential test
            header.append("Group sequential test (the deciding rule)")
            for row, (_, r) in zip(rows, ct.iterrows(), strict=True):
                row.append(decisions.get((str(r["ARMCD"]), str(r["versus"])), MISSING))
        comparisons = make_table(header, rows, caption="The plan's comparisons")
        return {
            "kind": "binary",
            "table": responders,
            "comparisons": comparisons,
            "method": str(model.get("method_requested") or self.d.analysis.binary_method),
            "missing": str(model.get("missing") or ep.missing),
            "fallback_used": bool(model.get("fallback_used")),
            "fallback_reason": model.get("fallback_reason"),
            "subjects": fmt_int(model.get("subjects")),
            "multiplicity": method,
            "reference": self.arm_label.get(ref, ref),
        }

    def decisions(self) -> dict[tuple[str, str], str]:
        """Per comparison, whether it crossed its efficacy boundary at this look (the
        multiplicity family's ``crossed``), worded for the primary table; empty without an
        ``[interim]`` plan."""
        assert self.out is not None
        family = (self.out.get("primary", "multiplicity") or {}).get("family") or []
        words = {True: "crossed its boundary", False: "did not cross its boundary"}
        return {
            (str(m.get("arm")), str(m.get("versus"))): words[bool(m["crossed"])]
            for m in family
            if m.get("crossed") is not None
        }

    def sequential_test(self) -> dict[str, Any] | None:
        """The group sequential test of this analysis beside the primary table: the plan's
        alpha rule and, per comparison, z against this look's efficacy boundary (every earlier
        look's boundary and decision too), as the analysis recorded them."""
        assert self.out is not None
        look = self.out.get("interim")
        if not isinstance(look, dict):
            return None
        rows = []
        for entry in look.get("looks") or []:
            for r in entry.get("arms") or []:
                estimable = r.get("status") in (None, "estimated")
                crossed = r.get("efficacy_crossed")
                decision = (
                    "not estimable at this look"
                    if not estimable
                    else "crossed"
                    if crossed
                    else "not crossed"
                    if crossed is not None
                    else MISSING
                )
                rows.append(
                    [
                        f"{entry.get('look')}" + (" (final)" if entry.get("final") else ""),
                        str(entry.get("cutoff") or "final analysis"),
                        self.comparison_name(
                            {"arm": r.get("arm"), "reference": r.get("reference") or ""}
                        ),
                        fmt_num(r.get("z"), 3),
                        fmt_num(r.get("efficacy_z"), 3),
                        decision,
                    ]
                )
        table = make_table(
            ["Look", "Cutoff", "Comparison", "z", "Efficacy boundary (z)", "Decision"], rows,
            caption="Group sequential test of the primary comparisons, every look",
        )  # fmt: skip
        return {"rule": look.get("alpha_rule"), "table": table, "final": bool(look.get("final"))}

    def primary(self) -> dict[str, Any] | None:
        """LS means, differences, CIs, p-values and adjusted p-values at the primary visit."""
        assert self.out is not None
        section = self._primary()
        if section is not None:
            section["sequential"] = self.sequential_test()
            section["rule"] = (self.out.get("primary", "multiplicity") or {}).get("rule")
            excluded = self.out.rows("population", "excluded")
            section["excluded"] = (
                None
                if excluded is None
                else make_table(
                    ["Subject", "Reason"],
                    [[str(r["USUBJID"]), str(r["reason"])] for _, r in excluded.iterrows()],
                    caption="Subjects left out of the randomised population because of their data",
                )
            )
        return section

    def _primary(self) -> dict[str, Any] | None:
        assert self.out is not None
        if self.out.get("primary", "kind") == "binary":
            return self.binary_primary()
        ls = self.out.rows("primary", "lsmeans")
        ct = self.out.rows("primary", "contrasts")
        if ct is None:
            return None
        if ls is None:  # nothing could be fitted at this look: the contrasts say why
            ls = pd.DataFrame(columns=["arm", "visit", "estimate", "se", "lower", "upper"])
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
            crow = ct[(ct["arm"] == code) & (ct["reference"] == ref) & (ct["visit"] == visit)]
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
                            self.comparison_name(r),
                            fmt_est_ci(
                                r["estimate"], r["simultaneous_lower"], r["simultaneous_upper"]
                            ),
                        ]
                        for _, r in at.iterrows()
                    ],
                )
        at_visit = ct[ct["visit"] == visit]
        decisions = self.decisions()
        header = ["Comparison", f"Difference ({level} CI)", P_VALUE,
                  f"Adjusted p ({humanize(method)})"]  # fmt: skip
        rows = [
            [
                self.comparison_name(r),
                fmt_est_ci(r["estimate"], r["lower"], r["upper"])
                if r.get("status") in (None, "estimated")
                else f"{r['status']}: {r.get('reason')}",
                fmt_p(r["p"]),
                fmt_p(r.get("p_adjusted")),
            ]
            for _, r in at_visit.iterrows()
        ]
        if decisions:  # the deciding rule is the group sequential test: its decision beside
            header.append("Group sequential test (the deciding rule)")
            for row, (_, r) in zip(rows, at_visit.iterrows(), strict=True):
                row.append(decisions.get((str(r["arm"]), str(r["reference"])), MISSING))
        comparisons = make_table(
            header, rows,
            caption=f"The plan's comparisons at {self.visit_labels.get(visit, visit)}",
        )  # fmt: skip
        by_visit_rows = []
        for _, r in ct.iterrows():
            by_visit_rows.append(
                [
                    self.comparison_name(r),
                    self.visit_labels.get(str(r["visit"]), str(r["visit"])),
                    fmt_est_ci(r["estimate"], r["lower"], r["upper"]),
                    fmt_p(r["p"]),
                ]
            )
        by_visit = make_table(
            ["Comparison", "Visit", f"Difference ({level} CI)", P_VALUE],
            by_visit_rows,
            numeric=[False, False, True, True],
        )
        model = self.out.get("primary", "model") or {}
        return {
            "table": main,
            "comparisons": comparisons,
            "simultaneous": simult,
            "by_visit": by_visit,
            "reference": self.arm_label[ref],
            "covariance": COVARIANCE_LABELS.get(
                str(model.get("covariance")), model.get("covariance")
            ),
            "fallback_used": bool(model.get("fallback_used")),
            "fallback_reason": model.get("fallback_reason"),
            "not_estimable": model.get("not_estimable_reason"),
            "df_method": DF_LABELS.get(str(model.get("df_method")), model.get("df_method")),
            "subjects": fmt_int(model.get("subjects")),
            "observations": fmt_int(model.get("observations")),
            "multiplicity": humanize(method),
        }

    def comparison_name(self, row: pd.Series[Any] | Mapping[str, Any]) -> str:
        """``ARM label vs VERSUS label`` of a contrast row."""
        arm, versus = str(row["arm"]), str(row["reference"])
        return f"{self.arm_label.get(arm, arm)} vs {self.arm_label.get(versus, versus)}"

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
                    "reason": _reason(entry),
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
        ref = self.d.reference_arm.code
        ct = self.out.rows("primary", "contrasts")
        binary = self.out.get("primary", "kind") == "binary"
        overall = None
        if ct is not None:
            ct = ct.rename(columns={"ARMCD": "arm", "versus": "reference"})
            overall = ct if binary else ct[ct["visit"] == self.primary_visit]
            overall = overall[overall["reference"].astype(str) == ref]
        # the figure shows the comparisons with the reference arm (one row per arm and level)
        rows = rows[rows["reference"].astype(str) == ref]
        what = "Risk difference (proportion)" if binary else f"Difference ({self.y_unit})"
        return {
            "figure": figures.forest_figure(
                rows,
                {c: lbl for c, lbl in self.arms if c != ref},
                f"{what} from {self.arm_label[ref]}",
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
        pairs = [(c.arm, c.versus) for c in self.d.comparisons]
        level = f"{self.confidence:.0%}"
        binary = self.out.get("primary", "kind") == "binary"
        scale = "risk difference, pp" if binary else "difference"
        header = ["Analysis"]
        for pair in pairs:
            name = self.comparison_name({"arm": pair[0], "reference": pair[1]})
            header += [f"{name}: {scale} ({level} CI)", P_VALUE]
        ct = self.out.rows("primary", "contrasts")
        rows = []
        if ct is not None:
            label = "Primary (binary)" if binary else "Primary (MMRM)"
            rows.append([label, *_effect_cells(ct, pairs, self.primary_visit)])
        other = []
        for name, (entry, frames) in entries.items():
            title = str(entry.get("title") or humanize(name))
            same_scale = [
                f for _, f in frames
                if {"arm", "estimate", "lower", "upper"} <= set(f.columns)
                and "reference" in f.columns
                and (
                    "estimate_pp" in f.columns
                    if binary
                    else not {"rate_ratio", "odds_ratio"} & set(f.columns)
                )
            ]  # fmt: skip
            if same_scale:
                rows.append([title, *_effect_cells(same_scale[0], pairs, self.primary_visit)])
            else:
                other.append(
                    {
                        "title": title,
                        "description": entry.get("description"),
                        "reason": _reason(entry),
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
        """Residual QQ plot (the analysis' positions) and residuals against fitted values of
        the primary MMRM."""
        assert self.out is not None
        data = self.out.adam("analysis_primary")
        qq = self.out.table("primary_residual_qq")
        if data is None or qq is None or qq.empty:
            return None
        if "FITTED" not in data.columns or "RESID" not in data.columns:
            return None
        # FITTED is X·beta: an MMRM has no random effects, so these are its marginal residuals
        fitted = pd.to_numeric(data["FITTED"], errors="coerce").to_numpy(float)
        resid = pd.to_numeric(data["RESID"], errors="coerce").to_numpy(float)
        if not np.isfinite(resid).any():
            return None
        return {
            "figure": figures.diagnostics_figure(fitted, resid, qq, self.y_unit),
            "n": fmt_int(self.out.get("primary", "model", "observations")),
        }

    def boundaries(self) -> dict[str, Any] | None:
        """The group sequential look of the analysis (``results.json`` ``interim``), presented.

        Nothing is recomputed here: boundaries, observed z, crossings and conditional power are
        the analysis' (``trialkit.analysis.interim``). Arms sharing the same boundaries (the
        same share of alpha) get one table and one figure.
        """
        if self.opt.kind != "interim" or self.opt.blinded:
            return None
        assert self.out is not None
        look = self.out.get("interim")
        if not isinstance(look, Mapping):
            return None
        arms = pd.DataFrame(look.get("arms") or [])
        bounds = pd.DataFrame(look.get("boundaries") or [])
        if arms.empty or bounds.empty:
            return None
        futility = look.get("futility_spending") is not None
        groups = []
        for codes, table in _boundary_groups(arms, bounds):
            groups.append(
                {
                    "arms": ", ".join(self.arm_label.get(c, c) for c in codes),
                    "alpha": _fmt_prob(arms.loc[arms["arm"] == codes[0], "alpha"].iloc[0]),
                    "table": _boundary_table(table, futility),
                    "figure": figures.boundaries_figure(
                        table,
                        {
                            c: (float(f), float(z))
                            for c, f, z in zip(
                                arms["arm"], arms["information_fraction"], arms["z"], strict=True
                            )
                            if c in codes and _finite(z)
                        },
                        self.arm_label,
                        [c for c, _ in self.arms],
                    ),
                }
            )
        if len(groups) == 1 and len(arms) > 1:
            groups[0]["arms"] = "every comparison"
        interim = not look.get("final")
        rows = []
        for _, r in arms.iterrows():
            row = [
                self.arm_label.get(str(r["arm"]), str(r["arm"])),
                _fmt_prob(r["alpha"]),
                fmt_num(r["z"], 3),
                fmt_p(r["p_one_sided"]),
                fmt_num(r["efficacy_z"], 3),
                _crossed(r["efficacy_crossed"]),
            ]
            if futility and interim:
                row += [fmt_num(r["futility_z"], 3), _crossed(r["futility_crossed"])]
            if interim:
                row += [
                    fmt_pct(_percent(r["conditional_power_design"])),
                    fmt_pct(_percent(r["conditional_power_trend"])),
                ]
            rows.append(row)
        header = ["Comparison with the reference arm", "Alpha (one-sided)", "Observed z",
                  "p (one-sided)", "Efficacy boundary (z)", "Efficacy boundary"]  # fmt: skip
        if futility and interim:
            header += ["Futility boundary (z)", "Futility boundary"]
        if interim:
            header += ["Conditional power, design effect", "Conditional power, current trend"]
        spending = str(look.get("efficacy_spending"))
        fut_spending = look.get("futility_spending")
        previous = look.get("previous_fractions") or []
        return {
            "look": fmt_int(look.get("look")),
            "final": not interim,
            "fraction": fmt_num(look.get("information_fraction"), 3),
            "capped": (look.get("information_fraction_observed") or 0)
            > (look.get("information_fraction") or 0),
            "fraction_observed": fmt_num(look.get("information_fraction_observed"), 3),
            "measure": "subjects with the primary endpoint"
            if look.get("information_measure") == "subjects"
            else "1 / variance of each comparison",
            "previous": ", ".join(fmt_num(x, 3) for x in previous) if previous else None,
            "spending": SPENDING_LABELS.get(spending, spending),
            "futility_spending": SPENDING_LABELS.get(str(fut_spending), fut_spending)
            if fut_spending is not None
            else None,
            "binding": bool(look.get("binding_futility")),
            "sided": fmt_int(look.get("sided")),
            "alpha": _fmt_prob(look.get("alpha")),
            "groups": groups,
            "observed": make_table(
                header,
                rows,
                caption=f"Look {fmt_int(look.get('look'))}: observed z statistics against the "
                "boundaries",
                numeric=[h not in _TEXT_COLUMNS for h in header],
            ),
        }


#: Columns of the observed-z table holding words, not numbers.
_TEXT_COLUMNS = ("Comparison with the reference arm", "Efficacy boundary", "Futility boundary")


def _fmt_prob(value: Any) -> str:
    """A small probability (alpha, nominal p) with four significant digits: 0.008333."""
    return f"{float(value):.4g}" if _finite(value) else MISSING


def _finite(value: Any) -> bool:
    """A number that is neither missing nor infinite."""
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def _percent(value: Any) -> float | None:
    """A probability in percent (missing stays missing)."""
    return float(value) * 100 if _finite(value) else None


def _crossed(value: Any) -> str:
    """Neutral wording of a crossing flag: crossed, not crossed, or missing (not evaluable)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    return "crossed" if bool(value) else "not crossed"


#: Columns of one arm's boundaries compared to decide whether arms share them.
_BOUNDARY_VALUES = ("look", "information_fraction", "efficacy_z", "cumulative_alpha",
                    "futility_z")  # fmt: skip


def _boundary_groups(
    arms: pd.DataFrame, bounds: pd.DataFrame
) -> list[tuple[list[str], pd.DataFrame]]:
    """Arms (in results order) grouped by identical boundary tables, with the shared table."""
    groups: list[tuple[list[str], pd.DataFrame]] = []
    for code in arms["arm"].astype(str):
        table = bounds[bounds["arm"].astype(str) == code].drop(columns="arm")
        table = table.dropna(axis=1, how="all").reset_index(drop=True)  # no futility: no columns
        cols = [c for c in _BOUNDARY_VALUES if c in table.columns]
        for codes, shared in groups:
            if shared[cols].equals(table[cols]):
                codes.append(code)
                break
        else:
            groups.append(([code], table))
    return groups


def _boundary_table(table: pd.DataFrame, futility: bool) -> dict[str, Any]:
    """The boundaries of one arm (or of arms sharing them), one row per look."""
    header = ["Look", "Information fraction", "Efficacy boundary (z)", "Nominal p (one-sided)",
              "Cumulative alpha"]  # fmt: skip
    if futility:
        header += ["Futility boundary (z)", "Cumulative beta"]
    rows = []
    for _, r in table.iterrows():
        row = [fmt_int(r["look"]), fmt_num(r["information_fraction"], 3),
               fmt_num(r["efficacy_z"], 3), _fmt_prob(r["nominal_p"]),
               _fmt_prob(r["cumulative_alpha"])]  # fmt: skip
        if futility:
            row += [fmt_num(r.get("futility_z"), 3), _fmt_prob(r.get("cumulative_beta"))]
        rows.append(row)
    return make_table(header, rows)


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


def _effect_cells(frame: pd.DataFrame, pairs: list[tuple[str, str]], visit: str) -> list[str]:
    """Difference (CI) and p for each comparison (arm, versus), at the primary visit when rows
    have visits; risk differences in percentage points (``*_pp``) where the frame has them."""
    cells = []
    frame = frame.rename(columns={"ARMCD": "arm", "versus": "reference"})
    sel = frame
    if "visit" in frame.columns and (frame["visit"].astype(str) == visit).any():
        sel = frame[frame["visit"].astype(str) == visit]
    pp = "_pp" if "estimate_pp" in frame.columns else ""
    for arm, versus in pairs:
        match = sel["arm"].astype(str) == arm
        if "reference" in sel.columns:
            match &= sel["reference"].astype(str) == versus
        row = sel[match]
        if row.empty:
            cells += [MISSING, MISSING]
            continue
        r = row.iloc[0]
        cells += [
            fmt_est_ci(r.get(f"estimate{pp}"), r.get(f"lower{pp}"), r.get(f"upper{pp}")),
            fmt_p(r.get("p", r.get("p_value"))),
        ]
    return cells
