"""``trialkit analyze``: validate, derive, check the plan, fit, adjust, and write the folder.

Order (each step raises before the next starts): read and validate the trial (refuse error
findings unless ``allow_errors``); check the analysis plan against the data columns
(DefinitionError, exit 2, before any model runs); optional dummy randomisation; derive
ADSL/BDS/ADAE and apply the estimand; fit the primary MMRM (with fallbacks; ConvergenceError,
exit 1, if none converges); the group sequential look when trial.toml has an ``[interim]`` plan;
multiplicity at the primary visit; subgroups; supporting analyses.

The look (:func:`trialkit.analysis.interim.interim_look`): with a cutoff it is the next interim
look after ``previous_fractions`` (default: none), the final one when that is the plan's last
look; without a cutoff it is the final analysis (``final=True``), tested against the last
boundary of the updated design, and ``previous_fractions`` defaults to the plan's planned
fractions of the earlier looks.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialkit.analysis.binary import (
    BinaryEndpointResult,
    binary_family,
    run_binary_endpoint,
    run_binary_subgroup,
)
from trialkit.analysis.dataset import itt_exclusions, population_table, primary_dataset
from trialkit.analysis.estimable import ESTIMATED
from trialkit.analysis.interim import (
    InterimLook,
    RecordedLook,
    describe_previous_looks,
    interim_look,
    read_previous_looks,
)
from trialkit.analysis.missing_data import ParallelRunner, run_missing_data
from trialkit.analysis.plan import (
    ModelPlan,
    check_plan,
    check_subgroup_data,
    comparison_label,
    comparison_pairs,
)
from trialkit.analysis.primary import PrimaryResult, fallback_reason, run_primary
from trialkit.analysis.results import AnalysisResults
from trialkit.analysis.subgroups import run_subgroup
from trialkit.analysis.supporting import announce_failures, merge, preload, run_supporting
from trialkit.definition import TrialDefinition
from trialkit.derive import (
    apply_estimand,
    derive_adae,
    derive_adsl,
    derive_advs,
    derive_bds,
    describe_estimand,
)
from trialkit.derive.adsl import ADSL_ORDER
from trialkit.derive.bds import BDS_ORDER
from trialkit.derive.cutoff import apply_cutoff
from trialkit.derive.dummy import DUMMY_VALUE, dummy_randomize
from trialkit.design.plan import InterimPlan
from trialkit.errors import FindingsError, InputError, TrialkitWarning
from trialkit.estimators.multiplicity import MultiplicityResult, adjust
from trialkit.manifest import RunInfo, record_run
from trialkit.output import check_output_dir, staged_output_dir
from trialkit.processes import Background
from trialkit.vocabulary import INTERCURRENT_EVENTS, POPULATION_FLAGS

#: Supporting sections computed in a forked worker process while the main process fits the
#: primary and subgroup models (the machine has two cores); the rest run in the main process.
WORKER_SECTIONS = ("descriptive", "sensitivity", "secondary")
MAIN_SECTIONS = ("responders", "safety")


def _refuse_errors(trial_dir: Path, findings: pd.DataFrame) -> None:
    n = int((findings["severity"] == "error").sum())
    raise FindingsError(
        f"{trial_dir}: {n} validation error finding(s); the data are refused "
        f"(see the query listing: trialkit validate {trial_dir} --out QUERIES; "
        "or analyse anyway with --allow-errors)"
    )


def _early_plan_check(definition: TrialDefinition, subjects: pd.DataFrame) -> None:
    """Check names against the columns ADSL/BDS will have, before any derivation or model."""
    adsl_cols = [*subjects.columns, *ADSL_ORDER]
    check_plan(definition, adsl_cols, [*BDS_ORDER, "DISCFL", "RESCFL", "ICEFL"])


#: How messages name the earlier looks (the option; ``previous_looks`` in Python).
PREVIOUS_OPTION = "--previous-looks"


@dataclass(frozen=True)
class LookSettings:
    """Which look this analysis is: the earlier looks read from their folders (or, for a final
    analysis given none, the plan's planned fractions), and whether it is the last one."""

    earlier: list[RecordedLook]
    fractions: tuple[float, ...]
    final: bool


def _look_settings(
    plan: InterimPlan | None, cutoff: date | None, earlier: list[RecordedLook]
) -> LookSettings | None:
    """This analysis' place in the group sequential plan (``None``: no ``[interim]``).

    Checked before any derivation or model runs.
    """
    if plan is None:
        if earlier:
            raise InputError(f"{PREVIOUS_OPTION}: the trial has no [interim] plan in trial.toml")
        return None
    planned = plan.information_fractions
    if earlier:
        fractions = tuple(r.information_fraction for r in earlier)
    elif cutoff is None:
        fractions = planned[:-1]
    else:
        fractions = ()
    if cutoff is None:
        return LookSettings(earlier, fractions, True)
    k = len(fractions) + 1
    if k > len(planned):
        raise InputError(
            f"{PREVIOUS_OPTION}: {len(fractions)} earlier looks, but the [interim] plan has "
            f"{len(planned)} looks in all (analyse without a cutoff for the final analysis)"
        )
    return LookSettings(earlier, fractions, k == len(planned))


def analyze(
    trial_dir: Path | str,
    cutoff: date | str | None = None,
    allow_errors: bool = False,
    dummy_seed: int | None = None,
    previous_looks: Sequence[Path] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AnalysisResults:
    """Run the whole analysis of a trial folder and return its results (nothing is written).

    ``workers``, ``scheduler``: where the missing-data resamples run (:mod:`trialkit.parallel`;
    the results are the same for any); ``progress(done, total)`` follows them.

    ``previous_looks``: the analysis folders of the group sequential looks done before this
    one (trial.toml ``[interim]``; see the module docstring for the defaults).
    """
    from trialkit import __version__
    from trialkit.validation import validate_trial

    trial_dir = Path(trial_dir)
    cutoff = date.fromisoformat(cutoff) if isinstance(cutoff, str) else cutoff
    report = validate_trial(trial_dir, cutoff)
    definition = report.definition
    assert definition is not None
    earlier = read_previous_looks(previous_looks, definition) if previous_looks else []
    look_settings = _look_settings(definition.interim, cutoff, earlier)
    frames = {name: ds.frame for name, ds in report.datasets.items()}
    _early_plan_check(definition, frames["subjects"])
    if report.has_errors and not allow_errors:
        _refuse_errors(trial_dir, report.findings)

    subjects, exposure = frames["subjects"], frames["exposure"]
    if dummy_seed is not None:
        subjects, exposure = dummy_randomize(subjects, exposure, dummy_seed)
    cm = frames.get("concomitant_medications")
    adsl = derive_adsl(definition, subjects, exposure, frames["assessments"], cm, cutoff)
    bds = derive_bds(definition, frames["assessments"], adsl, cutoff)
    bds = apply_estimand(bds, adsl, definition.estimand)
    adae = derive_adae(frames["adverse_events"], adsl, definition.analysis.ae_lag_days, cutoff)
    vitals = frames.get("vital_signs")
    advs = derive_advs(definition, vitals, adsl, cutoff) if vitals is not None else None
    plan = check_plan(definition, list(adsl.columns), list(bds.columns))
    check_subgroup_data(definition, adsl)

    a = definition.analysis
    arms = [arm.code for arm in definition.arms]
    reference = definition.reference_arm.code
    post = definition.post_baseline_visits
    days = {v.code: v.day for v in post}
    primary_visit = definition.primary.visit
    covariances = [a.covariance, *a.covariance_fallback]
    data = primary_dataset(definition, adsl, bds, plan)
    population = population_table(definition, adsl, data)
    support_args = (definition, adsl, bds, adae, plan, report.findings, advs)
    preload()
    worker = Background(run_supporting, *support_args, sections=WORKER_SECTIONS)

    pairs = comparison_pairs(definition)
    binary = None
    try:
        if definition.primary.kind == "binary":
            binary = run_binary_endpoint(
                definition, adsl, bds, plan, definition.primary, a.population, pairs
            )
            analysed = binary.subjects.loc[binary.subjects["RESPONSE"].notna()]
            population = population_table(definition, adsl, analysed)
            primary, model_info = None, _binary_model_info(binary)
            subgroup_results = [
                run_binary_subgroup(sg, binary, adsl, plan, pairs, a.binary_method, a.alpha)
                for sg in definition.subgroups
            ]
            family = binary_family(binary)
            look_data = analysed
        else:
            primary = run_primary(
                data, plan, arms, reference, [v.code for v in post], days, primary_visit,
                covariances, a.df, a.alpha, pairs,
            )  # fmt: skip
            model_info = _model_info(definition, plan, primary, population, adsl)
            fit = primary.fit
            subgroup_results = (
                [
                    run_subgroup(
                        sg,
                        data,
                        adsl,
                        plan,
                        arms,
                        reference,
                        fit.visits,
                        primary_visit,
                        [fit.covariance, *[c for c in covariances if c != fit.covariance]],
                        a.df,
                        a.alpha,
                    )
                    for sg in definition.subgroups
                ]
                if fit is not None and len(primary.estimability.arms) == len(arms)
                else []
            )
            if definition.subgroups and not subgroup_results:
                warnings.warn(
                    "subgroup analyses not run: not every arm is estimable at this look",
                    TrialkitWarning,
                    stacklevel=2,
                )
            _announce_not_estimable(primary.contrasts, primary_visit)
            con = primary.contrasts
            family = con.loc[con["visit"] == primary_visit]  # in comparison order
            look_data = data
        look = None
        if look_settings is not None and family["estimate"].notna().any():
            look = _interim(definition, family, look_data, look_settings, cutoff, pairs)
        elif look_settings is not None:
            warnings.warn(
                "group sequential look not evaluated: no comparison is estimable at this look",
                TrialkitWarning,
                stacklevel=2,
            )
        family_cov = primary.primary_cov if primary is not None else np.diag(family["se"] ** 2)
        # the multiplicity family: the comparisons estimable at this look
        estimable = family["estimate"].notna().to_numpy(dtype=bool)
        pairs_in = [pair for pair, ok in zip(pairs, estimable, strict=True) if ok]
        family_in = family.loc[estimable]
        labels = [comparison_label(pair, reference) for pair in pairs_in]
        mult = (
            MultiplicityResult(a.multiplicity, a.alpha, (), (), (), ())
            if not pairs_in  # nothing estimable at this look: an empty family
            else adjust(
                a.multiplicity,
                labels,
                family_in["estimate"],
                family_in["se"],
                family_in["df"],
                family_in["t"],
                family_in["p"],
                family_cov[np.ix_(estimable, estimable)],
                a.alpha,
                [name for name in a.multiplicity_order if name in labels],
            )
        )

        findings = report.findings.rename(columns=str.lower)
        param = definition.primary
        local = run_supporting(*support_args, sections=MAIN_SECTIONS)
        supporting, supporting_tables = merge([local, worker.result()])
        announce_failures(supporting)
        if definition.missing_data is not None:
            runner = ParallelRunner(workers, scheduler, progress)
            md, md_tables = run_missing_data(definition, plan, adsl, bds, runner)
            supporting["missing_data"] = md
            supporting_tables.update(md_tables)
    finally:
        worker.close()
    return AnalysisResults(
        trial={
            "id": definition.trial.id,
            "title": definition.trial.title,
            "indication": definition.trial.indication,
        },
        cutoff=cutoff,
        dummy_seed=dummy_seed,
        alpha=a.alpha,
        arms=[
            {"code": x.code, "label": x.label, "reference": x.reference} for x in definition.arms
        ],
        visits=[{"code": v.code, "day": v.day, "label": v.label} for v in post],
        population_name=a.population,
        population_flag=POPULATION_FLAGS[a.population],
        population=population,
        excluded=itt_exclusions(definition, adsl),
        estimand={
            "description": describe_estimand(definition),
            "intercurrent_events": [
                {"event": e, "strategy": definition.estimand.strategy(e)}
                for e in INTERCURRENT_EVENTS
            ],
        },
        findings=findings,
        allowed_errors=bool(allow_errors and report.has_errors),
        endpoint={
            "parameter": param.parameter,
            "visit": param.visit,
            "variable": param.variable,
            "name": param.name,
            "kind": param.kind,
            "responder": param.responder.text if param.responder is not None else None,
            "missing": param.missing if param.responder is not None else None,
        },
        primary=primary,
        binary=binary,
        comparisons=pairs_in,
        multiplicity=mult,
        primary_visit=primary_visit,
        model_info=model_info,
        subgroup_results=subgroup_results,
        adam={
            "adsl": adsl,
            "adbds": bds,
            "adae": adae,
            "adex": _exposure_records(exposure, adsl, cutoff),
            **({"advs": advs} if advs is not None else {}),
            "analysis_primary": (
                _with_fitted(data, primary, plan.response)
                if primary is not None
                else binary.subjects
                if binary is not None
                else data
            ),
        },
        supporting=supporting,
        supporting_tables=supporting_tables,
        interim=look,
        trialkit_version=__version__,
    )


def _exposure_records(
    exposure: pd.DataFrame, adsl: pd.DataFrame, cutoff: date | None
) -> pd.DataFrame:
    """The exposure records the analysis used (after the cutoff and any dummy randomisation),
    for the subjects of ADSL, with EXSEQ (the record's row in the exposure file): the source
    of the submission's ADEX."""
    records = exposure.assign(EXSEQ=exposure.index + 1)  # the reader keeps the file row
    records = apply_cutoff({"exposure": records}, cutoff)[0]["exposure"]
    ids = set(adsl["USUBJID"].astype(str))
    keep = records["USUBJID"].astype(str).isin(ids).to_numpy(dtype=bool)
    return records.loc[keep].reset_index(drop=True)


def data_subjects(primary: PrimaryResult) -> int:
    """Subjects the estimability rules kept (0 when no model could be fitted)."""
    return 0 if primary.fit is None else int(primary.fit.results.n_subjects)


def _announce_not_estimable(contrasts: pd.DataFrame, visit: str) -> None:
    """One warning per comparison not estimable at the primary visit, with the reason."""
    rows = contrasts.loc[(contrasts["visit"] == visit) & (contrasts["status"] != ESTIMATED)]
    for r in rows.to_dict("records"):
        warnings.warn(
            f"primary comparison {r['arm']} vs {r['reference']} at {visit}: not estimable at "
            f"this look ({r['reason']})",
            TrialkitWarning,
            stacklevel=3,
        )


def _model_info(
    definition: TrialDefinition,
    plan: ModelPlan,
    primary: PrimaryResult,
    population: pd.DataFrame,
    adsl: pd.DataFrame,
) -> dict[str, Any]:
    """``primary.model`` of results.json for the MMRM of a continuous primary."""
    a = definition.analysis
    fit = primary.fit
    total = population.loc[population["arm"] == "TOTAL"].iloc[0]
    if fit is None:  # nothing estimable at this look
        return {
            "formula": plan.formula(), "terms": plan.terms(),
            "covariates": [c for c in plan.covariates if c not in plan.strata],
            "strata": list(plan.strata), "site_pooling": None,
            "covariance_requested": a.covariance, "covariance": None, "fallback_used": False,
            "fallback_reason": None, "attempts": [], "df_method": a.df, "method": "reml",
            "converged": False, "minus2_log_likelihood": None, "aic": None, "bic": None,
            "subjects": int(data_subjects(primary)), "observations": 0,
            "subjects_without_post_baseline": int(total["without_post_baseline"]),
            "visits": [], "covariance_matrix": {"visits": [], "matrix": []},
            "fixed_effects": [], "type3": [],
            "not_estimable_reason": primary.not_estimable_reason,
        }  # fmt: skip
    res = fit.results
    cov = res.covariance
    assert isinstance(cov, pd.DataFrame)
    pooled = _site_pooling(adsl, a.pool_sites_min_size) if "SITEGR1" in plan.covariates else None
    return {
        "formula": fit.formula,
        "terms": plan.terms(),
        "covariates": [c for c in plan.covariates if c not in plan.strata],
        "strata": list(plan.strata),
        "site_pooling": pooled,
        "covariance_requested": a.covariance,
        "covariance": fit.covariance,
        "fallback_used": fit.covariance != a.covariance,
        "fallback_reason": fallback_reason(fit.attempts),
        "attempts": [
            {"covariance": t.covariance, "converged": t.converged, "message": t.message}
            for t in fit.attempts
        ],
        "df_method": a.df,
        "method": "reml",
        "converged": bool(res.converged),
        "minus2_log_likelihood": float(res.minus2ll),
        "aic": float(res.aic),
        "bic": float(res.bic),
        "subjects": int(res.n_subjects),
        "observations": int(res.nobs),
        "subjects_without_post_baseline": int(total["without_post_baseline"]),
        "visits": fit.visits,
        "covariance_matrix": {"visits": list(cov.index), "matrix": cov.to_numpy().tolist()},
        "fixed_effects": primary.fixed_effects.to_dict(orient="records"),
        "type3": primary.type3.to_dict(orient="records"),
    }


def _binary_model_info(binary: BinaryEndpointResult) -> dict[str, Any]:
    """``primary.model`` of results.json for a binary primary: the method asked for and used,
    the adjustment, the missing-value rule and why a fallback was used."""
    con = binary.contrasts
    used = sorted(set(con["method"].astype(str)))
    notes = [str(n) for n in con["note"] if str(n)]
    fit = binary.result.fit
    return {
        "method_requested": binary.result.method,
        "methods_used": used,
        "fallback_used": used != [binary.result.method],
        "fallback_reason": "; ".join(dict.fromkeys(notes)) or None,
        "responder_rule": binary.endpoint.responder.text if binary.endpoint.responder else None,
        "missing": binary.endpoint.missing,
        "subjects": int(binary.subjects["RESPONSE"].notna().sum()),
        "coefficients": None
        if fit is None
        else [
            {"term": str(t), "estimate": float(v), "se": float(e)}
            for t, v, e in zip(fit.params.index, fit.params, fit.bse, strict=True)
        ],
    }


def _interim(
    definition: TrialDefinition,
    contrasts: pd.DataFrame,
    data: pd.DataFrame,
    settings: LookSettings,
    cutoff: date | None,
    pairs: Sequence[tuple[str, str]],
) -> InterimLook:
    """The group sequential look of this analysis; ``data`` are the analysed primary rows."""
    plan = definition.interim
    assert plan is not None
    if settings.fractions and not settings.earlier:
        warnings.warn(
            f"final analysis without {PREVIOUS_OPTION}: the earlier looks are taken at their "
            f"planned information fractions ({', '.join(f'{x:g}' for x in settings.fractions)})",
            TrialkitWarning,
            stacklevel=3,
        )
    return interim_look(
        plan, None, contrasts, data, definition, settings.final,
        () if settings.earlier else settings.fractions,
        previous_looks=settings.earlier, cutoff=cutoff, comparisons=pairs,
        allocation={arm.code: arm.allocation for arm in definition.arms},
    )  # fmt: skip


def _with_fitted(data: pd.DataFrame, primary: Any, response: str) -> pd.DataFrame:
    """The fitted rows with FITTED (marginal mean X beta: an MMRM has no random effects) and
    RESID (observed minus FITTED), for residual diagnostics."""
    if primary.fit is None:
        return data
    res = primary.fit.results
    X = np.asarray(res.model.X)
    if len(X) != len(data):  # rows were dropped by the model: cannot align safely
        return data
    fitted = X @ res.params.to_numpy()
    return data.assign(FITTED=fitted, RESID=data[response].to_numpy(dtype=float) - fitted)


def _site_pooling(adsl: pd.DataFrame, min_size: int | None) -> dict[str, Any] | None:
    if min_size is None:
        return None
    pairs = adsl[["SITEID", "SITEGR1"]].dropna().astype(str).drop_duplicates()
    pooled = pairs.loc[pairs["SITEID"] != pairs["SITEGR1"]].sort_values("SITEID")
    return {
        "min_size": int(min_size),
        "pooled_sites": [
            {"site": s, "pooled_into": g}
            for s, g in zip(pooled["SITEID"], pooled["SITEGR1"], strict=True)
        ],
    }


def _primary_lines(results: AnalysisResults) -> list[str]:
    """The summary's lines on the primary analysis: the model and each comparison."""
    m = results.model_info
    ep = results.endpoint
    at = results.primary_visit
    if results.binary is not None:
        lines = [
            f"Trial {results.trial['id']}: primary binary endpoint {ep['responder']} at {at} "
            f"({m['method_requested']}; missing: {m['missing']}), "
            f"{results.population_name} population",
            f"  {m['subjects']} subjects analysed"
            + (f"; fallback: {m['fallback_reason']}" if m["fallback_used"] else ""),
            f"  risk differences (percentage points) at {at}, "
            f"{results.multiplicity.method} adjusted:",
        ]
        for row in results.binary_contrasts.to_dict("records"):
            lines.append(
                f"    {row['ARMCD']} vs {row['versus']}: {float(row['estimate_pp']):.1f} "
                f"({float(row['lower_pp']):.1f}, {float(row['upper_pp']):.1f}), "
                f"p = {float(row['p']):.4g}, adjusted p = {float(row['p_adjusted']):.4g}"
            )
        return lines
    title = (
        f"Trial {results.trial['id']}: primary MMRM of {ep['variable']} {ep['parameter']} at "
        f"{at}, {results.population_name} population"
    )
    if m["covariance"] is None:  # nothing fitted at this look
        return [title, f"  not fitted: not estimable at this look ({m['not_estimable_reason']})"]
    lines = [
        title,
        f"  covariance {m['covariance']}"
        + (f" (fallback from {m['covariance_requested']})" if m["fallback_used"] else "")
        + f", df {m['df_method']}, -2 REML log-likelihood {m['minus2_log_likelihood']:.3f}",
        f"  {m['subjects']} subjects, {m['observations']} observations; "
        f"{m['subjects_without_post_baseline']} without a post-baseline value",
        f"  each comparison at {at}, {results.multiplicity.method} adjusted:",
    ]
    con = results.contrasts
    for r in con.loc[con["primary_visit"]].itertuples(index=False):
        if r.status != ESTIMATED:
            lines.append(f"    {r.arm} vs {r.reference}: {r.status} ({r.reason})")
            continue
        lines.append(
            f"    {r.arm} vs {r.reference}: {r.estimate:.2f} ({r.lower:.2f}, {r.upper:.2f}), "
            f"p = {r.p:.4g}, adjusted p = {r.p_adjusted:.4g}"
        )
    return lines


def summary_text(results: AnalysisResults) -> str:
    """The short summary ``trialkit analyze`` prints."""
    lines = []
    if results.dummy:
        lines.append(f"{DUMMY_VALUE} (seed {results.dummy_seed}): arms are permuted")
    lines.extend(_primary_lines(results))
    look = results.interim
    if look is not None:
        kind = "final analysis" if look.final else "interim"
        lines.append(f"  group sequential look {look.look} ({kind}), "
                     f"information fraction {look.information_fraction:.3f}:")  # fmt: skip
        if look.earlier:
            lines.append(f"  {describe_previous_looks(look.earlier)}")
        for r in look.arms.itertuples(index=False):
            flag: Any = r.efficacy_crossed
            crossed = "not evaluable" if flag is pd.NA else ("crossed" if flag else "not crossed")
            lines.append(f"    {r.arm}: z = {r.z:.3f}, efficacy boundary {r.efficacy_z:.3f} "
                         f"({crossed})")  # fmt: skip
    if results.allowed_errors:
        n = int((results.findings["severity"] == "error").sum())
        lines.append(f"  WARNING: {n} validation error finding(s) allowed (--allow-errors)")
    return "\n".join(lines)


def write_analysis(
    trial_dir: Path,
    out: Path,
    cutoff: date | None = None,
    force: bool = False,
    allow_errors: bool = False,
    dummy_seed: int | None = None,
    previous_looks: Sequence[Path] | None = None,
    store: dict[str, Any] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AnalysisResults:
    """Analyse and write OUT (results, tables, adam and ``manifest.json``) all at once.

    The one way an analysis folder is written: ``trialkit analyze``, the demo and the reports'
    own analyses all come through here. The manifest records the options, so ``trialkit
    verify`` can rerun the analysis exactly (and ``store``, the stored transfer analysed).
    """
    out, trial_dir = Path(out), Path(trial_dir)
    looks = [(Path(d), "an earlier look's folder (--previous-looks)") for d in previous_looks or []]
    check_output_dir(out, force, [trial_dir], looks)
    started = datetime.now(UTC)
    results = analyze(
        trial_dir, cutoff, allow_errors=allow_errors, dummy_seed=dummy_seed,
        previous_looks=previous_looks, workers=workers, scheduler=scheduler, progress=progress,
    )  # fmt: skip
    # recorded relative to OUT, so a folder moved with its earlier looks still reruns
    previous = (
        None
        if previous_looks is None
        else [os.path.relpath(Path(d).resolve(), out.resolve()) for d in previous_looks]
    )
    run = RunInfo(
        command="analyze",
        trial_dir=Path(trial_dir),
        options={
            "allow_errors": allow_errors,
            "dummy_seed": dummy_seed,
            "previous_looks": previous,
        },
        cutoff=cutoff.isoformat() if cutoff is not None else None,
        seeds={"dummy_randomization": dummy_seed} if dummy_seed is not None else None,
        store=store,
    )
    with staged_output_dir(out, force, [trial_dir], looks, command="analyze") as staging:
        results.write(staging)
        record_run(staging, run, started)
    return results


def run_analyze(
    trial_dir: Path,
    out: Path,
    cutoff: date | None = None,
    force: bool = False,
    allow_errors: bool = False,
    dummy_seed: int | None = None,
    previous_looks: Sequence[Path] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """``trialkit analyze``: analyse, write OUT through a staged folder; the text to print."""
    results = write_analysis(
        trial_dir, out, cutoff, force, allow_errors, dummy_seed, previous_looks,
        workers=workers, scheduler=scheduler, progress=progress,
    )  # fmt: skip
    return (
        f"{summary_text(results)}\n"
        f"Results written to {out}/results.json, {out}/tables/ and {out}/adam/"
    )


__all__ = ["PREVIOUS_OPTION", "analyze", "run_analyze", "summary_text", "write_analysis"]
