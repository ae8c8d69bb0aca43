"""Subgroup analyses: one MMRM per subgroup factor, the arm effect per level at the primary visit.

For each ``[[subgroups]]`` entry the primary model gains the factor SUBGROUP (the variable,
cut at ``cuts`` when given) and its interactions with AVISIT, ARMCD and ARMCD:AVISIT, so
every arm x visit x level cell has its own mean. Reported: the LS-mean difference of each
active arm from the reference within each level at the primary visit (with CI), and the F
test that these differences are the same in every level (the interaction p-value). A
covariate identical to the subgroup variable is left out of that model (SUBGROUP replaces
it). A subgroup model that cannot be fitted is reported with a message, not raised.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialkit.analysis.plan import ModelPlan
from trialkit.analysis.primary import ARM, VISIT, fit_with_fallback
from trialkit.definition import Subgroup
from trialkit.errors import ConvergenceError, ModelSpecificationError

FACTOR = "SUBGROUP"
SUBGROUP_COLUMNS = (
    "subgroup", "variable", "level", "arm", "reference", "visit", "n", "estimate", "se",
    "df", "lower", "upper", "p", "interaction_p",
)  # fmt: skip
_EXTRA = [FACTOR, f"AVISIT:{FACTOR}", f"ARMCD:{FACTOR}", f"ARMCD:AVISIT:{FACTOR}"]


@dataclass
class SubgroupResult:
    """One subgroup factor's results (``estimates`` rows as in SUBGROUP_COLUMNS)."""

    variable: str
    label: str
    cuts: tuple[float, ...]
    visit: str
    levels: list[str]
    estimates: pd.DataFrame
    interaction_f: float | None = None
    interaction_num_df: float | None = None
    interaction_den_df: float | None = None
    interaction_p: float | None = None
    converged: bool = False
    covariance: str | None = None
    message: str | None = None
    attempts: list[str] = field(default_factory=list)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def cut_labels(cuts: Sequence[float]) -> list[str]:
    """Level labels of ``cuts``: ``<c1``, ``c1-<c2``, ..., ``>=ck`` (intervals closed left)."""
    labels = [f"<{_fmt(cuts[0])}"]
    labels += [f"{_fmt(a)}-<{_fmt(b)}" for a, b in itertools.pairwise(cuts)]
    labels.append(f">={_fmt(cuts[-1])}")
    return labels


def subgroup_levels(values: pd.Series, cuts: Sequence[float]) -> tuple[pd.Series, list[str]]:
    """The subgroup factor (strings) and its levels in natural order."""
    if cuts:
        labels = cut_labels(cuts)
        num = pd.to_numeric(values, errors="coerce")
        cat = pd.cut(num, bins=[-math.inf, *cuts, math.inf], labels=labels, right=False)
        out = cat.astype(object).where(cat.notna(), None)
        present = [lab for lab in labels if (out == lab).any()]
        return out, present
    text = values.astype("string")
    out = text.astype(object).where(text.notna(), None)
    present = sorted({str(v) for v in out.dropna()})
    return out, present


def _empty(sg: Subgroup, visit: str, levels: list[str], message: str) -> SubgroupResult:
    return SubgroupResult(
        variable=sg.variable,
        label=sg.label,
        cuts=tuple(sg.cuts),
        visit=visit,
        levels=levels,
        estimates=pd.DataFrame(columns=list(SUBGROUP_COLUMNS)),
        message=message,
    )


def run_subgroup(
    sg: Subgroup,
    data: pd.DataFrame,
    adsl: pd.DataFrame,
    plan: ModelPlan,
    arms: Sequence[str],
    reference: str,
    visits: Sequence[str],
    primary_visit: str,
    covariances: Sequence[str],
    df_method: str,
    alpha: float,
) -> SubgroupResult:
    """Fit the subgroup model and tabulate the arm effects per level at ``primary_visit``."""
    subj = adsl[["USUBJID", sg.variable]].copy()
    subj["USUBJID"] = subj["USUBJID"].astype(str)
    factor, _ = subgroup_levels(subj[sg.variable], sg.cuts)
    lookup = dict(zip(subj["USUBJID"], factor, strict=True))
    d = data.copy()
    d[FACTOR] = d["USUBJID"].map(lookup)
    d = d.loc[d[FACTOR].notna()].reset_index(drop=True)
    levels = [
        lev for lev in subgroup_levels(subj[sg.variable], sg.cuts)[1] if (d[FACTOR] == lev).any()
    ]
    if len(levels) < 2:
        return _empty(sg, primary_visit, levels, "fewer than two subgroup levels with data")
    drop = [c for c in plan.covariates if c == sg.variable]
    formula = plan.formula(extra=_EXTRA, drop=drop)
    try:
        fit = fit_with_fallback(
            d,
            formula,
            covariances,
            list(visits),
            reference,
            df_method,
            what=f"subgroup {sg.variable}",
        )
    except (ConvergenceError, ModelSpecificationError) as exc:
        return _empty(sg, primary_visit, levels, str(exc))
    res = fit.results
    lab, L = res.lsmeans_matrix(ARM, by=[FACTOR, VISIT])
    lab = lab.reset_index(drop=True).astype(str)
    Lm = L.to_numpy()
    index = {
        (a, g, v): i
        for i, (a, g, v) in enumerate(zip(lab[ARM], lab[FACTOR], lab[VISIT], strict=True))
    }
    rows: list[dict[str, object]] = []
    Lrows: list[np.ndarray] = []
    first = d.drop_duplicates("USUBJID")
    counts = first.groupby([FACTOR, ARM]).size()
    for g in levels:
        for a in arms:
            if a == reference:
                continue
            rows.append(
                {
                    "subgroup": sg.label,
                    "variable": sg.variable,
                    "level": g,
                    "arm": a,
                    "reference": reference,
                    "visit": primary_visit,
                    "n": int(counts.get((g, a), 0)),
                }
            )
            Lrows.append(
                Lm[index[(a, g, primary_visit)]] - Lm[index[(reference, g, primary_visit)]]
            )
    Lc = np.vstack(Lrows)
    est = res.estimate(Lc, alpha=alpha).reset_index(drop=True)
    tab = pd.concat(
        [pd.DataFrame(rows), est[["estimate", "se", "df", "lower", "upper", "p"]]], axis=1
    )
    n_active = len(arms) - 1
    # H0: the arm effects are equal in every level (differences from the first level are 0)
    diffs = [Lc[i * n_active + j] - Lc[j] for i in range(1, len(levels)) for j in range(n_active)]
    test = res.test(np.vstack(diffs))
    tab["interaction_p"] = float(test["p"])
    return SubgroupResult(
        variable=sg.variable,
        label=sg.label,
        cuts=tuple(sg.cuts),
        visit=primary_visit,
        levels=levels,
        estimates=tab[list(SUBGROUP_COLUMNS)],
        interaction_f=float(test["F"]),
        interaction_num_df=float(test["num_df"]),
        interaction_den_df=float(test["den_df"]),
        interaction_p=float(test["p"]),
        converged=True,
        covariance=fit.covariance,
        attempts=[f"{a.covariance}: {a.message or 'converged'}" for a in fit.attempts],
    )


__all__ = [
    "FACTOR",
    "SUBGROUP_COLUMNS",
    "SubgroupResult",
    "cut_labels",
    "run_subgroup",
    "subgroup_levels",
]
