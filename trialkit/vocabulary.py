"""The names trialkit accepts, each list once: the definition checks against these, and the
models, the analysis and the report import them (no module spells them again).

Plain data with no heavy imports, so reading ``trial.toml`` stays fast.
"""

from __future__ import annotations

#: Collected datasets (files of a trial folder), in the order listings show them.
DATASETS: tuple[str, ...] = (
    "subjects", "assessments", "exposure", "adverse_events", "concomitant_medications",
    "vital_signs",
)  # fmt: skip
#: Datasets a trial folder may leave out.
OPTIONAL_DATASETS: tuple[str, ...] = ("concomitant_medications", "vital_signs")

#: VISIT of an unscheduled assessment and of the early-termination visit; no visit may take
#: these codes.
UNSCHEDULED = "UNSCHEDULED"
EARLY_TERMINATION = "EARLY_TERMINATION"
PSEUDO_VISITS: tuple[str, ...] = (UNSCHEDULED, EARLY_TERMINATION)

#: Analysis populations (``analysis.population``), with the words the estimand's description
#: uses, and the ADSL flag that marks each population's subjects.
POPULATION_LABELS: dict[str, str] = {
    "ITT": "all randomised subjects, analysed as randomised (ITT)",
    "MITT": (
        "randomised subjects with a baseline and at least one post-baseline value of the "
        "primary parameter (modified ITT)"
    ),
    "PP": "subjects treated per protocol (per-protocol population)",
    "SAFETY": "subjects with at least one exposure to study treatment (safety population)",
}
POPULATIONS: tuple[str, ...] = tuple(POPULATION_LABELS)
POPULATION_FLAGS: dict[str, str] = dict(
    zip(POPULATIONS, ("ITTFL", "MITTFL", "PPROTFL", "SAFFL"), strict=True)
)

#: Covariance structures of the MMRM, with the names reports print.
COVARIANCE_LABELS: dict[str, str] = {
    "us": "unstructured", "cs": "compound symmetry", "csh": "heterogeneous compound symmetry",
    "ar1": "first-order autoregressive", "ar1h": "heterogeneous first-order autoregressive",
    "toep": "Toeplitz", "toeph": "heterogeneous Toeplitz", "adh": "ante-dependence",
}  # fmt: skip
COVARIANCE_STRUCTURES: tuple[str, ...] = tuple(COVARIANCE_LABELS)

#: Denominator degrees-of-freedom methods, with the names reports print.
DF_LABELS: dict[str, str] = {
    "kenward-roger": "Kenward-Roger", "satterthwaite": "Satterthwaite", "residual": "residual",
}  # fmt: skip
DF_METHODS: tuple[str, ...] = tuple(DF_LABELS)

#: Multiplicity adjustments of the primary comparisons.
MULTIPLICITY_METHODS: tuple[str, ...] = ("dunnett", "holm", "fixed_sequence", "none")

#: Correlation structures of simulated changes (``trialkit simulate``; a full matrix also works).
CORRELATION_STRUCTURES: tuple[str, ...] = ("ar1", "cs")
#: Dropout mechanisms of a simulation: completely at random, or more likely after a poor value.
DROPOUT_MECHANISMS: tuple[str, ...] = ("mcar", "mar")

#: Microneedling devices and settings of a study treatment component.
DEVICES: tuple[str, ...] = ("dermaroller", "dermapen", "motorized_pen")
SETTINGS: tuple[str, ...] = ("clinic", "home")
#: Routes of administration a component may name (each treatment kind allows some of them).
ROUTES: tuple[str, ...] = ("topical", "oral", "intradermal", "intralesional", "subcutaneous")

#: SEX codes of the subjects dataset (and of ``[trial.population].sex``).
SEXES: tuple[str, ...] = ("F", "M")

#: Kinds of parameter: efficacy parameters are assessed and may be endpoints; safety ones
#: (vital signs) are summarised in the safety section and never an endpoint.
PARAMETER_KINDS: tuple[str, ...] = ("efficacy", "safety")

#: Variables an endpoint analyses (``variable`` of ``[endpoints]``; CHG is the default), with the
#: words reports use for them.
ENDPOINT_VARIABLE_LABELS: dict[str, str] = {
    "CHG": "change from baseline", "PCHG": "percent change from baseline", "AVAL": "value",
}  # fmt: skip
ENDPOINT_VARIABLES: tuple[str, ...] = tuple(ENDPOINT_VARIABLE_LABELS)

#: Responder rules ``VARIABLE OP NUMBER`` of binary endpoints: the variables (the rule's variable
#: is the endpoint's) and operators.
RESPONDER_VARIABLES: tuple[str, ...] = ENDPOINT_VARIABLES
RESPONDER_OPERATORS: tuple[str, ...] = ("<", "<=", ">", ">=")
#: How a binary endpoint counts a subject without a value at the visit.
MISSING_RESPONSE_RULES: tuple[str, ...] = ("non_responder", "exclude")
#: Methods of the binary endpoints' comparisons: covariate-adjusted logistic regression with
#: marginal standardisation, or the Cochran-Mantel-Haenszel risk difference over the strata;
#: with the words the estimand's description uses.
BINARY_METHOD_LABELS: dict[str, str] = {
    "logistic": "covariate-adjusted logistic regression, standardised over the population",
    "cmh": "the Mantel-Haenszel estimator over the strata",
}
BINARY_METHODS: tuple[str, ...] = tuple(BINARY_METHOD_LABELS)

#: Intercurrent events of the estimand and the strategies for them (ICH E9(R1)): treatment
#: policy, hypothetical, and the composite ``non_response`` (a subject with the event before the
#: assessment is a non-responder), which needs a responder (binary) endpoint; with the words the
#: estimand's description uses.
INTERCURRENT_EVENT_LABELS: dict[str, str] = {
    "discontinuation": "treatment discontinuation",
    "rescue_medication": "use of rescue medication",
}
INTERCURRENT_EVENTS: tuple[str, ...] = tuple(INTERCURRENT_EVENT_LABELS)
ESTIMAND_STRATEGY_LABELS: dict[str, str] = {
    "treatment_policy": "treatment policy (values after the event are used as observed)",
    "hypothetical": (
        "hypothetical (values after the event are set missing and handled by the model under "
        "missing at random, as if the event had not occurred)"
    ),
    "non_response": (
        "composite (a subject whose assessment comes after the event is a non-responder; "
        "values of continuous endpoints are used as observed)"
    ),
}
ESTIMAND_STRATEGIES: tuple[str, ...] = tuple(ESTIMAND_STRATEGY_LABELS)
#: The composite strategies: defined for a binary endpoint only (a continuous value has no
#: "non-response" to take).
COMPOSITE_STRATEGIES: tuple[str, ...] = ("non_response",)

#: Imputation strategies of ``[missing_data]`` (``rbmi``'s names, jump to reference spelled J2R),
#: with the names reports print.
IMPUTATION_STRATEGY_LABELS: dict[str, str] = {
    "MAR": "missing at random", "J2R": "jump to reference", "CR": "copy reference",
    "CIR": "copy increments in reference", "LMCF": "last mean carried forward",
}  # fmt: skip
IMPUTATION_STRATEGIES: tuple[str, ...] = tuple(IMPUTATION_STRATEGY_LABELS)
#: Strategies that take values from the reference arm.
REFERENCE_BASED: tuple[str, ...] = ("J2R", "CR", "CIR")
#: Methods of drawing the imputation model's parameters, with the names reports print.
IMPUTATION_METHOD_LABELS: dict[str, str] = {
    "conditional_mean": "conditional mean imputation",
    "approximate_bayes": "approximate Bayesian multiple imputation",
    "bootstrap_ml": "bootstrapped maximum likelihood multiple imputation",
}
IMPUTATION_METHODS: tuple[str, ...] = tuple(IMPUTATION_METHOD_LABELS)
#: Resampling of conditional mean imputation.
RESAMPLING_METHODS: tuple[str, ...] = ("jackknife", "bootstrap")
#: Bootstrap confidence intervals (``rbmi``'s pool types).
BOOTSTRAP_INTERVALS: tuple[str, ...] = ("percentile", "normal")

#: Lan-DeMets spending families of group sequential designs (rpact's names), with the names
#: reports print.
SPENDING_LABELS: dict[str, str] = {
    "of": "Lan-DeMets O'Brien-Fleming type",
    "pocock": "Lan-DeMets Pocock type",
    "hsd": "Hwang-Shih-DeCani",
    "kd": "Kim-DeMets power",
}
SPENDING_FUNCTIONS: tuple[str, ...] = tuple(SPENDING_LABELS)
#: Spending families that take a shape parameter gamma.
NEEDS_GAMMA: frozenset[str] = frozenset({"hsd", "kd"})

#: The version of the ``results.json`` contract (``schemas/results.schema.json``): the analysis
#: writes it, the report refuses any other.
RESULTS_SCHEMA_VERSION = "1"
